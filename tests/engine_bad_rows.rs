//! Malformed rows in CSV and JSON-lines files: counted, routed to `errors` with line, raw text and
//! reason; the run continues and no good row is lost.

mod support;

use support::{run_in, scratch};

fn pipeline(source: &str) -> String {
    format!(
        r#"(
    format_version: 1,
    name: "bad rows",
    nodes: [
        (id: "src", kind: Source({source})),
        (id: "good", kind: Sink(Table(view: Latest(100000)))),
        (id: "bad", kind: Sink(Table(view: Latest(100000)))),
    ],
    edges: ["src.out -> good.in", "src.errors -> bad.in"],
)"#
    )
}

#[test]
fn csv_bad_rows_go_to_errors_with_line_and_reason() {
    let dir = scratch("bad-csv");
    let mut data = String::from("ts,sensor,value\n");
    let mut good = 0;
    for i in 0..10_000 {
        match i % 1000 {
            17 => data.push_str("1000,too,many,fields\n"),
            18 => data.push_str(&format!("{},s1,not-a-number\n", i * 10)),
            19 => data.push_str(",s1,3.5\n"),
            20 => data.push_str("yesterday,s1,1\n"),
            _ => {
                data.push_str(&format!("{},s{},{}.5\n", i * 10, i % 7, i % 13));
                good += 1;
            }
        }
    }
    let ron = pipeline(
        r#"CsvFile(path: "data.csv", schema: [(name: "ts", type: Timestamp), (name: "sensor", type: String), (name: "value", type: Float64)], time: EventTime(column: "ts", max_out_of_orderness: "1s"))"#,
    );
    let out = run_in(&dir, &ron, &[("data.csv", &data)], 1);
    assert_eq!(out.lines("good").len(), good);
    let bad = out.lines("bad");
    assert_eq!(bad.len(), 40);
    assert_eq!(out.node("src").error_rows, 40);
    // Line 19 of the file holds the first row with three many fields (header is line 1).
    assert_eq!(bad[0], "19|1000,too,many,fields|expected 3 fields, found 4");
    assert!(
        bad[1].starts_with("20|180,s1,not-a-number|column `value`: `not-a-number` is not a number"),
        "{}",
        bad[1]
    );
    assert!(
        bad[2].contains("the event-time column `ts` is empty"),
        "{}",
        bad[2]
    );
    assert!(bad[3].contains("`yesterday` is not a time"), "{}", bad[3]);
}

#[test]
fn json_bad_lines_go_to_errors_and_the_run_goes_on() {
    let dir = scratch("bad-json");
    let data = "{\"ts\": \"2024-01-15T08:00:00Z\", \"user\": \"a\", \"n\": 1}\n\
                {\"ts\": \"2024-01-15T08:00:01Z\", \"user\": \"b\", \"n\": \n\
                [1, 2, 3]\n\
                {\"ts\": \"2024-01-15T08:00:02Z\", \"user\": \"c\", \"n\": \"many\"}\n\
                {\"user\": \"d\", \"n\": 4}\n\
                \n\
                {\"ts\": \"2024-01-15T08:00:03Z\", \"user\": \"e\", \"n\": 5, \"extra\": true}\n";
    let ron = pipeline(
        r#"JsonLinesFile(path: "data.jsonl", schema: [(name: "ts", type: Timestamp), (name: "user", type: String), (name: "n", type: Int64)], time: EventTime(column: "ts", max_out_of_orderness: "0s"))"#,
    );
    let out = run_in(&dir, &ron, &[("data.jsonl", data)], 1);
    assert_eq!(
        out.lines("good"),
        vec![
            "2024-01-15T08:00:00.000Z|a|1",
            "2024-01-15T08:00:03.000Z|e|5"
        ]
    );
    let bad = out.lines("bad");
    let lines: Vec<&str> = bad.iter().map(|l| l.split('|').next().unwrap()).collect();
    assert_eq!(lines, vec!["2", "3", "4", "5"]);
    assert!(bad[0].contains("not valid JSON"), "{}", bad[0]);
    assert!(bad[1].contains("not an object"), "{}", bad[1]);
    assert!(bad[2].contains("field `n`"), "{}", bad[2]);
    assert!(
        bad[3].contains("event-time field `ts` is missing"),
        "{}",
        bad[3]
    );
}

#[test]
fn a_failing_operator_stops_the_run_and_names_the_node() {
    use eddy::model::file::parse;
    use eddy::runtime::{RunOptions, RunStatus, start_pipeline};
    let dir = scratch("failing");
    std::fs::write(dir.join("data.csv"), "ts,v\n1000,0\n2000,5\n").unwrap();
    // 1 / v divides by zero on the first row: DataFusion reports it as an error.
    let ron = r#"(
    format_version: 1,
    name: "failing",
    nodes: [
        (id: "src", kind: Source(CsvFile(path: "data.csv", time: EventTime(column: "ts", max_out_of_orderness: "0s")))),
        (id: "ratio", kind: Transform(Map(columns: ["10 / v AS r"]))),
        (id: "out", kind: Sink(CsvFile(path: "out.csv"))),
    ],
    edges: ["src.out -> ratio.in", "ratio.out -> out.in"],
)"#;
    let pipeline = parse(ron).unwrap();
    let handle = start_pipeline(&pipeline, &dir, RunOptions::default()).unwrap();
    let report = handle.wait();
    match report.status {
        RunStatus::Failed(error) => {
            assert_eq!(error.node.as_deref(), Some("ratio"));
            assert!(
                error.message.contains("Divide by zero"),
                "{}",
                error.message
            );
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    // The sink never completed, so no file pretends to be whole.
    assert!(!dir.join("out.csv").exists());
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty());
}
