//! The diagnostics screen: what in the inputs could not be read, or was odd,
//! so that a reader knows what the event list may be missing.

use super::{inert, pane};
use crate::app::{App, severity_name};
use crate::strings;
use pixelscope_model::Severity;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub(crate) fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let title = format!("{} ({})", strings::DIAGNOSTICS_TITLE, app.diagnostics.len());
    let inner = pane(frame, area, title, true, theme);
    if app.diagnostics.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled(strings::NO_DIAGNOSTICS, theme.dim)),
            inner,
        );
        return;
    }
    let rows = usize::from(inner.height);
    let end = app
        .diagnostics_scroll
        .saturating_add(rows)
        .min(app.diagnostics.len());
    let lines: Vec<Line> = app
        .diagnostics
        .get(app.diagnostics_scroll..end)
        .unwrap_or_default()
        .iter()
        .map(|d| {
            let style = if d.severity == Severity::Error {
                theme.error
            } else {
                theme.flag
            };
            Line::from(vec![
                Span::styled(format!("{:<8}", severity_name(d.severity)), style),
                Span::styled(format!("{} ", inert(&d.code)), theme.section),
                Span::raw(inert(&d.message)),
                Span::styled(format!("  {}", inert(&d.origin.file)), theme.label),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}
