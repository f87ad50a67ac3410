//! How the lead program configures the TUI.

use pixelscope_model::Event;
use std::io;
use std::path::{Path, PathBuf};

/// Writes marked events as an exhibit bundle into a directory. The exhibit
/// writer lives in another crate; the program that starts the TUI plugs it
/// in here so this crate does not depend on it.
pub type ExhibitExport = Box<dyn Fn(&[Event], &Path) -> io::Result<()> + Send>;

/// Settings for [`crate::run`] and [`crate::App`].
pub struct TuiOptions {
    /// Use colours. `Default` turns them off when `NO_COLOR` is set to a
    /// non-empty value (no-color.org); without colour only bold, underline
    /// and reverse video are used.
    pub color: bool,
    /// File the TUI appends its own messages to (load progress, diagnostics,
    /// exports, errors). Nothing is ever written to stderr while the TUI owns
    /// the screen; with `None` the messages are only shown on screen.
    pub log_path: Option<PathBuf>,
    /// Export of marked events as an exhibit (`x`). `None` disables it.
    pub exhibit_export: Option<ExhibitExport>,
    /// What the export prompts are pre-filled with.
    pub default_jsonl_path: PathBuf,
    pub default_exhibit_dir: PathBuf,
    /// Shown in the header: what is being browsed (`3 inputs`, a file name).
    pub title: String,
}

impl Default for TuiOptions {
    fn default() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
        TuiOptions {
            color: !no_color,
            log_path: None,
            exhibit_export: None,
            default_jsonl_path: PathBuf::from("pixelscope-marked.jsonl"),
            default_exhibit_dir: PathBuf::from("pixelscope-exhibit"),
            title: String::new(),
        }
    }
}
