//! Google Universal Analytics (analytics.js, gtag `UA-`) and classic ga.js
//! (`__utm.gif`) — retired, but they dominate archived captures.
//!
//! # Endpoints
//!
//! | host | path | kind |
//! |---|---|---|
//! | `*.google-analytics.com` (`www.`, `ssl.`) | `/collect`, `/r/collect` (advertising features; answers 302 to the `t=dc` leg), `/j/collect`, `/batch` (one hit per line) | event |
//! | `stats.g.doubleclick.net` | `/r/collect`, `/j/collect` — the `t=dc` advertising leg: a separate recipient (Google's ad network) | event |
//! | `*.google-analytics.com`, `stats.g.doubleclick.net` | `/__utm.gif`, `/r/__utm.gif` (ga.js) | event |
//! | any host | `…/collect` with `v=1`, `tid=UA-…` and `t` (first-party proxies): a shape claim; likewise `…/__utm.gif` with `utmac=UA-…` | event |
//! | `*.google-analytics.com` | `/analytics.js`, `/ga.js`, `/urchin.js`, `/plugins/*`; `stats.g.doubleclick.net/dc.js` | library |
//!
//! The hit is in the query (GET, or POST with empty body) or in the body
//! (sendBeacon POST with a bare URL); `/batch` bodies hold one hit per
//! line, one record each.
//!
//! # Fields
//!
//! | key | property | source |
//! |---|---|---|
//! | `tid` (`UA-…`); ga.js `utmac` | pixel_id | GA-MP1 (H), corpus (H) |
//! | `t` (`pageview`, `event`, `timing`, `dc`…); ga.js `utmt` (`event`, `tran`, `item`; absent on page hits) | event_name — the hit type, exactly as sent | GA-MP1, CP-RUGA |
//! | `dl` / `dr` / `dt` | page_url / referrer / page_title | GA-MP1 (H) |
//! | ga.js `utmr` / `utmdt` | referrer / page_title (`utmhn` + `utmp` give host and path separately: reported as fields, not joined into a URL) | corpus (M) |
//! | `cid`; cookie `_ga`; the visitor id inside ga.js `utmcc` `__utma` (`utmcc.__utma.visitor`) | client_id | GA-MP1 (H), corpus (M) |
//! | `_gid` | client_id (second first-party cookie) | corpus (M) |
//! | `uid` | user_id | GA-MP1 (H) |
//! | `ec` / `ea` / `el` / `ev` | event category / action / label (no property) / value | GA-MP1 (H) |
//! | `pr<n><field>`, `promo<n><field>`, `pa` | content | GA-MP1, corpus (H) |
//! | `cu` | currency | GA-MP1 (H) |
//! | `gclid`, `dclid` | click_id | GA-MP1 (H) |
//! | `gcs`, `gcd`, `npa`, `dma`, `dma_cps` | consent | corpus (M) |

use super::{library_record, push_unexpected_body, recognise};
use crate::decoder::{Decoder, Endpoint, Source, domain, exact_host, exact_path, path_prefix};
use crate::payload::body::{self, BodyShape};
use crate::payload::query::{self, Param};
use crate::record::{self, Fields, Location, Pick, property as p};
use pixelscope_model::{Detection, EventSink, Exchange, Kind};

/// The Universal Analytics / ga.js decoder.
pub struct GaUniversal;

