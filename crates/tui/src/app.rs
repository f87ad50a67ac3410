//! The application state and its single update function (Elm style).
//!
//! Everything that happens — a key, a mouse wheel notch, a resize, a message
//! from the loader — arrives as a [`Message`]. `update` is the only place that
//! changes state; it turns keys into [`Action`]s through the key map and
//! answers with a [`Command`] when something must happen outside the state
//! (quit, write a file). `draw` only reads. Tests drive the same `update`
//! with key sequences and inspect the state and the files written.

use crate::keys::{self, KeyMode};
use crate::load::LoadMessage;
use crate::log::Log;
use crate::options::TuiOptions;
use crate::store::{Facet, FacetValue, Pivot, Store, TimelineRow};
use crate::strings;
use crate::theme::Theme;
use crate::view::{self, raw::RawLine};
use pixelscope_model::{Diagnostic, Event, Severity};
use pixelscope_report::escape::terminal;
use pixelscope_report::{JsonLinesWriter, RecordWriter};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyEvent, KeyEventKind, MouseEvent};
use ratatui::layout::Rect;
use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};

/// Something that happened, for [`App::update`].
// Messages are handled one at a time as they arrive, never stored in bulk,
// so boxing the large loader variant would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    Key(KeyEvent),
    Mouse(MouseEvent),
    /// The terminal now has this many columns and rows.
    Resize {
        width: u16,
        height: u16,
    },
    Load(LoadMessage),
    /// A batch of loader messages has been applied: time to refresh views
    /// that are too costly to keep current on every single event.
    Tick,
}

/// What a key means, independent of which key it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Quit,
    Up(usize),
    Down(usize),
    Top,
    Bottom,
    HalfPageDown,
    HalfPageUp,
    PageDown,
    PageUp,
    FocusList,
    FocusDetail,
    Open,
    Back,
    StartFilter,
    OpenPivot,
    NextFacet,
    PreviousFacet,
    ToggleMark,
    MarkShown,
    UnmarkAll,
    StartExportJsonl,
    StartExportExhibit,
    ShowRaw,
    ShowTimeline,
    ShowDiagnostics,
    ToggleHelp,
    Input(char),
    Backspace,
    ClearInput,
    Submit,
    Cancel,
}

/// Work for the caller of `update`: things outside the state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Quit,
    /// Write the marked events as JSON Lines to this file.
    ExportJsonl(PathBuf),
    /// Hand the marked events to the exhibit writer for this directory.
    ExportExhibit(PathBuf),
}

/// The main screens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    /// The event list with the detail pane.
    Events,
    /// The raw request of the selected event.
    Raw,
    /// Shown events grouped by page, in time order.
    Timeline,
    Diagnostics,
}

/// Which pane of the events screen receives movement keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    List,
    Detail,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PromptKind {
    Jsonl,
    Exhibit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    Browse,
    Filter,
    Prompt(PromptKind),
    Pivot,
    Help,
}

/// The pivot menu: the values of one facet with their counts.
pub(crate) struct PivotMenu {
    pub(crate) facet: Facet,
    pub(crate) values: Vec<FacetValue>,
    pub(crate) selected: usize,
    pub(crate) offset: usize,
}

#[derive(Default)]
pub(crate) struct Progress {
    pub(crate) inputs: Option<usize>,
    pub(crate) files_done: usize,
    pub(crate) finished: bool,
}

pub(crate) struct Status {
    pub(crate) text: String,
    pub(crate) error: bool,
}

/// The whole state of the TUI.
pub struct App {
    pub(crate) options: TuiOptions,
    pub(crate) theme: Theme,
    log: Log,
    pub(crate) store: Store,
    pub(crate) diagnostics: Vec<Diagnostic>,
    pub(crate) progress: Progress,
    pub(crate) screen: Screen,
    pub(crate) focus: Focus,
    pub(crate) mode: Mode,
    pub(crate) filter: String,
    pub(crate) prompt: String,
    pub(crate) menu: PivotMenu,
    /// Position in the shown list.
    pub(crate) selected: usize,
    pub(crate) list_offset: usize,
    pub(crate) detail_scroll: usize,
    pub(crate) raw_lines: Vec<RawLine>,
    pub(crate) raw_scroll: usize,
    pub(crate) timeline: Vec<TimelineRow>,
    timeline_stale: bool,
    pub(crate) timeline_selected: usize,
    pub(crate) timeline_offset: usize,
    pub(crate) diagnostics_scroll: usize,
    pub(crate) status: Option<Status>,
    pub(crate) area: Rect,
}

