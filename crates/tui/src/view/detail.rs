//! The detail pane: everything the selected event told whom, with the
//! identifiers that matched a known identity highlighted, each flag with the
//! rule that raised it, and where the bytes are in the input.

use super::{inert, pane, styled};
use crate::app::{App, Focus};
use crate::store::{Record, detection_name, kind_name};
use crate::strings;
use crate::theme::Theme;
use pixelscope_model::InputFormat;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

pub(crate) fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let inner = pane(
        frame,
        area,
        strings::DETAIL_TITLE.to_owned(),
        app.focus == Focus::Detail,
        theme,
    );
    let Some(record) = app.selected_index().and_then(|i| app.store.record(i)) else {
        frame.render_widget(
            Paragraph::new(Span::styled(strings::NO_SELECTION, theme.dim)),
            inner,
        );
        return;
    };
    let lines = lines(record, theme);
    let scroll = u16::try_from(app.detail_scroll).unwrap_or(u16::MAX);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        inner,
    );
}

fn row(label: &str, value: String, theme: &Theme) -> Line<'static> {
    Line::from(vec![
        styled(format!("  {label:<9} "), theme.label),
        Span::raw(value),
    ])
}

fn optional(label: &str, value: Option<&str>, theme: &Theme, lines: &mut Vec<Line<'static>>) {
    if let Some(value) = value {
        lines.push(row(label, inert(value), theme));
    }
}

fn section(title: &str, count: Option<usize>, theme: &Theme) -> Line<'static> {
    let text = match count {
        Some(n) => format!("{title} ({n})"),
        None => title.to_owned(),
    };
    Line::from(styled(text, theme.section))
}

/// The pane's lines for one record (also used to bound scrolling).
pub(crate) fn lines(record: &Record, theme: &Theme) -> Vec<Line<'static>> {
    let e = &record.event;
    let mut lines = vec![section(strings::SECTION_EVENT, None, theme)];
    lines.push(row(
        "tracker",
        format!(
            "{} ({}) · {} · {}",
            inert(&e.tracker),
            inert(&e.vendor),
            kind_name(e.kind),
            detection_name(e.detection)
        ),
        theme,
    ));
    optional("party", e.party.as_deref(), theme, &mut lines);
    optional("event", e.event.as_deref(), theme, &mut lines);
    optional("pixel", e.pixel_id.as_deref(), theme, &mut lines);
    optional("page", e.page_url.as_deref(), theme, &mut lines);
    optional("referrer", e.referrer.as_deref(), theme, &mut lines);
    optional("title", e.page_title.as_deref(), theme, &mut lines);
    lines.push(row(
        "time",
        e.time
            .map_or_else(|| strings::NO_TIME.to_owned(), |t| t.to_string()),
        theme,
    ));
    lines.push(row(
        "request",
        format!("{} {}", inert(&e.request.method), inert(&e.request.url)),
        theme,
    ));

    lines.push(section(
        strings::SECTION_IDENTIFIERS,
        Some(e.identifiers.len()),
        theme,
    ));
    for id in &e.identifiers {
        let mut spans = vec![
            Span::raw("  "),
            styled(
                format!("{} {}", inert(&id.kind), inert(&id.form)),
                theme.identifier,
            ),
            Span::raw(format!(" {}", inert(&id.value))),
            styled(format!(" ← {}", inert(&id.path)), theme.label),
        ];
        if let Some(label) = &id.matched {
            spans.push(styled(format!(" = {}", inert(label)), theme.matched));
        }
        lines.push(Line::from(spans));
    }
    if e.identifiers.is_empty() {
        lines.push(Line::from(styled(
            format!("  {}", strings::NONE_LISTED),
            theme.dim,
        )));
    }

    lines.push(section(strings::SECTION_FLAGS, Some(e.flags.len()), theme));
    for flag in &e.flags {
        lines.push(Line::from(vec![
            Span::raw("  "),
            styled(inert(&flag.category), theme.flag),
            Span::raw(format!(" {} “{}”", inert(&flag.rule), inert(&flag.text))),
            styled(format!(" ← {}", inert(&flag.path)), theme.label),
        ]));
    }
    if e.flags.is_empty() {
        lines.push(Line::from(styled(
            format!("  {}", strings::NONE_LISTED),
            theme.dim,
        )));
    }

    lines.push(section(
        strings::SECTION_FIELDS,
        Some(e.fields.len()),
        theme,
    ));
    for field in &e.fields {
        let mut spans = vec![
            Span::raw(format!("  {}", inert(&field.path))),
            styled(format!(" [{}]", inert(&field.location)), theme.label),
            Span::raw(format!(" = {}", inert(&field.value))),
        ];
        if let Some(property) = &field.property {
            spans.push(styled(format!("  ({})", inert(property)), theme.identifier));
        }
        lines.push(Line::from(spans));
    }

    lines.push(section(strings::SECTION_ORIGIN, None, theme));
    let o = &e.origin;
    lines.push(row("file", inert(&o.file), theme));
    optional("sha256", o.sha256.as_deref(), theme, &mut lines);
    let format = match o.format {
        InputFormat::Har => "har",
        InputFormat::Pcap => "pcap",
        InputFormat::Pcapng => "pcapng",
    };
    let place = pixelscope_report::origin_summary(e);
    let place = if place.is_empty() {
        format.to_owned()
    } else {
        format!("{format} · {place}")
    };
    lines.push(row("where", place, theme));
    optional("tls", o.tls.as_deref(), theme, &mut lines);
    lines
}
