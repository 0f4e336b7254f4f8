//! Plot axes that read as time and as numbers: grid steps on whole seconds, minutes and hours for
//! time axes (labels aligned to them, UTC like every time Eddy shows), and rounded hover labels.

use egui_plot::{GridInput, GridMark};

use crate::values::number_text;

/// Time grid steps in seconds; each divides the next, so a mark's step says how bold it is.
const TIME_STEPS: [f64; 16] = [
    0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0, 1800.0, 3600.0, 10800.0, 21600.0, 43200.0,
    86400.0, 604800.0,
];

/// Grid marks for an axis in seconds since the epoch: the finest step at least the plot's minimum
/// spacing, and the next two coarser ones.
pub fn time_marks(input: GridInput) -> Vec<GridMark> {
    let (min, max) = input.bounds;
    if !(min.is_finite() && max.is_finite()) || max <= min {
        return Vec::new();
    }
    let finest = TIME_STEPS
        .iter()
        .position(|&s| s >= input.base_step_size)
        .unwrap_or(TIME_STEPS.len() - 1);
    let steps: Vec<f64> = TIME_STEPS[finest..].iter().take(3).copied().collect();
    let step = steps[0];
    // A plot zoomed far out could ask for millions of marks; a few hundred is all anyone reads.
    if (max - min) / step > 1000.0 {
        return Vec::new();
    }
    let mut marks = Vec::new();
    let mut value = (min / step).ceil() * step;
    while value <= max {
        // The coarsest step this mark lies on decides its weight.
        let step_size = steps
            .iter()
            .rev()
            .find(|&&s| is_multiple(value, s))
            .copied()
            .unwrap_or(step);
        marks.push(GridMark { value, step_size });
        value += step;
    }
    marks
}

fn is_multiple(value: f64, step: f64) -> bool {
    let ratio = value / step;
    (ratio - ratio.round()).abs() < 1e-6
}

/// A time-axis label: seconds shown only when the grid is finer than a minute.
pub fn time_label(mark: GridMark) -> String {
    let format = if mark.step_size < 1.0 {
        "%H:%M:%S%.3f"
    } else if mark.step_size < 60.0 {
        "%H:%M:%S"
    } else {
        "%H:%M"
    };
    clock_time(mark.value, format)
}

/// `seconds` since the epoch as UTC time of day (empty if out of range or `format` is not one
/// chrono knows: formatting must never panic in the middle of drawing).
pub fn clock_time(seconds: f64, format: &str) -> String {
    use std::fmt::Write;
    let Some(time) = chrono::DateTime::from_timestamp_millis((seconds * 1000.0).round() as i64)
    else {
        return String::new();
    };
    let mut text = String::new();
    match write!(text, "{}", time.format(format)) {
        Ok(()) => text,
        Err(_) => String::new(),
    }
}

/// The hover label of a point: its series, x as time or number, y rounded.
pub fn point_label(series: &str, x: f64, y: f64, x_is_time: bool) -> String {
    let x = if x_is_time {
        clock_time(x, "%H:%M:%S%.3f")
    } else {
        number_text(x)
    };
    let y = number_text(y);
    if series.is_empty() {
        format!("{x}: {y}")
    } else {
        format!("{series}\n{x}: {y}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(min: f64, max: f64, base_step_size: f64) -> GridInput {
        GridInput {
            bounds: (min, max),
            base_step_size,
        }
    }

    #[test]
    fn time_marks_fall_on_whole_minutes_and_label_the_time_they_mark() {
        // 2024-01-15 08:00:00 UTC to 08:20:00, marks wanted at least 100 s apart.
        let start = 1_705_305_600.0;
        let marks = time_marks(input(start - 30.0, start + 1_200.0, 100.0));
        assert!(!marks.is_empty());
        for mark in &marks {
            assert_eq!(mark.value % 300.0, 0.0, "marks on 5 minutes");
        }
        assert_eq!(marks[0].value, start);
        assert_eq!(time_label(marks[0]), "08:00");
        assert_eq!(time_label(marks[1]), "08:05");
        // 08:00 is on the coarser 10-minute and 30-minute steps too: a bolder line.
        assert_eq!(marks[0].step_size, 1800.0);
        assert_eq!(marks[1].step_size, 300.0);
    }

    #[test]
    fn fine_time_grids_show_seconds() {
        let start = 1_705_305_600.0;
        let marks = time_marks(input(start, start + 20.0, 4.0));
        assert_eq!(marks[1].value - marks[0].value, 5.0);
        assert_eq!(time_label(marks[1]), "08:00:05");
    }

    #[test]
    fn sub_second_grids_show_milliseconds() {
        let start = 1_705_305_600.0;
        let marks = time_marks(input(start, start + 2.0, 0.3));
        assert_eq!(time_label(marks[1]), "08:00:00.500");
        assert_eq!(clock_time(start, "%Q no such format"), "");
    }

    #[test]
    fn empty_or_absurd_ranges_give_no_marks() {
        assert!(time_marks(input(10.0, 10.0, 1.0)).is_empty());
        assert!(time_marks(input(f64::NAN, 10.0, 1.0)).is_empty());
        assert!(time_marks(input(0.0, 1e12, 0.1)).is_empty());
    }

    #[test]
    fn hover_labels_round_their_numbers() {
        assert_eq!(
            point_label("pickup_location_id = 161", 3.0, 3037.4400000000005, false),
            "pickup_location_id = 161\n3: 3037.44"
        );
        assert_eq!(
            point_label("", 1_705_305_600.5, 2.0, true),
            "08:00:00.500: 2"
        );
    }
}
