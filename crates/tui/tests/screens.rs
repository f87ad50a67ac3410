//! Whole screens rendered into ratatui's TestBackend and pinned with insta,
//! at 80×24 and at a wider size.

mod fixtures;

use fixtures::{key, lab_app, send, type_keys};
use insta::assert_snapshot;
use pixelscope_tui::{App, Screen};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::KeyCode;

fn render(app: &App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| app.draw(frame)).unwrap();
    terminal
}

#[test]
fn list_at_80x24() {
    let app = lab_app(80, 24);
    assert_snapshot!(render(&app, 80, 24).backend());
}

#[test]
fn list_wide() {
    let mut app = lab_app(140, 36);
    type_keys(&mut app, "jjj "); // mark the e-mail event
    assert_snapshot!(render(&app, 140, 36).backend());
}

#[test]
fn detail_of_the_hashed_email_event() {
    let mut app = lab_app(80, 24);
    type_keys(&mut app, "jjjl");
    assert_eq!(
        app.selected_event().unwrap().event.as_deref(),
        Some("Pageview")
    );
    assert_snapshot!(render(&app, 80, 24).backend());
    // Scrolled down to the flags and origin.
    type_keys(&mut app, "jjjjjjjjj");
    assert_snapshot!("detail_scrolled", render(&app, 80, 24).backend());
}

#[test]
fn detail_wide_shows_everything() {
    let mut app = lab_app(140, 50);
    type_keys(&mut app, "jjj");
    assert_snapshot!(render(&app, 140, 50).backend());
}

#[test]
fn raw_json_body() {
    let mut app = lab_app(80, 24);
    type_keys(&mut app, "jjjr");
    assert_eq!(app.screen(), Screen::Raw);
    assert_snapshot!(render(&app, 80, 24).backend());
}

#[test]
fn raw_form_body_wide() {
    let mut app = lab_app(120, 30);
    type_keys(&mut app, "jjr");
    assert_snapshot!(render(&app, 120, 30).backend());
}

#[test]
fn raw_not_available() {
    let mut app = lab_app(80, 24);
    type_keys(&mut app, "jr");
    let screen = render(&app, 80, 24);
    assert!(screen.backend().to_string().contains("not available"));
}

#[test]
fn pivot_by_identifier() {
    let mut app = lab_app(80, 24);
    type_keys(&mut app, "p");
    send(&mut app, key(KeyCode::Tab));
    assert_snapshot!(render(&app, 80, 24).backend());
}

#[test]
fn pivot_by_tracker_wide() {
    let mut app = lab_app(140, 36);
    type_keys(&mut app, "p");
    assert_snapshot!(render(&app, 140, 36).backend());
}

#[test]
fn help_overlay() {
    let mut app = lab_app(80, 24);
    type_keys(&mut app, "?");
    assert!(app.help_visible());
    assert_snapshot!(render(&app, 80, 24).backend());
}

#[test]
fn help_overlay_wide() {
    let mut app = lab_app(140, 36);
    type_keys(&mut app, "?");
    assert_snapshot!(render(&app, 140, 36).backend());
}

#[test]
fn timeline_by_page() {
    let mut app = lab_app(80, 24);
    type_keys(&mut app, "t");
    assert_eq!(app.screen(), Screen::Timeline);
    assert_snapshot!(render(&app, 80, 24).backend());
}

#[test]
fn timeline_wide() {
    let mut app = lab_app(140, 36);
    type_keys(&mut app, "t");
    assert_snapshot!(render(&app, 140, 36).backend());
}

#[test]
fn filter_being_typed() {
    let mut app = lab_app(80, 24);
    type_keys(&mut app, "/erectile");
    assert_eq!(app.shown_count(), 2);
    assert_snapshot!(render(&app, 80, 24).backend());
}
