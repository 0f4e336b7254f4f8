//! The desktop designer (eframe/egui, glow): canvas, palette, inspector, problems and files.
//! Draws the model and edits it through undoable steps (commands and edits applied after each
//! frame); knows nothing of the engine's insides.

pub mod app;
pub mod canvas;
pub mod clipboard;
pub mod command;
pub mod document;
pub mod files;
pub mod flink_run;
pub mod flink_sql;
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

pub use app::{Dock, EddyApp};

/// Whether a desktop to open a window on seems to be there (on Linux: X11 or Wayland).
fn display_available() -> bool {
    if !cfg!(target_os = "linux") {
        return true;
    }
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    set("DISPLAY") || set("WAYLAND_DISPLAY")
}

/// Opens the designer window on `file` (or a starter pipeline) and runs until it closes.
pub fn run(file: Option<PathBuf>, run_now: bool) -> anyhow::Result<()> {
    if !display_available() {
        anyhow::bail!(
            "no display was found (neither DISPLAY nor WAYLAND_DISPLAY is set), so the designer cannot open a window; `eddy run FILE` runs a pipeline without one, and `eddy check FILE` checks it"
        );
    }
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
    .map_err(|e| {
        anyhow::anyhow!(
            "the window could not open ({e}); the designer needs a desktop with OpenGL. `eddy run FILE` runs a pipeline without one"
        )
    })
}
