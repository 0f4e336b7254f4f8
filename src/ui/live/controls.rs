//! Run controls for the top bar: run, pause, step, stop, restart, speed, status and the clocks.

use egui::{RichText, Ui};

use super::LiveRun;
use crate::runtime::{RunStatus, Speed};
use crate::ui::theme;
use crate::values::iso_millis;

/// What the user asked of the run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RunAction {
    Start,
    Pause,
    Resume,
    Step,
    /// While paused: step until a window emits a result.
    StepToFiring,
    Stop,
    Restart,
    SetSpeed(Speed),
}

const SPEEDS: [(&str, Speed); 4] = [
    ("max", Speed::Max),
    ("10x", Speed::Factor(10.0)),
    ("1x", Speed::Factor(1.0)),
    ("0.1x", Speed::Factor(0.1)),
];

fn speed_label(speed: Speed) -> String {
    SPEEDS
        .iter()
        .find(|(_, s)| *s == speed)
        .map_or_else(|| format!("{speed:?}"), |(l, _)| l.to_string())
}

/// Draws the controls; returns the action chosen this frame.
pub fn controls_ui(
    ui: &mut Ui,
    live: Option<&LiveRun>,
    speed: Speed,
    can_run: bool,
) -> Option<RunAction> {
    let mut action = None;
    let status = live.map(LiveRun::status);
    let active = matches!(status, Some(RunStatus::Running | RunStatus::Paused));
    if !active {
        let run = ui
            .add_enabled(can_run, egui::Button::new(RichText::new("Run").strong()))
            .on_hover_text("Run the pipeline here and watch it (F5)")
            .on_disabled_hover_text("Fix the errors in the problems panel first");
        if run.clicked() {
            action = Some(if live.is_some() {
                RunAction::Restart
            } else {
                RunAction::Start
            });
        }
    } else {
        if status == Some(RunStatus::Paused) {
            if ui
                .button("Resume")
                .on_hover_text("Carry on (Space)")
                .clicked()
            {
                action = Some(RunAction::Resume);
            }
            if ui
                .button("Step")
                .on_hover_text("Let one more batch and its watermark through")
                .clicked()
            {
                action = Some(RunAction::Step);
            }
            let stepping = live.is_some_and(LiveRun::is_stepping_to_firing);
            if ui
                .add_enabled(!stepping, egui::Button::new("Step to the next firing"))
                .on_hover_text("Let batches through one at a time until a window fires")
                .clicked()
            {
                action = Some(RunAction::StepToFiring);
            }
        } else if ui
            .button("Pause")
            .on_hover_text("Hold the sources (Space)")
            .clicked()
        {
            action = Some(RunAction::Pause);
        }
        if ui
            .button("Stop")
            .on_hover_text("Stop the sources; open windows are dropped")
            .clicked()
        {
            action = Some(RunAction::Stop);
        }
        if ui
            .button("Restart")
            .on_hover_text("Run again from the start")
            .clicked()
        {
            action = Some(RunAction::Restart);
        }
    }
    let name = ui.label("speed");
    egui::ComboBox::from_id_salt("speed")
        .selected_text(speed_label(speed))
        .show_ui(ui, |ui| {
            for (label, s) in SPEEDS {
                if ui
                    .selectable_label(speed == s, label)
                    .on_hover_text(
                        "max: as fast as possible; 1x: event time at real time; 0.1x: slow motion",
                    )
                    .clicked()
                {
                    action = Some(RunAction::SetSpeed(s));
                }
            }
        })
        .response
        .labelled_by(name.id);
    if let Some(live) = live {
        let (text, color) = match &status {
            Some(RunStatus::Running) => (
                "running".to_string(),
                theme::family_color(crate::model::Family::Source),
            ),
            Some(RunStatus::Paused) => ("paused".to_string(), theme::WARNING),
            Some(RunStatus::Finished) => ("finished".to_string(), ui.visuals().text_color()),
            Some(RunStatus::Stopped) => ("stopped".to_string(), ui.visuals().text_color()),
            Some(RunStatus::Failed(e)) => (format!("failed: {e}"), theme::ERROR),
            None => (String::new(), ui.visuals().text_color()),
        };
        // A long failure is cut to keep the bar in one line; the whole text is in the tooltip.
        let shown = crate::ui::picture::elide(&text, 60);
        let label = ui.label(RichText::new(shown).color(color).strong());
        if text.chars().count() > 60 {
            label.on_hover_text(&text);
        }
        let event_time = live.handle.event_time().map_or("-".into(), iso_millis);
        ui.label(
            RichText::new(format!(
                "event time {event_time}   wall {:.1}s",
                live.handle.elapsed().as_secs_f64()
            ))
            .monospace(),
        )
        .on_hover_text("How far the sources' event time has got, and how long the run has taken");
    }
    action
}
