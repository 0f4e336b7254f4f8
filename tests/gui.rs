//! The designer driven headlessly with egui_kittest: palette, connecting, inspector edits,
//! validation feedback, undo/redo, delete, copy/paste, and saving and loading the same document.
#![cfg(feature = "gui")]

use std::path::Path;

use eddy::model::file::load;
use eddy::model::{Edge, PortRef};
use eddy::ui::EddyApp;
use egui::{Event, Key, Modifiers};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

#[path = "support/gui_harness.rs"]
mod gui_harness;
use gui_harness::{add_from_palette, click_at, drag, example, harness, text_field};

#[test]
fn add_from_the_palette_connect_and_see_the_problem_go_away() {
    let mut h = harness(example("late_data_lab.ron"));
    let nodes_before = h.state().doc.pipeline().nodes.len();
    add_from_palette(&mut h, "Console");
    let doc = &h.state().doc;
    assert_eq!(doc.pipeline().nodes.len(), nodes_before + 1);
    assert!(
        doc.pipeline().node("console").is_some(),
        "{:?}",
        doc.pipeline()
            .nodes
            .iter()
            .map(|n| n.id.clone())
            .collect::<Vec<_>>()
    );
    // A new sink with nothing feeding it is an error, shown in the problems panel.
    assert!(
        h.query_all_by_label_contains("the input `in` is not connected")
            .count()
            > 0
    );
    // Drag from the source's unused `errors` port to the console's input.
    let app = h.state();
    let from = app
        .canvas
        .port_position(app.doc.pipeline(), &PortRef::new("readings", "errors"))
        .unwrap();
    let to = app
        .canvas
        .port_position(app.doc.pipeline(), &PortRef::new("console", "in"))
        .unwrap();
    drag(&mut h, from, to);
    let edge: Edge = "readings.errors -> console.in".parse().unwrap();
    assert!(
        h.state().doc.pipeline().edges.contains(&edge),
        "{:?}",
        h.state().doc.pipeline().edges
    );
    assert_eq!(
        h.query_all_by_label_contains("the input `in` is not connected")
            .count(),
        0
    );
    h.get_by_label_contains("none: the pipeline is valid");
    // Undo takes the edge away again; redo restores it.
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run_steps(2);
    assert!(!h.state().doc.pipeline().edges.contains(&edge));
    h.key_press_modifiers(Modifiers::COMMAND, Key::Y);
    h.run_steps(2);
    assert!(h.state().doc.pipeline().edges.contains(&edge));
}

#[test]
fn a_refused_connection_adds_nothing() {
    let mut h = harness(example("late_data_lab.ron"));
    let app = h.state();
    // `results.in` already takes rows from the window: a second edge is refused.
    let from = app
        .canvas
        .port_position(app.doc.pipeline(), &PortRef::new("readings", "errors"))
        .unwrap();
    let to = app
        .canvas
        .port_position(app.doc.pipeline(), &PortRef::new("results", "in"))
        .unwrap();
    let edges = app.doc.pipeline().edges.len();
    drag(&mut h, from, to);
    assert_eq!(h.state().doc.pipeline().edges.len(), edges);
    let reason = h.state().canvas.last_refused.clone().unwrap_or_default();
    assert!(
        reason.contains("already takes rows from per_10s.out"),
        "{reason}"
    );
}

#[test]
fn editing_settings_shows_and_clears_a_validation_error() {
    let mut h = harness(example("iot_alerts.ron"));
    let rect = {
        let app = h.state();
        app.canvas.node_rect(app.doc.pipeline(), "too_hot").unwrap()
    };
    click_at(&mut h, rect.center());
    assert_eq!(
        h.state().selection.nodes.iter().next().map(String::as_str),
        Some("too_hot")
    );
    // The inspector's form shows the predicate; replace it with one naming a missing column.
    let editor = text_field(&h, "avg_temperature > 30");
    editor.focus();
    h.run_steps(1);
    h.event(Event::Key {
        key: Key::A,
        physical_key: None,
        pressed: true,
        repeat: false,
        modifiers: Modifiers::COMMAND,
    });
    h.run_steps(1);
    h.event(Event::Text("avg_temp > 30".into()));
    h.run_steps(3);
    let kind = format!(
        "{:?}",
        h.state().doc.pipeline().node("too_hot").unwrap().kind
    );
    assert!(kind.contains("avg_temp > 30"), "{kind}");
    assert!(
        h.query_all_by_label_contains("unknown column `avg_temp`")
            .count()
            > 0
    );
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run_steps(3);
    assert_eq!(
        h.query_all_by_label_contains("unknown column `avg_temp`")
            .count(),
        0
    );
}