impl App {
    /// A new, empty app for a terminal of `width` × `height` cells.
    pub fn new(options: TuiOptions, width: u16, height: u16) -> App {
        App {
            theme: Theme::new(options.color),
            log: Log::new(options.log_path.clone()),
            options,
            store: Store::default(),
            diagnostics: Vec::new(),
            progress: Progress::default(),
            screen: Screen::Events,
            focus: Focus::List,
            mode: Mode::Browse,
            filter: String::new(),
            prompt: String::new(),
            menu: PivotMenu {
                facet: Facet::Tracker,
                values: Vec::new(),
                selected: 0,
                offset: 0,
            },
            selected: 0,
            list_offset: 0,
            detail_scroll: 0,
            raw_lines: Vec::new(),
            raw_scroll: 0,
            timeline: Vec::new(),
            timeline_stale: true,
            timeline_selected: 0,
            timeline_offset: 0,
            diagnostics_scroll: 0,
            status: None,
            area: Rect::new(0, 0, width, height),
        }
    }

    // ---- what tests and the caller may read ----

    /// Number of events loaded.
    pub fn event_count(&self) -> usize {
        self.store.len()
    }

    /// Number of events that pass the filter and pivot.
    pub fn shown_count(&self) -> usize {
        self.store.shown().len()
    }

    /// The events that pass the filter and pivot, in load order.
    pub fn shown_events(&self) -> impl Iterator<Item = &Event> {
        self.store
            .shown()
            .iter()
            .filter_map(|&i| self.store.record(i))
            .map(|r| &r.event)
    }

    pub fn marked_count(&self) -> usize {
        self.store.marked_count()
    }

    pub fn diagnostic_count(&self) -> usize {
        self.diagnostics.len()
    }

    /// The event under the cursor of the list.
    pub fn selected_event(&self) -> Option<&Event> {
        self.selected_index()
            .and_then(|i| self.store.record(i))
            .map(|r| &r.event)
    }

    pub fn screen(&self) -> Screen {
        self.screen
    }

    pub fn focus(&self) -> Focus {
        self.focus
    }

    pub fn filter(&self) -> &str {
        &self.filter
    }

    pub fn pivot(&self) -> Option<&Pivot> {
        self.store.pivot()
    }

    /// The pivot menu's facet and values while it is open.
    pub fn pivot_menu(&self) -> Option<(Facet, &[FacetValue])> {
        (self.mode == Mode::Pivot).then_some((self.menu.facet, self.menu.values.as_slice()))
    }

    pub fn help_visible(&self) -> bool {
        self.mode == Mode::Help
    }

    /// Whether the loader has not said it is finished.
    pub fn is_loading(&self) -> bool {
        !self.progress.finished
    }

    /// The last message shown in the footer (export results, hints).
    pub fn status(&self) -> Option<&str> {
        self.status.as_ref().map(|s| s.text.as_str())
    }

    /// Draws the whole screen. Never changes state.
    pub fn draw(&self, frame: &mut Frame) {
        view::draw(self, frame);
    }

    pub(crate) fn selected_index(&self) -> Option<usize> {
        self.store.shown().get(self.selected).copied()
    }

    fn key_mode(&self) -> KeyMode {
        match self.mode {
            Mode::Browse => KeyMode::Browse,
            Mode::Filter | Mode::Prompt(_) => KeyMode::Text,
            Mode::Pivot => KeyMode::Menu,
            Mode::Help => KeyMode::Help,
        }
    }

    // ---- update ----