static ENDPOINTS: [Endpoint; 17] = [
    Endpoint::new(
        domain("google-analytics.com"),
        exact_path("/collect"),
        Kind::Event,
        "analytics.js hit (GET, or sendBeacon POST with the hit in the body)",
    ),
    Endpoint::new(
        domain("google-analytics.com"),
        exact_path("/r/collect"),
        Kind::Event,
        "hit with advertising features (302 to the t=dc leg)",
    ),
    Endpoint::new(
        domain("google-analytics.com"),
        exact_path("/j/collect"),
        Kind::Event,
        "hit sent by the tag's own POST",
    ),
    Endpoint::new(
        domain("google-analytics.com"),
        exact_path("/batch"),
        Kind::Event,
        "Measurement Protocol batch: one hit per line",
    ),
    Endpoint::new(
        domain("google-analytics.com"),
        exact_path("/__utm.gif"),
        Kind::Event,
        "classic ga.js hit",
    ),
    Endpoint::new(
        domain("google-analytics.com"),
        exact_path("/r/__utm.gif"),
        Kind::Event,
        "classic ga.js hit with remarketing redirect",
    ),
    Endpoint::new(
        exact_host("stats.g.doubleclick.net"),
        exact_path("/r/collect"),
        Kind::Event,
        "t=dc advertising leg: separate recipient",
    ),
    Endpoint::new(
        exact_host("stats.g.doubleclick.net"),
        exact_path("/j/collect"),
        Kind::Event,
        "t=dc advertising leg: separate recipient",
    ),
    Endpoint::new(
        exact_host("stats.g.doubleclick.net"),
        exact_path("/collect"),
        Kind::Event,
        "t=dc advertising leg",
    ),
    Endpoint::new(
        exact_host("stats.g.doubleclick.net"),
        exact_path("/__utm.gif"),
        Kind::Event,
        "ga.js display-features hit",
    ),
    Endpoint::new(
        exact_host("stats.g.doubleclick.net"),
        exact_path("/r/__utm.gif"),
        Kind::Event,
        "ga.js display-features hit",
    ),
    Endpoint::new(
        domain("google-analytics.com"),
        exact_path("/analytics.js"),
        Kind::Library,
        "analytics.js",
    ),
    Endpoint::new(
        domain("google-analytics.com"),
        exact_path("/analytics_debug.js"),
        Kind::Library,
        "analytics.js (debug)",
    ),
    Endpoint::new(
        domain("google-analytics.com"),
        exact_path("/ga.js"),
        Kind::Library,
        "classic ga.js",
    ),
    Endpoint::new(
        domain("google-analytics.com"),
        exact_path("/urchin.js"),
        Kind::Library,
        "urchin.js (pre-2007 tag)",
    ),
    Endpoint::new(
        domain("google-analytics.com"),
        path_prefix("/plugins/"),
        Kind::Library,
        "plugins (ec.js, linkid.js, …)",
    ),
    Endpoint::new(
        exact_host("stats.g.doubleclick.net"),
        exact_path("/dc.js"),
        Kind::Library,
        "ga.js variant for display features",
    ),
];

static SOURCES: [Source; 5] = [
    Source::new(
        "FORMATS §4.3.1",
        "docs/FORMATS.md §4.3.1 (Universal Analytics and classic ga.js)",
    ),
    Source::new(
        "GA-MP1",
        "https://developers.google.com/analytics/devguides/collection/protocol/v1/parameters",
    ),
    Source::new(
        "CP-RUGA",
        "https://cardinalpath.com/blog/user-defined-variables-ruga-5",
    ),
    Source::new(
        "OMNI",
        "https://github.com/MisterPhilip/omnibug (src/providers/GoogleAnalytics.js)",
    ),
    Source::new(
        "corpus",
        "51 analytics.js and 17 ga.js requests in public HARs and pcaps, 2010-2024 (FORMATS §8)",
    ),
];

fn label(location: Location, path: &str) -> Option<&'static str> {
    match location {
        Location::Cookie => {
            return matches!(path, "_ga" | "_gid" | "__utma").then_some(p::CLIENT_ID);
        }
        Location::Header | Location::Path => return None,
        _ => {}
    }
    Some(match path {
        "tid" | "utmac" | "id" => p::PIXEL_ID,
        "t" | "utmt" => p::EVENT_NAME,
        "dl" => p::PAGE_URL,
        "dr" | "utmr" => p::REFERRER,
        "dt" | "utmdt" => p::PAGE_TITLE,
        "cid" | "_gid" | "utmcc.__utma.visitor" => p::CLIENT_ID,
        "uid" => p::USER_ID,
        "ev" => p::VALUE,
        "cu" => p::CURRENCY,
        "gclid" | "dclid" => p::CLICK_ID,
        "gcs" | "gcd" | "npa" | "dma" | "dma_cps" => p::CONSENT,
        "pa" => p::CONTENT,
        other if is_item(other) => p::CONTENT,
        _ => return None,
    })
}