#[test]
fn delete_copy_paste_and_save_then_load_the_same_document() {
    let mut h = harness(example("user_sessions.ron"));
    let rect = {
        let app = h.state();
        app.canvas
            .node_rect(app.doc.pipeline(), "sessions_file")
            .unwrap()
    };
    click_at(&mut h, rect.center());
    h.key_press(Key::Delete);
    h.run_steps(2);
    assert!(h.state().doc.pipeline().node("sessions_file").is_none());
    assert!(
        !h.state()
            .doc
            .pipeline()
            .edges
            .iter()
            .any(|e| e.to.node == "sessions_file")
    );
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run_steps(2);
    assert!(h.state().doc.pipeline().node("sessions_file").is_some());

    // Copy the window node and paste it back: a renamed duplicate appears.
    let rect = {
        let app = h.state();
        app.canvas
            .node_rect(app.doc.pipeline(), "sessions")
            .unwrap()
    };
    click_at(&mut h, rect.center());
    h.event(Event::Copy);
    h.run_steps(2);
    let copied =
        eddy::ui::clipboard::copy_text(h.state().doc.pipeline(), &h.state().selection.nodes)
            .unwrap();
    h.event(Event::Paste(copied));
    h.run_steps(2);
    assert!(h.state().doc.pipeline().node("sessions_2").is_some());
    assert!(h.state().doc.is_dirty());

    // Save As through the document, then load the file back: the same document.
    let dir = std::env::temp_dir().join(format!("eddy-gui-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("sessions.ron");
    h.state_mut().doc.save_to(&path).unwrap();
    h.run_steps(1);
    assert!(!h.state().doc.is_dirty());
    let loaded = load(&path).unwrap();
    assert_eq!(&loaded, h.state().doc.pipeline());
    // Ctrl+S saves to the same file again.
    h.get_by_label("Add a node");
    h.key_press_modifiers(Modifiers::COMMAND, Key::S);
    h.run_steps(2);
    assert_eq!(&load(&path).unwrap(), h.state().doc.pipeline());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn keyboard_zoom_and_the_overview_when_the_graph_outgrows_the_view() {
    let mut h = harness(example("taxi_workshop.ron"));
    let before = h.state().canvas.zoom;
    for _ in 0..4 {
        h.key_press(Key::Equals);
        h.run_steps(1);
    }
    let after = h.state().canvas.zoom;
    assert!(after > before * 2.0, "{before} -> {after}");
    // Zoomed in, the graph no longer fits: the overview appears and a click in it moves the view.
    h.get_by_label_contains("Overview");
    h.key_press(Key::F);
    h.run_steps(2);
    assert!(
        h.state().canvas.zoom < after / 2.0,
        "F zooms back out to fit"
    );
    assert!(h.query_by_label_contains("Overview").is_none());
}

#[test]
fn drag_a_kind_from_the_palette_onto_the_canvas() {
    let mut h = harness(example("late_data_lab.ron"));
    let before = h.state().doc.pipeline().nodes.len();
    let from = h.get_by_label("Map").rect().center();
    let to = egui::pos2(600.0, 420.0);
    drag(&mut h, from, to);
    let doc = &h.state().doc;
    assert_eq!(doc.pipeline().nodes.len(), before + 1);
    let rect = h.state().canvas.node_rect(doc.pipeline(), "map").unwrap();
    assert!(
        rect.expand(30.0).contains(to),
        "dropped at {to:?}, card at {rect:?}"
    );
}

#[test]
fn reconnect_an_edge_by_dragging_its_end_to_another_input() {
    let mut h = harness(example("late_data_lab.ron"));
    add_from_palette(&mut h, "Console");
    let app = h.state();
    let from = app
        .canvas
        .port_position(app.doc.pipeline(), &PortRef::new("too_late", "in"))
        .unwrap();
    let to = app
        .canvas
        .port_position(app.doc.pipeline(), &PortRef::new("console", "in"))
        .unwrap();
    drag(&mut h, from, to);
    let edges: Vec<String> = h
        .state()
        .doc
        .pipeline()
        .edges
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert!(
        edges.contains(&"per_10s.late -> console.in".to_string()),
        "{edges:?}"
    );
    assert!(
        !edges.contains(&"per_10s.late -> too_late.in".to_string()),
        "{edges:?}"
    );
    // Undo steps back through the drop and the pick-up: the edge is where it was.
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run_steps(2);
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run_steps(2);
    let edges: Vec<String> = h
        .state()
        .doc
        .pipeline()
        .edges
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert!(
        edges.contains(&"per_10s.late -> too_late.in".to_string()),
        "{edges:?}"
    );
}

#[test]
fn run_in_the_app_counters_move_pause_step_and_restart() {
    let mut app = example("iot_alerts.ron");
    app.speed = eddy::runtime::Speed::Factor(50.0);
    let mut h = harness(app);
    h.get_by_label("Run").click();
    h.run_steps(2);
    assert!(h.state().live.is_some(), "the run started");
    std::thread::sleep(std::time::Duration::from_millis(600));
    h.run_steps(2);
    let produced = |h: &Harness<'static, EddyApp>| {
        h.state()
            .live
            .as_ref()
            .and_then(|l| l.nodes.get("sensors"))
            .map_or(0, |n| n.rows_out)
    };
    let first = produced(&h);
    assert!(first > 0, "the source's counter moves");
    h.get_by_label("Pause").click();
    h.run_steps(2);
    std::thread::sleep(std::time::Duration::from_millis(400));
    h.run_steps(2);
    let paused = produced(&h);
    std::thread::sleep(std::time::Duration::from_millis(400));
    h.run_steps(2);
    assert_eq!(produced(&h), paused, "nothing flows while paused");
    h.get_by_label("Step").click();
    h.run_steps(2);
    std::thread::sleep(std::time::Duration::from_millis(400));
    h.run_steps(2);
    assert!(produced(&h) > paused, "a step lets one batch through");
    // The chart sink's results appear in the Results tab.
    h.get_by_label("Results").click();
    h.run_steps(2);
    h.get_by_label_contains("temperature_chart");
    let chart_rows = h
        .state()
        .live
        .as_ref()
        .and_then(|l| l.handle.collected("temperature_chart"))
        .map_or(0, |rows| rows.snapshot().rows);
    assert!(
        chart_rows > 0,
        "the chart sink has received its first window results"
    );
    // Tap the source's edge: its rows show, and a filter narrows them.
    let edge: Edge = "sensors.out -> avg_temperature.in".parse().unwrap();
    h.state_mut().selection = eddy::ui::canvas::Selection {
        nodes: Default::default(),
        edge: Some(edge),
    };
    h.get_by_label("Tap").click();
    h.run_steps(2);
    h.get_by_label("Resume").click();
    h.run_steps(2);
    std::thread::sleep(std::time::Duration::from_millis(300));
    h.run_steps(3);
    h.get_by_label_contains("Rows on sensors.out -> avg_temperature.in");
    assert!(
        h.query_by_label("200 rows").is_some(),
        "the tap keeps the last 200 rows"
    );
    // The event-time view of the window node.
    h.get_by_label("Event time").click();
    h.run_steps(2);
    std::thread::sleep(std::time::Duration::from_millis(300));
    h.run_steps(3);
    h.get_by_label("window or pattern node");
    assert!(
        h.state()
            .live
            .as_ref()
            .and_then(|l| l.handle.event_trace("avg_temperature"))
            .is_some_and(|t| t.is_enabled()),
        "opening the view switches the window's trace on"
    );
    h.get_by_label("Restart").click();
    h.run_steps(2);
    std::thread::sleep(std::time::Duration::from_millis(300));
    h.run_steps(2);
    assert!(h.state().live.as_ref().is_some_and(|l| l.is_active()));
    h.get_by_label("Stop").click();
    h.run_steps(2);
}

#[test]
fn typing_in_a_field_is_one_undo_step_and_a_whole_drag_is_another() {
    let mut h = harness(example("iot_alerts.ron"));
    let rect = {
        let app = h.state();
        app.canvas.node_rect(app.doc.pipeline(), "too_hot").unwrap()
    };
    click_at(&mut h, rect.center());
    let predicate = |h: &Harness<'static, EddyApp>| {
        format!(
            "{:?}",
            h.state().doc.pipeline().node("too_hot").unwrap().kind
        )
    };
    let original = predicate(&h);
    text_field(&h, "avg_temperature > 30").focus();
    h.run_steps(1);
    // Three keystrokes, each in its own frame.
    for text in [" AND", " true", " "] {
        h.event(Event::Text(text.into()));
        h.run_steps(1);
    }
    assert!(predicate(&h).contains("AND true"), "{}", predicate(&h));
    // A drag of a card, over ten frames.
    let card = {
        let app = h.state();
        app.canvas.node_rect(app.doc.pipeline(), "alerts").unwrap()
    };
    let placed = |h: &Harness<'static, EddyApp>| h.state().doc.pipeline().layout.nodes["alerts"];
    let before_drag = placed(&h);
    drag(
        &mut h,
        card.center(),
        card.center() + egui::vec2(120.0, 60.0),
    );
    assert_ne!(placed(&h), before_drag, "the card moved");
    // One undo takes the whole drag back, the next the whole typing.
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run_steps(2);
    assert_eq!(placed(&h), before_drag);
    assert!(predicate(&h).contains("AND true"));
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run_steps(2);
    assert_eq!(predicate(&h), original);
}

#[test]
fn a_deduplicate_node_from_the_palette_is_explained_and_edited_in_its_form() {
    let mut h = harness(example("fraud_payments.ron"));
    h.get_by_label("Deduplicate").click();
    h.run_steps(3);
    assert!(h.state().doc.pipeline().node("dedup").is_some());
    h.get_by_label_contains("At-least-once delivery makes such copies");
    h.get_by_label("within");
    h.get_by_label("key by");
    // Its explanation is its own, not another kind's.
    assert!(
        h.query_by_label_contains("Shows the newest result rows")
            .is_none()
    );
}

#[test]
fn a_run_belongs_to_its_document_and_its_clock_stops_when_it_ends() {
    let mut app = example("iot_alerts.ron");
    app.speed = eddy::runtime::Speed::Factor(50.0);
    let mut h = harness(app);
    h.get_by_label("Run").click();
    h.run_steps(2);
    assert!(h.state().live.is_some());
    // Opening another pipeline stops the run and clears its views.
    let other = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/user_sessions.ron");
    h.state_mut()
        .command(eddy::ui::command::Command::OpenRecent(other));
    h.run_steps(3);
    assert!(
        h.state().live.is_none(),
        "the old run went with its document"
    );
    assert!(h.state().doc.pipeline().node("sessions").is_some());
    // A run that finished reports how long it took, and its clock stands still.
    let mut app = example("log_analytics.ron");
    app.speed = eddy::runtime::Speed::Max;
    let mut h = harness(app);
    h.get_by_label("Run").click();
    h.run_steps(2);
    let started = std::time::Instant::now();
    while h.state().live.as_ref().is_some_and(|l| l.is_active()) && started.elapsed().as_secs() < 30
    {
        std::thread::sleep(std::time::Duration::from_millis(50));
        h.run_steps(1);
    }
    h.run_steps(2);
    let live = h.state().live.as_ref().unwrap();
    let took = live.handle.elapsed();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(
        live.handle.elapsed(),
        took,
        "the wall clock stopped with the run"
    );
    assert!(
        live.nodes.values().all(|n| n.out_per_sec == 0.0),
        "nothing flows after the end"
    );
}
