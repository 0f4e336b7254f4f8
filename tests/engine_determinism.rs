//! The same input and seed give the same results at any parallelism (compared sorted), and a run
//! repeated gives the same results again.

mod support;

use support::{run_in, scratch};

const PIPELINE: &str = r#"(
    format_version: 1,
    name: "determinism",
    nodes: [
        (id: "readings", kind: Source(Generator(
            preset: IotSensors, events_per_sec: 2000, keys: 50, key_skew: 1.0, disorder: "3s",
            late_share: 0.02, late_by: "20s", duplicate_share: 0.01, idle_keys: 5, seed: 99,
            start_time: "2024-03-01T12:00:00Z", stop_after: Events(60000),
            time: EventTime(column: "event_time", max_out_of_orderness: "1s"),
        ))),
        (id: "per_sensor", kind: Window(window: Tumbling(size: "10s"), key_by: ["sensor_id"],
            aggregates: ["count(*) AS n", "avg(temperature) AS t", "max(humidity) AS h"],
            allowed_lateness: "5s", emit: OnWatermark)),
        (id: "sessions", kind: Window(window: Session(gap: "2s"), key_by: ["sensor_id", "site"],
            aggregates: ["count(*) AS n"], allowed_lateness: "0s", emit: OnWatermark)),
        (id: "results", kind: Sink(Table(view: Latest(1000000)))),
        (id: "session_results", kind: Sink(Table(view: Latest(1000000)))),
        (id: "late", kind: Sink(Table(view: Latest(1000000)))),
    ],
    edges: [
        "readings.out -> per_sensor.in",
        "readings.out -> sessions.in",
        "per_sensor.out -> results.in",
        "per_sensor.late -> late.in",
        "sessions.out -> session_results.in",
    ],
)"#;

#[test]
fn parallelism_1_2_and_4_give_identical_results() {
    let dir = scratch("determinism");
    let one = run_in(&dir, PIPELINE, &[], 1);
    let results = one.sorted_lines("results");
    let sessions = one.sorted_lines("session_results");
    let late = one.sorted_lines("late");
    assert!(results.len() > 100, "{}", results.len());
    assert!(
        !late.is_empty(),
        "the generator's late events should produce late rows"
    );
    assert!(
        one.node("per_sensor").late_firings > 0,
        "allowed lateness should cause late firings"
    );
    for parallelism in [2, 4] {
        let other = run_in(&dir, PIPELINE, &[], parallelism);
        assert_eq!(
            other.sorted_lines("results"),
            results,
            "window results at parallelism {parallelism}"
        );
        assert_eq!(
            other.sorted_lines("session_results"),
            sessions,
            "sessions at parallelism {parallelism}"
        );
        assert_eq!(
            other.sorted_lines("late"),
            late,
            "late rows at parallelism {parallelism}"
        );
    }
    let again = run_in(&dir, PIPELINE, &[], 1);
    assert_eq!(
        again.lines("results"),
        one.lines("results"),
        "a repeated run is identical, in order too"
    );
}

#[test]
fn nothing_is_lost_late_rows_plus_final_counts_equal_the_input() {
    let dir = scratch("accounting");
    let out = run_in(&dir, PIPELINE, &[], 2);
    let produced = out.node("readings").rows_out;
    // The last result of each (sensor, window) is its final count; earlier ones were updated.
    let mut finals = std::collections::BTreeMap::new();
    for line in out.lines("results") {
        let parts: Vec<&str> = line.split('|').collect();
        let n: u64 = parts[3].parse().unwrap();
        finals.insert((parts[0].to_string(), parts[1].to_string()), n);
    }
    let counted: u64 = finals.values().sum();
    let late = out.node("per_sensor").late_rows;
    let dropped = out.node("per_sensor").dropped_rows;
    assert_eq!(
        counted + late + dropped,
        produced,
        "counted {counted} + late {late} + dropped {dropped}"
    );
    assert_eq!(out.lines("late").len() as u64, late);
}
