//! File dialogs that never freeze the window: the native dialog runs on its own thread; when the
//! system has no dialog (no portal), it answers at once, and the app offers a path field instead.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

/// What a dialog is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogPurpose {
    Open,
    SaveAs,
    ExportSvg,
    ExportPng,
}

/// A dialog's answer, or the need for the in-app path field.
pub enum DialogOutcome {
    Chosen(DialogPurpose, PathBuf),
    NoDialogAvailable(DialogPurpose),
}

#[derive(Default)]
pub struct FileDialogs {
    pending: Option<(DialogPurpose, Receiver<Option<PathBuf>>, Instant)>,
}

/// A dialog that returns nothing this fast was never shown.
const TOO_FAST_TO_BE_A_PERSON: Duration = Duration::from_millis(250);

impl FileDialogs {
    pub fn is_open(&self) -> bool {
        self.pending.is_some()
    }

    pub fn request(&mut self, purpose: DialogPurpose, start_dir: Option<PathBuf>, file_name: &str) {
        if self.pending.is_some() {
            return;
        }
        let (tx, rx) = channel();
        let file_name = file_name.to_string();
        let spawned = std::thread::Builder::new()
            .name("eddy-file-dialog".into())
            .spawn(move || {
                let mut dialog = match purpose {
                    DialogPurpose::ExportSvg => {
                        rfd::FileDialog::new().add_filter("SVG picture", &["svg"])
                    }
                    DialogPurpose::ExportPng => {
                        rfd::FileDialog::new().add_filter("PNG picture", &["png"])
                    }
                    _ => rfd::FileDialog::new().add_filter("Eddy pipeline", &["ron"]),
                };
                if let Some(dir) = start_dir {
                    dialog = dialog.set_directory(dir);
                }
                let chosen = match purpose {
                    DialogPurpose::Open => dialog.pick_file(),
                    DialogPurpose::SaveAs | DialogPurpose::ExportSvg | DialogPurpose::ExportPng => {
                        dialog.set_file_name(&file_name).save_file()
                    }
                };
                let _ = tx.send(chosen);
            });
        if spawned.is_ok() {
            self.pending = Some((purpose, rx, Instant::now()));
        }
    }

    /// Checks for an answer without waiting.
    pub fn poll(&mut self) -> Option<DialogOutcome> {
        let (purpose, rx, since) = self.pending.as_ref()?;
        let answer = rx.try_recv().ok()?;
        let (purpose, since) = (*purpose, *since);
        self.pending = None;
        match answer {
            Some(path) => Some(DialogOutcome::Chosen(purpose, path)),
            None if since.elapsed() < TOO_FAST_TO_BE_A_PERSON => {
                Some(DialogOutcome::NoDialogAvailable(purpose))
            }
            None => None,
        }
    }
}
