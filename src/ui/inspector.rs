//! The inspector: the selected node's id, note and settings (as validated RON text), its input
//! and output columns, and its problems — or the selected edge.

use egui::{RichText, Ui};

use super::canvas::Selection;
use super::document::EditorDocument;
use super::palette::explanation;
use super::theme;
use crate::expr::sql_type_name;
use crate::model::file::{kind_to_ron, parse_kind};
use crate::model::node::is_valid_id;
use crate::model::templates::templates;
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

fn template_name_for(kind: &crate::model::NodeKind) -> &'static str {
    let name = kind.kind_name();
    templates()
        .iter()
        .find(|t| t.kind.kind_name() == name)
        .map_or("", |t| t.name)
}

/// Draws the inspector; edits go through `doc` so they can be undone.
pub fn inspector_ui(
    ui: &mut Ui,
    doc: &mut EditorDocument,
    selection: &mut Selection,
    state: &mut InspectorState,
) {
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
            doc.edit(|p| p.edges.retain(|e| *e != edge));
            selection.edge = None;
        }
        return;
    }
    let selected: Vec<String> = selection.nodes.iter().cloned().collect();
    let [id] = selected.as_slice() else {
        if selection.nodes.is_empty() {
            ui.heading("Inspector");
            ui.label("Select a node to see and edit its settings.");
            ui.label(RichText::new("Tip: double-click the canvas to add a node there.").weak());
        } else {
            ui.heading(format!("{} nodes selected", selection.nodes.len()));
        }
        return;
    };
    let id = id.clone();
    let Some(node) = doc.pipeline.node(&id).cloned() else {
        return;
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
    let family = node.kind.family();
    ui.horizontal(|ui| {
        ui.heading(RichText::new(node.kind.kind_name()).color(theme::family_color(family)));
        ui.label(RichText::new(theme::family_label(family)).weak());
    });
    ui.label(RichText::new(explanation(template_name_for(&node.kind))).weak());
    ui.separator();

    ui.horizontal(|ui| {
        ui.label("id")
            .on_hover_text("A stable, readable name; edges and the layout follow a rename");
        let response = ui.text_edit_singleline(&mut state.id_text);
        let wanted = state.id_text.trim().to_string();
        let taken = wanted != id && doc.pipeline.node(&wanted).is_some();
        if response.lost_focus() && wanted != id {
            if is_valid_id(&wanted) && !taken {
                rename(doc, &id, &wanted);
                selection.nodes = [wanted.clone()].into();
                state.node = Some(wanted.clone());
            } else {
                state.id_text = id.clone();
            }
        }
        if wanted != id && (!is_valid_id(&wanted) || taken) {
            ui.label(
                RichText::new(if taken { "taken" } else { "letters, digits, _" })
                    .color(theme::ERROR),
            );
        }
    });
    let mut note = node.note.clone();
    ui.label("note");
    if ui
        .add(
            egui::TextEdit::multiline(&mut note)
                .desired_rows(2)
                .hint_text("what this node is for"),
        )
        .changed()
    {
        let id = id.clone();
        doc.edit(|p| {
            if let Some(n) = p.node_mut(&id) {
                n.note = note.clone();
            }
        });
    }

    ui.separator();
    ui.label(RichText::new("Settings").strong());
    let input_schema = node.kind.input_ports().first().and_then(|port| {
        let (pipeline, validation) = doc.checked();
        validation.schemas.input(pipeline, &id, port).cloned()
    });
    let mut kind = node.kind.clone();
    if super::forms::kind_form(ui, &mut kind, input_schema.as_deref()) {
        state.kind_text = kind_to_ron(&kind).unwrap_or_default();
        apply_kind(doc, state, &id, kind);
    }
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
            if ui.add(editor).changed() {
                match parse_kind(&state.kind_text) {
                    Ok(kind) => apply_kind(doc, state, &id, kind),
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

    let problems: Vec<Problem> = doc
        .validation()
        .problems
        .iter()
        .filter(|p| matches!(&p.subject, Subject::Node { id: pid, .. } if *pid == id))
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
}

/// Puts a new configuration on the node as one undoable edit and notes it as shown.
fn apply_kind(
    doc: &mut EditorDocument,
    state: &mut InspectorState,
    id: &str,
    kind: crate::model::NodeKind,
) {
    state.kind_error = None;
    state.kind_shown = Some(kind.clone());
    doc.edit(|p| {
        if let Some(n) = p.node_mut(id) {
            n.kind = kind;
        }
    });
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

/// Renames a node; its edges and its place on the canvas follow.
pub fn rename(doc: &mut EditorDocument, from: &str, to: &str) {
    let (from, to) = (from.to_string(), to.to_string());
    doc.edit(|p| {
        if let Some(n) = p.node_mut(&from) {
            n.id = to.clone();
        }
        for e in &mut p.edges {
            if e.from.node == from {
                e.from.node = to.clone();
            }
            if e.to.node == from {
                e.to.node = to.clone();
            }
        }
        if let Some(pos) = p.layout.nodes.remove(&from) {
            p.layout.nodes.insert(to.clone(), pos);
        }
    });
}
