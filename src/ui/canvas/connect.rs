//! Whether an edge may be drawn: one edge per input, no node feeding itself, no cycles. Asked every
//! frame of a connecting drag, so it walks the edges without copying the pipeline.

use std::collections::{HashMap, VecDeque};

use crate::model::{Pipeline, PortRef};

/// Whether an edge from `from` to `to` may be drawn, or why not.
pub fn can_connect(pipeline: &Pipeline, from: &PortRef, to: &PortRef) -> Result<(), String> {
    if from.node == to.node {
        return Err("a node cannot feed itself".into());
    }
    if let Some(existing) = pipeline.edges.iter().find(|e| e.to == *to) {
        return Err(format!(
            "{to} already takes rows from {}; an input takes one edge (use a Union to merge)",
            existing.from
        ));
    }
    if let Some(path) = path_between(pipeline, &to.node, &from.node) {
        let mut cycle = vec![from.node.as_str()];
        cycle.extend(path.iter().map(String::as_str));
        return Err(format!("this would make a cycle: {}", cycle.join(" -> ")));
    }
    Ok(())
}

/// The nodes on a path of edges from `start` to `goal` (both included), if there is one.
fn path_between(pipeline: &Pipeline, start: &str, goal: &str) -> Option<Vec<String>> {
    let mut came_from: HashMap<&str, &str> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        if node == goal {
            let mut path = vec![goal.to_string()];
            let mut at = goal;
            while let Some(&previous) = came_from.get(at) {
                path.push(previous.to_string());
                at = previous;
            }
            path.reverse();
            return Some(path);
        }
        for edge in pipeline.edges.iter().filter(|e| e.from.node == node) {
            let next = edge.to.node.as_str();
            if next != start && !came_from.contains_key(next) {
                came_from.insert(next, node);
                queue.push_back(next);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::starter::starter_pipeline;

    #[test]
    fn refuses_a_second_input_a_self_loop_and_a_cycle() {
        let p = starter_pipeline("t");
        let port = |n: &str, p: &str| PortRef::new(n, p);
        assert!(can_connect(&p, &port("warm", "out"), &port("warm", "in")).is_err());
        let taken = can_connect(&p, &port("readings", "out"), &port("warm", "in")).unwrap_err();
        assert!(
            taken.contains("already takes rows from readings.out"),
            "{taken}"
        );
        // readings -> warm -> per_minute: per_minute feeding back into readings would loop,
        // but readings has no input; so look at a cycle through warm instead.
        let mut q = p.clone();
        q.edges.retain(|e| e.to.node != "warm");
        let cycle = can_connect(&q, &port("per_minute", "out"), &port("warm", "in")).unwrap_err();
        assert_eq!(
            cycle,
            "this would make a cycle: per_minute -> warm -> per_minute"
        );
        assert!(can_connect(&q, &port("readings", "out"), &port("warm", "in")).is_ok());
    }
}
