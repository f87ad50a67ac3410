//! Runs the TUI on the capture lab's events (and one hostile record), sent
//! by a loader thread with small pauses so the progress line can be seen.
//!
//! `cargo run -p pixelscope-tui --example demo`; `q` quits. Its log goes to
//! `pixelscope-tui-demo.log` in the system's temporary directory.

#[path = "../tests/fixtures/mod.rs"]
mod fixtures;

use pixelscope_tui::{LoadMessage, TuiOptions};
use std::time::Duration;

fn main() -> std::io::Result<()> {
    let options = TuiOptions {
        title: "demo".to_owned(),
        log_path: Some(std::env::temp_dir().join("pixelscope-tui-demo.log")),
        ..TuiOptions::default()
    };
    pixelscope_tui::run(
        |sender| {
            let inputs = [
                "samples/lab/h2/site.har",
                "samples/lab/h2/capture-dsb.pcapng",
            ];
            if sender
                .send(LoadMessage::Started {
                    inputs: inputs.len(),
                })
                .is_err()
            {
                return;
            }
            let mut records = fixtures::lab_records();
            records.push(fixtures::hostile());
            for (index, path) in inputs.iter().enumerate() {
                for (event, raw) in &records {
                    std::thread::sleep(Duration::from_millis(150));
                    // A closed channel means the user quit: stop reading.
                    if sender
                        .send(LoadMessage::Event(Box::new(event.clone()), raw.clone()))
                        .is_err()
                    {
                        return;
                    }
                }
                if sender
                    .send(LoadMessage::FileDone {
                        path: (*path).into(),
                        index,
                    })
                    .is_err()
                {
                    return;
                }
            }
            let _ = sender.send(LoadMessage::Finished);
        },
        options,
    )
}
