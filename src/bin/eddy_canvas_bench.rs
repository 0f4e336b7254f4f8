//! `eddy-canvas-bench`: lays out and draws a 200-node, 250-edge pipeline for 200 frames, headless
//! (egui's layout and CPU tessellation, no GPU), and prints the median and worst frame times.
//!
//! With `--live` it runs the taxi example at max speed headless and then inside the app while
//! drawing frames, and prints both times and the frame times.
//!
//! With `--shards` it runs a 100-shard Kinesis stream inside the app with the Shards tab open and
//! prints the frame times while it runs.
//!
//! `cargo run --release --bin eddy-canvas-bench [-- --live | --shards]`

use std::time::{Duration, Instant};

use eddy::model::{Edge, FORMAT_VERSION, KindId, Layout, Node, Pipeline};
use eddy::ui::EddyApp;
use eddy::ui::document::EditorDocument;

fn big_pipeline() -> Pipeline {
    let kind = |id: &KindId| (id.entry().default)();
    let stages = [
        KindId::Generator,
        KindId::Filter,
        KindId::Map,
        KindId::TumblingWindow,
        KindId::Console,
    ];
    let ids = ["source", "filter", "map", "window", "sink"];
    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    for chain in 0..40 {
        for (stage, id) in stages.iter().zip(ids) {
            nodes.push(Node {
                id: format!("{id}_{chain}"),
                kind: kind(stage),
                note: String::new(),
                parallelism: None,
            });
        }
        edges.push(Edge::new(
            (&format!("source_{chain}"), "out"),
            (&format!("filter_{chain}"), "in"),
        ));
        edges.push(Edge::new(
            (&format!("filter_{chain}"), "out"),
            (&format!("map_{chain}"), "in"),
        ));
        edges.push(Edge::new(
            (&format!("map_{chain}"), "out"),
            (&format!("window_{chain}"), "in"),
        ));
        edges.push(Edge::new(
            (&format!("window_{chain}"), "out"),
            (&format!("sink_{chain}"), "in"),
        ));
    }
    // 90 more edges across chains (some inputs get two edges: a realistic mess with error badges).
    for i in 0..90 {
        let (a, b) = (i % 40, (i * 7 + 3) % 40);
        let (from, to) = match i % 3 {
            0 => (("window", "late"), ("filter", "in")),
            1 => (("source", "errors"), ("map", "in")),
            _ => (("filter", "out"), ("sink", "in")),
        };
        edges.push(Edge::new(
            (&format!("{}_{a}", from.0), from.1),
            (&format!("{}_{b}", to.0), to.1),
        ));
    }
    let mut pipeline = Pipeline {
        format_version: FORMAT_VERSION,
        name: "200 nodes".into(),
        description: String::new(),
        nodes,
        edges,
        layout: Layout::default(),
    };
    pipeline.layout.nodes = eddy::ui::layout::layered(&pipeline);
    pipeline
}

fn frame_times(
    app: &mut EddyApp,
    ctx: &egui::Context,
    frames: usize,
    zoom: Option<f32>,
) -> Vec<Duration> {
    let mut times = Vec::with_capacity(frames);
    for frame in 0..frames {
        if let Some(z) = zoom {
            app.canvas.zoom = z;
        }
        // The pointer sweeps across the canvas so hover tests run every frame.
        let x = 200.0 + (frame as f32 * 3.7) % 780.0;
        let input = egui::RawInput {
            screen_rect: Some(egui::Rect::from_min_size(
                egui::Pos2::ZERO,
                egui::vec2(1280.0, 800.0),
            )),
            events: vec![egui::Event::PointerMoved(egui::pos2(x, 400.0))],
            ..Default::default()
        };
        let started = Instant::now();
        let output = ctx.run_ui(input, |ui| app.ui(ui));
        let primitives = ctx.tessellate(output.shapes, output.pixels_per_point);
        std::hint::black_box(primitives);
        times.push(started.elapsed());
    }
    times
}

fn report(label: &str, mut times: Vec<Duration>) {
    times.sort();
    let median = times[times.len() / 2];
    let worst = times[times.len() - 1];
    println!(
        "{label:<36} median {:>6.2} ms   worst {:>6.2} ms   ({} frames)",
        median.as_secs_f64() * 1e3,
        worst.as_secs_f64() * 1e3,
        times.len()
    );
}

