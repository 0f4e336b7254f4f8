//! The registry is complete: every kind has an entry that explains it, a default that is of that
//! kind, a summary, a form, and a pipeline (an example or a test pipeline) that uses it.

use std::collections::BTreeSet;
use std::path::Path;

use super::*;
use crate::model::file::parse;
use crate::model::form::field_labels;

fn pipelines_in(folder: &str) -> Vec<crate::model::Pipeline> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(folder);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            parse(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        })
        .collect()
}

#[test]
fn every_kind_explains_itself_and_starts_as_itself() {
    let mut names = BTreeSet::new();
    for &id in KindId::ALL {
        let entry = id.entry();
        assert!(
            names.insert(entry.name),
            "two kinds are named {}",
            entry.name
        );
        assert!(
            entry.explanation.len() > 30,
            "{} needs an explanation for learners",
            entry.name
        );
        assert!(!entry.keywords.is_empty(), "{} has no keywords", entry.name);
        let mut kind = (entry.default)();
        assert_eq!(
            kind.kind_id(),
            id,
            "the default of {} is another kind",
            entry.name
        );
        assert_eq!(kind.family(), entry.family, "{}", entry.name);
        assert!(!kind.summary().is_empty(), "{} has no summary", entry.name);
        assert!(
            !field_labels(&mut kind.model_mut().form()).is_empty(),
            "{} has no form",
            entry.name
        );
    }
}

#[test]
fn every_kind_is_used_by_an_example_or_a_test_pipeline() {
    let used: BTreeSet<KindId> = pipelines_in("pipelines")
        .into_iter()
        .chain(pipelines_in("tests/pipelines"))
        .flat_map(|p| p.nodes.into_iter().map(|n| n.kind.kind_id()))
        .collect();
    let missing: Vec<&str> = KindId::ALL
        .iter()
        .filter(|id| !used.contains(id))
        .map(|id| id.entry().name)
        .collect();
    assert!(
        missing.is_empty(),
        "no pipeline uses these kinds: {missing:?}"
    );
}

#[test]
fn a_leaderboard_is_its_own_kind_with_its_own_explanation() {
    let leaderboard = (KindId::Leaderboard.entry().default)();
    let table = (KindId::Table.entry().default)();
    assert_eq!(leaderboard.kind_name(), "Leaderboard");
    assert_ne!(leaderboard.entry().explanation, table.entry().explanation);
}

#[test]
fn windows_read_like_the_design() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/pipelines/taxi_workshop.ron"
    ))
    .unwrap();
    let pipeline = parse(&text).unwrap();
    let window = pipeline.node("revenue_per_zone").unwrap();
    assert_eq!(
        window.kind.summary(),
        "tumbling 1m by pickup_location_id: count, sum(total_amount), avg(price_per_mile)"
    );
}

#[test]
fn a_search_finds_kinds_by_what_they_do_not_only_by_name() {
    let found = |query: &str| -> BTreeSet<KindId> {
        KindId::ALL
            .iter()
            .copied()
            .filter(|k| k.entry().matches(query))
            .collect()
    };
    // Every window kind deals with late rows; the search finds each.
    let late = found("late");
    for window in [
        KindId::TumblingWindow,
        KindId::SlidingWindow,
        KindId::SessionWindow,
    ] {
        assert!(late.contains(&window), "{window:?} not found by `late`");
    }
    let sql = found("SQL");
    for kind in [KindId::Filter, KindId::Map, KindId::Route] {
        assert!(sql.contains(&kind), "{kind:?} not found by `sql`");
    }
    assert!(found("kinesis").contains(&KindId::Deduplicate));
    for query in ["kinesis", "shard", "partition key", "throttle"] {
        assert!(
            found(query).contains(&KindId::KinesisStream),
            "the stream not found by `{query}`"
        );
    }
    // All words must match: the CSV source reads a file as a stream, the lookup join a table.
    assert_eq!(
        found("csv read"),
        BTreeSet::from([KindId::CsvFileSource, KindId::LookupJoin])
    );
    assert_eq!(
        found("join"),
        BTreeSet::from([KindId::IntervalJoin, KindId::LookupJoin, KindId::WindowJoin])
    );
    for query in ["cep", "match_recognize", "fraud"] {
        assert!(found(query).contains(&KindId::Pattern), "{query}");
    }
    assert!(found("no such thing").is_empty());
}