    /// Applies one message; returns work for the caller, if any.
    pub fn update(&mut self, message: Message) -> Option<Command> {
        match message {
            Message::Key(key) => {
                if key.kind != KeyEventKind::Press {
                    return None;
                }
                let action = keys::action(self.key_mode(), key)?;
                self.status = None;
                self.apply(action)
            }
            Message::Mouse(mouse) => {
                let action = keys::mouse_action(mouse)?;
                self.apply(action)
            }
            Message::Resize { width, height } => {
                self.area = Rect::new(0, 0, width, height);
                self.follow_all();
                None
            }
            Message::Load(load) => {
                self.load(load);
                None
            }
            Message::Tick => {
                if self.screen == Screen::Timeline && self.timeline_stale {
                    self.rebuild_timeline();
                }
                None
            }
        }
    }

    fn load(&mut self, message: LoadMessage) {
        match message {
            LoadMessage::Started { inputs } => {
                self.progress.inputs = Some(inputs);
                self.log.write(&strings::log_started(inputs));
            }
            LoadMessage::FileDone { path, index } => {
                self.progress.files_done = self.progress.files_done.saturating_add(1);
                self.log.write(&strings::log_file_done(
                    index,
                    &terminal(&path.to_string_lossy()),
                ));
            }
            LoadMessage::Event(event, raw) => {
                self.store.push(*event, raw);
                self.timeline_stale = true;
            }
            LoadMessage::Diagnostic(diagnostic) => {
                self.log.write(&strings::log_diagnostic(
                    severity_name(diagnostic.severity),
                    &terminal(&diagnostic.code),
                    &terminal(&diagnostic.message),
                    &terminal(&diagnostic.origin.file),
                ));
                self.diagnostics.push(diagnostic);
            }
            LoadMessage::Finished => {
                if !self.progress.finished {
                    self.progress.finished = true;
                    self.log.write(&strings::log_finished(
                        self.store.len(),
                        self.diagnostics.len(),
                    ));
                }
            }
        }
    }

    /// Applies one action in the current mode.
    pub fn apply(&mut self, action: Action) -> Option<Command> {
        if action == Action::Quit && matches!(self.mode, Mode::Browse | Mode::Help | Mode::Pivot) {
            return Some(Command::Quit);
        }
        match self.mode {
            Mode::Browse => self.browse(action),
            Mode::Filter => {
                self.edit_filter(action);
                None
            }
            Mode::Prompt(kind) => self.edit_prompt(kind, action),
            Mode::Pivot => {
                self.pivot_menu_action(action);
                None
            }
            Mode::Help => {
                if action == Action::ToggleHelp || action == Action::Cancel {
                    self.mode = Mode::Browse;
                }
                None
            }
        }
    }

    fn browse(&mut self, action: Action) -> Option<Command> {
        if self.move_cursor(action) {
            return None;
        }
        match action {
            Action::FocusList => self.focus = Focus::List,
            Action::FocusDetail => {
                self.screen = Screen::Events;
                self.focus = Focus::Detail;
            }
            Action::Open => self.open(),
            Action::Back => self.back(),
            Action::StartFilter => {
                self.mode = Mode::Filter;
                if self.screen != Screen::Timeline {
                    self.screen = Screen::Events;
                }
            }
            Action::OpenPivot => self.open_pivot(),
            Action::ToggleMark => self.toggle_mark(),
            Action::MarkShown => self.store.mark_shown(),
            Action::UnmarkAll => self.store.unmark_all(),
            Action::StartExportJsonl => self.start_prompt(PromptKind::Jsonl),
            Action::StartExportExhibit => self.start_prompt(PromptKind::Exhibit),
            Action::ShowRaw => {
                if self.screen == Screen::Raw {
                    self.screen = Screen::Events;
                } else {
                    self.show_raw();
                }
            }
            Action::ShowTimeline => {
                if self.screen == Screen::Timeline {
                    self.screen = Screen::Events;
                } else {
                    self.screen = Screen::Timeline;
                    self.rebuild_timeline();
                    self.select_in_timeline();
                }
            }
            Action::ShowDiagnostics => {
                self.screen = if self.screen == Screen::Diagnostics {
                    Screen::Events
                } else {
                    Screen::Diagnostics
                };
            }
            Action::ToggleHelp => self.mode = Mode::Help,
            _ => {}
        }
        None
    }

