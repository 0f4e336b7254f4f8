//! Drawing a node's settings form from the fields its kind describes: durations that accept `10s`
//! or `5m`, SQL fields checked against the input columns as you type (with the columns to click
//! in), column pickers, choices with their own fields, and lists of items.

use arrow::datatypes::Schema;
use egui::{Response, RichText, Ui};

use super::sql_highlight::highlight;
use super::theme;
use crate::expr::{ProjectionItem, plan_aggregate, plan_predicate};
use crate::model::form::{Field, FieldValue, SqlRole};
use crate::model::{Duration, NodeKind};

/// What the user did to a form this frame.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct FormChange {
    pub changed: bool,
    /// The text field typed in, or the value dragged: edits through it join one undo step.
    pub widget: Option<egui::Id>,
}

impl FormChange {
    /// Notes a widget's response; `gesture` says whether its edits come in a stream (typing,
    /// dragging a number) rather than one click.
    fn note(&mut self, response: &Response, gesture: bool) {
        if response.changed() {
            self.changed = true;
            if gesture {
                self.widget = Some(response.id);
            }
        }
    }

    fn mark(&mut self) {
        self.changed = true;
    }
}

/// Draws the form for `kind`; says whether (and through which widget) the user changed it.
pub fn kind_form(ui: &mut Ui, kind: &mut NodeKind, input: Option<&Schema>) -> FormChange {
    let mut change = FormChange::default();
    let mut fields = kind.model_mut().form();
    egui::Grid::new("kind_form")
        .num_columns(2)
        .spacing([8.0, 6.0])
        .show(ui, |ui| {
            fields_ui(ui, &mut fields, input, &mut change, "");
        });
    change
}

