//! A learner's pass through the designer, headlessly: examples open as untitled copies that run
//! in their own folder, the palette finds kinds by what they do, everything in the file has a
//! form (the pipeline's name and description, a node's parallelism), and Help lists the keys.
#![cfg(feature = "gui")]

use std::path::Path;

use egui_kittest::kittest::Queryable;

#[path = "support/gui_harness.rs"]
mod gui_harness;
use gui_harness::{click_at, example, harness, run_until, text_field};

fn shipped(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("pipelines")
        .join(name)
}

#[test]
fn an_example_opens_as_an_untitled_copy_that_finds_its_data_in_its_own_folder() {
    let workspace = std::env::temp_dir().join(format!("eddy-gui-examples-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&workspace);
    // SAFETY: this test binary sets the variable once, before any test reads it.
    unsafe { std::env::set_var("EDDY_EXAMPLES_DIR", &workspace) };
    let mut h = harness(example("late_data_lab.ron"));
    h.state_mut().open_example(&shipped("log_analytics.ron"));
    h.run_steps(4);
    let problems = h.state_mut().doc.validation().problems.clone();
    assert!(!problems.iter().any(|p| p.is_error()), "{problems:?}");
    let app = h.state();
    assert_eq!(
        app.doc.path, None,
        "saving asks where, never over the shipped file"
    );
    assert!(
        app.doc
            .title()
            .contains("unsaved copy of the example log_analytics.ron")
    );
    assert_eq!(app.doc.base_dir(), workspace);
    assert!(
        workspace.join("data/app_logs.jsonl").is_file(),
        "its input was copied"
    );
    // The new document's cards are placed and drawn, not the previous document's.
    assert!(app.canvas.node_rect(app.doc.pipeline(), "logs").is_some());
    let _ = std::fs::remove_dir_all(&workspace);
}

#[test]
fn the_palette_finds_kinds_by_what_they_do_and_says_when_nothing_matches() {
    let mut h = harness(example("late_data_lab.ron"));
    let search = h.get_by_role_and_label(egui::accesskit::Role::TextInput, "Add a node");
    search.focus();
    search.type_text("late");
    h.run_steps(3);
    assert!(h.query_by_label("Tumbling window").is_some());
    assert!(h.query_by_label("Map").is_none());
    h.get_by_role_and_label(egui::accesskit::Role::TextInput, "Add a node")
        .type_text(" zzz");
    h.run_steps(3);
    assert!(h.query_by_label_contains("No node kind matches").is_some());
}

#[test]
fn the_pipeline_name_and_a_node_parallelism_are_edited_in_forms() {
    let mut h = harness(example("late_data_lab.ron"));
    // With nothing selected the inspector shows the pipeline itself.
    let name = text_field(&h, "Late-data lab");
    name.focus();
    name.type_text(" 2");
    h.run_steps(3);
    assert_eq!(h.state().doc.pipeline().name, "Late-data lab 2");
    let rect = {
        let app = h.state();
        app.canvas.node_rect(app.doc.pipeline(), "per_10s").unwrap()
    };
    click_at(&mut h, rect.center());
    h.get_by_label("one per core").click();
    h.run_steps(3);
    assert_eq!(
        h.state()
            .doc
            .pipeline()
            .node("per_10s")
            .unwrap()
            .parallelism,
        Some(2)
    );
    h.get_by_label("one per core").click();
    h.run_steps(3);
    assert_eq!(
        h.state()
            .doc
            .pipeline()
            .node("per_10s")
            .unwrap()
            .parallelism,
        None
    );
}

#[test]
fn help_lists_the_shortcuts_and_explains_the_event_time_view() {
    let mut h = harness(example("late_data_lab.ron"));
    h.get_by_label("Help").click();
    h.run_steps(2);
    h.get_by_label("Keyboard shortcuts").click();
    h.run_steps(3);
    assert!(h.query_by_label("Zoom around the pointer").is_some());
    assert!(h.query_by_label("Save As…").is_some());
    h.get_by_label("Help").click();
    h.run_steps(2);
    h.get_by_label("How to read the event-time view").click();
    h.run_steps(3);
    assert!(
        h.query_by_label_contains("still in time as long as its window has not fired")
            .is_some()
    );
}

#[test]
fn step_to_the_next_firing_stops_once_a_window_has_fired() {
    let mut h = harness(example("late_data_lab.ron"));
    h.get_by_label("Run").click();
    h.run_steps(2);
    h.get_by_label("Pause").click();
    h.run_steps(2);
    std::thread::sleep(std::time::Duration::from_millis(300));
    h.run_steps(2);
    let results = |h: &egui_kittest::Harness<'static, eddy::ui::EddyApp>| {
        h.state()
            .live
            .as_ref()
            .map_or(0, |l| l.handle.window_results())
    };
    let before = results(&h);
    h.get_by_label("Step to the next firing").click();
    // Each frame steps for a few milliseconds; a 10-second window needs a few hundred steps.
    for _ in 0..400 {
        h.run_steps(1);
        if !h
            .state()
            .live
            .as_ref()
            .is_some_and(|l| l.is_stepping_to_firing())
        {
            break;
        }
    }
    let live = h.state().live.as_ref().unwrap();
    assert!(!live.is_stepping_to_firing(), "it stopped stepping");
    assert!(
        results(&h) > before,
        "a window fired: {before} then {}",
        results(&h)
    );
    assert_eq!(
        live.status(),
        eddy::runtime::RunStatus::Paused,
        "and the run is still paused"
    );
    // Nothing more flows until the learner asks.
    let after = results(&h);
    std::thread::sleep(std::time::Duration::from_millis(300));
    h.run_steps(2);
    assert_eq!(results(&h), after);
}

#[test]
fn every_kind_in_the_palette_comes_in_sight_above_the_dock_once_the_other_families_fold() {
    let mut h = harness(example("late_data_lab.ron"));
    let dock = h.get_by_label("Console output").rect().top();
    let mut families: Vec<eddy::model::Family> = eddy::model::KindId::ALL
        .iter()
        .map(|k| k.entry().family)
        .collect();
    families.dedup();
    for &open in &families {
        gui_harness::open_only_family(&mut h, open);
        for kind in eddy::model::KindId::ALL
            .iter()
            .filter(|k| k.entry().family == open)
        {
            let name = kind.entry().name;
            let rect = h
                .query_all_by_label(name)
                .map(|n| n.rect())
                .find(|r| r.left() < 200.0)
                .unwrap_or_else(|| panic!("{name} is not in the palette"));
            assert!(
                rect.bottom() < dock,
                "{name} is hidden under the dock: {rect:?}"
            );
        }
    }
}

#[test]
fn a_selected_node_previews_its_first_rows_while_no_run_is_going() {
    use eddy::model::PortRef;
    let mut h = harness(example("late_data_lab.ron"));
    let rect = {
        let app = h.state();
        app.canvas.node_rect(app.doc.pipeline(), "per_10s").unwrap()
    };
    click_at(&mut h, rect.center());
    // The preview runs in the background a moment after the document settles.
    let ready = |h: &egui_kittest::Harness<'static, eddy::ui::EddyApp>| {
        let app = h.state();
        app.preview.is_current(&app.doc)
    };
    run_until(&mut h, 300, ready);
    assert!(ready(&h), "the preview came");
    h.run_steps(2);
    let app = h.state();
    assert_eq!(app.preview.rows(&PortRef::new("readings", "out")), Some(20));
    // 1,000 sample readings are 20 s of event time: the 10-second windows have fired.
    assert!(
        app.preview
            .rows(&PortRef::new("per_10s", "out"))
            .is_some_and(|n| n > 0)
    );
    // Selecting the node opened the Preview tab, which shows its table; the inspector says the
    // same in a line.
    assert_eq!(app.dock_tab(), eddy::ui::Dock::Preview);
    assert!(
        h.query_all_by_label_contains("per_10s.out: the first")
            .count()
            >= 2
    );
    assert!(app.live.is_none(), "a preview is not a run");
}