    /// Handles movement keys for whatever has focus; false if `action` is
    /// not a movement.
    fn move_cursor(&mut self, action: Action) -> bool {
        let layout = view::layout(self.area);
        match self.screen {
            Screen::Events if self.focus == Focus::List => {
                let rows = layout.list_rows;
                let Some(to) = step(
                    action,
                    self.selected,
                    self.shown_count().saturating_sub(1),
                    rows,
                ) else {
                    return false;
                };
                self.select(to);
            }
            Screen::Events => {
                let lines = self
                    .selected_index()
                    .and_then(|i| self.store.record(i))
                    .map_or(0, |r| view::detail::lines(r, &self.theme).len());
                let Some(to) = step(
                    action,
                    self.detail_scroll,
                    lines.saturating_sub(1),
                    layout.detail_rows,
                ) else {
                    return false;
                };
                self.detail_scroll = to;
            }
            Screen::Raw => {
                let max = self.raw_lines.len().saturating_sub(layout.body_rows);
                let Some(to) = step(action, self.raw_scroll, max, layout.body_rows) else {
                    return false;
                };
                self.raw_scroll = to;
            }
            Screen::Timeline => {
                let max = self.timeline.len().saturating_sub(1);
                let Some(to) = step(action, self.timeline_selected, max, layout.body_rows) else {
                    return false;
                };
                self.timeline_selected = to;
                self.timeline_offset = follow(to, self.timeline_offset, layout.body_rows);
            }
            Screen::Diagnostics => {
                let max = self.diagnostics.len().saturating_sub(layout.body_rows);
                let Some(to) = step(action, self.diagnostics_scroll, max, layout.body_rows) else {
                    return false;
                };
                self.diagnostics_scroll = to;
            }
        }
        true
    }

    fn select(&mut self, position: usize) {
        if position != self.selected {
            self.detail_scroll = 0;
        }
        self.selected = position;
        self.list_offset = follow(
            position,
            self.list_offset,
            view::layout(self.area).list_rows,
        );
    }

    fn follow_all(&mut self) {
        let layout = view::layout(self.area);
        self.list_offset = follow(self.selected, self.list_offset, layout.list_rows);
        self.timeline_offset = follow(
            self.timeline_selected,
            self.timeline_offset,
            layout.body_rows,
        );
        self.menu.offset = follow(self.menu.selected, self.menu.offset, layout.menu_rows);
    }

    fn open(&mut self) {
        match self.screen {
            Screen::Events => self.focus = Focus::Detail,
            Screen::Timeline => {
                if let Some(TimelineRow::Event(index)) = self.timeline.get(self.timeline_selected) {
                    let index = *index;
                    if let Ok(position) = self.store.shown().binary_search(&index) {
                        self.select(position);
                    }
                    self.screen = Screen::Events;
                    self.focus = Focus::Detail;
                }
            }
            Screen::Raw | Screen::Diagnostics => {}
        }
    }

    fn back(&mut self) {
        if self.screen != Screen::Events {
            self.screen = Screen::Events;
        } else if self.focus == Focus::Detail {
            self.focus = Focus::List;
        } else if self.store.pivot().is_some() {
            self.refilter(|store| store.set_pivot(None));
        } else if !self.filter.is_empty() {
            self.filter.clear();
            self.refilter(|store| store.set_query(""));
        }
    }

    fn toggle_mark(&mut self) {
        let index = match self.screen {
            Screen::Timeline => match self.timeline.get(self.timeline_selected) {
                Some(TimelineRow::Event(index)) => Some(*index),
                _ => None,
            },
            _ => self.selected_index(),
        };
        if let Some(index) = index {
            self.store.toggle_mark(index);
            // Move on, so that a run of space presses marks a run of events.
            let _ = self.move_cursor(Action::Down(1));
        }
    }

