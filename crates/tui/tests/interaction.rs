//! Key sequences driven through `App::update`, asserting on state and on the
//! files written.

mod fixtures;

use fixtures::{
    MARIA_EMAIL_SHA256, app_with, ctrl, key, lab_app, lab_records, plain_options, send, type_keys,
};
use pixelscope_model::{Event, Field, Identifier, Timestamp};
use pixelscope_tui::{App, Command, Facet, LoadMessage, Message, Screen, TuiOptions};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::KeyModifiers;
use ratatui::crossterm::event::{KeyCode, MouseButton, MouseEvent, MouseEventKind};
use ratatui::style::Color;
use std::sync::{Arc, Mutex};

fn screen_text(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| app.draw(frame)).unwrap();
    terminal.backend().to_string()
}

fn trackers(app: &App) -> Vec<String> {
    app.shown_events().map(|e| e.tracker.clone()).collect()
}

#[test]
fn filter_matches_any_text_of_the_record_and_esc_clears_it() {
    let mut app = lab_app(80, 24);
    // A field value (the hashed e-mail), case-insensitively.
    type_keys(&mut app, "/950DA1AF");
    assert_eq!(trackers(&app), ["tiktok"]);
    // Backspacing widens again; a flag rule matches too.
    for _ in 0..8 {
        send(&mut app, key(KeyCode::Backspace));
    }
    type_keys(&mut app, "sexual-health");
    assert_eq!(trackers(&app), ["ga4", "tiktok"]);
    send(&mut app, key(KeyCode::Enter));
    assert_eq!(app.filter(), "sexual-health");
    // The URL of the request.
    send(&mut app, key(KeyCode::Char('/')));
    send(&mut app, ctrl('u'));
    type_keys(&mut app, "facebook.com/tr");
    send(&mut app, key(KeyCode::Enter));
    assert_eq!(trackers(&app), ["meta"]);
    assert!(screen_text(&app, 80, 24).contains("Events 1 of 4 · /facebook.com/tr"));
    send(&mut app, key(KeyCode::Esc));
    assert_eq!(app.shown_count(), 4);
    assert_eq!(app.filter(), "");
}

#[test]
fn pivot_on_the_hashed_email_shows_everything_that_carried_it() {
    let mut records = lab_records();
    // A second tracker receives the same hashed e-mail.
    let (mut meta, raw) = fixtures::meta_home();
    meta.identifiers.push(Identifier {
        kind: "email".into(),
        form: "sha256".into(),
        value: MARIA_EMAIL_SHA256.into(),
        path: "ud[em]".into(),
        matched: Some("Maria Example".into()),
    });
    records.push((meta, raw));
    let mut app = app_with(records, plain_options(), 80, 24);

    type_keys(&mut app, "p");
    let (facet, values) = app.pivot_menu().unwrap();
    assert_eq!(facet, Facet::Tracker);
    let counts: Vec<(String, usize)> = values.iter().map(|v| (v.key.clone(), v.count)).collect();
    assert_eq!(
        counts,
        [
            ("meta".to_owned(), 2),
            ("tiktok".to_owned(), 2),
            ("ga4".to_owned(), 1)
        ]
    );

    send(&mut app, key(KeyCode::Tab)); // identifier facet
    let (facet, values) = app.pivot_menu().unwrap();
    assert_eq!(facet, Facet::Identifier);
    let position = values
        .iter()
        .position(|v| v.key == MARIA_EMAIL_SHA256)
        .unwrap();
    assert_eq!(values[position].count, 2);
    for _ in 0..position {
        send(&mut app, key(KeyCode::Char('j')));
    }
    send(&mut app, key(KeyCode::Enter));
    assert!(app.pivot_menu().is_none());
    assert_eq!(app.pivot().unwrap().key, MARIA_EMAIL_SHA256);
    assert_eq!(trackers(&app), ["tiktok", "meta"]);
    assert!(
        screen_text(&app, 80, 24)
            .contains("Events 2 of 5 · identifier=email sha256 =Maria Example")
    );

    // Flag facet, chosen over the pivot: replaces it.
    type_keys(&mut app, "p");
    send(&mut app, key(KeyCode::Tab));
    send(&mut app, key(KeyCode::Tab));
    let (facet, values) = app.pivot_menu().unwrap();
    assert_eq!(facet, Facet::Flag);
    assert_eq!(
        values
            .iter()
            .map(|v| (v.key.as_str(), v.count))
            .collect::<Vec<_>>(),
        [("health", 2), ("religion", 1)]
    );
    send(&mut app, key(KeyCode::Enter));
    assert_eq!(trackers(&app), ["ga4", "tiktok"]);

    // Esc clears the pivot.
    send(&mut app, key(KeyCode::Esc));
    assert!(app.pivot().is_none());
    assert_eq!(app.shown_count(), 5);
}

