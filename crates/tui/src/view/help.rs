//! The help overlay: every key binding, from the strings table.

use super::centered;
use crate::app::App;
use crate::strings;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

pub(crate) fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let height = u16::try_from(strings::HELP.len().saturating_add(2)).unwrap_or(u16::MAX);
    let area = centered(area, 66, height);
    frame.render_widget(Clear, area);
    let block = Block::bordered()
        .border_style(theme.dim)
        .title(Span::styled(
            format!(" {} ", strings::HELP_TITLE),
            theme.focused_title,
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let lines: Vec<Line> = strings::HELP
        .iter()
        .map(|(keys, what)| {
            Line::from(vec![
                Span::styled(format!("{keys:<15}"), theme.section),
                Span::raw(*what),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}
