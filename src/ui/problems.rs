//! The problems panel: every error and warning of the pipeline; a click selects and frames the node.

use egui::{RichText, Ui};

use super::theme;
use crate::model::{Problem, Severity, Subject};

/// Lists problems; returns the node to select when the user clicks one.
pub fn problems_ui(
    ui: &mut Ui,
    problems: &[Problem],
    edges: &[crate::model::Edge],
) -> Option<String> {
    let errors = problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .count();
    let warnings = problems.len() - errors;
    ui.horizontal(|ui| {
        ui.strong("Problems");
        if problems.is_empty() {
            ui.label(RichText::new("none: the pipeline is valid").color(theme::OK));
        } else {
            ui.label(RichText::new(format!("{errors} error(s)")).color(theme::ERROR));
            ui.label(RichText::new(format!("{warnings} warning(s)")).color(theme::WARNING));
        }
    });
    let mut clicked = None;
    egui::ScrollArea::vertical()
        .auto_shrink([false, true])
        .show(ui, |ui| {
            for problem in problems {
                let (icon, color) = match problem.severity {
                    Severity::Error => ("error", theme::ERROR),
                    Severity::Warning => ("warning", theme::WARNING),
                };
                let target = match &problem.subject {
                    Subject::Node { id, .. } => Some(id.clone()),
                    Subject::Edge { index } => edges.get(*index).map(|e| e.to.node.clone()),
                    Subject::Document => None,
                };
                let place = match &problem.subject {
                    Subject::Node { id, field: Some(f) } => format!("{id}.{f}"),
                    Subject::Node { id, field: None } => id.clone(),
                    Subject::Edge { index } => edges
                        .get(*index)
                        .map_or(format!("edge {}", index + 1), |e| e.to_string()),
                    Subject::Document => "pipeline".into(),
                };
                let row = ui.horizontal(|ui| {
                    ui.label(RichText::new(icon).color(color));
                    ui.label(RichText::new(place).strong());
                    ui.label(&problem.message);
                });
                let response = row
                    .response
                    .interact(egui::Sense::click())
                    .on_hover_text("Click to select and show this node");
                if response.clicked() {
                    clicked = target;
                }
            }
        });
    clicked
}
