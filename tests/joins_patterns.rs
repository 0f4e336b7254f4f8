//! Joins and patterns through the engine and `eddy check`: results identical at every
//! parallelism (keys spread over instances by hash, both join inputs alike), what is refused or
//! warned in a pipeline file, and a reference table that cannot be read.

mod support;

use std::fs;

use support::processes::eddy;
use support::{run_in, scratch};

/// Payments and their refunds from two generators with the same cards, a lookup of the card's
/// tier, an interval join of payments with refunds from 5 seconds before to 20 after, and a
/// pattern per card. (Each sink keeps at most 100,000 rows: these stay below.)
fn pipeline() -> String {
    r#"(format_version: 1, name: "joins and patterns", nodes: [
    (id: "payments", kind: Source(Generator(preset: Payments, events_per_sec: 200, keys: 300, seed: 4,
        disorder: "2s", start_time: "2024-01-01T00:00:00Z", stop_after: EventTime("3m"),
        time: EventTime(column: "event_time", max_out_of_orderness: "2s")))),
    (id: "refunds", kind: Source(Generator(preset: Payments, events_per_sec: 10, keys: 300, seed: 5,
        disorder: "1s", start_time: "2024-01-01T00:00:00Z", stop_after: EventTime("3m"),
        time: EventTime(column: "event_time", max_out_of_orderness: "1s")))),
    (id: "tiered", kind: Join(Lookup(table: "tiers.csv", key: ["card_id"], table_key: ["card"], join: Left, prefix: "card_"))),
    (id: "refunded", kind: Join(Interval(left_key: ["card_id"], right_key: ["card_id"], before: "5s", after: "20s", join: Left, prefix: "refund_"))),
    (id: "bursts", kind: Pattern(partition_by: ["card_id"], pattern: "FIRST_PAY MORE{2,} BIG",
        define: [(step: "MORE", condition: "MORE.country = FIRST_PAY.country"), (step: "BIG", condition: "BIG.amount > 2 * AVG(MORE.amount)")],
        measures: ["COUNT(MORE.*) AS more", "LAST(BIG.amount) AS big", "MATCH_ROWTIME() AS at"],
        within: Some("1m"))),
    (id: "tiered_out", kind: Sink(Table(view: Latest(100000)))),
    (id: "refunded_out", kind: Sink(Table(view: Latest(100000)))),
    (id: "bursts_out", kind: Sink(Table(view: Latest(100000)))),
], edges: [
    "payments.out -> tiered.in", "tiered.out -> tiered_out.in",
    "payments.out -> refunded.left", "refunds.out -> refunded.right", "refunded.out -> refunded_out.in",
    "payments.out -> bursts.in", "bursts.out -> bursts_out.in",
])"#
    .to_string()
}

fn tiers() -> String {
    let mut text = String::from("card,tier\n");
    for card in (1..=300).step_by(2) {
        text.push_str(&format!(
            "card-{card:06},{}\n",
            ["gold", "silver", "basic"][card % 3]
        ));
    }
    text
}

#[test]
fn joins_and_patterns_give_the_same_rows_at_every_parallelism() {
    let mut runs = Vec::new();
    for parallelism in [1, 2, 3] {
        let dir = scratch(&format!("joins-patterns-{parallelism}"));
        let tiers = tiers();
        let out = run_in(&dir, &pipeline(), &[("tiers.csv", &tiers)], parallelism);
        runs.push([
            out.sorted_lines("tiered_out"),
            out.sorted_lines("refunded_out"),
            out.sorted_lines("bursts_out"),
        ]);
        let _ = fs::remove_dir_all(&dir);
    }
    let [tiered, refunded, bursts] = &runs[0];
    assert_eq!(
        tiered.len(),
        3 * 60 * 200,
        "a left lookup keeps every payment"
    );
    assert!(tiered.iter().any(|l| l.ends_with("|gold")));
    assert!(
        refunded.len() >= tiered.len(),
        "a left interval join keeps every payment"
    );
    assert!(
        refunded.len() < 100_000,
        "{} rows: more than a sink keeps",
        refunded.len()
    );
    assert!(!bursts.is_empty());
    for other in &runs[1..] {
        for (sink, (a, b)) in ["tiered", "refunded", "bursts"]
            .iter()
            .zip(runs[0].iter().zip(other))
        {
            let first_difference = a.iter().zip(b).find(|(x, y)| x != y);
            assert!(
                a == b,
                "{sink}: {} and {} rows at parallelism 1 and more; first difference {first_difference:?}",
                a.len(),
                b.len()
            );
        }
    }
}

