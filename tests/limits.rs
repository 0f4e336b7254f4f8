//! Limits instead of crashes, hangs and memory blow-ups: every size or count a file controls is
//! checked before anything is allocated, with the number and the limit; what is read is reported
//! exactly (raw text, line numbers) and never echoed when it is not what it claims to be; and the
//! command line exits quietly on a closed pipe and says plainly when there is no display.

mod support;

use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use eddy::model::check::check_text;
use support::scratch;

/// The error messages of checking `ron` as the file `dir/p.ron`.
fn errors(dir: &Path, ron: &str) -> Vec<String> {
    check_text(&dir.join("p.ron"), ron)
        .problems
        .iter()
        .filter(|p| p.is_error())
        .map(|p| p.message.clone())
        .collect()
}

fn generator(knobs: &str) -> String {
    format!(
        r#"(id: "g", kind: Source(Generator(preset: IotSensors, events_per_sec: 10, keys: 5, seed: 1,
            start_time: "2024-01-01T00:00:00Z", stop_after: Events(10), {knobs}
            time: EventTime(column: "event_time", max_out_of_orderness: "1s"))))"#
    )
}

fn pipeline(nodes: &[String], edges: &[&str]) -> String {
    let edges: Vec<String> = edges.iter().map(|e| format!("\"{e}\"")).collect();
    format!(
        r#"(format_version: 1, name: "t", nodes: [{}], edges: [{}])"#,
        nodes.join(", "),
        edges.join(", ")
    )
}

#[test]
fn counts_in_the_file_are_refused_with_their_number_and_the_limit() {
    let dir = scratch("limits-counts");
    for (inputs, says) in [
        ("0", "at least 2 inputs, not 0"),
        ("4294967295", "at most 64 inputs, not 4294967295"),
    ] {
        let ron = pipeline(
            &[
                generator(""),
                format!(r#"(id: "u", kind: Transform(Union(inputs: {inputs})))"#),
            ],
            &["g.out -> u.in1"],
        );
        let found = errors(&dir, &ron);
        assert!(found.iter().any(|e| e.contains(says)), "{says}: {found:?}");
    }
    let ron = pipeline(&[generator("").replace("keys: 5", "keys: 4294967295")], &[]);
    let found = errors(&dir, &ron);
    assert!(
        found
            .iter()
            .any(|e| e.contains("keys is 4294967295; a generator draws from at most 1000000 keys")),
        "{found:?}"
    );
    // Every instance is a thread: a file cannot ask for four billion of them.
    let ron = pipeline(
        &[
            generator(""),
            r#"(id: "f", kind: Transform(Filter(predicate: "true")), parallelism: 4294967295)"#
                .to_string(),
        ],
        &["g.out -> f.in"],
    );
    let found = errors(&dir, &ron);
    assert!(
        found
            .iter()
            .any(|e| e.contains("parallelism 4294967295 is more than 256 instances")),
        "{found:?}"
    );
}

fn window(shape: &str, emit: &str) -> String {
    format!(
        r#"(id: "w", kind: Window(window: {shape}, aggregates: ["count(*) AS n"], emit: {emit}))"#
    )
}

#[test]
fn window_shapes_that_would_cost_without_bound_are_refused() {
    let dir = scratch("limits-windows");
    let check = |shape: &str, emit: &str| {
        errors(
            &dir,
            &pipeline(
                &[
                    generator(""),
                    window(shape, emit),
                    r#"(id: "c", kind: Sink(Console(format: Table)))"#.to_string(),
                ],
                &["g.out -> w.in", "w.out -> c.in"],
            ),
        )
    };
    let sliding = check(r#"Sliding(size: "1d", slide: "1ms")"#, "OnWatermark");
    assert!(
        sliding
            .iter()
            .any(|e| e.contains("puts each row in 86400000 windows; at most 1000")),
        "{sliding:?}"
    );
    let early = check(r#"Tumbling(size: "1d")"#, r#"Early("1ms")"#);
    assert!(
        early
            .iter()
            .any(|e| e.contains("would be 86400000 per window; at most 1000")),
        "{early:?}"
    );
    assert!(check(r#"Sliding(size: "1m", slide: "10s")"#, r#"Early("10s")"#).is_empty());
}

#[test]
fn a_source_that_is_a_folder_says_so_and_a_byte_order_mark_is_fine() {
    let dir = scratch("limits-reading");
    fs::create_dir_all(dir.join("data")).unwrap();
    let ron = pipeline(
        &[r#"(id: "s", kind: Source(CsvFile(path: "data", time: ProcessingTime)))"#.to_string()],
        &[],
    );
    let found = errors(&dir, &ron);
    assert!(
        found.iter().any(|e| e.contains("`data` is a folder")),
        "{found:?}"
    );
    let with_bom = format!("\u{feff}{}", pipeline(&[generator("")], &[]));
    assert!(errors(&dir, &with_bom).is_empty());
}

#[cfg(target_os = "linux")]
#[test]
fn check_never_prints_what_a_file_it_was_pointed_at_holds() {
    let dir = scratch("limits-echo");
    let ron = pipeline(
        &[
            r#"(id: "s", kind: Source(CsvFile(path: "/proc/self/environ",
            time: EventTime(column: "ts", max_out_of_orderness: "1s"))))"#
                .to_string(),
        ],
        &[],
    );
    fs::write(dir.join("p.ron"), ron).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_eddy"))
        .args(["check", "p.ron"])
        .current_dir(&dir)
        .env("EDDY_SECRET_FOR_THE_TEST", "hunter2")
        .output()
        .unwrap();
    let printed =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(!printed.contains("hunter2"), "{printed}");
    assert!(!printed.contains("PATH="), "{printed}");
    assert!(printed.contains("does not look like a header"), "{printed}");
}

#[test]
fn a_reader_that_goes_away_ends_the_printing_quietly() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for args in [
        vec![
            "check",
            "tests/broken/many_problems.ron",
            "tests/broken/type_error.ron",
        ],
        vec!["run", "pipelines/iot_alerts.ron"],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_eddy"))
            .args(&args)
            .current_dir(root)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Read one byte, then hang up, as `| head -c1` does.
        let mut stdout = child.stdout.take().unwrap();
        let mut first = [0u8; 1];
        stdout.read_exact(&mut first).unwrap();
        drop(stdout);
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let status = child.wait().unwrap();
        assert!(
            !stderr.contains("panicked") && status.code() != Some(101),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn the_designer_without_a_display_says_so_plainly() {
    let out = Command::new(env!("CARGO_BIN_EXE_eddy"))
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    if cfg!(all(target_os = "linux", feature = "gui")) {
        assert!(said.contains("no display was found"), "{said}");
        assert!(said.contains("eddy run"), "{said}");
    }
    assert!(!said.contains("panicked"), "{said}");
}
