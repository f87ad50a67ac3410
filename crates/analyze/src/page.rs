//! Which page a beacon was sent from, when the beacon does not say.
//!
//! Some pixels (Reddit's `rp.gif`, many image beacons) carry no page URL,
//! and browsers trim the Referer of cross-site requests to the site's origin
//! (`strict-origin-when-cross-origin`). The page is then still knowable from
//! the recording: it is the page the browser last loaded from that origin
//! before the beacon was sent. [`PageTracker`] remembers page loads (requests
//! whose `Sec-Fetch-Dest` is `document`, or HAR entries of resource type
//! `document`) as a recording streams past, and fills `page_url` of events
//! that lack one, recording in `page_url_from` how it was found so a reader
//! can tell an inference from a fact.

use pixelscope_model::{Event, Exchange, Kind, Timestamp};

/// Page loads seen so far in one input. Not shared between inputs.
#[derive(Debug, Default)]
pub struct PageTracker {
    /// (time, origin, URL) of each page load, in arrival order.
    loads: Vec<(Option<Timestamp>, String, String)>,
}

impl PageTracker {
    pub fn new() -> PageTracker {
        PageTracker::default()
    }

    /// Remembers `exchange` when it is a page load.
    pub fn observe(&mut self, exchange: &Exchange) {
        let request = &exchange.request;
        // Browsers send Sec-Fetch-* only to secure origins; on plain http a
        // navigation shows as an HTML Accept with Upgrade-Insecure-Requests.
        let is_document = request
            .header("sec-fetch-dest")
            .map(|d| d.trim().eq_ignore_ascii_case("document"))
            .or_else(|| {
                exchange
                    .extra
                    .get("_resourceType")
                    .and_then(|v| v.as_str())
                    .map(|t| t.eq_ignore_ascii_case("document"))
            })
            .unwrap_or_else(|| {
                request
                    .header("accept")
                    .is_some_and(|a| a.trim_start().starts_with("text/html"))
                    && request.header("upgrade-insecure-requests").is_some()
            });
        if !is_document || !matches!(request.method.as_str(), "GET" | "POST") {
            return;
        }
        if let Some(origin) = origin_of(&request.url) {
            self.loads
                .push((exchange.time, origin, request.url.clone()));
        }
    }

    /// Fills `page_url` (and `page_url_from`) of the events of `exchange`:
    /// `payload` when the decoder found it, else `referer` when the Referer
    /// header names a page (more than a bare origin), else `navigation`
    /// when a page load from the Referer's origin precedes the request.
    pub fn fill(&self, exchange: &Exchange, events: &mut [Event]) {
        fill_events(exchange, events, |origin| self.last_load(origin, exchange));
    }

    /// What [`PageTracker::fill`] would read from this tracker for
    /// `exchange`, taken now, so that the events can be filled later on
    /// another thread while this tracker goes on observing.
    pub fn snapshot(&self, exchange: &Exchange) -> PageSnapshot {
        // Only a Referer that is a bare origin needs the page loads.
        let navigation = referer_of(exchange)
            .and_then(|referer| origin_of(referer).filter(|o| referer.len() <= o.len() + 1))
            .and_then(|origin| self.last_load(&origin, exchange));
        PageSnapshot { navigation }
    }

    /// The URL of the last page load from `origin` not after `exchange`.
    fn last_load(&self, origin: &str, exchange: &Exchange) -> Option<String> {
        self.loads
            .iter()
            .rev()
            .find(|(time, load_origin, _)| {
                load_origin == origin
                    && match (time, exchange.time) {
                        (Some(load), Some(now)) => *load <= now,
                        _ => true,
                    }
            })
            .map(|(_, _, url)| url.clone())
    }
}

/// The part of a [`PageTracker`] that one exchange's events need, taken when
/// the exchange went past (see [`PageTracker::snapshot`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageSnapshot {
    /// The page the Referer's bare origin points to, when there is one.
    navigation: Option<String>,
}

impl PageSnapshot {
    /// Fills the events of `exchange` exactly as [`PageTracker::fill`]
    /// would have when the snapshot was taken.
    pub fn fill(&self, exchange: &Exchange, events: &mut [Event]) {
        fill_events(exchange, events, |_| self.navigation.clone());
    }
}

fn referer_of(exchange: &Exchange) -> Option<&str> {
    exchange
        .request
        .header("referer")
        .map(str::trim)
        .filter(|r| !r.is_empty())
}

/// The rule of [`PageTracker::fill`], with the page-load lookup given as
/// `navigation` (called with the Referer's origin).
fn fill_events(
    exchange: &Exchange,
    events: &mut [Event],
    mut navigation: impl FnMut(&str) -> Option<String>,
) {
    let referer = referer_of(exchange);
    for event in events.iter_mut() {
        if event.page_url.is_some() {
            event
                .page_url_from
                .get_or_insert_with(|| "payload".to_owned());
            continue;
        }
        if event.kind != Kind::Event {
            continue;
        }
        let Some(referer) = referer else { continue };
        let Some(origin) = origin_of(referer) else {
            continue;
        };
        if referer.len() > origin.len() + 1 {
            event.page_url = Some(referer.to_owned());
            event.page_url_from = Some("referer".to_owned());
            continue;
        }
        if let Some(page) = navigation(&origin) {
            event.page_url = Some(page);
            event.page_url_from = Some("navigation".to_owned());
        }
    }
}