/// The taxi example at max speed, five times headless and five times inside the app while it
/// draws frames (alternating, so both see the same machine), compared by their medians.
fn live_comparison() {
    use eddy::runtime::{RunOptions, Speed, start_pipeline};
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/taxi_workshop.ron");
    let Ok(pipeline) = eddy::model::file::load(&path) else {
        eprintln!("cannot load {}", path.display());
        return;
    };
    let dir = std::env::temp_dir().join("eddy-live-bench");
    let _ = std::fs::create_dir_all(&dir);
    let mut headless = Vec::new();
    let mut in_app = Vec::new();
    let mut frames = Vec::new();
    for _round in 0..5 {
        let options = RunOptions {
            console: std::sync::Arc::new(|_: &str| {}),
            ..RunOptions::default()
        };
        match start_pipeline(&pipeline, &dir, options) {
            Ok(handle) => headless.push(handle.wait().wall),
            Err(e) => {
                eprintln!("{e}");
                return;
            }
        }
        let ctx = egui::Context::default();
        let doc = EditorDocument::new(pipeline.clone(), Some(path.clone()));
        let mut app = EddyApp::new(doc, Vec::new());
        app.speed = Speed::Max;
        frame_times(&mut app, &ctx, 3, None);
        app.run_action(&ctx, eddy::ui::live::controls::RunAction::Start);
        let started = Instant::now();
        // Draw frames as the app asks for them while running (30 per second) until the run ends.
        while app.live.as_ref().is_some_and(|l| l.is_active())
            && started.elapsed() < Duration::from_secs(120)
        {
            let frame = frame_times(&mut app, &ctx, 1, None);
            frames.extend(frame.iter().copied());
            if frame[0] < Duration::from_millis(33) {
                std::thread::sleep(Duration::from_millis(33) - frame[0]);
            }
        }
        in_app.push(
            app.live
                .take()
                .map(|l| l.handle.wait().wall)
                .unwrap_or_default(),
        );
    }
    headless.sort();
    in_app.sort();
    let (h, a) = (headless[2].as_secs_f64(), in_app[2].as_secs_f64());
    println!(
        "taxi example (900,000 trips) at max speed, median of 5: headless {h:.2} s, in the app {a:.2} s, ratio {:.2}",
        a / h.max(1e-9)
    );
    report("frames while the engine runs", frames);
}

/// A 100-shard stream of 256 sensors at 20,000 readings a second (10x) with three consumers (two
/// polling, one enhanced fan-out), drawn with the Shards tab open: the frame times while it runs.
fn shard_panel() {
    use eddy::runtime::Speed;
    let text = r#"(format_version: 1, name: "shards", nodes: [
        (id: "readings", kind: Source(Generator(preset: IotSensors, events_per_sec: 20000, keys: 256,
            seed: 1, start_time: "2024-01-01T00:00:00Z", stop_after: EventTime("1m"),
            time: EventTime(column: "event_time", max_out_of_orderness: "1s")))),
        (id: "stream", kind: Stream(Kinesis(capacity: Provisioned(shards: 100), partition_key: "sensor_id",
            consumers: [(name: "app", reads: Polling(poll_every: "200ms")), (name: "lambda"),
                (name: "alerts", reads: EnhancedFanOut)]))),
        (id: "written", kind: Sink(Table(view: Latest(10)))),
        (id: "by_app", kind: Sink(Table(view: Latest(10)))),
        (id: "by_lambda", kind: Sink(Table(view: Latest(10)))),
        (id: "by_alerts", kind: Sink(Table(view: Latest(10)))),
    ], edges: ["readings.out -> stream.in", "stream.out -> written.in", "stream.app -> by_app.in",
        "stream.lambda -> by_lambda.in", "stream.alerts -> by_alerts.in"])"#;
    let pipeline = match eddy::model::file::parse(text) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return;
        }
    };
    let ctx = egui::Context::default();
    let mut app = EddyApp::new(EditorDocument::new(pipeline, None), Vec::new());
    app.speed = Speed::Factor(10.0);
    frame_times(&mut app, &ctx, 3, None);
    app.run_action(&ctx, eddy::ui::live::controls::RunAction::Start);
    app.set_dock_tab(eddy::ui::Dock::Shards);
    let mut frames = Vec::new();
    let started = Instant::now();
    while app.live.as_ref().is_some_and(|l| l.is_active())
        && started.elapsed() < Duration::from_secs(30)
    {
        let frame = frame_times(&mut app, &ctx, 1, None);
        frames.extend(frame.iter().copied());
        if frame[0] < Duration::from_millis(33) {
            std::thread::sleep(Duration::from_millis(33) - frame[0]);
        }
    }
    // The first second has no whole second to show yet; the rest draw 100 rows and 256 keys.
    let shown = frames.split_off(frames.len().min(30));
    println!(
        "eddy-canvas-bench --shards: 100 shards, 256 keys, 3 consumers, 1280x800, release={}",
        !cfg!(debug_assertions)
    );
    report("frames with the Shards tab open", shown);
}

fn main() {
    if std::env::args().any(|a| a == "--live") {
        live_comparison();
        return;
    }
    if std::env::args().any(|a| a == "--shards") {
        shard_panel();
        return;
    }
    let pipeline = big_pipeline();
    println!(
        "eddy-canvas-bench: {} nodes, {} edges, 1280x800, release={}",
        pipeline.nodes.len(),
        pipeline.edges.len(),
        !cfg!(debug_assertions)
    );
    let ctx = egui::Context::default();
    let mut app = EddyApp::new(EditorDocument::new(pipeline, None), Vec::new());
    // Warm up: fonts, validation and the first fit.
    frame_times(&mut app, &ctx, 5, None);
    report(
        "whole graph in view (zoom to fit)",
        frame_times(&mut app, &ctx, 200, None),
    );
    report(
        "zoomed in (zoom 1.0)",
        frame_times(&mut app, &ctx, 200, Some(1.0)),
    );
}
