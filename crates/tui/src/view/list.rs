//! The event list: one row per shown event, only the visible window built.

use super::{
    clock, cursor, event_label, flag_categories, identifier_list, inert, pane, short_page,
};
use crate::app::{App, Focus};
use crate::strings;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Cell, Paragraph, Row, Table};

pub(crate) fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let shown = app.store.shown();
    let mut title = strings::list_title(shown.len(), app.store.len(), app.store.marked_count());
    if !app.filter.is_empty() {
        title.push_str(&format!(
            " · {}",
            strings::filter_badge(&inert(&app.filter))
        ));
    }
    if let Some(pivot) = app.store.pivot() {
        title.push_str(&format!(
            " · {}",
            strings::pivot_badge(pivot.facet.name(), &inert(&pivot.label))
        ));
    }
    let inner = pane(frame, area, title, app.focus == Focus::List, theme);
    if shown.is_empty() {
        let text = if app.store.len() == 0 {
            strings::NO_EVENTS_YET
        } else {
            strings::NO_EVENTS_MATCH
        };
        frame.render_widget(Paragraph::new(Span::styled(text, theme.dim)), inner);
        return;
    }
    let rows_visible = usize::from(inner.height.saturating_sub(1));
    let end = app
        .list_offset
        .saturating_add(rows_visible)
        .min(shown.len());
    let window = shown.get(app.list_offset..end).unwrap_or_default();
    // Milliseconds only when there is room; the detail pane has the full time.
    let time_width: usize = if inner.width >= 100 { 12 } else { 8 };
    let rows = window.iter().enumerate().filter_map(|(n, &index)| {
        let record = app.store.record(index)?;
        let event = &record.event;
        let marked = app.store.is_marked(index);
        let matched = event.identifiers.iter().any(|id| id.matched.is_some());
        let selected = app.list_offset.saturating_add(n) == app.selected;
        let time: String = clock(event.time).chars().take(time_width).collect();
        let row = Row::new(vec![
            Cell::from(format!(
                "{}{}",
                cursor(selected),
                if marked { "*" } else { " " }
            ))
            .style(theme.marked),
            Cell::from(time),
            Cell::from(inert(&event.tracker)),
            Cell::from(event_label(event)),
            Cell::from(short_page(event.page_url.as_deref().unwrap_or(""))),
            Cell::from(identifier_list(event)).style(if matched {
                theme.matched
            } else {
                theme.identifier
            }),
            Cell::from(flag_categories(event)).style(theme.flag),
        ]);
        Some(if selected {
            row.style(theme.selected)
        } else {
            row
        })
    });
    let header = Row::new(vec![
        "",
        strings::COLUMN_TIME,
        strings::COLUMN_TRACKER,
        strings::COLUMN_EVENT,
        strings::COLUMN_PAGE,
        strings::COLUMN_IDENTIFIERS,
        strings::COLUMN_FLAGS,
    ])
    .style(theme.column_heading);
    let widths = [
        Constraint::Length(2),
        Constraint::Length(u16::try_from(time_width).unwrap_or(12)),
        Constraint::Length(7),
        Constraint::Length(12),
        Constraint::Fill(3),
        Constraint::Fill(3),
        Constraint::Fill(2),
    ];
    frame.render_widget(
        Table::new(rows, widths).header(header).column_spacing(1),
        inner,
    );
}
