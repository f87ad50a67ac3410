//! Drawing: one file per view. Every function here reads the [`App`] and
//! writes into the frame; none changes state.
//!
//! Every captured string passes through [`inert`] (the report crate's
//! terminal escaping) before it becomes a `Span`, so control characters and
//! escape sequences from the wire are shown, never executed.

pub(crate) mod detail;
pub(crate) mod diagnostics;
pub(crate) mod help;
pub(crate) mod list;
pub(crate) mod pivot;
pub(crate) mod raw;
pub(crate) mod timeline;

use crate::app::{App, Mode, PromptKind, Screen};
use crate::strings;
use crate::theme::Theme;
use pixelscope_model::{Event, Kind, Timestamp};
use pixelscope_report::escape::terminal;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout as Split, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

/// Where everything goes for a terminal of a given size. `App::update` uses
/// the same numbers to keep cursors on screen.
pub(crate) struct Layout {
    pub(crate) header: Rect,
    pub(crate) body: Rect,
    pub(crate) footer: Rect,
    pub(crate) list: Rect,
    pub(crate) detail: Rect,
    pub(crate) popup: Rect,
    /// Event rows visible in the list (below its title and column headings).
    pub(crate) list_rows: usize,
    pub(crate) detail_rows: usize,
    /// Rows of a full-screen view (raw, timeline, diagnostics) below its title.
    pub(crate) body_rows: usize,
    /// Value rows visible in the pivot menu.
    pub(crate) menu_rows: usize,
}

pub(crate) fn layout(area: Rect) -> Layout {
    let [header, body, footer] = Split::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let [list, detail] =
        Split::vertical([Constraint::Percentage(50), Constraint::Fill(1)]).areas(body);
    let popup = centered(area, 76, 20);
    Layout {
        header,
        body,
        footer,
        list,
        detail,
        popup,
        list_rows: usize::from(list.height.saturating_sub(2)).max(1),
        detail_rows: usize::from(detail.height.saturating_sub(1)).max(1),
        body_rows: usize::from(body.height.saturating_sub(1)).max(1),
        menu_rows: usize::from(popup.height.saturating_sub(3)).max(1),
    }
}

/// A rectangle of at most `width` × `height` in the middle of `area`,
/// leaving a margin so the screen behind stays recognisable.
pub(crate) fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width
        .min(area.width.saturating_sub(4))
        .max(area.width.min(10));
    let height = height
        .min(area.height.saturating_sub(2))
        .max(area.height.min(3));
    let x = area.x.saturating_add(area.width.saturating_sub(width) / 2);
    let y = area
        .y
        .saturating_add(area.height.saturating_sub(height) / 2);
    Rect::new(x, y, width, height)
}

pub(crate) fn draw(app: &App, frame: &mut Frame) {
    let layout = layout(frame.area());
    draw_header(app, frame, layout.header);
    match app.screen {
        Screen::Events => {
            list::draw(app, frame, layout.list);
            detail::draw(app, frame, layout.detail);
        }
        Screen::Raw => raw::draw(app, frame, layout.body),
        Screen::Timeline => timeline::draw(app, frame, layout.body),
        Screen::Diagnostics => diagnostics::draw(app, frame, layout.body),
    }
    draw_footer(app, frame, layout.footer);
    match app.mode {
        Mode::Pivot => pivot::draw(app, frame, layout.popup),
        Mode::Help => help::draw(app, frame, frame.area()),
        _ => {}
    }
}

fn draw_header(app: &App, frame: &mut Frame, area: Rect) {
    let progress = &app.progress;
    let state = if progress.finished {
        strings::loaded(progress.inputs.unwrap_or(progress.files_done))
    } else {
        strings::loading(progress.files_done, progress.inputs)
    };
    let mut text = format!(" {}", strings::APP_NAME);
    if !app.options.title.is_empty() {
        text.push_str(&format!("  {}", inert(&app.options.title)));
    }
    text.push_str(&format!(
        "  · {state} · {}",
        strings::counts(app.store.len(), app.diagnostics.len())
    ));
    frame.render_widget(Paragraph::new(text).style(app.theme.header), area);
}

