//! The inspector: the selected node's kind and what it does, its id, note and settings (a form, and
//! the configuration as RON text), its problems and the columns flowing in and out — or the
//! selected edge. It returns edits; the app applies them.

use egui::{RichText, Ui};

use super::canvas::Selection;
use super::document::{Edit, EditGroup, EditorDocument};
use super::theme;
use crate::expr::sql_type_name;
use crate::model::file::{kind_to_ron, parse_kind};
use crate::model::node::is_valid_id;
use crate::model::{Problem, Subject};

/// Text being edited in the inspector, kept between frames.
#[derive(Default)]
pub struct InspectorState {
    node: Option<String>,
    id_text: String,
    kind_text: String,
    kind_error: Option<String>,
    /// The configuration the text was made from, to notice edits made elsewhere (undo, forms).
    kind_shown: Option<crate::model::NodeKind>,
}

type Edits = Vec<(Edit, Option<EditGroup>)>;

/// Draws the inspector; returns the edits the user made.
pub fn inspector_ui(
    ui: &mut Ui,
    doc: &mut EditorDocument,
    selection: &mut Selection,
    state: &mut InspectorState,
) -> Edits {
    let mut edits = Edits::new();
    if let Some(edge) = selection.edge.clone() {
        ui.heading("Edge");
        ui.label(edge.to_string());
        if let Some(schema) = doc
            .validation()
            .schemas
            .output(&edge.from.node, &edge.from.port)
            .cloned()
        {
            columns_ui(ui, "Rows on this edge", &schema);
        }
        if ui
            .button("Delete edge")
            .on_hover_text("Remove this connection (Del)")
            .clicked()
        {
            edits.push((Edit::Disconnect(edge), None));
            selection.edge = None;
        }
        return edits;
    }
    let selected: Vec<String> = selection.nodes.iter().cloned().collect();
    let [id] = selected.as_slice() else {
        if selection.nodes.is_empty() {
            pipeline_ui(ui, doc, &mut edits);
            ui.separator();
            ui.label("Select a node to see and edit its settings.");
            ui.label(RichText::new("Tip: double-click the canvas to add a node there.").weak());
        } else {
            ui.heading(format!("{} nodes selected", selection.nodes.len()));
        }
        return edits;
    };
    let id = id.clone();
    let Some(node) = doc.pipeline().node(&id).cloned() else {
        return edits;
    };
    if state.node.as_deref() != Some(id.as_str()) {
        state.node = Some(id.clone());
        state.id_text = id.clone();
        state.kind_text = kind_to_ron(&node.kind).unwrap_or_default();
        state.kind_error = None;
        state.kind_shown = Some(node.kind.clone());
    }
    if state.kind_shown.as_ref() != Some(&node.kind) && state.kind_error.is_none() {
        state.kind_text = kind_to_ron(&node.kind).unwrap_or_default();
        state.kind_shown = Some(node.kind.clone());
    }
    let entry = node.kind.entry();
    ui.horizontal(|ui| {
        ui.heading(RichText::new(entry.name).color(theme::family_color(entry.family)));
        ui.label(RichText::new(theme::family_label(entry.family)).weak());
    });
    ui.label(RichText::new(entry.explanation).weak());
    ui.separator();
    id_ui(ui, doc, &id, state, &mut edits);
    let mut note = node.note.clone();
    ui.label("note");
    let response = ui.add(
        egui::TextEdit::multiline(&mut note)
            .desired_rows(2)
            .hint_text("what this node is for"),
    );
    if response.changed() {
        let group = Some(EditGroup(response.id));
        edits.push((
            Edit::SetNote {
                id: id.clone(),
                note,
            },
            group,
        ));
    }

    parallelism_ui(ui, &node, &mut edits);

    ui.separator();
    ui.label(RichText::new("Settings").strong());
    let input_schema = node.kind.input_ports().first().and_then(|port| {
        let (pipeline, validation) = doc.checked();
        validation.schemas.input(pipeline, &id, port).cloned()
    });
    let mut kind = node.kind.clone();
    let change = super::forms::kind_form(ui, &mut kind, input_schema.as_deref());
    if change.changed {
        state.kind_text = kind_to_ron(&kind).unwrap_or_default();
        state.kind_error = None;
        state.kind_shown = Some(kind.clone());
        let group = change.widget.map(EditGroup);
        edits.push((
            Edit::SetKind {
                id: id.clone(),
                kind,
            },
            group,
        ));
    }
    ron_text_ui(ui, &id, state, &mut edits);
    problems_of_node_ui(ui, doc, &id);
    ui.separator();
    for port in node.kind.input_ports() {
        let (pipeline, validation) = doc.checked();
        let schema = validation.schemas.input(pipeline, &id, &port).cloned();
        if let Some(schema) = schema {
            columns_ui(ui, &format!("In: {port}"), &schema);
        }
    }
    for port in node.kind.output_ports() {
        let schema = doc.validation().schemas.output(&id, &port).cloned();
        if let Some(schema) = schema {
            columns_ui(ui, &format!("Out: {port}"), &schema);
        }
    }
    edits
}

