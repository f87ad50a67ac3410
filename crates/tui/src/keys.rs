//! The key map: every binding of the TUI, in one place.
//!
//! Keys become [`Action`]s here and nowhere else; `App::update` only ever
//! sees actions, which keeps the bindings easy to change and the tests free
//! of terminal details.

use crate::app::Action;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};

/// Which set of bindings applies, from the app's current mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyMode {
    /// Browsing: the list, detail, raw, timeline and diagnostics screens.
    Browse,
    /// Typing into the filter or a path prompt.
    Text,
    /// The pivot facet menu.
    Menu,
    /// The help overlay.
    Help,
}

/// Lines moved by one notch of the mouse wheel.
pub(crate) const WHEEL_LINES: usize = 3;

pub(crate) fn action(mode: KeyMode, key: KeyEvent) -> Option<Action> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && key.code == KeyCode::Char('c') {
        return Some(Action::Quit);
    }
    match mode {
        KeyMode::Text => text_action(key, ctrl),
        KeyMode::Browse | KeyMode::Menu | KeyMode::Help => {
            if let Some(action) = movement(key, ctrl) {
                return Some(action);
            }
            match mode {
                KeyMode::Menu => menu_action(key),
                KeyMode::Help => help_action(key),
                _ => browse_action(key),
            }
        }
    }
}

fn movement(key: KeyEvent, ctrl: bool) -> Option<Action> {
    Some(match key.code {
        KeyCode::Char('d') if ctrl => Action::HalfPageDown,
        KeyCode::Char('u') if ctrl => Action::HalfPageUp,
        KeyCode::Char('j') | KeyCode::Down => Action::Down(1),
        KeyCode::Char('k') | KeyCode::Up => Action::Up(1),
        KeyCode::Char('g') | KeyCode::Home => Action::Top,
        KeyCode::Char('G') | KeyCode::End => Action::Bottom,
        KeyCode::PageDown => Action::PageDown,
        KeyCode::PageUp => Action::PageUp,
        _ => return None,
    })
}

fn browse_action(key: KeyEvent) -> Option<Action> {
    Some(match key.code {
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Char('h') | KeyCode::Left => Action::FocusList,
        KeyCode::Char('l') | KeyCode::Right => Action::FocusDetail,
        KeyCode::Enter => Action::Open,
        KeyCode::Esc => Action::Back,
        KeyCode::Char('/') => Action::StartFilter,
        KeyCode::Char('p') => Action::OpenPivot,
        KeyCode::Char(' ') => Action::ToggleMark,
        KeyCode::Char('a') => Action::MarkShown,
        KeyCode::Char('u') => Action::UnmarkAll,
        KeyCode::Char('e') => Action::StartExportJsonl,
        KeyCode::Char('x') => Action::StartExportExhibit,
        KeyCode::Char('r') => Action::ShowRaw,
        KeyCode::Char('t') => Action::ShowTimeline,
        KeyCode::Char('d') => Action::ShowDiagnostics,
        KeyCode::Char('?') => Action::ToggleHelp,
        _ => return None,
    })
}

fn menu_action(key: KeyEvent) -> Option<Action> {
    Some(match key.code {
        KeyCode::Tab | KeyCode::Char('l') | KeyCode::Right => Action::NextFacet,
        KeyCode::BackTab | KeyCode::Char('h') | KeyCode::Left => Action::PreviousFacet,
        KeyCode::Enter => Action::Submit,
        KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('p') => Action::Cancel,
        _ => return None,
    })
}

fn help_action(key: KeyEvent) -> Option<Action> {
    match key.code {
        KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('?') | KeyCode::Enter => {
            Some(Action::ToggleHelp)
        }
        _ => None,
    }
}

fn text_action(key: KeyEvent, ctrl: bool) -> Option<Action> {
    Some(match key.code {
        KeyCode::Char('u') if ctrl => Action::ClearInput,
        KeyCode::Char(c) if !ctrl => Action::Input(c),
        KeyCode::Backspace => Action::Backspace,
        KeyCode::Enter => Action::Submit,
        KeyCode::Esc => Action::Cancel,
        _ => return None,
    })
}

pub(crate) fn mouse_action(mouse: MouseEvent) -> Option<Action> {
    match mouse.kind {
        MouseEventKind::ScrollDown => Some(Action::Down(WHEEL_LINES)),
        MouseEventKind::ScrollUp => Some(Action::Up(WHEEL_LINES)),
        _ => None,
    }
}
