//! The bottom dock as a learner uses it: its top edge resizes it (the canvas above does not take
//! the drag), and it keeps that height whatever its tabs show.
#![cfg(feature = "gui")]

use egui::{CursorIcon, pos2};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

#[path = "support/gui_harness.rs"]
mod gui_harness;
use eddy::ui::EddyApp;
use gui_harness::{drag, example, harness};

/// The top of the dock's tab bar.
fn tabs_top(h: &Harness<'static, EddyApp>) -> f32 {
    h.get_by_label("Console output").rect().top()
}

/// The rows above the tab bar where the pointer turns into the vertical resize cursor.
fn resize_rows(h: &mut Harness<'static, EddyApp>) -> Vec<f32> {
    let top = tabs_top(h);
    let mut rows = Vec::new();
    for dy in 0..40 {
        let y = top - dy as f32;
        h.hover_at(pos2(640.0, y));
        h.run_steps(2);
        if h.output().platform_output.cursor_icon == CursorIcon::ResizeVertical {
            rows.push(y);
        }
    }
    rows
}

#[test]
fn the_dock_resizes_from_its_edge_and_keeps_its_height_across_tabs() {
    let mut h = harness(example("taxi_workshop.ron"));
    let rows = resize_rows(&mut h);
    // The handle's whole band is grabbable, on the canvas's side of the edge too (the canvas,
    // drawn later, used to take the top two rows of it and pan instead).
    assert!(rows.len() >= 11, "resize rows: {rows:?}");
    let grab = rows.iter().copied().fold(f32::MIN, f32::max) - 2.0;
    let before = tabs_top(&h);
    drag(&mut h, pos2(640.0, grab), pos2(640.0, grab - 150.0));
    h.run_steps(2);
    let after = tabs_top(&h);
    assert!(
        (before - after - 150.0).abs() < 4.0,
        "the tab bar moved from {before} to {after}"
    );
    // Every tab, idle and running, keeps that height.
    h.get_by_label("Run").click();
    h.run_steps(10);
    for tab in [
        "Results",
        "Throughput",
        "Watermark lag",
        "Tap",
        "Event time",
        "Flink SQL",
        "Console output",
    ] {
        h.get_by_label(tab).click();
        for _ in 0..5 {
            h.run_steps(2);
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(
            (tabs_top(&h) - after).abs() < 1.0,
            "{tab}: the tab bar moved to {} from {after}",
            tabs_top(&h)
        );
    }
}

#[test]
fn the_flink_sql_tab_shows_the_pipeline_as_flink_sql_and_what_does_not_translate() {
    let mut h = harness(example("taxi_workshop.ron"));
    h.get_by_label("Flink SQL").click();
    h.run_steps(3);
    h.get_by_label_contains("Flink SQL of the whole pipeline");
    // The generator is shown over the file `eddy export --materialize-generators` writes, so every
    // node has its SQL; the report says how to write it and what differs.
    h.get_by_label_contains("trips (differs): its rows are read from");
    h.get_by_label_contains("trip_stream (differs): a simulated Kinesis stream");
    // The script: the session settings, the stream as a pass-through, the window function.
    h.get_by_label_contains("SET 'table.local-time-zone' = 'UTC'");
    h.get_by_label_contains("TUMBLE(TABLE `enrich`, DESCRIPTOR(`dropoff_datetime`)");
    // And the pipeline can be run on Flink from here.
    h.get_by_label("Run on Flink");
}