/// `pr1id`, `pr12nm`, `promo1id`: enhanced e-commerce items.
fn is_item(key: &str) -> bool {
    ["pr", "promo", "il"].iter().any(|prefix| {
        key.strip_prefix(prefix)
            .is_some_and(|rest| rest.bytes().next().is_some_and(|b| b.is_ascii_digit()))
    })
}

/// Pushes hit parameters, expanding ga.js's `utmcc` cookie dump.
fn push_params(fields: &mut Fields<'_>, location: Location, params: &[Param]) {
    for param in params {
        fields.push(location, &param.key, &param.value);
        if param.key != "utmcc" {
            continue;
        }
        for cookie in param
            .value
            .split(';')
            .map(|c| c.trim_start_matches(['+', ' ']))
        {
            let Some((name, value)) = cookie.split_once('=') else {
                continue;
            };
            let path = format!("utmcc.{name}");
            fields.push(location, &path, value);
            if name == "__utma"
                && let Some(visitor) = value.split('.').nth(1)
            {
                fields.push(location, &format!("{path}.visitor"), visitor);
            }
        }
    }
}

fn is_ua_hit(params: &[Param]) -> bool {
    let value = |key: &str| {
        params
            .iter()
            .find(|p| p.key == key)
            .map(|p| p.value.as_ref())
    };
    let property = value("tid")
        .is_some_and(|t| t.starts_with("UA-") || t.starts_with("YT-") || t.starts_with("MO-"));
    value("v") == Some("1") && property && value("t").is_some()
}

fn is_urchin_hit(params: &[Param]) -> bool {
    params
        .iter()
        .any(|p| p.key == "utmac" && p.value.starts_with("UA-"))
        && params.iter().any(|p| p.key == "utmwv")
}

impl Decoder for GaUniversal {
    fn id(&self) -> &str {
        "ga-universal"
    }
    fn vendor(&self) -> &str {
        "Google"
    }
    fn version(&self) -> &str {
        "1"
    }
    fn endpoints(&self) -> &[Endpoint] {
        &ENDPOINTS
    }
    fn sources(&self) -> &[Source] {
        &SOURCES
    }

    fn claims_shape(&self, exchange: &Exchange) -> bool {
        let url = exchange.request.url.as_str();
        let (path, query_text) = url.split_once('?').unwrap_or((url, ""));
        let path = path.split('#').next().unwrap_or(path);
        if path.ends_with("/__utm.gif") {
            return is_urchin_hit(&query::parse(query_text));
        }
        if !path.ends_with("/collect") || path.ends_with("/g/collect") {
            return false;
        }
        if is_ua_hit(&query::parse(query_text)) {
            return true;
        }
        exchange.request.body.as_ref().is_some_and(|body| {
            let first = body.data.split(|b| *b == b'\n').next().unwrap_or_default();
            is_ua_hit(&query::parse_bytes(first))
        })
    }