#[test]
fn a_row_injected_into_a_paused_run_far_behind_the_watermark_goes_to_late() {
    let mut h = harness(example("late_data_lab.ron"));
    h.get_by_label("Run").click();
    h.run_steps(2);
    // Let the window's watermark move, then hold the run still: only the injected row moves.
    let watermark = |h: &egui_kittest::Harness<'static, eddy::ui::EddyApp>| {
        h.state()
            .live
            .as_ref()
            .and_then(|l| l.nodes.get("per_10s"))
            .and_then(|n| n.watermark)
    };
    run_until(&mut h, 200, |h| {
        watermark(h).is_some_and(|w| w > 1_709_294_412_000)
    });
    h.get_by_label("Pause").click();
    std::thread::sleep(std::time::Duration::from_millis(400));
    h.run_steps(3);
    let late_before = h.state().live.as_ref().unwrap().nodes["per_10s"].late;
    let rect = {
        let app = h.state();
        app.canvas.node_rect(app.doc.pipeline(), "per_10s").unwrap()
    };
    click_at(&mut h, rect.center());
    h.get_by_label("Inject a row").click();
    h.run_steps(20);
    eprintln!(
        "DEBUG {:?}",
        h.query_all_by_label_contains("Inject")
            .map(|n| format!("{:?}", n))
            .collect::<Vec<_>>()
    );
    // The time starts at the watermark; 20 s earlier is past the lab's 15 s allowed lateness.
    for _ in 0..4 {
        h.get_by_label("-5 s").click();
        h.run_steps(1);
    }
    h.get_by_label("Inject").click();
    h.run_steps(2);
    assert!(
        h.query_by_label_contains("behind the watermark here: late")
            .is_some()
    );
    run_until(&mut h, 100, |h| {
        h.state().live.as_ref().unwrap().nodes["per_10s"].late > late_before
    });
    let live = h.state().live.as_ref().unwrap();
    assert_eq!(
        live.nodes["per_10s"].late,
        late_before + 1,
        "one row went to late"
    );
    assert_eq!(live.status(), eddy::runtime::RunStatus::Paused);
}

