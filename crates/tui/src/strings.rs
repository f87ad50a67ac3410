//! Every user-visible string of the TUI, in one place, so wording can be
//! reviewed (and one day translated) without reading the views.

use std::path::Path;

pub(crate) const APP_NAME: &str = "pixelscope";

pub(crate) const LIST_TITLE: &str = "Events";
pub(crate) const DETAIL_TITLE: &str = "Detail";
pub(crate) const RAW_TITLE: &str = "Raw request";
pub(crate) const TIMELINE_TITLE: &str = "Timeline by page";
pub(crate) const DIAGNOSTICS_TITLE: &str = "Diagnostics";
pub(crate) const PIVOT_TITLE: &str = "Pivot";
pub(crate) const HELP_TITLE: &str = "Keys";

pub(crate) const COLUMN_TIME: &str = "TIME";
pub(crate) const COLUMN_TRACKER: &str = "TRACKER";
pub(crate) const COLUMN_EVENT: &str = "EVENT";
pub(crate) const COLUMN_PAGE: &str = "PAGE";
pub(crate) const COLUMN_IDENTIFIERS: &str = "IDENTIFIERS";
pub(crate) const COLUMN_FLAGS: &str = "FLAGS";

pub(crate) const FACET_TRACKER: &str = "tracker";
pub(crate) const FACET_IDENTIFIER: &str = "identifier";
pub(crate) const FACET_PAGE: &str = "page";
pub(crate) const FACET_FLAG: &str = "flag";

pub(crate) const NO_EVENTS_YET: &str = "No events yet.";
pub(crate) const NO_EVENTS_MATCH: &str = "No event matches the filter. Esc clears it.";
pub(crate) const NO_SELECTION: &str = "Select an event to see what it sent.";
pub(crate) const NO_RAW: &str = "The raw request is not available for this event.";
pub(crate) const NO_BODY: &str = "(no body)";
pub(crate) const NO_DIAGNOSTICS: &str = "No diagnostics: every input was read without anomalies.";
pub(crate) const NO_FACET_VALUES: &str = "Nothing to pivot on.";
pub(crate) const NO_PAGE: &str = "(no page)";
pub(crate) const NO_TIME: &str = "(no time)";
pub(crate) const LIBRARY_EVENT: &str = "(library)";
pub(crate) const CONTACT_EVENT: &str = "(contact)";
pub(crate) const UNNAMED_EVENT: &str = "(event)";

pub(crate) const SECTION_EVENT: &str = "Event";
pub(crate) const SECTION_IDENTIFIERS: &str = "Identifiers";
pub(crate) const SECTION_FLAGS: &str = "Flags";
pub(crate) const SECTION_FIELDS: &str = "Fields";
pub(crate) const SECTION_ORIGIN: &str = "Origin";
pub(crate) const SECTION_HEADERS: &str = "Headers";
pub(crate) const SECTION_BODY: &str = "Body";
pub(crate) const NONE_LISTED: &str = "none";

pub(crate) const FILTER_PROMPT: &str = "Filter: ";
pub(crate) const EXPORT_JSONL_PROMPT: &str = "Export marked events as JSONL to: ";
pub(crate) const EXPORT_EXHIBIT_PROMPT: &str = "Export marked events as an exhibit into: ";
pub(crate) const NOTHING_MARKED: &str = "No event is marked: mark events with space first.";
pub(crate) const EXHIBIT_UNAVAILABLE: &str = "Exhibit export is not available in this program.";
pub(crate) const EMPTY_PATH: &str = "No path given: nothing exported.";

pub(crate) const HINTS: &str =
    "? help  / filter  p pivot  space mark  e export  r raw  t timeline  q quit";

/// The help overlay: key, what it does.
pub(crate) const HELP: &[(&str, &str)] = &[
    ("j k  ↓ ↑", "move down / up"),
    ("g G  Home End", "first / last"),
    ("Ctrl-d Ctrl-u", "half a page down / up"),
    ("h l  ← →", "focus list / detail pane"),
    ("Enter", "open: detail pane, or the event under the cursor"),
    ("/", "filter on any text of the record"),
    ("p", "pivot by tracker, identifier, page or flag"),
    ("Tab  h l", "(in the pivot menu) next / previous facet"),
    ("Esc", "back; clear pivot, then filter"),
    ("space", "mark / unmark the event"),
    ("a  u", "mark every shown event / unmark all"),
    ("e", "export marked events as JSONL"),
    ("x", "export marked events as an exhibit"),
    ("r", "raw request (body pretty-printed or hex)"),
    ("t", "timeline: what each page sent to whom"),
    ("d", "diagnostics (anomalies in the inputs)"),
    ("?", "this help"),
    ("q  Ctrl-c", "quit"),
];

pub(crate) fn loading(done: usize, inputs: Option<usize>) -> String {
    match inputs {
        Some(total) => format!("loading {done}/{total} files"),
        None => "loading".to_owned(),
    }
}

pub(crate) fn loaded(inputs: usize) -> String {
    if inputs == 1 {
        "1 file".to_owned()
    } else {
        format!("{inputs} files")
    }
}

pub(crate) fn counts(events: usize, diagnostics: usize) -> String {
    format!("{events} events · {diagnostics} diagnostics")
}

pub(crate) fn list_title(shown: usize, total: usize, marked: usize) -> String {
    let mut title = if shown == total {
        format!("{LIST_TITLE} {total}")
    } else {
        format!("{LIST_TITLE} {shown} of {total}")
    };
    if marked > 0 {
        title.push_str(&format!(" · {marked} marked"));
    }
    title
}

pub(crate) fn filter_badge(query: &str) -> String {
    format!("/{query}")
}

pub(crate) fn pivot_badge(facet: &str, label: &str) -> String {
    format!("{facet}={label}")
}

pub(crate) fn timeline_page(page: &str, events: usize) -> String {
    let noun = if events == 1 { "event" } else { "events" };
    format!("{page}  ({events} {noun})")
}

pub(crate) fn exported_jsonl(count: usize, path: &Path) -> String {
    format!("Wrote {count} events to {}", path.display())
}

pub(crate) fn exported_exhibit(count: usize, path: &Path) -> String {
    format!("Wrote an exhibit of {count} events into {}", path.display())
}

pub(crate) fn export_failed(path: &Path, error: &std::io::Error) -> String {
    format!("Export to {} failed: {error}", path.display())
}

pub(crate) fn body_heading(kind: &str, bytes: usize) -> String {
    format!("{SECTION_BODY} ({kind}, {bytes} bytes)")
}

pub(crate) fn body_more(hidden: usize) -> String {
    format!("… {hidden} more bytes not shown")
}

pub(crate) fn form_hit(number: usize) -> String {
    format!("— line {number} —")
}

pub(crate) fn log_started(inputs: usize) -> String {
    format!("loading {inputs} inputs")
}

pub(crate) fn log_file_done(index: usize, path: &str) -> String {
    format!("read input {index}: {path}")
}

pub(crate) fn log_finished(events: usize, diagnostics: usize) -> String {
    format!("loading finished: {events} events, {diagnostics} diagnostics")
}

pub(crate) fn log_diagnostic(severity: &str, code: &str, message: &str, file: &str) -> String {
    format!("diagnostic {severity} {code}: {message} ({file})")
}
