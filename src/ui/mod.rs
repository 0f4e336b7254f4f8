//! The desktop designer (eframe/egui, glow): canvas, palette, inspector, problems and files.
//! Draws the model and edits it through undoable steps (commands and edits applied after each
//! frame); knows nothing of the engine's insides.

pub mod app;
pub mod canvas;
pub mod clipboard;
pub mod command;
pub mod document;
pub mod files;
pub mod forms;
pub mod inspector;
pub mod layout;
pub mod live;
pub mod palette;
pub mod picture;
pub mod problems;
pub mod recovery;
pub mod sql_highlight;
pub mod theme;

use std::path::PathBuf;

pub use app::EddyApp;

/// Opens the designer window on `file` (or a starter pipeline) and runs until it closes.
pub fn run(file: Option<PathBuf>, run_now: bool) -> anyhow::Result<()> {
    let mut app = EddyApp::with_file(file.as_deref()).map_err(|e| anyhow::anyhow!(e))?;
    app.run_on_start = run_now;
    let opened_a_file = file.is_some();
    app.enable_recovery(recovery::Autosave::new(recovery::folder()));
    let options = eframe::NativeOptions {
        renderer: eframe::Renderer::Glow,
        viewport: egui::ViewportBuilder::default()
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([800.0, 500.0])
            .with_title(app.doc.title())
            .with_drag_and_drop(true),
        ..Default::default()
    };
    eframe::run_native(
        "Eddy",
        options,
        Box::new(move |cc| {
            if let Some(storage) = cc.storage
                && let Some(recent) = eframe::get_value::<Vec<PathBuf>>(storage, "recent_files")
            {
                app.set_recent_files(recent);
            }
            // The first start with no file given greets the user and offers the examples.
            let welcomed = cc
                .storage
                .and_then(|s| eframe::get_value::<bool>(s, "welcomed"))
                .unwrap_or(false);
            app.welcome = !welcomed && !opened_a_file;
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow::anyhow!("the window could not open: {e}"))
}