#[test]
fn the_shards_tab_marks_the_hot_shard_of_a_kinesis_stream() {
    let mut h = harness(example("kinesis_hot_shard.ron"));
    h.get_by_label("Run").click();
    h.run_steps(2);
    h.get_by_label("Shards").click();
    // Both vendor keys hash into shard 1: once a whole second has passed it is marked hot.
    let found = run_until(&mut h, 300, |h| {
        h.query_by_label("shardId-000000000001 (hot)").is_some()
    });
    assert!(found, "the hot shard is marked");
    assert!(h.query_by_label("shardId-000000000000").is_some());
}

#[test]
fn the_lambda_kcl_tab_kills_a_kcl_worker_and_its_leases_show_it() {
    let mut h = harness(example("kcl_worker_failover.ron"));
    h.get_by_label("Run").click();
    h.run_steps(2);
    h.get_by_label("Lambda / KCL").click();
    // The lease table appears once the workers took the four leases.
    let leased = run_until(&mut h, 300, |h| {
        h.query_by_label("shardId-000000000003").is_some()
            && h.query_by_label("worker-2: 2 leases").is_some()
    });
    assert!(leased, "both workers hold leases");
    // Kill worker 2 (the second button) as a crash would.
    let kills: Vec<_> = h.query_all_by_label("kill").collect();
    assert_eq!(kills.len(), 2, "one button per live worker");
    kills[1].click();
    let dead = run_until(&mut h, 300, |h| {
        h.query_by_label("worker-2: dead").is_some()
            && h.query_all_by_label("worker-2 (dead, expiring)")
                .next()
                .is_some()
    });
    assert!(dead, "the worker died and its leases expire");
    // The card's copy of the view follows with the next metrics sample.
    let card_knows = run_until(&mut h, 300, |h| {
        h.state()
            .live
            .as_ref()
            .and_then(|live| live.nodes.get("trip_app"))
            .and_then(|n| n.kcl.as_ref())
            .is_some_and(|view| view.workers.get(1) == Some(&false))
    });
    assert!(card_knows, "the card shows worker 2 dead");
}

