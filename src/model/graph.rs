//! Graph questions about a pipeline: which edges feed a port, a topological order, cycles.

use std::collections::{BTreeSet, HashMap};

use super::document::{Edge, Pipeline};

/// Node indices in an order where every node comes after the nodes feeding it, and the cycles
/// (as node id paths, first id repeated at the end) that prevent some nodes from being ordered.
pub fn topological_order(pipeline: &Pipeline) -> (Vec<usize>, Vec<Vec<String>>) {
    let index: HashMap<&str, usize> = pipeline
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), i))
        .collect();
    let n = pipeline.nodes.len();
    let mut successors: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    for edge in &pipeline.edges {
        if let (Some(&a), Some(&b)) = (
            index.get(edge.from.node.as_str()),
            index.get(edge.to.node.as_str()),
        ) {
            successors[a].insert(b);
        }
    }
    let mut in_degree = vec![0usize; n];
    for next in &successors {
        for &b in next {
            in_degree[b] += 1;
        }
    }
    let mut ready: Vec<usize> = (0..n).rev().filter(|&i| in_degree[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop() {
        order.push(i);
        for &b in successors[i].iter().rev() {
            in_degree[b] -= 1;
            if in_degree[b] == 0 {
                ready.push(b);
            }
        }
    }
    let mut cycles = Vec::new();
    let mut reported = vec![false; n];
    for start in 0..n {
        if in_degree[start] == 0 || reported[start] {
            continue;
        }
        // Walk inside the unordered nodes until a node repeats: that closes a cycle.
        let mut path = vec![start];
        let mut current = start;
        while let Some(&next) = successors[current].iter().find(|&&b| in_degree[b] > 0) {
            if let Some(at) = path.iter().position(|&p| p == next) {
                let cycle: Vec<usize> = path[at..].to_vec();
                if cycle.iter().all(|&c| !reported[c]) {
                    for &c in &cycle {
                        reported[c] = true;
                    }
                    let mut ids: Vec<String> = cycle
                        .iter()
                        .map(|&c| pipeline.nodes[c].id.clone())
                        .collect();
                    ids.push(pipeline.nodes[next].id.clone());
                    cycles.push(ids);
                }
                break;
            }
            path.push(next);
            current = next;
        }
    }
    (order, cycles)
}

/// The edges arriving at `node`'s input `port`.
pub fn edges_into<'a>(pipeline: &'a Pipeline, node: &str, port: &str) -> Vec<&'a Edge> {
    pipeline
        .edges
        .iter()
        .filter(|e| e.to.node == node && e.to.port == port)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::document::{Edge, Layout, Pipeline};
    use crate::model::kinds::filter::FilterTransform;
    use crate::model::kinds::{NodeKind, TransformKind};
    use crate::model::node::Node;

    fn filter(id: &str) -> Node {
        Node {
            id: id.into(),
            kind: NodeKind::Transform(TransformKind::Filter(FilterTransform {
                predicate: "true".into(),
            })),
            note: String::new(),
            parallelism: None,
        }
    }

    #[test]
    fn orders_a_chain_and_finds_a_cycle() {
        let mut p = Pipeline {
            format_version: 1,
            name: "t".into(),
            description: String::new(),
            nodes: vec![filter("c"), filter("a"), filter("b")],
            edges: vec![
                Edge::new(("a", "out"), ("b", "in")),
                Edge::new(("b", "out"), ("c", "in")),
            ],
            layout: Layout::default(),
        };
        let (order, cycles) = topological_order(&p);
        let ids: Vec<&str> = order.iter().map(|&i| p.nodes[i].id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        assert!(cycles.is_empty());
        p.edges.push(Edge::new(("c", "out"), ("b", "in")));
        let (order, cycles) = topological_order(&p);
        assert_eq!(order.len(), 1);
        assert_eq!(cycles, vec![vec!["c", "b", "c"]]);
    }
}