    fn decode(&self, exchange: &Exchange, sink: &mut dyn EventSink) {
        let (target, detection, kind) = recognise(self, exchange);
        if kind == Kind::Library {
            sink.event(library_record(
                self,
                exchange,
                detection,
                Fields::new(&label),
                &[],
            ));
            return;
        }
        if detection == Detection::Shape && !self.claims_shape(exchange) {
            return;
        }
        let params = target.params();
        if let Some(note) = record::html_escaped_keys(self, exchange, &params) {
            sink.diagnostic(note);
        }
        let mut shared = Fields::new(&label);
        push_params(&mut shared, Location::Query, &params);
        let mut context = shared.sibling();
        context.push_request_context(&exchange.request);
        let emit = |fields: Fields<'_>, sink: &mut dyn EventSink| {
            let mut fields = fields;
            fields.extend_from(context.as_slice());
            sink.event(record::build_event(
                self,
                Kind::Event,
                detection,
                exchange,
                fields.into_vec(),
                Pick::Last,
            ));
        };
        let Some(request_body) = exchange.request.body.as_ref() else {
            emit(shared, sink);
            return;
        };
        if let Some(problem) = record::body_problem(request_body) {
            sink.diagnostic(record::body_unreadable(self, exchange, &problem));
        }
        let lines: Vec<&[u8]> = request_body
            .data
            .split(|b| *b == b'\n')
            .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
            .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
            .collect();
        if lines.is_empty() {
            if params.is_empty() {
                sink.diagnostic(record::unrecognised(
                    self,
                    exchange,
                    "no hit parameters in the URL and an empty body (body lost by the exporter?)",
                ));
            }
            emit(shared, sink);
            return;
        }
        let all_form = lines
            .iter()
            .all(|line| std::str::from_utf8(line).is_ok_and(body::looks_like_form));
        if !all_form {
            let mut fields = shared;
            let shape = body::sniff(&request_body.data, request_body.mime_type.as_deref());
            let what = match shape {
                BodyShape::Empty => "empty body",
                other => push_unexpected_body(&mut fields, &other),
            };
            sink.diagnostic(record::unrecognised(self, exchange, what));
            emit(fields, sink);
            return;
        }
        for line in lines {
            let mut fields = shared.clone();
            push_params(&mut fields, Location::BodyForm, &query::parse_bytes(line));
            emit(fields, sink);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Registry;
    use pixelscope_model::{Body, Collected, Request};

    fn run(method: &str, url: &str, body: Option<&str>) -> Collected {
        let exchange = Exchange {
            request: Request {
                method: method.into(),
                url: url.into(),
                body: body.map(|b| Body {
                    data: b.as_bytes().to_vec(),
                    mime_type: Some("text/plain;charset=UTF-8".into()),
                    ..Body::default()
                }),
                ..Request::default()
            },
            ..Exchange::default()
        };
        let mut out = Collected::default();
        Registry::builtin().decode(&exchange, &mut out);
        out
    }

    #[test]
    fn analytics_js_beacon_body_and_ga_js_cookie_dump() {
        let out = run(
            "POST",
            "https://www.google-analytics.com/collect",
            Some(
                "v=1&_v=j96&a=1&t=pageview&dl=https%3A%2F%2Fclinic.test%2Fivf&dt=IVF&cid=123.456&tid=UA-1-1",
            ),
        );
        assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
        let hit = &out.events[0];
        assert_eq!(
            (
                hit.tracker.as_str(),
                hit.event.as_deref(),
                hit.pixel_id.as_deref(),
                hit.page_url.as_deref()
            ),
            (
                "ga-universal",
                Some("pageview"),
                Some("UA-1-1"),
                Some("https://clinic.test/ivf")
            )
        );
        let out = run(
            "GET",
            "https://ssl.google-analytics.com/__utm.gif?utmwv=5.7.2&utmn=1&utmhn=clinic.test&utmdt=IVF&utmp=%2Fivf&utmac=UA-1-2&utmcc=__utma%3D1.1234567890.1760000000.1760000000.1760000000.1%3B%2B__utmz%3D1.1.1.1.utmcsr%3D(direct)%3B",
            None,
        );
        let hit = &out.events[0];
        assert_eq!(
            (hit.event.as_deref(), hit.pixel_id.as_deref()),
            (None, Some("UA-1-2"))
        );
        assert!(
            hit.identifiers
                .iter()
                .any(|i| i.kind == "client_id" && i.value == "1234567890")
        );
    }

    #[test]
    fn proxied_hits_are_claimed_by_shape_but_ordinary_collect_paths_are_not() {
        let out = run(
            "GET",
            "https://shop.test/ga/collect?v=1&t=event&tid=UA-9-1&cid=1.2&ea=buy",
            None,
        );
        assert_eq!(out.events.len(), 1);
        assert_eq!(out.events[0].detection, Detection::Shape);
        assert!(
            run("GET", "https://shop.test/collect?v=1&page=2", None)
                .events
                .is_empty()
        );
        assert!(
            run("POST", "https://shop.test/api/collect", Some("{\"v\":1}"))
                .events
                .is_empty()
        );
    }

    #[test]
    fn batch_body_gives_one_record_per_line() {
        let out = run(
            "POST",
            "https://www.google-analytics.com/batch",
            Some(
                "v=1&t=pageview&tid=UA-1-1&cid=1&dl=https%3A%2F%2Fa.test%2F\nv=1&t=event&tid=UA-1-1&cid=1&ea=click",
            ),
        );
        let names: Vec<Option<&str>> = out.events.iter().map(|e| e.event.as_deref()).collect();
        assert_eq!(names, vec![Some("pageview"), Some("event")]);
    }
}