    /// Changes the filter or pivot, keeping the same event under the cursor
    /// when it is still shown (or the nearest one after it).
    fn refilter(&mut self, change: impl FnOnce(&mut Store)) {
        let current = self.selected_index();
        change(&mut self.store);
        let shown = self.store.shown();
        let position = match current.map(|i| shown.binary_search(&i)) {
            Some(Ok(p)) => p,
            Some(Err(p)) => p.min(shown.len().saturating_sub(1)),
            None => 0,
        };
        self.detail_scroll = 0;
        self.selected = position;
        self.list_offset = follow(
            position,
            self.list_offset,
            view::layout(self.area).list_rows,
        );
        self.timeline_stale = true;
        if self.screen == Screen::Timeline {
            self.rebuild_timeline();
        }
    }

    fn rebuild_timeline(&mut self) {
        self.timeline = self.store.timeline();
        self.timeline_stale = false;
        self.timeline_selected = self
            .timeline_selected
            .min(self.timeline.len().saturating_sub(1));
        self.timeline_offset = follow(
            self.timeline_selected,
            self.timeline_offset,
            view::layout(self.area).body_rows,
        );
    }

    /// Puts the timeline cursor on the event selected in the list.
    fn select_in_timeline(&mut self) {
        let Some(index) = self.selected_index() else {
            return;
        };
        if let Some(row) = self
            .timeline
            .iter()
            .position(|r| *r == TimelineRow::Event(index))
        {
            self.timeline_selected = row;
            self.timeline_offset =
                follow(row, self.timeline_offset, view::layout(self.area).body_rows);
        }
    }

    fn show_raw(&mut self) {
        self.raw_lines = match self.selected_index().and_then(|i| self.store.record(i)) {
            Some(record) => view::raw::lines(record.raw.as_ref()),
            None => Vec::new(),
        };
        self.raw_scroll = 0;
        self.screen = Screen::Raw;
    }

    // ---- filter ----

    fn edit_filter(&mut self, action: Action) {
        match action {
            Action::Input(c) => self.filter.push(c),
            Action::Backspace => {
                self.filter.pop();
            }
            Action::ClearInput => self.filter.clear(),
            Action::Submit => {
                self.mode = Mode::Browse;
                return;
            }
            Action::Cancel => {
                self.filter.clear();
                self.mode = Mode::Browse;
            }
            _ => return,
        }
        let query = self.filter.clone();
        self.refilter(|store| store.set_query(&query));
    }

    // ---- pivot ----

    fn open_pivot(&mut self) {
        let facet = self.store.pivot().map_or(Facet::Tracker, |p| p.facet);
        self.fill_menu(facet);
        self.mode = Mode::Pivot;
    }

    fn fill_menu(&mut self, facet: Facet) {
        let values = self.store.facet_values(facet);
        let current = self
            .store
            .pivot()
            .filter(|p| p.facet == facet)
            .map(|p| p.key.clone());
        let selected = current
            .and_then(|key| values.iter().position(|v| v.key == key))
            .unwrap_or(0);
        self.menu = PivotMenu {
            facet,
            values,
            selected,
            offset: 0,
        };
        self.menu.offset = follow(selected, 0, view::layout(self.area).menu_rows);
    }

    fn pivot_menu_action(&mut self, action: Action) {
        let rows = view::layout(self.area).menu_rows;
        if let Some(to) = step(
            action,
            self.menu.selected,
            self.menu.values.len().saturating_sub(1),
            rows,
        ) {
            self.menu.selected = to;
            self.menu.offset = follow(to, self.menu.offset, rows);
            return;
        }
        match action {
            Action::NextFacet => self.fill_menu(self.menu.facet.next()),
            Action::PreviousFacet => self.fill_menu(self.menu.facet.previous()),
            Action::Submit => {
                if let Some(value) = self.menu.values.get(self.menu.selected) {
                    let pivot = Pivot {
                        facet: self.menu.facet,
                        key: value.key.clone(),
                        label: value.label.clone(),
                    };
                    self.screen = if self.screen == Screen::Timeline {
                        Screen::Timeline
                    } else {
                        Screen::Events
                    };
                    self.refilter(|store| store.set_pivot(Some(pivot)));
                }
                self.mode = Mode::Browse;
            }
            Action::Cancel => self.mode = Mode::Browse,
            _ => {}
        }
    }

    // ---- export ----

