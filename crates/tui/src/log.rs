//! The TUI's own messages, appended to a file while the TUI owns the screen.

use pixelscope_model::Timestamp;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

/// Appends one line per message to `path` (when there is one). Failures to
/// log are ignored on purpose: there is nowhere safe to report them while
/// the terminal is in raw mode, and losing a log line must not stop a user
/// from reading their evidence.
pub(crate) struct Log {
    path: Option<PathBuf>,
}

impl Log {
    pub(crate) fn new(path: Option<PathBuf>) -> Log {
        Log { path }
    }

    pub(crate) fn write(&self, message: &str) {
        let Some(path) = &self.path else { return };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .ok()
            .and_then(|d| {
                i64::try_from(d.as_secs())
                    .ok()
                    .and_then(|s| Timestamp::from_parts(s, d.subsec_nanos()))
            });
        let stamp = now.map(|t| t.to_string()).unwrap_or_default();
        if let Ok(mut file) = OpenOptions::new().create(true).append(true).open(path) {
            let _ = writeln!(file, "{stamp} {message}");
        }
    }
}