/// `scheme://host[:port]`, lower-cased, of an absolute http(s) URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..end)?;
    if authority.is_empty() {
        return None;
    }
    Some(format!(
        "{}://{}",
        scheme.to_ascii_lowercase(),
        authority.to_ascii_lowercase()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pixelscope_model::{Header, Request};

    fn exchange(url: &str, time: i64, headers: &[(&str, &str)]) -> Exchange {
        Exchange {
            request: Request {
                method: "GET".into(),
                url: url.into(),
                headers: headers
                    .iter()
                    .map(|(n, v)| Header {
                        name: (*n).into(),
                        value: (*v).into(),
                    })
                    .collect(),
                ..Request::default()
            },
            time: Some(Timestamp(time)),
            ..Exchange::default()
        }
    }

    fn beacon(referer: &str, time: i64) -> (Exchange, Vec<Event>) {
        let ex = exchange(
            "https://alb.reddit.com/rp.gif?id=a2_x&event=PageVisit",
            time,
            &[("Referer", referer)],
        );
        let ev = Event::for_exchange("reddit", "Reddit", Kind::Event, &ex);
        (ex, vec![ev])
    }

    #[test]
    fn origin_only_referer_resolves_to_the_last_page_load_of_that_site() {
        let mut pages = PageTracker::new();
        pages.observe(&exchange(
            "https://shop.test/",
            1,
            &[("sec-fetch-dest", "document")],
        ));
        pages.observe(&exchange(
            "https://shop.test/health?q=hiv",
            5,
            &[("sec-fetch-dest", "document")],
        ));
        pages.observe(&exchange(
            "https://other.test/x",
            6,
            &[("sec-fetch-dest", "document")],
        ));
        pages.observe(&exchange(
            "https://shop.test/script.js",
            7,
            &[("sec-fetch-dest", "script")],
        ));
        pages.observe(&exchange(
            "https://shop.test/frame",
            7,
            &[("sec-fetch-dest", "iframe")],
        ));
        let (ex, mut events) = beacon("https://shop.test/", 8);
        pages.fill(&ex, &mut events);
        assert_eq!(
            events[0].page_url.as_deref(),
            Some("https://shop.test/health?q=hiv")
        );
        assert_eq!(events[0].page_url_from.as_deref(), Some("navigation"));
        // A beacon sent before the second page load belongs to the first.
        let (ex, mut events) = beacon("https://shop.test/", 3);
        pages.fill(&ex, &mut events);
        assert_eq!(events[0].page_url.as_deref(), Some("https://shop.test/"));
    }

    #[test]
    fn a_snapshot_fills_as_the_tracker_did_when_it_was_taken() {
        let mut pages = PageTracker::new();
        let load = |url: &str, time| exchange(url, time, &[("sec-fetch-dest", "document")]);
        pages.observe(&load("https://shop.test/first", 1));
        let (early, _) = beacon("https://shop.test/", 2);
        let (full, _) = beacon("https://shop.test/page?x=1", 2);
        let snapshots = [pages.snapshot(&early), pages.snapshot(&full)];
        // Later loads must not leak into snapshots taken before them.
        pages.observe(&load("https://shop.test/second", 2));
        let mut from_snapshot = beacon("https://shop.test/", 2).1;
        snapshots[0].fill(&early, &mut from_snapshot);
        assert_eq!(
            from_snapshot[0].page_url.as_deref(),
            Some("https://shop.test/first")
        );
        let mut from_tracker = beacon("https://shop.test/", 2).1;
        pages.fill(&early, &mut from_tracker);
        assert_eq!(
            from_tracker[0].page_url.as_deref(),
            Some("https://shop.test/second")
        );
        let mut full_events = beacon("https://shop.test/page?x=1", 2).1;
        snapshots[1].fill(&full, &mut full_events);
        assert_eq!(full_events[0].page_url_from.as_deref(), Some("referer"));
    }

    #[test]
    fn plain_http_navigations_are_recognised_without_sec_fetch_headers() {
        let mut pages = PageTracker::new();
        pages.observe(&exchange(
            "http://shop.test/cart",
            1,
            &[
                ("Accept", "text/html,application/xhtml+xml"),
                ("Upgrade-Insecure-Requests", "1"),
            ],
        ));
        pages.observe(&exchange(
            "http://shop.test/api",
            2,
            &[("Accept", "application/json")],
        ));
        let ex = exchange(
            "http://alb.reddit.com/rp.gif",
            3,
            &[("Referer", "http://shop.test/")],
        );
        let mut events = vec![Event::for_exchange("reddit", "Reddit", Kind::Event, &ex)];
        pages.fill(&ex, &mut events);
        assert_eq!(events[0].page_url.as_deref(), Some("http://shop.test/cart"));
    }

    #[test]
    fn a_full_referer_is_the_page_and_payload_pages_are_kept() {
        let pages = PageTracker::new();
        let (ex, mut events) = beacon("https://shop.test/checkout?step=2", 8);
        pages.fill(&ex, &mut events);
        assert_eq!(
            events[0].page_url.as_deref(),
            Some("https://shop.test/checkout?step=2")
        );
        assert_eq!(events[0].page_url_from.as_deref(), Some("referer"));
        let (ex, mut events) = beacon("https://shop.test/", 8);
        events[0].page_url = Some("https://shop.test/from-payload".into());
        pages.fill(&ex, &mut events);
        assert_eq!(events[0].page_url_from.as_deref(), Some("payload"));
    }

    #[test]
    fn without_referer_or_page_loads_nothing_is_guessed() {
        let pages = PageTracker::new();
        let ex = exchange("https://alb.reddit.com/rp.gif", 8, &[]);
        let mut events = vec![Event::for_exchange("reddit", "Reddit", Kind::Event, &ex)];
        pages.fill(&ex, &mut events);
        assert_eq!(events[0].page_url, None);
        let (ex, mut events) = beacon("https://shop.test/", 8);
        pages.fill(&ex, &mut events);
        assert_eq!(events[0].page_url, None);
        assert_eq!(events[0].page_url_from, None);
    }
}