#[test]
fn marked_events_are_exported_as_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("marked.jsonl");
    let mut app = lab_app(80, 24);

    // Nothing marked yet: export refuses and says why.
    type_keys(&mut app, "e");
    assert!(app.status().unwrap().contains("No event is marked"));

    // Mark the first and the third event (space moves down).
    type_keys(&mut app, " j ");
    assert_eq!(app.marked_count(), 2);
    type_keys(&mut app, "e");
    assert!(
        screen_text(&app, 80, 24)
            .contains("Export marked events as JSONL to: pixelscope-marked.jsonl")
    );
    send(&mut app, ctrl('u'));
    type_keys(&mut app, path.to_str().unwrap());
    let command = app.update(key(KeyCode::Enter));
    assert_eq!(command, Some(Command::ExportJsonl(path.clone())));
    assert!(app.perform(command.unwrap()));
    assert!(app.status().unwrap().starts_with("Wrote 2 events to "));

    let text = std::fs::read_to_string(&path).unwrap();
    let exported: Vec<Event> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let expected: Vec<Event> = lab_records().into_iter().map(|(e, _)| e).collect();
    assert_eq!(exported, [expected[0].clone(), expected[2].clone()]);
    assert!(
        text.lines()
            .all(|l| l.starts_with(r#"{"schema":"pixelscope.event/1""#))
    );

    // Unmark with space again, mark all shown with a, clear with u.
    type_keys(&mut app, "g ");
    assert_eq!(app.marked_count(), 1);
    type_keys(&mut app, "a");
    assert_eq!(app.marked_count(), 4);
    type_keys(&mut app, "u");
    assert_eq!(app.marked_count(), 0);
}

#[test]
fn a_failed_export_is_reported_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = lab_app(80, 24);
    type_keys(&mut app, " e");
    send(&mut app, ctrl('u'));
    type_keys(
        &mut app,
        dir.path().join("missing/dir/out.jsonl").to_str().unwrap(),
    );
    assert!(send(&mut app, key(KeyCode::Enter)));
    assert!(
        app.status().unwrap().starts_with("Export to "),
        "{:?}",
        app.status()
    );
}

/// Tracker names of the events and the directory of one exhibit export.
type ExhibitCall = (Vec<String>, std::path::PathBuf);

#[test]
fn exhibit_export_goes_through_the_callback() {
    let received: Arc<Mutex<Vec<ExhibitCall>>> = Arc::default();
    let sink = Arc::clone(&received);
    let options = TuiOptions {
        exhibit_export: Some(Box::new(move |events: &[Event], dir: &std::path::Path| {
            let names = events.iter().map(|e| e.tracker.clone()).collect();
            sink.lock().unwrap().push((names, dir.to_owned()));
            Ok(())
        })),
        ..plain_options()
    };
    let mut app = app_with(lab_records(), options, 80, 24);
    type_keys(&mut app, "G kk x");
    assert!(
        screen_text(&app, 80, 24)
            .contains("Export marked events as an exhibit into: pixelscope-exhibit")
    );
    send(&mut app, key(KeyCode::Enter));
    let calls = received.lock().unwrap().clone();
    assert_eq!(
        calls,
        [(
            vec!["meta".to_owned(), "tiktok".to_owned()],
            "pixelscope-exhibit".into()
        )]
    );
    assert!(app.status().unwrap().contains("exhibit of 2 events"));

    // Without a callback the key explains that exhibits are unavailable.
    let mut plain = lab_app(80, 24);
    type_keys(&mut plain, " x");
    assert!(plain.status().unwrap().contains("not available"));
}

