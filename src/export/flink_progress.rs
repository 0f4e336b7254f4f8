//! What `eddy flink run --progress-json` reports while it follows a Flink job, one line at a
//! time: the job's state and, per node of the pipeline, the records its Flink vertex read and
//! wrote, as the JobManager counts them — so the app can draw a Flink run on the canvas. A vertex
//! is matched to the nodes whose tables it names (`trips__file[1]`, `revenue_chart[7]: Writer`):
//! sources and sinks, and whatever Flink chained with them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What starts a progress line.
pub const PREFIX: &str = "eddy-flink-progress ";

/// One look at the job.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FlinkProgress {
    pub job: String,
    /// RUNNING, FINISHED, FAILED, CANCELED, …
    pub state: String,
    /// By node id: the counts of the vertex (or vertices) that run it.
    pub nodes: BTreeMap<String, VertexCounts>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VertexCounts {
    pub status: String,
    /// Records the vertex received from other vertices (0 for a source).
    pub read: u64,
    /// Records the vertex sent to other vertices (0 for a sink).
    pub written: u64,
}

impl FlinkProgress {
    /// From `GET /jobs/{id}`, for the pipeline's `node_ids`.
    pub fn from_job(details: &Value, node_ids: &[String]) -> Self {
        let mut nodes: BTreeMap<String, VertexCounts> = BTreeMap::new();
        for vertex in details["vertices"].as_array().into_iter().flatten() {
            let name = vertex["name"].as_str().unwrap_or_default();
            let status = vertex["status"].as_str().unwrap_or_default();
            let read = vertex["metrics"]["read-records"].as_u64().unwrap_or(0);
            let written = vertex["metrics"]["write-records"].as_u64().unwrap_or(0);
            for id in vertex_nodes(name, node_ids) {
                let counts = nodes.entry(id.clone()).or_default();
                counts.status = status.to_string();
                counts.read += read;
                counts.written += written;
            }
        }
        Self {
            job: details["jid"].as_str().unwrap_or_default().to_string(),
            state: details["state"].as_str().unwrap_or_default().to_string(),
            nodes,
        }
    }

    /// The line `eddy flink run --progress-json` prints.
    pub fn line(&self) -> String {
        format!(
            "{PREFIX}{}",
            serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
        )
    }

    /// A progress line read back; `None` for any other line.
    pub fn parse(line: &str) -> Option<Self> {
        serde_json::from_str(line.strip_prefix(PREFIX)?).ok()
    }
}

/// The nodes a vertex runs: every table its name refers to as `table[n]` whose name is a node id,
/// or a node id and a suffix the export adds (`trips__file`).
pub fn vertex_nodes<'a>(name: &str, node_ids: &'a [String]) -> Vec<&'a String> {
    let mut found: Vec<&String> = Vec::new();
    let bytes = name.as_bytes();
    let mut start = None;
    for (i, &b) in bytes.iter().enumerate() {
        let word = b.is_ascii_alphanumeric() || b == b'_';
        match (word, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                if b == b'[' {
                    let table = &name[s..i];
                    for id in node_ids {
                        let named = table == id
                            || table
                                .strip_prefix(id.as_str())
                                .is_some_and(|rest| rest.starts_with("__"));
                        if named && !found.contains(&id) {
                            found.push(id);
                        }
                    }
                }
                start = None;
            }
            _ => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn vertices_name_their_source_and_sink_tables() {
        let nodes = ids(&["trips", "clean", "revenue_chart", "trip"]);
        assert_eq!(
            vertex_nodes("Source: trips__file[1] -> Calc[2]", &nodes),
            ["trips"]
        );
        assert_eq!(
            vertex_nodes("revenue_chart[7]: Writer", &nodes),
            ["revenue_chart"]
        );
        // A chain of a source into a sink names both; a node whose id is a prefix of a table's
        // without the export's `__` is not it.
        assert_eq!(
            vertex_nodes(
                "Source: trips__file[1] -> Calc[2] -> revenue_chart[3]: Writer",
                &nodes
            ),
            ["trips", "revenue_chart"]
        );
        assert!(vertex_nodes("GlobalWindowAggregate[4]", &nodes).is_empty());
        assert!(vertex_nodes("Source: tripsx[1]", &nodes).is_empty());
    }

    #[test]
    fn a_jobs_answer_becomes_counts_per_node_and_a_line_that_reads_back() {
        // The shape of `GET /jobs/{id}` (Flink 2.3, as the mini-cluster answered it).
        let details = serde_json::json!({
            "jid": "60f5",
            "state": "RUNNING",
            "vertices": [
                {"name": "Source: src__file[1]", "status": "RUNNING",
                 "metrics": {"read-records": 0, "write-records": 6000}},
                {"name": "snk[2]: Writer", "status": "RUNNING",
                 "metrics": {"read-records": 5242, "write-records": 0}}
            ]
        });
        let progress = FlinkProgress::from_job(&details, &ids(&["src", "snk", "other"]));
        assert_eq!(progress.state, "RUNNING");
        assert_eq!(progress.nodes["src"].written, 6000);
        assert_eq!(progress.nodes["snk"].read, 5242);
        assert!(!progress.nodes.contains_key("other"));
        assert_eq!(FlinkProgress::parse(&progress.line()), Some(progress));
        assert_eq!(FlinkProgress::parse("eddy: job 60f5: RUNNING"), None);
    }
}
