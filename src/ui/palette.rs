//! The palette: every node kind with a short explanation for learners; click to add, or search.

use egui::Ui;

use super::theme;
use crate::model::templates::{Template, templates};

/// What each kind does, with a tiny example, for the palette tooltip and the inspector.
pub fn explanation(template_name: &str) -> &'static str {
    match template_name {
        "Generator" => {
            "Makes synthetic events: taxi trips, sensor readings, clicks, payments or log lines. You choose the rate, how many keys, how skewed they are, and how out of order, late or duplicated events arrive — the mess real streams have. Same seed, same events."
        }
        "CSV file source" => {
            "Reads a CSV file row by row, as if it were a stream. Columns are inferred from the first rows or declared. Rows that cannot be read go to the `errors` port with their line number."
        }
        "JSON-lines file source" => {
            "Reads a file with one JSON object per line (what Firehose delivers to S3), as a stream. Bad lines go to `errors`."
        }
        "Filter" => {
            "Keeps only the rows for which a SQL condition is true.\nExample: `trip_distance > 0 AND passenger_count >= 1`"
        }
        "Map" => {
            "Computes new columns with SQL expressions.\nExample: `round(total_amount / trip_distance, 2) AS price_per_mile`"
        }
        "Union" => {
            "Merges several streams with the same columns into one. Its watermark follows the slowest input."
        }
        "Route" => {
            "Sends each row to the first route whose condition holds, the rest to `unmatched`.\nExample: route `hot` when `temperature > 30`."
        }
        "Tumbling window" => {
            "Cuts time into fixed, back-to-back windows (e.g. every minute) and aggregates each key's rows in each window. A window's result comes out when the watermark passes its end."
        }
        "Sliding window" => {
            "Windows of a fixed size that start every `slide` (Flink's HOP): 1-minute windows every 10 s overlap, so each row counts in 6 of them."
        }
        "Session window" => {
            "A window per burst of activity: it closes after `gap` with no events for the key. Sessions that a late event bridges merge into one."
        }
        "Count window" => "A window of every N rows per key, whatever the time.",
        "Chart" => "Plots results live in the app, e.g. revenue per zone over window_end.",
        "Table" => "Shows the newest result rows live in the app.",
        "Leaderboard" => "A live top-N table that re-ranks as results arrive, one row per key.",
        "Console" => "Prints rows on the terminal (eddy run) or the app's log.",
        "CSV file sink" => {
            "Writes rows to a CSV file. The file appears whole when the run completes."
        }
        "JSON-lines file sink" => "Writes rows to a file, one JSON object per line.",
        _ => "",
    }
}

/// What a drag from the palette carries: the template's name.
#[derive(Debug, Clone)]
pub struct PaletteDrag(pub String);

/// The palette panel; returns the template the user chose to add.
pub fn palette_ui(ui: &mut Ui, search: &mut String) -> Option<Template> {
    ui.heading("Add a node");
    ui.add(egui::TextEdit::singleline(search).hint_text("search…"))
        .on_hover_text("Filter the node kinds by name");
    ui.separator();
    let mut chosen = None;
    let needle = search.to_lowercase();
    egui::ScrollArea::vertical().show(ui, |ui| {
        let mut last_family = None;
        for template in templates() {
            if !needle.is_empty() && !template.name.to_lowercase().contains(&needle) {
                continue;
            }
            let family = template.kind.family();
            if last_family != Some(family) {
                ui.add_space(4.0);
                ui.label(
                    egui::RichText::new(theme::family_label(family).to_uppercase())
                        .small()
                        .weak(),
                );
                last_family = Some(family);
            }
            let text = egui::RichText::new(template.name).color(theme::family_color(family));
            let button = ui
                .add_sized([ui.available_width(), 24.0], egui::Button::new(text))
                .on_hover_text(format!(
                    "{}\n\nClick to add, or drag onto the canvas.",
                    explanation(template.name)
                ));
            theme::paint_family_icon(
                ui.painter(),
                button.rect.left_center() + egui::vec2(12.0, 0.0),
                10.0,
                family,
                theme::family_color(family),
            );
            // Dragging a palette entry onto the canvas drops the node where it is released.
            let button = button.interact(egui::Sense::click_and_drag());
            if button.drag_started() {
                egui::DragAndDrop::set_payload(ui.ctx(), PaletteDrag(template.name.to_string()));
            }
            if button.dragged() {
                ui.ctx().set_cursor_icon(egui::CursorIcon::Grabbing);
            }
            if button.clicked() {
                chosen = Some(template);
            }
        }
    });
    chosen
}
