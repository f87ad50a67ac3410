//! An interactive terminal browser over pixelscope records, centred on
//! leaks: who received what about whom, on which page.
//!
//! The program that starts the TUI (the `pixelscope tui` command) passes a
//! *loader*: a function that runs on its own thread, reads the inputs and
//! sends [`LoadMessage`]s (events with their raw requests, diagnostics,
//! progress) over a channel. [`run`] puts the screen up at once and folds
//! those messages in as they arrive, so a large capture can be browsed while
//! it is still being read.
//!
//! Inside, the shape is Elm's (as ratatui documents it and gitui practises):
//!
//! * [`App`] holds all state: the records and the shown subset (text filter
//!   and pivot, kept incrementally so 100,000 events stay smooth), marks,
//!   cursors, the open screen and overlay;
//! * [`App::update`] takes a [`Message`] (key, mouse, resize, loader message)
//!   and is the only place state changes; keys become [`Action`]s in one key
//!   map (`keys.rs`), and work outside the state comes back as a
//!   [`Command`] (quit, export) that [`App::perform`] carries out;
//! * [`App::draw`] only reads, and builds only what is visible. One file per
//!   view (`view/list.rs`, `detail.rs`, `raw.rs`, `pivot.rs`, `timeline.rs`,
//!   `help.rs`, `diagnostics.rs`); every user-visible string is in
//!   `strings.rs`, every style in `theme.rs`.
//!
//! Captured text is hostile. Every captured string goes through
//! `pixelscope_report::escape::terminal` before it becomes a span, so control
//! characters and escape sequences are shown as `\x1b`, never sent to the
//! terminal. Nothing is printed to stderr while the TUI owns the screen; the
//! TUI's own messages go to [`TuiOptions::log_path`].
//!
//! Marked events are exported as JSON Lines (the report crate's
//! `JsonLinesWriter`) or, through [`TuiOptions::exhibit_export`], as an
//! exhibit bundle written by whichever crate the caller plugs in.

mod app;
mod keys;
mod load;
mod log;
mod options;
mod store;
mod strings;
mod theme;
mod view;

pub use app::{Action, App, Command, Focus, Message, Screen};
pub use load::{LoadMessage, RawRequest};
pub use options::{ExhibitExport, TuiOptions};
pub use store::{Facet, FacetValue, Pivot};

use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, Event as TerminalEvent,
};
use ratatui::crossterm::execute;
use std::io;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::thread;
use std::time::Duration;

/// How long to wait for a key before looking at the loader channel again.
const TICK: Duration = Duration::from_millis(50);
/// Loader messages applied per tick at most, so keys stay responsive while
/// a fast loader floods the channel.
const LOAD_BATCH: usize = 5_000;

/// Runs the TUI until the user quits.
///
/// `loader` runs on its own thread and sends what it reads; when the user
/// quits first, the channel closes and the loader's next `send` fails, which
/// is its cue to stop (the thread is not waited for). The terminal is put
/// back as it was on return and on panic.
pub fn run(
    loader: impl FnOnce(Sender<LoadMessage>) + Send + 'static,
    options: TuiOptions,
) -> io::Result<()> {
    let (sender, receiver) = mpsc::channel();
    thread::Builder::new()
        .name("pixelscope-tui-loader".to_owned())
        .spawn(move || loader(sender))?;
    let mut terminal = ratatui::try_init()?;
    // ratatui's panic hook restores raw mode and the main screen; mouse
    // reporting must be switched off as well or the shell receives escape
    // sequences for every mouse move after a crash.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = execute!(io::stdout(), DisableMouseCapture);
        previous(info);
    }));
    let result = execute!(io::stdout(), EnableMouseCapture).and_then(|()| {
        let size = terminal.size()?;
        let mut app = App::new(options, size.width, size.height);
        event_loop(&mut terminal, &receiver, &mut app)
    });
    let _ = execute!(io::stdout(), DisableMouseCapture);
    let restored = ratatui::try_restore();
    result.and(restored)
}

fn event_loop(
    terminal: &mut DefaultTerminal,
    receiver: &Receiver<LoadMessage>,
    app: &mut App,
) -> io::Result<()> {
    let mut dirty = true;
    let mut loader_gone = false;
    loop {
        if dirty {
            terminal.draw(|frame| app.draw(frame))?;
            dirty = false;
        }
        if event::poll(TICK)? {
            // Take every pending input before drawing again.
            loop {
                let message = match event::read()? {
                    TerminalEvent::Key(key) => Some(Message::Key(key)),
                    TerminalEvent::Mouse(mouse) => Some(Message::Mouse(mouse)),
                    TerminalEvent::Resize(width, height) => Some(Message::Resize { width, height }),
                    _ => None,
                };
                if let Some(message) = message {
                    dirty = true;
                    if let Some(command) = app.update(message)
                        && !app.perform(command)
                    {
                        return Ok(());
                    }
                }
                if !event::poll(Duration::ZERO)? {
                    break;
                }
            }
        }
        if !loader_gone {
            for _ in 0..LOAD_BATCH {
                match receiver.try_recv() {
                    Ok(message) => {
                        app.update(Message::Load(message));
                        dirty = true;
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        // A loader that ends without `Finished` (an error, a
                        // panic) still ends loading.
                        app.update(Message::Load(LoadMessage::Finished));
                        loader_gone = true;
                        dirty = true;
                        break;
                    }
                }
            }
            if dirty {
                app.update(Message::Tick);
            }
        }
    }
}
