//! Every example pipeline: loads, is canonical (load -> save is byte-identical), checks clean,
//! and has the schemas its description promises.

use std::fs;
use std::path::{Path, PathBuf};

use arrow::datatypes::DataType;
use eddy::model::check::check_file;
use eddy::model::file::{parse, to_ron_string};

fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("pipelines/ exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .collect();
    files.sort();
    files
}

#[test]
fn there_are_examples_for_the_course() {
    let names: Vec<String> = examples()
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    for expected in [
        "taxi_workshop",
        "iot_alerts",
        "clickstream_leaderboard",
        "user_sessions",
        "late_data_lab",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "missing example {expected}: {names:?}"
        );
    }
}

#[test]
fn every_example_round_trips_byte_for_byte() {
    for path in examples() {
        let text = fs::read_to_string(&path).unwrap();
        let pipeline = parse(&text).unwrap_or_else(|p| panic!("{}: {p}", path.display()));
        let saved = to_ron_string(&pipeline).unwrap();
        assert_eq!(saved, text, "{} is not canonical", path.display());
        assert_eq!(parse(&saved).unwrap(), pipeline);
    }
}

#[test]
fn every_example_checks_clean_and_has_a_description() {
    for path in examples() {
        let checked = check_file(&path);
        let problems: Vec<String> = checked
            .problems
            .iter()
            .map(|p| p.display_in(&path.display().to_string()).to_string())
            .collect();
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        let pipeline = checked.pipeline.unwrap();
        assert!(
            pipeline.description.len() > 80,
            "{} needs a description that teaches",
            path.display()
        );
    }
}

#[test]
fn every_connected_port_of_every_example_has_a_schema() {
    for path in examples() {
        let checked = check_file(&path);
        let pipeline = checked.pipeline.unwrap();
        let schemas = checked.validation.unwrap().schemas;
        for edge in &pipeline.edges {
            assert!(
                schemas.output(&edge.from.node, &edge.from.port).is_some(),
                "{}: no schema for {}",
                path.display(),
                edge.from
            );
        }
    }
}

#[test]
fn taxi_window_output_is_keys_bounds_and_aggregates() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/taxi_workshop.ron");
    let checked = check_file(&path);
    let schemas = checked.validation.unwrap().schemas;
    let out = schemas.output("revenue_per_zone", "out").unwrap();
    let columns: Vec<(&str, &DataType)> = out
        .fields()
        .iter()
        .map(|f| (f.name().as_str(), f.data_type()))
        .collect();
    let ts = DataType::Timestamp(arrow::datatypes::TimeUnit::Millisecond, None);
    assert_eq!(
        columns,
        vec![
            ("pickup_location_id", &DataType::Int32),
            ("window_start", &ts),
            ("window_end", &ts),
            ("trips", &DataType::Int64),
            ("revenue", &DataType::Float64),
            ("avg_price_per_mile", &DataType::Float64),
        ]
    );
    // The Map kept the input columns and appended the computed ones.
    let enriched = schemas.output("enrich", "out").unwrap();
    assert_eq!(
        enriched.field_with_name("tipped").unwrap().data_type(),
        &DataType::Boolean
    );
    assert!(enriched.field_with_name("fare_amount").is_ok());
    // The late port carries the input row plus why it was late.
    let late = schemas.output("revenue_per_zone", "late").unwrap();
    assert!(late.field_with_name("late_reason").is_ok());
    assert!(late.field_with_name("total_amount").is_ok());
}

#[test]
fn json_lines_schema_is_inferred_in_file_order_with_event_time_as_timestamp() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/log_analytics.ron");
    let checked = check_file(&path);
    let schemas = checked.validation.unwrap().schemas;
    let out = schemas.output("logs", "out").unwrap();
    let names: Vec<&str> = out.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names[..3], ["timestamp", "service", "host"]);
    assert!(matches!(out.field(0).data_type(), DataType::Timestamp(..)));
    assert_eq!(
        out.field_with_name("latency_ms").unwrap().data_type(),
        &DataType::Int64
    );
}

#[test]
fn the_readme_example_is_a_valid_pipeline() {
    let readme =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme
        .find("```ron\n")
        .expect("the README shows a pipeline")
        + "```ron\n".len();
    let end = start + readme[start..].find("```").unwrap();
    let text = &readme[start..end];
    let checked = eddy::model::check::check_text(Path::new("README.ron"), text);
    let problems: Vec<String> = checked.problems.iter().map(|p| p.to_string()).collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
