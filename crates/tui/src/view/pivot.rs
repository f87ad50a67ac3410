//! The pivot menu: pick a facet (tracker, identifier, page, flag), see its
//! values with the number of events carrying each, choose one to narrow the
//! list to those events.

use super::inert;
use crate::app::App;
use crate::store::Facet;
use crate::strings;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

pub(crate) fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let menu = &app.menu;
    frame.render_widget(Clear, area);
    let block = Block::bordered()
        .border_style(theme.dim)
        .title(Span::styled(
            format!(" {} ", strings::PIVOT_TITLE),
            theme.focused_title,
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);

    let mut tabs = Vec::new();
    for facet in Facet::ALL {
        let tab = if facet == menu.facet {
            Span::styled(format!("[{}]", facet.name()), theme.selected)
        } else {
            Span::styled(format!(" {} ", facet.name()), theme.label)
        };
        tabs.push(tab);
        tabs.push(Span::raw(" "));
    }
    let mut lines = vec![Line::from(tabs)];
    if menu.values.is_empty() {
        lines.push(Line::from(Span::styled(
            strings::NO_FACET_VALUES,
            theme.dim,
        )));
    }
    let rows = usize::from(inner.height.saturating_sub(1));
    let end = menu.offset.saturating_add(rows).min(menu.values.len());
    let width = menu
        .values
        .iter()
        .map(|v| v.count.to_string().len())
        .max()
        .unwrap_or(1);
    for (n, value) in menu
        .values
        .get(menu.offset..end)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let selected = menu.offset.saturating_add(n) == menu.selected;
        let line = Line::from(vec![
            Span::raw(super::cursor(selected)),
            Span::styled(format!("{:>width$}  ", value.count), theme.label),
            Span::raw(inert(&value.label)),
        ]);
        lines.push(if selected {
            line.style(theme.selected)
        } else {
            line
        });
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
