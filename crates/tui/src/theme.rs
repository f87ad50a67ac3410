//! Styles, in one place. Without colour (`NO_COLOR`) only modifiers are
//! used: bold, underline and reverse video carry the same distinctions.

use ratatui::style::{Color, Modifier, Style};

#[derive(Clone, Copy, Debug)]
pub(crate) struct Theme {
    pub(crate) header: Style,
    pub(crate) column_heading: Style,
    pub(crate) selected: Style,
    pub(crate) marked: Style,
    pub(crate) focused_title: Style,
    pub(crate) title: Style,
    pub(crate) section: Style,
    pub(crate) label: Style,
    pub(crate) matched: Style,
    pub(crate) flag: Style,
    pub(crate) identifier: Style,
    pub(crate) dim: Style,
    pub(crate) page: Style,
    pub(crate) status: Style,
    pub(crate) error: Style,
}

impl Theme {
    pub(crate) fn new(color: bool) -> Theme {
        if color {
            Theme::colored()
        } else {
            Theme::plain()
        }
    }

    fn colored() -> Theme {
        let bold = Style::new().add_modifier(Modifier::BOLD);
        Theme {
            header: bold.fg(Color::Black).bg(Color::Cyan),
            column_heading: bold.fg(Color::Cyan),
            selected: Style::new().add_modifier(Modifier::REVERSED),
            marked: bold.fg(Color::Yellow),
            focused_title: bold.fg(Color::Cyan),
            title: Style::new().fg(Color::DarkGray),
            section: bold.fg(Color::Cyan),
            label: Style::new().fg(Color::DarkGray),
            matched: bold.fg(Color::LightRed).add_modifier(Modifier::UNDERLINED),
            flag: bold.fg(Color::LightMagenta),
            identifier: Style::new().fg(Color::LightYellow),
            dim: Style::new().fg(Color::DarkGray),
            page: bold.fg(Color::LightBlue),
            status: Style::new().fg(Color::Green),
            error: bold.fg(Color::Red),
        }
    }

    fn plain() -> Theme {
        let bold = Style::new().add_modifier(Modifier::BOLD);
        Theme {
            header: Style::new().add_modifier(Modifier::REVERSED),
            column_heading: bold,
            selected: Style::new().add_modifier(Modifier::REVERSED),
            marked: bold,
            focused_title: bold.add_modifier(Modifier::UNDERLINED),
            title: Style::new(),
            section: bold,
            label: Style::new(),
            matched: bold.add_modifier(Modifier::UNDERLINED),
            flag: bold,
            identifier: Style::new(),
            dim: Style::new(),
            page: bold,
            status: Style::new(),
            error: bold,
        }
    }
}
