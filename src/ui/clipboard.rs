//! Copy and paste of nodes as RON text, so selections move between windows, files and editors.

use std::collections::{BTreeSet, HashMap};

use crate::model::file::{parse, to_ron_string};
use crate::model::node::fresh_id;
use crate::model::{FORMAT_VERSION, Layout, Pipeline, Position};

/// The selected nodes, the edges between them and their positions, as a small pipeline file.
pub fn copy_text(pipeline: &Pipeline, ids: &BTreeSet<String>) -> Option<String> {
    if ids.is_empty() {
        return None;
    }
    let mut layout = Layout::default();
    for id in ids {
        if let Some(p) = pipeline.layout.nodes.get(id) {
            layout.nodes.insert(id.clone(), *p);
        }
    }
    let fragment = Pipeline {
        format_version: FORMAT_VERSION,
        name: "copied nodes".into(),
        description: String::new(),
        nodes: pipeline
            .nodes
            .iter()
            .filter(|n| ids.contains(&n.id))
            .cloned()
            .collect(),
        edges: pipeline
            .edges
            .iter()
            .filter(|e| ids.contains(&e.from.node) && ids.contains(&e.to.node))
            .cloned()
            .collect(),
        layout,
    };
    to_ron_string(&fragment).ok()
}

/// Adds the nodes of pasted text, renaming ids that are taken and shifting them so they show up
/// beside the originals. Returns the new ids, or `None` when the text is not a pipeline.
pub fn paste_into(pipeline: &mut Pipeline, text: &str, shift: f32) -> Option<BTreeSet<String>> {
    let fragment = parse(text).ok()?;
    let mut renamed: HashMap<String, String> = HashMap::new();
    let mut added = BTreeSet::new();
    for mut node in fragment.nodes {
        let taken: Vec<String> = pipeline.nodes.iter().map(|n| n.id.clone()).collect();
        let id = fresh_id(&node.id, taken.iter().map(String::as_str));
        renamed.insert(node.id.clone(), id.clone());
        let at = fragment
            .layout
            .nodes
            .get(&node.id)
            .copied()
            .unwrap_or(Position(40.0, 40.0));
        node.id = id.clone();
        pipeline
            .layout
            .nodes
            .insert(id.clone(), Position(at.0 + shift, at.1 + shift));
        pipeline.nodes.push(node);
        added.insert(id);
    }
    for mut edge in fragment.edges {
        if let (Some(from), Some(to)) = (renamed.get(&edge.from.node), renamed.get(&edge.to.node)) {
            edge.from.node = from.clone();
            edge.to.node = to.clone();
            pipeline.edges.push(edge);
        }
    }
    Some(added)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::starter::starter_pipeline;

    #[test]
    fn copy_then_paste_duplicates_nodes_and_their_inner_edges() {
        let mut p = starter_pipeline("t");
        let ids: BTreeSet<String> = ["warm".to_string(), "per_minute".to_string()].into();
        let text = copy_text(&p, &ids).unwrap();
        let added = paste_into(&mut p, &text, 30.0).unwrap();
        assert_eq!(
            added,
            BTreeSet::from(["warm_2".to_string(), "per_minute_2".to_string()])
        );
        assert!(
            p.edges
                .iter()
                .any(|e| e.to_string() == "warm_2.out -> per_minute_2.in")
        );
        assert_eq!(p.nodes.len(), 6);
        assert!(paste_into(&mut p, "not a pipeline", 0.0).is_none());
    }
}
