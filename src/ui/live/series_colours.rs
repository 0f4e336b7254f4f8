//! Series keep their colour for a whole run: the first series seen gets the first colour, the next
//! the next, and a key that drops out of the top N and comes back is drawn as it was.

use std::collections::HashMap;

use egui::Color32;
use egui::ecolor::Hsva;

/// Colours handed out in order of first appearance.
#[derive(Default)]
pub struct SeriesColours {
    given: HashMap<String, usize>,
}

impl SeriesColours {
    /// The colour of `series`, the same every time it is asked for.
    pub fn of(&mut self, series: &str) -> Color32 {
        let next = self.given.len();
        let index = *self.given.entry(series.to_string()).or_insert(next);
        colour(index)
    }

    /// Forgets every series (a new run).
    pub fn clear(&mut self) {
        self.given.clear();
    }
}

/// The `index`th colour: hues spread by the golden ratio (as egui_plot's own automatic colours
/// are), so neighbours differ and any number of series stays distinguishable.
fn colour(index: usize) -> Color32 {
    let golden_ratio = (5.0_f32.sqrt() - 1.0) / 2.0;
    let hue = (index as f32 * golden_ratio).fract();
    Hsva::new(hue, 0.85, 0.75, 1.0).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_series_keeps_its_colour_when_others_come_and_go() {
        let mut colours = SeriesColours::default();
        let first = colours.of("161");
        let second = colours.of("237");
        assert_ne!(first, second);
        // The top-5 set changes: new keys arrive, 161 drops out, then comes back.
        for key in ["48", "79", "230", "132"] {
            colours.of(key);
        }
        assert_eq!(colours.of("161"), first);
        assert_eq!(colours.of("237"), second);
        colours.clear();
        assert_eq!(colours.of("237"), first, "a new run starts over");
    }
}