    fn start_prompt(&mut self, kind: PromptKind) {
        if self.store.marked_count() == 0 {
            self.set_status(strings::NOTHING_MARKED, true);
            return;
        }
        if kind == PromptKind::Exhibit && self.options.exhibit_export.is_none() {
            self.set_status(strings::EXHIBIT_UNAVAILABLE, true);
            return;
        }
        let default = match kind {
            PromptKind::Jsonl => &self.options.default_jsonl_path,
            PromptKind::Exhibit => &self.options.default_exhibit_dir,
        };
        self.prompt = default.to_string_lossy().into_owned();
        self.mode = Mode::Prompt(kind);
    }

    fn edit_prompt(&mut self, kind: PromptKind, action: Action) -> Option<Command> {
        match action {
            Action::Input(c) => self.prompt.push(c),
            Action::Backspace => {
                self.prompt.pop();
            }
            Action::ClearInput => self.prompt.clear(),
            Action::Cancel => self.mode = Mode::Browse,
            Action::Submit => {
                self.mode = Mode::Browse;
                let path = self.prompt.trim();
                if path.is_empty() {
                    self.set_status(strings::EMPTY_PATH, true);
                    return None;
                }
                let path = PathBuf::from(path);
                return Some(match kind {
                    PromptKind::Jsonl => Command::ExportJsonl(path),
                    PromptKind::Exhibit => Command::ExportExhibit(path),
                });
            }
            _ => {}
        }
        None
    }

    /// Carries out a command. Returns false when the app should stop.
    pub fn perform(&mut self, command: Command) -> bool {
        match command {
            Command::Quit => return false,
            Command::ExportJsonl(path) => {
                let events = self.store.marked_events();
                match write_jsonl(&events, &path) {
                    Ok(()) => self.set_status(&strings::exported_jsonl(events.len(), &path), false),
                    Err(error) => self.set_status(&strings::export_failed(&path, &error), true),
                }
            }
            Command::ExportExhibit(path) => {
                let events = self.store.marked_events();
                let result = match &self.options.exhibit_export {
                    Some(export) => export(&events, &path),
                    None => Err(io::Error::new(
                        io::ErrorKind::Unsupported,
                        strings::EXHIBIT_UNAVAILABLE,
                    )),
                };
                match result {
                    Ok(()) => {
                        self.set_status(&strings::exported_exhibit(events.len(), &path), false)
                    }
                    Err(error) => self.set_status(&strings::export_failed(&path, &error), true),
                }
            }
        }
        true
    }

    fn set_status(&mut self, text: &str, error: bool) {
        self.log.write(text);
        self.status = Some(Status {
            text: text.to_owned(),
            error,
        });
    }
}

fn write_jsonl(events: &[Event], path: &Path) -> io::Result<()> {
    let mut writer = JsonLinesWriter::new(BufWriter::new(File::create(path)?));
    for event in events {
        writer.write_event(event)?;
    }
    writer.finish()
}

pub(crate) fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "info",
    }
}

/// Where a movement takes a cursor at `position` that may go up to `max`
/// (`page` rows visible); `None` when `action` is not a movement.
fn step(action: Action, position: usize, max: usize, page: usize) -> Option<usize> {
    let half = (page / 2).max(1);
    let to = match action {
        Action::Down(n) => position.saturating_add(n),
        Action::Up(n) => position.saturating_sub(n),
        Action::Top => 0,
        Action::Bottom => max,
        Action::HalfPageDown => position.saturating_add(half),
        Action::HalfPageUp => position.saturating_sub(half),
        Action::PageDown => position.saturating_add(page.max(1)),
        Action::PageUp => position.saturating_sub(page.max(1)),
        _ => return None,
    };
    Some(to.min(max))
}

/// The first visible row after moving the cursor to `selected`, scrolling
/// as little as possible.
pub(crate) fn follow(selected: usize, offset: usize, rows: usize) -> usize {
    let rows = rows.max(1);
    if selected < offset {
        selected
    } else if selected >= offset.saturating_add(rows) {
        selected.saturating_add(1).saturating_sub(rows)
    } else {
        offset
    }
}