#[test]
fn the_checkpoints_tab_crashes_a_run_and_restores_it_from_its_last_checkpoint() {
    let dir = std::env::temp_dir().join(format!("eddy-gui-checkpoints-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("checkpoint_lab.ron");
    std::fs::copy(shipped("checkpoint_lab.ron"), &file).unwrap();
    let mut h = harness(eddy::ui::EddyApp::with_file(Some(&file)).unwrap());
    h.get_by_label("Checkpoints").click();
    h.run_steps(2);
    h.get_by_label("take checkpoints").click();
    h.run_steps(1);
    h.state_mut().checkpoints.every_ms = 300;
    h.get_by_label("Run").click();
    let checkpointed = run_until(&mut h, 500, |h| h.query_by_label("completed").is_some());
    assert!(checkpointed, "a checkpoint completes and is listed");
    h.get_by_label("Crash the run").click();
    let crashed = run_until(&mut h, 200, |h| {
        h.query_by_label_contains("The run crashed").is_some()
    });
    assert!(crashed);
    h.get_by_label("Restore from the last checkpoint").click();
    let restored = run_until(&mut h, 300, |h| {
        h.query_by_label_contains("Restored from checkpoint")
            .is_some()
    });
    assert!(restored, "the new run starts from the checkpoint");
    // The source went back to its saved position: the rows after it are read again.
    assert!(
        h.query_by_label_contains("clicks: went back to row")
            .is_some()
            && h.query_by_label_contains("rows are read again").is_some(),
        "the tab says what the restore replays"
    );
    let live = h.state().live.as_ref().unwrap();
    assert!(live.checkpoints.as_ref().unwrap().restore.is_some());
    h.state().live.as_ref().unwrap().handle.stop();
}

#[test]
fn the_event_time_view_of_a_pattern_links_each_match_through_its_rows() {
    let mut app = example("iot_rising.ron");
    app.speed = eddy::runtime::Speed::Factor(200.0);
    let mut h = harness(app);
    h.state_mut().selection = eddy::ui::canvas::Selection {
        nodes: ["rising".to_string()].into_iter().collect(),
        edge: None,
    };
    h.get_by_label("Run").click();
    h.run_steps(2);
    h.get_by_label("Event time").click();
    h.run_steps(2);
    // The selected pattern node is the one shown, and showing it switches its trace on.
    h.get_by_label("window or pattern node");
    let trace = h
        .state()
        .live
        .as_ref()
        .and_then(|l| l.handle.event_trace("rising"))
        .expect("a pattern node keeps a trace");
    let linked = run_until(&mut h, 500, |_| {
        trace.snapshot().matches.iter().any(|m| !m.timed_out)
    });
    assert!(linked, "a match was traced while the view was open");
    assert!(trace.is_enabled());
    // Each traced alert links a START row and three RISE rows, in event-time order, drawn where
    // they arrived and before the alert came out.
    let data = trace.snapshot();
    for m in data.matches.iter().filter(|m| !m.timed_out) {
        let steps: Vec<&str> = m
            .rows
            .iter()
            .map(|r| data.steps[r.step as usize].as_str())
            .collect();
        assert_eq!(steps, ["START", "RISE", "RISE", "RISE"]);
        assert!(
            m.rows
                .windows(2)
                .all(|w| w[0].event_time <= w[1].event_time)
        );
        assert!(
            m.rows
                .iter()
                .all(|r| !r.arrived_secs.is_finite() || r.arrived_secs <= m.wall_secs)
        );
    }
    // The tooltip explains the pattern's picture, not a window's.
    h.get_by_label("How to read this (?)").hover();
    let explained = run_until(&mut h, 100, |h| {
        h.query_by_label_contains("Each green line links the rows of one match")
            .is_some()
    });
    assert!(explained, "the tooltip tells how to read a pattern's view");
    h.get_by_label("Stop").click();
    h.run_steps(2);
}