fn check(text: &str) -> String {
    let dir = scratch("joins-check");
    fs::write(dir.join("tiers.csv"), tiers()).unwrap();
    fs::write(dir.join("p.ron"), text).unwrap();
    let out = eddy().arg("check").arg(dir.join("p.ron")).output().unwrap();
    let _ = fs::remove_dir_all(&dir);
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn check_refuses_a_join_without_keys_or_with_clashing_names_and_warns_of_a_pattern_without_within()
{
    let text = pipeline()
        .replace(
            r#"left_key: ["card_id"], right_key: ["card_id"]"#,
            "left_key: [], right_key: []",
        )
        .replace(r#"within: Some("1m")"#, "");
    let said = check(&text);
    assert!(
        said.contains("refunded: error: a join needs the left columns"),
        "{said}"
    );
    assert!(
        said.contains("without keys every row would meet every other"),
        "{said}"
    );
    assert!(said.contains("bursts: warning: without `within`"), "{said}");
    // Keys are compared as written: a text key never meets a number.
    let text = pipeline().replace(
        r#"left_key: ["card_id"], right_key: ["card_id"]"#,
        r#"left_key: ["card_id"], right_key: ["amount"]"#,
    );
    let said = check(&text);
    assert!(
        said.contains(
            "refunded: error: the key `amount` is DOUBLE but `card_id` on the other side is STRING"
        ),
        "{said}"
    );
    // The same name on both sides is refused with the way out.
    let clash = pipeline().replace(r#"prefix: "refund_""#, r#"prefix: """#);
    let said = check(&clash);
    assert!(
        said.contains(
            "refunded: error: both sides would have a column named `payment_id`, `event_time`"
        ),
        "{said}"
    );
    assert!(said.contains("set a prefix"), "{said}");
}

#[test]
fn a_reference_table_that_cannot_be_read_stops_the_run_naming_its_line() {
    let dir = scratch("joins-bad-table");
    fs::write(dir.join("p.ron"), pipeline()).unwrap();
    // The header and first rows infer two text columns; line 4 has three fields.
    fs::write(
        dir.join("tiers.csv"),
        "card,tier\ncard-000001,gold\ncard-000003,silver\ncard-000005,basic,extra\n",
    )
    .unwrap();
    let out = eddy().arg("run").arg(dir.join("p.ron")).output().unwrap();
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success());
    assert!(said.contains("tiered"), "{said}");
    assert!(said.contains("tiers.csv, line 4"), "{said}");
    let _ = fs::remove_dir_all(&dir);
}

/// The rows of a file, sorted (the instances of a keyed node interleave their rows).
fn sorted_rows(path: &std::path::Path) -> Vec<String> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut rows: Vec<String> = text.lines().map(str::to_string).collect();
    rows.sort();
    rows
}

#[test]
fn joins_and_patterns_killed_and_resumed_write_what_an_uninterrupted_run_writes() {
    use support::processes::{Lcg, kill_9_after, run, spawn};
    let dir = scratch("joins-patterns-kill");
    let text = pipeline()
        .replace(
            r#"(id: "tiered_out", kind: Sink(Table(view: Latest(100000))))"#,
            r#"(id: "tiered_out", kind: Sink(CsvFile(path: "out/tiered.csv")))"#,
        )
        .replace(
            r#"(id: "refunded_out", kind: Sink(Table(view: Latest(100000))))"#,
            r#"(id: "refunded_out", kind: Sink(CsvFile(path: "out/refunded.csv")))"#,
        )
        .replace(
            r#"(id: "bursts_out", kind: Sink(Table(view: Latest(100000))))"#,
            r#"(id: "bursts_out", kind: Sink(CsvFile(path: "out/bursts.csv")))"#,
        );
    let file = dir.join("p.ron");
    fs::write(&file, text).unwrap();
    fs::write(dir.join("tiers.csv"), tiers()).unwrap();
    let outputs = ["out/tiered.csv", "out/refunded.csv", "out/bursts.csv"];
    let reference = run(&file, &[]);
    assert!(
        reference.status.success(),
        "{}",
        String::from_utf8_lossy(&reference.stderr)
    );
    let expected: Vec<Vec<String>> = outputs.iter().map(|o| sorted_rows(&dir.join(o))).collect();
    for o in outputs {
        fs::remove_file(dir.join(o)).unwrap();
    }
    let checkpoints = dir.join("checkpoints");
    let ckdir = checkpoints.to_str().unwrap();
    // Three minutes of event time at 60x: about three seconds a run, killed within it.
    let paced = ["--speed", "60x"];
    let mut moments = Lcg(15);
    let mut resumed = 0;
    for attempt in 0..5 {
        let mut args: Vec<&str> = paced.to_vec();
        if attempt == 0 {
            args.extend(["--checkpoint-every", "200ms", "--checkpoint-dir", ckdir]);
        } else {
            args.extend(["--resume", ckdir]);
        }
        let stderr = kill_9_after(spawn(&file, &args), moments.next_in(600, 1400));
        resumed += usize::from(stderr.contains("resuming from checkpoint"));
    }
    let last = run(&file, &["--resume", ckdir]);
    assert!(
        last.status.success(),
        "{}",
        String::from_utf8_lossy(&last.stderr)
    );
    assert!(
        resumed >= 3,
        "most attempts resumed from a checkpoint ({resumed})"
    );
    for (o, want) in outputs.iter().zip(&expected) {
        assert!(
            &sorted_rows(&dir.join(o)) == want,
            "{o}: the rows of an uninterrupted run, each once"
        );
    }
    let _ = fs::remove_dir_all(&dir);
}
