//! Lookup join on a hand-written zone table: hits, misses in inner and left joins, NULL keys,
//! repeated keys under both rules, and reloads that succeed or fail.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use arrow::array::{Array, ArrayRef, Int64Array, TimestampMillisecondArray};
use arrow::record_batch::RecordBatch;

use super::*;
use crate::model::kind::{CheckContext, KindModel, PortInput, Report};
use crate::model::kinds::PlannedKind;
use crate::model::kinds::join::JoinType;
use crate::model::kinds::join::lookup::{LookupJoin, TableFormat};
use crate::model::time::TimeAttr;
use crate::runtime::contract::Captured;

struct Folder(PathBuf);

impl Folder {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("eddy-lookup-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Folder(dir)
    }

    fn write(&self, file: &str, text: &str) {
        std::fs::write(self.0.join(file), text).unwrap();
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

const ZONES: &str = "location_id,zone,borough\n1,Newark Airport,EWR\n132,JFK Airport,Queens\n161,Midtown Center,Manhattan\n";

fn trips(ids: &[Option<i64>]) -> RecordBatch {
    RecordBatch::try_from_iter_with_nullable([
        (
            "pickup_location_id",
            Arc::new(Int64Array::from(ids.to_vec())) as ArrayRef,
            true,
        ),
        (
            "ts",
            Arc::new(TimestampMillisecondArray::from(vec![0; ids.len()])) as ArrayRef,
            true,
        ),
    ])
    .unwrap()
}

fn planned(
    dir: &Path,
    join: JoinType,
    duplicates: DuplicateKeys,
    reload: bool,
) -> PlannedLookupJoin {
    let config = LookupJoin {
        table: "zones.csv".into(),
        format: TableFormat::Csv,
        schema: None,
        key: vec!["pickup_location_id".into()],
        table_key: vec!["location_id".into()],
        join,
        duplicates,
        reload,
        prefix: String::new(),
    };
    let ctx = CheckContext { base_dir: dir };
    let mut report = Report::new("enrich");
    config.check(&ctx, &mut report);
    let input = PortInput {
        schema: trips(&[]).schema(),
        time: TimeAttr::Event {
            column: "ts".into(),
            shift_ms: 0,
        },
    };
    let planned = config.plan(&[input], &ctx, &mut report);
    assert!(!report.has_errors(), "{:?}", report.into_problems());
    let Some(PlannedKind::LookupJoin(p)) = planned.map(|p| p.kind) else {
        panic!("not planned as a lookup join");
    };
    *p
}

/// Reads the zone table as the engine's loader would (the real reader is the connectors' and is
/// tested there; the engine's layer does not name it): `id,zone,borough` lines, a bad id refused.
fn read_zones(path: &Path, schema: &arrow::datatypes::SchemaRef) -> Result<RecordBatch, RunError> {
    let text = std::fs::read_to_string(path).map_err(|e| RunError::io(e.to_string()))?;
    let (mut ids, mut zones, mut boroughs) = (Vec::new(), Vec::new(), Vec::new());
    for (n, line) in text.lines().enumerate().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        let id = cells[0]
            .parse::<i64>()
            .map_err(|_| RunError::data(format!("line {}: not an id", n + 1)))?;
        ids.push(id);
        zones.push(cells[1].to_string());
        boroughs.push(cells[2].to_string());
    }
    RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from(ids)),
            Arc::new(arrow::array::StringArray::from(zones)),
            Arc::new(arrow::array::StringArray::from(boroughs)),
        ],
    )
    .map_err(|e| RunError::internal(e.to_string()))
}

fn operator(p: &PlannedLookupJoin) -> Result<(Box<dyn Operator>, Arc<InstanceMetrics>), RunError> {
    let metrics = Arc::new(InstanceMetrics::new(1));
    let (path, schema) = (p.path.clone(), p.table_schema.clone());
    let loader: TableLoader = Box::new(move || read_zones(&path, &schema));
    let op = build(p, &trips(&[]).schema(), loader, &metrics)?;
    Ok((op, metrics))
}