#[test]
fn screens_switch_and_the_timeline_opens_an_event() {
    let mut app = lab_app(80, 24);
    type_keys(&mut app, "t");
    assert_eq!(app.screen(), Screen::Timeline);
    // Rows: page, tiktok, meta, page, ga4, page, tiktok-email.
    type_keys(&mut app, "G");
    send(&mut app, key(KeyCode::Enter));
    assert_eq!(app.screen(), Screen::Events);
    assert_eq!(app.selected_event().unwrap().identifiers.len(), 2);
    type_keys(&mut app, "r");
    assert_eq!(app.screen(), Screen::Raw);
    send(&mut app, key(KeyCode::Esc));
    assert_eq!(app.screen(), Screen::Events);
    type_keys(&mut app, "d");
    assert!(screen_text(&app, 80, 24).contains("No diagnostics"));
    type_keys(&mut app, "?");
    assert!(app.help_visible());
    type_keys(&mut app, "q");
    assert!(!app.help_visible());
    assert!(!send(&mut app, key(KeyCode::Char('q'))), "q quits");
}

#[test]
fn vi_keys_arrows_and_the_mouse_move_the_cursor() {
    let mut records = Vec::new();
    for _ in 0..20 {
        records.extend(lab_records());
    }
    let mut app = app_with(records, plain_options(), 80, 24);
    let position = |app: &App| {
        app.shown_events()
            .position(|e| std::ptr::eq(e, app.selected_event().unwrap()))
            .unwrap()
    };
    type_keys(&mut app, "jjj");
    assert_eq!(position(&app), 3);
    send(&mut app, key(KeyCode::Up));
    assert_eq!(position(&app), 2);
    send(&mut app, ctrl('d'));
    assert_eq!(position(&app), 6); // half of the 9 list rows at 80×24
    send(&mut app, ctrl('u'));
    assert_eq!(position(&app), 2);
    type_keys(&mut app, "G");
    assert_eq!(position(&app), 79);
    let wheel = |kind| {
        Message::Mouse(MouseEvent {
            kind,
            column: 1,
            row: 5,
            modifiers: KeyModifiers::NONE,
        })
    };
    send(&mut app, wheel(MouseEventKind::ScrollUp));
    assert_eq!(position(&app), 76);
    send(&mut app, wheel(MouseEventKind::Down(MouseButton::Left)));
    assert_eq!(position(&app), 76);
    // The selected row stays visible after a resize.
    send(
        &mut app,
        Message::Resize {
            width: 100,
            height: 12,
        },
    );
    assert!(screen_text(&app, 100, 12).contains(">  03:03:19.422"));
    type_keys(&mut app, "g");
    assert_eq!(position(&app), 0);
}

#[test]
fn loading_shows_progress_then_the_totals() {
    let mut app = App::new(plain_options(), 80, 24);
    assert!(screen_text(&app, 80, 24).contains("loading · 0 events"));
    app.update(Message::Load(LoadMessage::Started { inputs: 3 }));
    let (event, raw) = fixtures::ga4_search();
    app.update(Message::Load(LoadMessage::Event(Box::new(event), raw)));
    app.update(Message::Load(LoadMessage::FileDone {
        path: "a.har".into(),
        index: 0,
    }));
    app.update(Message::Load(LoadMessage::Diagnostic(
        pixelscope_model::Diagnostic::warning(
            "har.no-cookies",
            "the HAR was exported without cookies",
            pixelscope_model::Origin::default(),
        ),
    )));
    assert!(app.is_loading());
    assert!(screen_text(&app, 80, 24).contains("loading 1/3 files · 1 events · 1 diagnostics"));
    app.update(Message::Load(LoadMessage::Finished));
    assert!(!app.is_loading());
    assert!(screen_text(&app, 80, 24).contains("3 files · 1 events · 1 diagnostics"));
    type_keys(&mut app, "d");
    assert!(
        screen_text(&app, 80, 24)
            .contains("warning har.no-cookies the HAR was exported without cookies")
    );
}

