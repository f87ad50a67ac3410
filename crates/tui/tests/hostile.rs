//! Captured text that tries to drive the terminal is shown inert on every
//! screen: no control character ever reaches the backend.

mod fixtures;

use fixtures::{app_with, hostile, lab_records, plain_options, type_keys};
use insta::assert_snapshot;
use pixelscope_tui::App;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn render(app: &App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| app.draw(frame)).unwrap();
    terminal
}

fn assert_inert(terminal: &Terminal<TestBackend>) {
    for cell in terminal.backend().buffer().content() {
        assert!(
            !cell
                .symbol()
                .chars()
                .any(|c| c.is_control() || c == '\u{202e}'),
            "control character reached the terminal: {:?}",
            cell.symbol()
        );
    }
}

fn hostile_app(width: u16, height: u16) -> App {
    let mut records = lab_records();
    records.push(hostile());
    let mut app = app_with(records, plain_options(), width, height);
    type_keys(&mut app, "G");
    app
}

#[test]
fn hostile_record_in_list_and_detail() {
    let app = hostile_app(140, 36);
    let terminal = render(&app, 140, 36);
    assert_inert(&terminal);
    let text = terminal.backend().to_string();
    assert!(text.contains(r"PageView\x1b[2J"), "{text}");
    assert!(text.contains(r"<script>alert(1)</script>\x1b[2J"), "{text}");
    assert!(text.contains(r"\u{202e}gnp.exe\x1b]0;owned\x07"), "{text}");
    assert_snapshot!(terminal.backend());
}

#[test]
fn hostile_record_on_every_screen() {
    for keys in ["", "l", "r", "t", "p", "pl", "pll", "d", "?"] {
        let mut app = hostile_app(80, 24);
        type_keys(&mut app, keys);
        assert_inert(&render(&app, 80, 24));
    }
    let mut app = hostile_app(80, 24);
    type_keys(&mut app, "r");
    let terminal = render(&app, 80, 24);
    let text = terminal.backend().to_string();
    assert!(text.contains(r"x-evil: \x1b[2J\x07"), "{text}");
    assert_snapshot!("hostile_raw", terminal.backend());
}