fn fields_ui(
    ui: &mut Ui,
    fields: &mut [Field<'_>],
    input: Option<&Schema>,
    change: &mut FormChange,
    indent: &str,
) {
    for field in fields.iter_mut() {
        field_ui(ui, field, input, change, indent);
    }
}

fn field_ui(
    ui: &mut Ui,
    field: &mut Field<'_>,
    input: Option<&Schema>,
    change: &mut FormChange,
    indent: &str,
) {
    let label = format!("{indent}{}", field.label);
    let help = field.help;
    match &mut field.value {
        FieldValue::SqlList(items, role) => {
            return sql_list(ui, &label, help, items, input, *role, change);
        }
        FieldValue::List(list) => {
            let count = list.len();
            let mut remove = None;
            for index in 0..count {
                ui.label(format!("{label} {}", index + 1))
                    .on_hover_text(help);
                if ui
                    .small_button("remove")
                    .on_hover_text(format!("Remove this {}", list.item_name()))
                    .clicked()
                {
                    remove = Some(index);
                }
                ui.end_row();
                let mut nested = list.item(index);
                fields_ui(ui, &mut nested, input, change, &format!("{indent}  "));
            }
            if let Some(index) = remove {
                list.remove(index);
                change.mark();
            }
            ui.label(if count == 0 { label.as_str() } else { "" });
            if ui
                .button(format!("+ add {}", list.item_name()))
                .on_hover_text(help)
                .clicked()
            {
                list.add();
                change.mark();
            }
            ui.end_row();
            return;
        }
        _ => {}
    }
    let name = ui.label(&label).on_hover_text(help);
    match &mut field.value {
        FieldValue::Text(text) | FieldValue::Path(text) => {
            let response = ui.text_edit_singleline(*text).on_hover_text(help);
            change.note(&response, true);
        }
        FieldValue::OptionalText(value) => {
            let mut text = value.clone().unwrap_or_default();
            let response = ui.text_edit_singleline(&mut text).on_hover_text(help);
            if response.changed() {
                **value = (!text.is_empty()).then_some(text);
            }
            change.note(&response, true);
        }
        FieldValue::Char(c) => {
            let mut text = c.to_string();
            let response = ui
                .add(egui::TextEdit::singleline(&mut text).desired_width(24.0))
                .on_hover_text(help);
            if response.changed()
                && let Some(first) = text.chars().last()
            {
                **c = first;
                change.note(&response, false);
            }
        }
        FieldValue::Bool(value) => {
            change.note(&ui.checkbox(value, "").on_hover_text(help), false);
        }
        FieldValue::Count(value) => {
            change.note(
                &ui.add(egui::DragValue::new(*value)).on_hover_text(help),
                true,
            );
        }
        FieldValue::BigCount(value) => {
            change.note(
                &ui.add(egui::DragValue::new(*value)).on_hover_text(help),
                true,
            );
        }
        FieldValue::OptionalCount(value) => {
            optional(ui, *value, 100, help, change, |ui, v| {
                ui.add(egui::DragValue::new(v))
            });
        }
        FieldValue::OptionalSmallCount(value) => {
            optional(ui, *value, 2, help, change, |ui, v| {
                ui.add(egui::DragValue::new(v).range(1..=u32::MAX))
            });
        }
        FieldValue::Number(value, min, max) => {
            let response = ui
                .add(egui::DragValue::new(*value).range(*min..=*max).speed(0.01))
                .on_hover_text(help);
            change.note(&response, true);
        }
        FieldValue::Duration(value) => {
            if let Some(response) = duration_field(ui, value) {
                change.note(&response, true);
            }
        }
        // In one cell: beside a wide column of SQL fields, a second cell would start past them.
        FieldValue::OptionalDuration(value) => {
            ui.horizontal(|ui| {
                let mut on = value.is_some();
                let toggle = ui.checkbox(&mut on, "").on_hover_text(help);
                if toggle.changed() {
                    **value = on.then(|| Duration::from_secs(10));
                    change.mark();
                }
                if let Some(d) = value
                    && let Some(response) = duration_field(ui, d)
                {
                    change.note(&response, true);
                }
            });
        }
        FieldValue::Sql(text, role) => sql(ui, help, text, input, *role, change),
        FieldValue::OptionalSql(value, role) => {
            ui.vertical(|ui| {
                let mut on = value.is_some();
                if ui.checkbox(&mut on, "").on_hover_text(help).changed() {
                    **value = on.then(|| "'0'".to_string());
                    change.mark();
                }
                if let Some(text) = value.as_mut() {
                    sql(ui, help, text, input, *role, change);
                }
            });
        }
        FieldValue::Column(value) => {
            column_choice(ui, &label, name.id, value, input, false, change)
        }
        FieldValue::OptionalColumn(value) => {
            let mut text = value.clone().unwrap_or_default();
            let before = change.changed;
            column_choice(ui, &label, name.id, &mut text, input, true, change);
            if change.changed && !before {
                **value = (!text.is_empty()).then_some(text);
            }
        }
        FieldValue::Columns(columns) => columns_list(ui, &label, name.id, columns, input, change),
        FieldValue::Choice(choice) => {
            let options = choice.options();
            let selected = choice.selected();
            let mut picked = selected;
            egui::ComboBox::from_id_salt(&label)
                .selected_text(options.get(selected).copied().unwrap_or(""))
                .show_ui(ui, |ui| {
                    for (i, option) in options.iter().enumerate() {
                        ui.selectable_value(&mut picked, i, *option);
                    }
                })
                .response
                .on_hover_text(help)
                .labelled_by(name.id);
            if picked != selected {
                choice.select(picked);
                change.mark();
            }
            ui.end_row();
            let mut nested = choice.fields();
            fields_ui(ui, &mut nested, input, change, &format!("{indent}  "));
            return;
        }
        FieldValue::SqlList(..) | FieldValue::List(_) => {}
    }
    ui.end_row();
}

/// A checkbox saying whether a value is set, and the value when it is.
fn optional<T: Copy>(
    ui: &mut Ui,
    value: &mut Option<T>,
    default: T,
    help: &str,
    change: &mut FormChange,
    widget: impl FnOnce(&mut Ui, &mut T) -> Response,
) {
    ui.horizontal(|ui| {
        let mut on = value.is_some();
        if ui.checkbox(&mut on, "").on_hover_text(help).changed() {
            *value = on.then_some(default);
            change.mark();
        }
        if let Some(v) = value {
            change.note(&widget(ui, v).on_hover_text(help), true);
        }
    });
}

/// A text field that accepts `250ms`, `10s`, `5m`, `1h30m`; red until the text is a duration.
/// Returns the field's response when the duration changed.
pub fn duration_field(ui: &mut Ui, value: &mut Duration) -> Option<Response> {
    let id = ui.next_auto_id();
    let mut text: String = ui
        .data_mut(|d| d.get_temp::<String>(id))
        .unwrap_or_else(|| value.to_string());
    let parsed = text.parse::<Duration>();
    let mut edit = egui::TextEdit::singleline(&mut text).desired_width(90.0);
    if parsed.is_err() {
        edit = edit.text_color(theme::ERROR);
    }
    let response = ui.add(edit).on_hover_text("e.g. 250ms, 10s, 5m, 1h30m");
    let mut changed = false;
    if response.changed()
        && let Ok(d) = text.parse::<Duration>()
        && d != *value
    {
        *value = d;
        changed = true;
    }
    if response.has_focus() {
        ui.data_mut(|d| d.insert_temp(id, text));
    } else {
        ui.data_mut(|d| d.remove::<String>(id));
    }
    changed.then_some(response)
}

/// One column of the input, picked from a list (or typed when the input is unknown).
fn column_choice(
    ui: &mut Ui,
    label: &str,
    labelled_by: egui::Id,
    value: &mut String,
    input: Option<&Schema>,
    allow_none: bool,
    change: &mut FormChange,
) {
    match input {
        Some(schema) => {
            let mut picked = value.clone();
            egui::ComboBox::from_id_salt(label)
                .selected_text(if value.is_empty() {
                    "(none)"
                } else {
                    value.as_str()
                })
                .show_ui(ui, |ui| {
                    if allow_none {
                        ui.selectable_value(&mut picked, String::new(), "(none)");
                    }
                    for field in schema.fields() {
                        ui.selectable_value(&mut picked, field.name().clone(), field.name());
                    }
                })
                .response
                .labelled_by(labelled_by);
            if picked != *value {
                *value = picked;
                change.mark();
            }
        }
        None => change.note(&ui.text_edit_singleline(value), true),
    }
}

/// Checks one SQL item against the input columns, as the model will.
fn check_sql(text: &str, input: Option<&Schema>, role: SqlRole) -> Option<String> {
    let schema = input?;
    let result = match role {
        SqlRole::Predicate => plan_predicate(text, schema).map(|_| ()),
        SqlRole::Projection => ProjectionItem::plan(text, schema).map(|_| ()),
        SqlRole::Aggregate => plan_aggregate(text, schema).map(|_| ()),
        SqlRole::Expression => crate::expr::plan_expr(text, schema).map(|_| ()),
        // Checked by the pattern node against its steps; its problems show on the node.
        SqlRole::Pattern => Ok(()),
    };
    result.err().map(|e| e.to_string())
}

/// Lays out SQL text with syntax colours in a text field; `wraps` for a multi-line field (a
/// one-line field scrolls instead, rather than breaking a column name in two).
fn sql_layouter(
    dark: bool,
    wraps: bool,
) -> impl FnMut(&Ui, &dyn egui::TextBuffer, f32) -> std::sync::Arc<egui::Galley> {
    move |ui, buffer, wrap| {
        let mut job = highlight(
            buffer.as_str(),
            dark,
            egui::TextStyle::Monospace.resolve(ui.style()),
        );
        job.wrap.max_width = if wraps { wrap } else { f32::INFINITY };
        ui.fonts_mut(|f| f.layout_job(job))
    }
}

fn sql(
    ui: &mut Ui,
    help: &str,
    text: &mut String,
    input: Option<&Schema>,
    role: SqlRole,
    change: &mut FormChange,
) {
    let error = check_sql(text, input, role);
    ui.vertical(|ui| {
        // As wide as the inspector allows. Never wider: a panel grows to what it holds, so a
        // field that asked for more than there is would widen the inspector frame after frame.
        let width = (ui.available_width() - 8.0).max(120.0);
        let mut layouter = sql_layouter(ui.visuals().dark_mode, true);
        let edit = egui::TextEdit::multiline(text)
            .code_editor()
            .desired_rows(1)
            .desired_width(width)
            .layouter(&mut layouter);
        change.note(&ui.add(edit).on_hover_text(help), true);
        if let Some(error) = &error {
            ui.label(RichText::new(error).color(theme::ERROR).small());
        }
        if column_chips(ui, input, text) {
            change.mark();
        }
    });
}

fn sql_list(
    ui: &mut Ui,
    label: &str,
    help: &str,
    items: &mut Vec<String>,
    input: Option<&Schema>,
    role: SqlRole,
    change: &mut FormChange,
) {
    let mut remove = None;
    for (i, item) in items.iter_mut().enumerate() {
        ui.label(if i == 0 { label } else { "" })
            .on_hover_text(help);
        let error = check_sql(item, input, role);
        ui.vertical(|ui| {
            ui.horizontal(|ui| {
                let mut layouter = sql_layouter(ui.visuals().dark_mode, false);
                let width = (ui.available_width() - 40.0).max(120.0);
                let edit = egui::TextEdit::singleline(item)
                    .code_editor()
                    .desired_width(width)
                    .layouter(&mut layouter);
                let response = ui.add(edit);
                // A long item scrolls in its one-line field; the whole of it is in the tooltip.
                let response = if item.chars().count() > 24 {
                    response.on_hover_text(item.as_str())
                } else {
                    response
                };
                change.note(&response, true);
                if ui
                    .small_button("x")
                    .on_hover_text("Remove this item")
                    .clicked()
                {
                    remove = Some(i);
                }
            });
            if let Some(error) = &error {
                ui.label(RichText::new(error).color(theme::ERROR).small());
            }
        });
        ui.end_row();
    }
    if let Some(i) = remove {
        items.remove(i);
        change.mark();
    }
    ui.label(if items.is_empty() { label } else { "" });
    let example = match role {
        SqlRole::Aggregate => "count(*) AS events",
        SqlRole::Projection => "expression AS name",
        SqlRole::Predicate => "true",
        SqlRole::Expression => "expression",
        SqlRole::Pattern => "LAST(B.amount) AS final_amount",
    };
    if ui
        .button("+ add")
        .on_hover_text(format!("Add an item such as `{example}`"))
        .clicked()
    {
        items.push(example.to_string());
        change.mark();
    }
    ui.end_row();
}

fn columns_list(
    ui: &mut Ui,
    label: &str,
    labelled_by: egui::Id,
    columns: &mut Vec<String>,
    input: Option<&Schema>,
    change: &mut FormChange,
) {
    ui.vertical(|ui| {
        ui.horizontal_wrapped(|ui| {
            let mut remove = None;
            for (i, c) in columns.iter().enumerate() {
                if ui
                    .button(format!("{c}  x"))
                    .on_hover_text("Remove this column")
                    .clicked()
                {
                    remove = Some(i);
                }
            }
            if let Some(i) = remove {
                columns.remove(i);
                change.mark();
            }
        });
        if let Some(schema) = input {
            egui::ComboBox::from_id_salt(label)
                .selected_text("add a column…")
                .show_ui(ui, |ui| {
                    for field in schema.fields() {
                        if !columns.contains(field.name())
                            && ui.selectable_label(false, field.name()).clicked()
                        {
                            columns.push(field.name().clone());
                            change.mark();
                        }
                    }
                })
                .response
                .labelled_by(labelled_by);
        }
    });
}

/// The input columns as small buttons that append their name to `text`.
fn column_chips(ui: &mut Ui, input: Option<&Schema>, text: &mut String) -> bool {
    let Some(schema) = input else { return false };
    let mut changed = false;
    egui::CollapsingHeader::new(RichText::new("columns").small())
        .id_salt(ui.next_auto_id())
        .show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                for field in schema.fields() {
                    if ui
                        .small_button(field.name())
                        .on_hover_text("Add this column to the expression")
                        .clicked()
                    {
                        if !text.is_empty() && !text.ends_with(' ') {
                            text.push(' ');
                        }
                        text.push_str(field.name());
                        changed = true;
                    }
                }
            });
        });
    changed
}