fn draw_footer(app: &App, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let line = match app.mode {
        Mode::Filter => input_line(strings::FILTER_PROMPT, &app.filter, theme),
        Mode::Prompt(PromptKind::Jsonl) => {
            input_line(strings::EXPORT_JSONL_PROMPT, &app.prompt, theme)
        }
        Mode::Prompt(PromptKind::Exhibit) => {
            input_line(strings::EXPORT_EXHIBIT_PROMPT, &app.prompt, theme)
        }
        _ => match &app.status {
            Some(status) => Line::from(Span::styled(
                inert(&status.text),
                if status.error {
                    theme.error
                } else {
                    theme.status
                },
            )),
            None => Line::from(Span::styled(strings::HINTS, theme.dim)),
        },
    };
    frame.render_widget(Paragraph::new(line), area);
}

fn input_line(prompt: &str, text: &str, theme: &Theme) -> Line<'static> {
    Line::from(vec![
        Span::styled(prompt.to_owned(), theme.section),
        Span::raw(inert(text)),
        Span::styled("_", theme.selected),
    ])
}

/// A pane with a one-line title rule; returns the area inside it.
pub(crate) fn pane(
    frame: &mut Frame,
    area: Rect,
    title: String,
    focused: bool,
    theme: &Theme,
) -> Rect {
    let style = if focused {
        theme.focused_title
    } else {
        theme.title
    };
    let block = Block::new()
        .borders(Borders::TOP)
        .border_style(theme.dim)
        .title(Span::styled(format!(" {title} "), style));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    inner
}

/// Captured text made safe for the terminal.
pub(crate) fn inert(text: &str) -> String {
    terminal(text)
}

/// `03:03:19.422` from a timestamp (the date is in the detail pane).
pub(crate) fn clock(time: Option<Timestamp>) -> String {
    let Some(time) = time else {
        return strings::NO_TIME.to_owned();
    };
    let text = time.to_string();
    match text.split_once('T') {
        Some((_, rest)) => rest.trim_end_matches('Z').chars().take(12).collect(),
        None => text,
    }
}

/// The event column: the name as sent, or what kind of record it is.
pub(crate) fn event_label(event: &Event) -> String {
    match (event.kind, &event.event) {
        (Kind::Event, Some(name)) => inert(name),
        (Kind::Event, None) => strings::UNNAMED_EVENT.to_owned(),
        (Kind::Library, _) => strings::LIBRARY_EVENT.to_owned(),
        (Kind::Contact, _) => strings::CONTACT_EVENT.to_owned(),
    }
}

/// Distinct flag categories: `health, religion`.
pub(crate) fn flag_categories(event: &Event) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for flag in &event.flags {
        if !seen.contains(&flag.category.as_str()) {
            seen.push(&flag.category);
        }
    }
    inert(&seen.join(","))
}

/// A page URL without its scheme, for narrow columns.
pub(crate) fn short_page(url: &str) -> String {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    inert(rest)
}

/// The identifiers of an event, the most telling first: those that matched a
/// known identity, then hashed ones, then the rest (`email sha256 =Maria,
/// external_id`).
pub(crate) fn identifier_list(event: &Event) -> String {
    let mut parts: Vec<(u8, String)> = Vec::new();
    for id in &event.identifiers {
        let rank = if id.matched.is_some() {
            0
        } else if id.form != "plain" {
            1
        } else {
            2
        };
        let mut text = if id.form == "plain" {
            id.kind.clone()
        } else {
            format!("{} {}", id.kind, id.form)
        };
        if let Some(label) = &id.matched {
            text.push_str(&format!(" ={label}"));
        }
        if !parts.iter().any(|(_, t)| *t == text) {
            parts.push((rank, text));
        }
    }
    parts.sort_by_key(|(rank, _)| *rank);
    let texts: Vec<String> = parts.into_iter().map(|(_, t)| t).collect();
    inert(&texts.join(", "))
}

/// The cursor column: `>` on the selected row, so the cursor is visible
/// without colour or reverse video too.
pub(crate) fn cursor(selected: bool) -> &'static str {
    if selected { ">" } else { " " }
}

pub(crate) fn styled(text: String, style: Style) -> Span<'static> {
    Span::styled(text, style)
}
