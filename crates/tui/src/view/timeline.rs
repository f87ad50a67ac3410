//! The timeline: for each page, in the order the pages were first seen,
//! what each event sent to whom, in time order.

use super::{clock, cursor, event_label, flag_categories, identifier_list, inert, pane};
use crate::app::App;
use crate::store::TimelineRow;
use crate::strings;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub(crate) fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let inner = pane(frame, area, strings::TIMELINE_TITLE.to_owned(), true, theme);
    if app.timeline.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled(strings::NO_EVENTS_YET, theme.dim)),
            inner,
        );
        return;
    }
    let rows = usize::from(inner.height);
    let end = app
        .timeline_offset
        .saturating_add(rows)
        .min(app.timeline.len());
    let window = app
        .timeline
        .get(app.timeline_offset..end)
        .unwrap_or_default();
    let lines: Vec<Line> = window
        .iter()
        .enumerate()
        .filter_map(|(n, row)| {
            let selected = app.timeline_offset.saturating_add(n) == app.timeline_selected;
            let line = match row {
                TimelineRow::Page { url, events } => {
                    let page = if url.is_empty() {
                        strings::NO_PAGE.to_owned()
                    } else {
                        inert(url)
                    };
                    Line::from(vec![
                        Span::raw(cursor(selected)),
                        Span::styled(strings::timeline_page(&page, *events), theme.page),
                    ])
                }
                TimelineRow::Event(index) => {
                    let event = &app.store.record(*index)?.event;
                    let mark = if app.store.is_marked(*index) {
                        "*"
                    } else {
                        " "
                    };
                    let matched = event.identifiers.iter().any(|id| id.matched.is_some());
                    Line::from(vec![
                        Span::styled(format!("{} {mark} ", cursor(selected)), theme.marked),
                        Span::raw(format!("{:<12} ", clock(event.time))),
                        Span::styled(format!("{:<8} ", inert(&event.tracker)), theme.section),
                        Span::raw(format!("{:<14} ", event_label(event))),
                        Span::styled(
                            identifier_list(event),
                            if matched {
                                theme.matched
                            } else {
                                theme.identifier
                            },
                        ),
                        Span::raw(" "),
                        Span::styled(flag_categories(event), theme.flag),
                    ])
                }
            };
            Some(if selected {
                line.style(theme.selected)
            } else {
                line
            })
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}