/// The pipeline's own fields, shown while no node is selected: its name and description.
fn pipeline_ui(ui: &mut Ui, doc: &EditorDocument, edits: &mut Edits) {
    ui.heading("Pipeline");
    let pipeline = doc.pipeline();
    let mut name = pipeline.name.clone();
    let label = ui.label("name");
    let response = ui
        .add(egui::TextEdit::singleline(&mut name).desired_width(f32::INFINITY))
        .labelled_by(label.id);
    if response.changed() {
        edits.push((Edit::SetName(name), Some(EditGroup(response.id))));
    }
    let mut description = pipeline.description.clone();
    let label = ui.label("description").on_hover_text(
        "Shown above the canvas when the pipeline opens: what it is for, what to try",
    );
    let response = ui
        .add(
            egui::TextEdit::multiline(&mut description)
                .desired_rows(5)
                .desired_width(f32::INFINITY)
                .hint_text("what this pipeline does, and what to watch for"),
        )
        .labelled_by(label.id);
    if response.changed() {
        edits.push((
            Edit::SetDescription(description),
            Some(EditGroup(response.id)),
        ));
    }
    ui.label(
        RichText::new(format!(
            "{} nodes, {} edges",
            pipeline.nodes.len(),
            pipeline.edges.len()
        ))
        .weak(),
    );
}

/// How many instances run the node: one per core unless the file says.
fn parallelism_ui(ui: &mut Ui, node: &crate::model::node::Node, edits: &mut Edits) {
    use crate::model::validate::MAX_PARALLELISM;
    ui.horizontal(|ui| {
        let label = ui.label("parallelism").on_hover_text(
            "How many instances run this node side by side, each with its share of the keys. Only keyed nodes (windows, deduplicate) split; the others run once.",
        );
        let mut per_core = node.parallelism.is_none();
        let mut count = node.parallelism.unwrap_or(2);
        let toggled = ui.checkbox(&mut per_core, "one per core").changed();
        let mut dragged = None;
        if !per_core {
            let response = ui
                .add(egui::DragValue::new(&mut count).range(1..=MAX_PARALLELISM))
                .labelled_by(label.id);
            if response.changed() {
                dragged = Some(EditGroup(response.id));
            }
        }
        if toggled || dragged.is_some() {
            edits.push((
                Edit::SetParallelism {
                    id: node.id.clone(),
                    parallelism: (!per_core).then_some(count),
                },
                dragged,
            ));
        }
    });
}

/// The id field: a rename applies when the field loses focus, if the new id is valid and free.
fn id_ui(
    ui: &mut Ui,
    doc: &EditorDocument,
    id: &str,
    state: &mut InspectorState,
    edits: &mut Edits,
) {
    ui.horizontal(|ui| {
        ui.label("id")
            .on_hover_text("A stable, readable name; edges and the layout follow a rename");
        let response = ui.text_edit_singleline(&mut state.id_text);
        let wanted = state.id_text.trim().to_string();
        let taken = wanted != id && doc.pipeline().node(&wanted).is_some();
        if response.lost_focus() && wanted != id {
            if is_valid_id(&wanted) && !taken {
                edits.push((
                    Edit::Rename {
                        from: id.to_string(),
                        to: wanted.clone(),
                    },
                    None,
                ));
                state.node = Some(wanted.clone());
            } else {
                state.id_text = id.to_string();
            }
        }
        if wanted != id && (!is_valid_id(&wanted) || taken) {
            ui.label(
                RichText::new(if taken { "taken" } else { "letters, digits, _" })
                    .color(theme::ERROR),
            );
        }
    });
}

/// The configuration as RON text; edits apply as soon as they parse.
fn ron_text_ui(ui: &mut Ui, id: &str, state: &mut InspectorState, edits: &mut Edits) {
    egui::CollapsingHeader::new(RichText::new("As written in the file").small())
        .default_open(false)
        .show(ui, |ui| {
            ui.label(
                RichText::new(
                    "The node's configuration as RON text; edits apply as soon as they are valid.",
                )
                .small()
                .weak(),
            );
            let editor = egui::TextEdit::multiline(&mut state.kind_text)
                .code_editor()
                .desired_rows(8)
                .desired_width(f32::INFINITY);
            let response = ui.add(editor);
            if response.changed() {
                match parse_kind(&state.kind_text) {
                    Ok(kind) => {
                        state.kind_error = None;
                        state.kind_shown = Some(kind.clone());
                        edits.push((
                            Edit::SetKind {
                                id: id.to_string(),
                                kind,
                            },
                            Some(EditGroup(response.id)),
                        ));
                    }
                    Err(problem) => {
                        let at = problem
                            .position
                            .map(|p| format!(" (line {}, column {})", p.line, p.column))
                            .unwrap_or_default();
                        state.kind_error = Some(format!("{}{at}", problem.message));
                    }
                }
            }
            if let Some(error) = &state.kind_error {
                ui.label(RichText::new(format!("not applied: {error}")).color(theme::ERROR));
            }
        });
}

fn problems_of_node_ui(ui: &mut Ui, doc: &mut EditorDocument, id: &str) {
    let problems: Vec<Problem> = doc
        .validation()
        .problems
        .iter()
        .filter(|p| matches!(&p.subject, Subject::Node { id: pid, .. } if pid == id))
        .cloned()
        .collect();
    for problem in &problems {
        let color = if problem.is_error() {
            theme::ERROR
        } else {
            theme::WARNING
        };
        ui.label(RichText::new(&problem.message).color(color));
    }
}

fn columns_ui(ui: &mut Ui, title: &str, schema: &arrow::datatypes::Schema) {
    egui::CollapsingHeader::new(format!("{title} ({} columns)", schema.fields().len()))
        .default_open(true)
        .show(ui, |ui| {
            egui::Grid::new(title).striped(true).show(ui, |ui| {
                for field in schema.fields() {
                    ui.label(RichText::new(field.name()).monospace());
                    ui.label(RichText::new(sql_type_name(field.data_type())).weak());
                    ui.end_row();
                }
            });
        });
}