/// Each output row as `id zone borough`.
fn rows(captured: &Captured) -> Vec<String> {
    captured
        .batches(0)
        .iter()
        .flat_map(|b| {
            (0..b.num_rows()).map(move |r| {
                [0, 2, 3]
                    .map(|c| {
                        if b.column(c).is_null(r) {
                            "NULL".to_string()
                        } else {
                            cell_text(b.column(c).as_ref(), r)
                        }
                    })
                    .join(" ")
            })
        })
        .collect()
}

#[test]
fn a_trip_gets_its_zone_and_one_without_is_dropped_in_an_inner_join() {
    let folder = Folder::new("inner");
    folder.write("zones.csv", ZONES);
    let p = planned(&folder.0, JoinType::Inner, DuplicateKeys::LastWins, false);
    let names: Vec<_> = p.output.fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(names, ["pickup_location_id", "ts", "zone", "borough"]);
    let (mut op, metrics) = operator(&p).unwrap();
    let (mut out, captured) = Output::capturing(1);
    op.on_batch(0, trips(&[Some(132), Some(7), None, Some(1)]), &mut out)
        .unwrap();
    assert_eq!(
        rows(&captured),
        ["132 JFK Airport Queens", "1 Newark Airport EWR"]
    );
    assert_eq!(metrics.unmatched_rows.load(Relaxed), 2);
    assert_eq!(metrics.held_rows[0].load(Relaxed), 3);
}

#[test]
fn a_left_join_keeps_a_trip_without_a_zone_with_nulls() {
    let folder = Folder::new("left");
    folder.write("zones.csv", ZONES);
    let p = planned(&folder.0, JoinType::Left, DuplicateKeys::LastWins, false);
    let (mut op, _) = operator(&p).unwrap();
    let (mut out, captured) = Output::capturing(1);
    op.on_batch(0, trips(&[Some(7), Some(161), None]), &mut out)
        .unwrap();
    assert_eq!(
        rows(&captured),
        [
            "7 NULL NULL",
            "161 Midtown Center Manhattan",
            "NULL NULL NULL"
        ]
    );
}

#[test]
fn a_repeated_key_lets_the_later_row_win_or_refuses_the_table_naming_both_rows() {
    let folder = Folder::new("dupes");
    folder.write("zones.csv", &format!("{ZONES}132,JFK Terminal 4,Queens\n"));
    let p = planned(&folder.0, JoinType::Inner, DuplicateKeys::LastWins, false);
    let (mut op, _) = operator(&p).unwrap();
    let (mut out, captured) = Output::capturing(1);
    op.on_batch(0, trips(&[Some(132)]), &mut out).unwrap();
    assert_eq!(rows(&captured), ["132 JFK Terminal 4 Queens"]);

    let p = planned(&folder.0, JoinType::Inner, DuplicateKeys::Refuse, false);
    let error = operator(&p).err().unwrap().to_string();
    assert!(error.contains("zones.csv"), "{error}");
    assert!(
        error.contains("(132) twice, in its rows 2 and 4"),
        "{error}"
    );
}

#[test]
fn a_changed_file_is_read_again_and_a_broken_one_keeps_the_table_before() {
    let folder = Folder::new("reload");
    folder.write("zones.csv", ZONES);
    let p = planned(&folder.0, JoinType::Left, DuplicateKeys::LastWins, true);
    let (mut op, metrics) = operator(&p).unwrap();
    let (mut out, captured) = Output::capturing(1);
    // A new zone 7, written a moment later (so the file's time or length differs).
    std::thread::sleep(LOOK_EVERY);
    folder.write("zones.csv", &format!("{ZONES}7,Astoria,Queens\n"));
    op.on_batch(0, trips(&[Some(7)]), &mut out).unwrap();
    assert_eq!(metrics.reloads.load(Relaxed), 1);
    // A broken file: the table with Astoria stays.
    std::thread::sleep(LOOK_EVERY);
    folder.write(
        "zones.csv",
        "location_id,zone,borough\nseven,Broken,Nowhere\n",
    );
    op.on_batch(0, trips(&[Some(7)]), &mut out).unwrap();
    assert_eq!(metrics.failed_reloads.load(Relaxed), 1);
    assert_eq!(rows(&captured), ["7 Astoria Queens", "7 Astoria Queens"]);
}