#[test]
fn log_messages_go_to_the_log_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("tui.log");
    let options = TuiOptions {
        log_path: Some(log.clone()),
        ..plain_options()
    };
    let _app = app_with(lab_records(), options, 80, 24);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("loading 2 inputs"), "{text}");
    assert!(
        text.contains("read input 1: samples/lab/h2/capture-dsb.pcapng"),
        "{text}"
    );
    assert!(
        text.contains("loading finished: 4 events, 0 diagnostics"),
        "{text}"
    );
}

#[test]
fn no_color_uses_no_colour_at_all() {
    for keys in ["", "jjjl", "r", "t", "p", "?"] {
        let mut app = app_with(
            lab_records(),
            TuiOptions {
                color: false,
                ..plain_options()
            },
            80,
            24,
        );
        type_keys(&mut app, keys);
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        terminal.draw(|frame| app.draw(frame)).unwrap();
        for cell in terminal.backend().buffer().content() {
            assert_eq!(
                (cell.fg, cell.bg),
                (Color::Reset, Color::Reset),
                "screen {keys:?}"
            );
        }
    }
    // And with colour there is some.
    let app = lab_app(80, 24);
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal.draw(|frame| app.draw(frame)).unwrap();
    assert!(
        terminal
            .backend()
            .buffer()
            .content()
            .iter()
            .any(|c| c.fg != Color::Reset)
    );
}

/// 100,000 events: filtering (narrowing and widening), pivoting, marking and
/// drawing all complete with the right counts.
#[test]
fn one_hundred_thousand_events() {
    const N: usize = 100_000;
    let (template, _) = fixtures::tiktok_home();
    let mut app = App::new(plain_options(), 80, 24);
    app.update(Message::Load(LoadMessage::Started { inputs: 1 }));
    for i in 0..N {
        let mut event = template.clone();
        event.tracker = ["tiktok", "meta", "ga4"][i % 3].to_owned();
        event.page_url = Some(format!("https://shop.test/p/{}", i % 500));
        event.time = Timestamp::from_parts(1_795_921_399 + i64::try_from(i).unwrap(), 0);
        event.fields = vec![Field {
            path: "n".into(),
            location: "query".into(),
            value: format!("v{i}"),
            property: None,
        }];
        event.identifiers.truncate(0);
        app.update(Message::Load(LoadMessage::Event(Box::new(event), None)));
    }
    app.update(Message::Load(LoadMessage::Finished));
    assert_eq!(app.event_count(), N);
    assert!(screen_text(&app, 80, 24).contains("Events 100000"));

    type_keys(&mut app, "/p/49");
    assert_eq!(app.shown_count(), 11 * 200); // pages 49 and 490..=499
    type_keys(&mut app, "9");
    assert_eq!(app.shown_count(), 200);
    send(&mut app, key(KeyCode::Enter));
    assert!(screen_text(&app, 80, 24).contains("Events 200 of 100000"));

    type_keys(&mut app, "p");
    let (_, values) = app.pivot_menu().unwrap();
    let counts: Vec<(&str, usize)> = values.iter().map(|v| (v.key.as_str(), v.count)).collect();
    assert_eq!(counts, [("meta", 67), ("tiktok", 67), ("ga4", 66)]);
    send(&mut app, key(KeyCode::Enter));
    assert_eq!(app.shown_count(), 67);
    type_keys(&mut app, "a");
    assert_eq!(app.marked_count(), 67);
    type_keys(&mut app, "G");
    assert!(screen_text(&app, 120, 40).contains(">* "));

    // Timeline over the shown events: one page, 67 events.
    type_keys(&mut app, "tg");
    let text = screen_text(&app, 80, 24);
    assert!(
        text.contains("https://shop.test/p/499  (67 events)"),
        "{text}"
    );
    send(&mut app, key(KeyCode::Esc));

    // Widen back: pivot, then filter.
    send(&mut app, key(KeyCode::Esc));
    assert_eq!(app.shown_count(), 200);
    send(&mut app, key(KeyCode::Esc));
    assert_eq!(app.shown_count(), N);
    type_keys(&mut app, "G");
    assert_eq!(
        app.selected_event().unwrap().fields[0].value,
        format!("v{}", N - 1)
    );
    assert!(screen_text(&app, 80, 24).contains("shop.test/p/499"));
}
