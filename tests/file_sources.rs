//! File sources: columns inferred from CSV and JSON-lines files, declared schemas, and event time
//! read from epoch milliseconds or ISO-8601 text becoming TIMESTAMP(3).

use std::fs;
use std::path::PathBuf;

use arrow::datatypes::DataType;
use eddy::model::check::check_text;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("eddy-files-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn pipeline(source: &str) -> String {
    format!(
        r#"(
    format_version: 1,
    name: "file source",
    nodes: [
        (id: "src", kind: Source({source})),
        (id: "print", kind: Sink(Console(format: Table))),
    ],
    edges: ["src.out -> print.in"],
)"#
    )
}

#[test]
fn csv_columns_are_inferred_and_epoch_ms_becomes_a_timestamp() {
    let dir = scratch("csv");
    fs::write(
        dir.join("events.csv"),
        "event_time_ms,key,value,ok,note\n1000,sensor-0001,1.5,true,a\n2000,sensor-0002,3,false,\n",
    )
    .unwrap();
    let text = pipeline(
        r#"CsvFile(path: "events.csv", time: EventTime(column: "event_time_ms", max_out_of_orderness: "2s"))"#,
    );
    let checked = check_text(&dir.join("p.ron"), &text);
    assert!(checked.problems.is_empty(), "{:?}", checked.problems);
    let schemas = checked.validation.unwrap().schemas;
    let out = schemas.output("src", "out").unwrap();
    let types: Vec<(&str, &DataType)> = out
        .fields()
        .iter()
        .map(|f| (f.name().as_str(), f.data_type()))
        .collect();
    let ts = DataType::Timestamp(arrow::datatypes::TimeUnit::Millisecond, None);
    assert_eq!(
        types,
        vec![
            ("event_time_ms", &ts),
            ("key", &DataType::Utf8),
            ("value", &DataType::Float64),
            ("ok", &DataType::Boolean),
            ("note", &DataType::Utf8),
        ]
    );
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn declared_schema_wins_and_a_bad_time_column_is_named() {
    let dir = scratch("declared");
    fs::write(dir.join("e.csv"), "a,b\n1,2\n").unwrap();
    let text = pipeline(
        r#"CsvFile(path: "e.csv", schema: [(name: "a", type: String), (name: "when", type: Float64)], time: EventTime(column: "when", max_out_of_orderness: "0s"))"#,
    );
    let checked = check_text(&dir.join("p.ron"), &text);
    let messages: Vec<&str> = checked
        .problems
        .iter()
        .map(|p| p.message.as_str())
        .collect();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0].contains("event-time column `when` is DOUBLE"),
        "{messages:?}"
    );
    let text = pipeline(
        r#"CsvFile(path: "e.csv", time: EventTime(column: "ts", max_out_of_orderness: "0s"))"#,
    );
    let checked = check_text(&dir.join("p.ron"), &text);
    assert!(
        checked.problems[0]
            .message
            .contains("`ts` does not exist; the source has: a, b")
    );
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn json_lines_infers_iso_text_as_timestamp_and_skips_bad_lines() {
    let dir = scratch("json");
    fs::write(
        dir.join("e.jsonl"),
        "{\"at\":\"2024-01-15T08:05:00Z\",\"user\":\"u1\",\"n\":1,\"tags\":[1,2]}\nnot json\n{\"at\":\"2024-01-15T08:06:00Z\",\"user\":\"u2\",\"n\":2.5}\n",
    )
    .unwrap();
    let text = pipeline(
        r#"JsonLinesFile(path: "e.jsonl", time: EventTime(column: "at", max_out_of_orderness: "1s"))"#,
    );
    let checked = check_text(&dir.join("p.ron"), &text);
    assert!(checked.problems.is_empty(), "{:?}", checked.problems);
    let schemas = checked.validation.unwrap().schemas;
    let out = schemas.output("src", "out").unwrap();
    assert!(matches!(
        out.field_with_name("at").unwrap().data_type(),
        DataType::Timestamp(..)
    ));
    assert_eq!(
        out.field_with_name("n").unwrap().data_type(),
        &DataType::Float64
    );
    assert_eq!(
        out.field_with_name("tags").unwrap().data_type(),
        &DataType::Utf8
    );
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_empty_file_asks_for_a_declared_schema() {
    let dir = scratch("empty");
    fs::write(dir.join("e.jsonl"), "").unwrap();
    let text = pipeline(r#"JsonLinesFile(path: "e.jsonl", time: ProcessingTime)"#);
    let checked = check_text(&dir.join("p.ron"), &text);
    assert!(
        checked.problems[0].message.contains("declare `schema`"),
        "{:?}",
        checked.problems
    );
    fs::remove_dir_all(dir).unwrap();
}
