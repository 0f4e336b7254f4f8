//! The inspector's "Inject a row" form: while a run goes on (or is paused), write one row for an
//! input port of the selected node, column by column, push it in and see where it goes — for
//! "what happens to this one late event?".

use egui::{RichText, Ui};

use super::LiveRun;
use crate::model::PortRef;
use crate::model::infer::parse_timestamp_millis;
use crate::runtime::RunStatus;
use crate::runtime::inject::row_from_text;
use crate::ui::theme;
use crate::values::show_time;

/// What the form holds between frames.
#[derive(Default)]
pub struct InjectForm {
    /// The port the texts are for; other ports start from fresh texts.
    port: Option<PortRef>,
    texts: Vec<String>,
    /// What the last push did (true: it went in).
    outcome: Option<(bool, String)>,
}

impl InjectForm {
    /// The form for node `id` of the running pipeline.
    pub fn ui(&mut self, ui: &mut Ui, live: &LiveRun, id: &str) {
        let injectors = live.handle.injectors();
        let ports: Vec<PortRef> = injectors
            .ports()
            .filter(|p| p.node == id)
            .cloned()
            .collect();
        if ports.is_empty() || live.handle.is_done() {
            return;
        }
        let header = egui::CollapsingHeader::new(RichText::new("Inject a row").strong())
            .id_salt("inject")
            .show(ui, |ui| self.form_ui(ui, live, id, &ports));
        header.header_response.on_hover_text(
            "Write one row and push it into this node, as if it had just arrived, then watch where it goes: the counters under the cards, the Tap tab, the Event time tab.",
        );
        ui.separator();
    }

    fn form_ui(&mut self, ui: &mut Ui, live: &LiveRun, id: &str, ports: &[PortRef]) {
        let injectors = live.handle.injectors();
        if self.port.as_ref().is_none_or(|p| !ports.contains(p)) {
            self.port = ports.first().cloned();
            self.texts.clear();
            self.outcome = None;
        }
        let Some(mut port) = self.port.clone() else {
            return;
        };
        if ports.len() > 1 {
            egui::ComboBox::from_label("into")
                .selected_text(port.port.clone())
                .show_ui(ui, |ui| {
                    for p in ports {
                        ui.selectable_value(&mut port, p.clone(), p.port.clone());
                    }
                });
            if Some(&port) != self.port.as_ref() {
                self.port = Some(port.clone());
                self.texts.clear();
                self.outcome = None;
            }
        }
        let Some(schema) = injectors.schema(&port) else {
            return;
        };
        let time_column = injectors.time_column(&port).map(str::to_string);
        let watermark = live
            .nodes
            .get(id)
            .and_then(|n| n.watermark)
            .filter(|&w| w > i64::MIN);
        if self.texts.len() != schema.fields().len() {
            self.texts = schema
                .fields()
                .iter()
                .map(|f| starting_text(f.data_type(), watermark))
                .collect();
        }
        if let (Some(column), Some(w)) = (&time_column, watermark) {
            ui.label(
                RichText::new(format!(
                    "The watermark of `{id}` is at {}: a `{column}` before it is late here.",
                    show_time(w)
                ))
                .weak(),
            );
        }
        egui::Grid::new(("inject fields", &port))
            .num_columns(2)
            .show(ui, |ui| {
                for (field, text) in schema.fields().iter().zip(self.texts.iter_mut()) {
                    ui.label(field.name()).on_hover_text(format!(
                        "{}{}",
                        crate::expr::sql_type_name(field.data_type()),
                        if field.is_nullable() {
                            " (empty is NULL)"
                        } else {
                            ""
                        }
                    ));
                    ui.add(
                        egui::TextEdit::singleline(text).desired_width(ui.available_width() - 8.0),
                    );
                    ui.end_row();
                }
            });
        ui.horizontal(|ui| {
            let paused = live.handle.status() == RunStatus::Paused;
            if ui
                .button("Inject")
                .on_hover_text(if paused {
                    "Push the row in; the run stays paused, the node takes it at once"
                } else {
                    "Push the row in"
                })
                .clicked()
            {
                self.outcome = Some(push(
                    live,
                    &port,
                    &self.texts,
                    time_column.as_deref(),
                    watermark,
                ));
            }
            // Moving the event time by hand is how a learner makes a row late (or early).
            let time_index = time_column.as_ref().and_then(|c| schema.index_of(c).ok());
            if let Some(text) = time_index.and_then(|i| self.texts.get_mut(i)) {
                for (label, shift_ms, help) in [
                    ("-5 s", -5_000, "Move the event time 5 seconds earlier"),
                    ("+5 s", 5_000, "Move the event time 5 seconds later"),
                ] {
                    if ui.small_button(label).on_hover_text(help).clicked()
                        && let Some(ms) = parse_timestamp_millis(text)
                    {
                        *text = show_time(ms + shift_ms);
                    }
                }
            }
        });
        if let Some((ok, message)) = &self.outcome {
            let colour = if *ok { theme::OK } else { theme::ERROR };
            ui.label(RichText::new(message).color(colour));
        }
    }
}

/// A text to start from for a column: the watermark for times (so a learner edits it into the
/// past or the future), `by-hand` for text (easy to find in results), zero for numbers.
fn starting_text(data_type: &arrow::datatypes::DataType, watermark: Option<i64>) -> String {
    use arrow::datatypes::DataType;
    match data_type {
        DataType::Timestamp(_, _) => watermark.map(show_time).unwrap_or_default(),
        DataType::Utf8 | DataType::LargeUtf8 => "by-hand".into(),
        DataType::Boolean => "false".into(),
        _ => "0".into(),
    }
}

/// Pushes the row and says what it will meet: its event time against the node's watermark.
fn push(
    live: &LiveRun,
    port: &PortRef,
    texts: &[String],
    time_column: Option<&str>,
    watermark: Option<i64>,
) -> (bool, String) {
    let injectors = live.handle.injectors();
    let Some(schema) = injectors.schema(port) else {
        return (false, format!("`{port}` takes no rows"));
    };
    let row = match row_from_text(&schema, texts) {
        Ok(row) => row,
        Err(e) => return (false, e.to_string()),
    };
    if let Err(e) = injectors.inject(port, row) {
        return (false, e.to_string());
    }
    let event_time = time_column
        .and_then(|c| schema.index_of(c).ok())
        .and_then(|i| texts.get(i))
        .and_then(|t| parse_timestamp_millis(t).or_else(|| t.trim().parse().ok()));
    let verdict = match (event_time, watermark) {
        (Some(t), Some(w)) if t <= w => format!(
            "It is {} behind the watermark here: late. A window still takes it while its allowed lateness lasts, otherwise it goes to `late`; watch the late counters under the card and the Event time tab.",
            duration_text(w - t)
        ),
        (Some(t), Some(w)) => format!(
            "It is {} ahead of the watermark here: in time. A window holds it until the watermark passes the window's end.",
            duration_text(t - w)
        ),
        _ => "Watch the counters under the cards and the Tap tab.".into(),
    };
    (true, format!("Pushed into `{port}`. {verdict}"))
}

fn duration_text(ms: i64) -> String {
    if ms < 1_000 {
        format!("{ms} ms")
    } else if ms < 120_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        format!("{:.1} min", ms as f64 / 60_000.0)
    }
}
