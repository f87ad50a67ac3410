//! Meta (Facebook) Pixel (`fbq`).
//!
//! # Endpoints
//!
//! | host | path | kind |
//! |---|---|---|
//! | `www.facebook.com`, `facebook.com` | `/tr`, `/tr/` — GET (img/fetch), form POST (`rqm=formPOST`), sendBeacon, multipart POST | event |
//! | same | `/privacy_sandbox/pixel/register/trigger/` — a second transmission of the same event (de-duplicate on `id`+`ev`+`ts`) | event |
//! | `connect.facebook.net` | `/<locale>/fbevents.js`, `/signals/config/<pixel>`, legacy `/<locale>/fbds.js` | library |
//!
//! One request is one event. Parameters may be in the query, in a form
//! body or in multipart parts (one part per parameter); all are read, query
//! first. Bracket keys arrive literal (`cd[value]`) or encoded
//! (`cd%5Bvalue%5D`) and are reported decoded. JSON inside parameter values
//! (`cd[contents]`, `cd[buttonFeatures]`) is also flattened into fields.
//!
//! # Fields
//!
//! | key | property | source |
//! |---|---|---|
//! | `id` | pixel_id (the literal `null` on legacy conversion hits → none) | OMNI, corpus (H) |
//! | `ev` | event_name, exactly as sent (may be a 13-digit legacy conversion id) | OMNI, corpus (H) |
//! | `dl` / `rl` | page_url / referrer | OMNI, BL (H) |
//! | `ts` | timestamp (ms) | OMNI (H) |
//! | `fbp`, cookie `_fbp` | client_id | FB-PB (H) |
//! | `fbc`, cookie `_fbc` | click_id | FB-PB (H) |
//! | `eid` | event_id | FB-SE (M) |
//! | `pmd[title]`, `cd[pageFeatures].title` | page_title | FS-captures (M) |
//! | `cd[value]` / `cd[currency]` | value / currency | FB-PIXEL, BL (H) |
//! | `cd[content_ids]`, `cd[contents]…`, `cd[content_name]`, `cd[content_category]`, `cd[content_type]`, `cd[num_items]` | content | FB-PIXEL (H) |
//! | `cd[search_string]` | search_term | FB-PIXEL (H) |
//! | `cd[buttonText]`, `cd[buttonFeatures].innerText` | button_text | FS-captures (M) |
//! | `ud[em|ph|fn|ln|ge|db|ct|st|zp|country|external_id]` (manual) and `udff[…]` (automatic advanced matching) | email, phone, first_name, last_name, gender, date_of_birth, city, state, zip, country, external_id (SHA-256 hex) | FB-AM, BL (H; `udff` M) |
//! | `dpo`, `dpoco`, `dpost` | consent (Limited Data Use) | FB-DPO (H) |
//! | `/signals/config/<id>` path segment | pixel_id | NUXT, corpus (H) |
//!
//! `hme` on the config URL is a 64-hex value of unknown meaning: it is
//! reported, never labelled as a user hash. `v`, `r`, `ec`, `o`, `it`, `if`,
//! `sw`, `sh`, `coo`, `rqm`, `es`, `tm`, `exp`… have no property.

use super::{library_record, push_unexpected_body, recognise};
use crate::decoder::{Decoder, Endpoint, Source, exact_host, exact_path, path_prefix, path_suffix};
use crate::payload::body::{self, BodyShape};
use crate::payload::encoding::bytes_to_text;
use crate::payload::url;
use crate::record::{self, Fields, Location, Pick, property as p};
use pixelscope_model::{EventSink, Exchange, Kind};

/// The Meta Pixel decoder.
pub struct Meta;

static ENDPOINTS: [Endpoint; 9] = [
    Endpoint::new(
        exact_host("www.facebook.com"),
        exact_path("/tr"),
        Kind::Event,
        "pixel event: GET, form POST, multipart POST, sendBeacon",
    ),
    Endpoint::new(
        exact_host("www.facebook.com"),
        exact_path("/tr/"),
        Kind::Event,
        "pixel event: GET, form POST, multipart POST, sendBeacon",
    ),
    Endpoint::new(
        exact_host("www.facebook.com"),
        exact_path("/privacy_sandbox/pixel/register/trigger/"),
        Kind::Event,
        "Privacy Sandbox trigger: second transmission of a pixel event",
    ),
    Endpoint::new(
        exact_host("facebook.com"),
        exact_path("/tr"),
        Kind::Event,
        "pixel event on the bare domain",
    ),
    Endpoint::new(
        exact_host("facebook.com"),
        exact_path("/tr/"),
        Kind::Event,
        "pixel event on the bare domain",
    ),
    Endpoint::new(
        exact_host("connect.facebook.net"),
        path_suffix("/fbevents.js"),
        Kind::Library,
        "pixel library /<locale>/fbevents.js",
    ),
    Endpoint::new(
        exact_host("connect.facebook.net"),
        path_prefix("/signals/config/"),
        Kind::Library,
        "pixel configuration /signals/config/<pixel id>",
    ),
    Endpoint::new(
        exact_host("connect.facebook.net"),
        path_prefix("/signals/plugins/"),
        Kind::Library,
        "pixel plugins",
    ),
    Endpoint::new(
        exact_host("connect.facebook.net"),
        path_suffix("/fbds.js"),
        Kind::Library,
        "legacy conversion / custom audience library (2015-2016)",
    ),
];

static SOURCES: [Source; 8] = [
    Source::new(
        "FORMATS §4.2",
        "pixelscope tracker format reference, Meta section",
    ),
    Source::new(
        "OMNI",
        "https://github.com/MisterPhilip/omnibug (src/providers/FacebookPixel.js)",
    ),
    Source::new(
        "BL",
        "https://github.com/the-markup/blacklight-collector (src/helpers/statics.ts, src/parser.ts)",
    ),
    Source::new(
        "FB-AM",
        "https://developers.facebook.com/docs/meta-pixel/advanced/advanced-matching/",
    ),
    Source::new(
        "FB-PIXEL",
        "https://developers.facebook.com/docs/meta-pixel",
    ),
    Source::new(
        "FB-PB",
        "https://developers.facebook.com/docs/marketing-api/conversions-api/parameter-builder-library",
    ),
    Source::new(
        "FB-SE",
        "https://developers.facebook.com/docs/marketing-api/conversions-api/parameters/server-event",
    ),
    Source::new(
        "corpus",
        "real /tr requests in public HARs (pagexray, haralyzer, chrome-har test files), 2015-2022",
    ),
];

/// Advanced-matching keys inside `ud[…]` / `udff[…]`.
fn user_data_property(key: &str) -> Option<&'static str> {
    Some(match key {
        "em" => p::EMAIL,
        "ph" => p::PHONE,
        "fn" => p::FIRST_NAME,
        "ln" => p::LAST_NAME,
        "ge" => p::GENDER,
        "db" => p::DATE_OF_BIRTH,
        "ct" | "city" => p::CITY,
        "st" | "state" => p::STATE,
        "zp" => p::ZIP,
        "country" => p::COUNTRY,
        "external_id" => p::EXTERNAL_ID,
        _ => return None,
    })
}

fn label(location: Location, path: &str) -> Option<&'static str> {
    match location {
        Location::Cookie => {
            return match path {
                "_fbp" => Some(p::CLIENT_ID),
                "_fbc" => Some(p::CLICK_ID),
                _ => None,
            };
        }
        Location::Path => return (path == "signals/config/{pixel}").then_some(p::PIXEL_ID),
        Location::Header => return None,
        _ => {}
    }
    if let Some(key) = path
        .strip_prefix("ud[")
        .or_else(|| path.strip_prefix("udff["))
        .and_then(|k| k.strip_suffix(']'))
    {
        return user_data_property(key);
    }
    let property = match path {
        "id" => p::PIXEL_ID,
        "ev" => p::EVENT_NAME,
        "dl" => p::PAGE_URL,
        "rl" => p::REFERRER,
        "ts" => p::TIMESTAMP,
        "fbp" => p::CLIENT_ID,
        "fbc" => p::CLICK_ID,
        "eid" => p::EVENT_ID,
        "pmd[title]" | "cd[pageFeatures].title" => p::PAGE_TITLE,
        "cd[value]" => p::VALUE,
        "cd[currency]" => p::CURRENCY,
        "cd[search_string]" => p::SEARCH_TERM,
        "cd[buttonText]" | "cd[buttonFeatures].innerText" => p::BUTTON_TEXT,
        "cd[content_name]" | "cd[content_category]" | "cd[content_type]" | "cd[num_items]" => {
            p::CONTENT
        }
        "dpo" | "dpoco" | "dpost" => p::CONSENT,
        other if other.starts_with("cd[content_ids]") || other.starts_with("cd[contents]") => {
            p::CONTENT
        }
        _ => return None,
    };
    Some(property)
}

impl Decoder for Meta {
    fn id(&self) -> &str {
        "meta"
    }
    fn vendor(&self) -> &str {
        "Meta"
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

    /// `…/tr` or `…/tr/` on any host (first-party proxies) with a numeric
    /// `id` and an `ev`, in the query or a form body.
    fn claims_shape(&self, exchange: &Exchange) -> bool {
        let url = exchange.request.url.as_str();
        let (path, query_text) = url.split_once('?').unwrap_or((url, ""));
        if !(path.ends_with("/tr") || path.ends_with("/tr/")) {
            return false;
        }
        let pixel_shape = |params: &[crate::payload::query::Param]| {
            let pixel = params.iter().any(|p| {
                p.key == "id"
                    && (10..=20).contains(&p.value.len())
                    && p.value.bytes().all(|b| b.is_ascii_digit())
            });
            pixel && params.iter().any(|p| p.key == "ev" && !p.value.is_empty())
        };
        if pixel_shape(&crate::payload::query::parse(query_text)) {
            return true;
        }
        exchange.request.body.as_ref().is_some_and(|b| {
            body::looks_like_form(std::str::from_utf8(&b.data).unwrap_or_default())
                && pixel_shape(&crate::payload::query::parse_bytes(&b.data))
        })
    }

    fn decode(&self, exchange: &Exchange, sink: &mut dyn EventSink) {
        let (target, detection, kind) = recognise(self, exchange);
        if detection == pixelscope_model::Detection::Shape && !self.claims_shape(exchange) {
            return;
        }
        if kind == Kind::Library {
            let segments: Vec<&str> = url::segments(target.path).collect();
            let path_fields: Vec<(String, String)> = match segments.as_slice() {
                ["signals", "config", pixel, ..] => {
                    vec![("signals/config/{pixel}".to_owned(), (*pixel).to_owned())]
                }
                _ => Vec::new(),
            };
            sink.event(library_record(
                self,
                exchange,
                detection,
                Fields::new(&label),
                &path_fields,
            ));
            return;
        }
        let params = target.params();
        if let Some(note) = record::html_escaped_keys(self, exchange, &params) {
            sink.diagnostic(note);
        }
        let mut fields = Fields::new(&label);
        fields.push_params(Location::Query, &params);
        let mut readable = true;
        if let Some(request_body) = exchange.request.body.as_ref() {
            if let Some(problem) = record::body_problem(request_body) {
                sink.diagnostic(record::body_unreadable(self, exchange, &problem));
                readable = false;
            }
            match body::sniff(&request_body.data, request_body.mime_type.as_deref()) {
                BodyShape::Empty => {}
                BodyShape::Form(body_params) => {
                    if let Some(note) = record::html_escaped_keys(self, exchange, &body_params) {
                        sink.diagnostic(note);
                    }
                    fields.push_params(Location::BodyForm, &body_params);
                }
                BodyShape::Multipart(parts) => {
                    for (index, part) in parts.iter().enumerate() {
                        let name = part
                            .name
                            .clone()
                            .unwrap_or_else(|| format!("part[{index}]"));
                        fields.push(Location::BodyMultipart, &name, &bytes_to_text(&part.data));
                    }
                }
                other => {
                    let what = push_unexpected_body(&mut fields, &other);
                    if readable {
                        sink.diagnostic(record::unrecognised(self, exchange, what));
                    }
                    readable = false;
                }
            }
        }
        fields.push_request_context(&exchange.request);
        let has_event =
            record::labelled_value(fields.as_slice(), p::EVENT_NAME, Pick::First).is_some();
        let kind = if has_event || readable {
            Kind::Event
        } else {
            Kind::Contact
        };
        let mut event = record::build_event(
            self,
            kind,
            detection,
            exchange,
            fields.into_vec(),
            Pick::First,
        );
        if event.pixel_id.as_deref() == Some("null") {
            // Legacy conversion pixel: `id=null`, the conversion id is in `ev`.
            event.pixel_id = None;
        }
        if event.event.is_none() && readable {
            sink.diagnostic(record::unrecognised(self, exchange, "no `ev` parameter"));
        }
        sink.event(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Registry;
    use pixelscope_model::{Body, Collected, Request};

    const SHA_EMAIL: &str = "836f82db99121b3481011f16b49dfa5fbc714a0d1b1b9f784a1ebbbf5b39577f";
    const SHA_PHONE: &str = "25534ffa4a703793a7e360a41490b33a320598feafaf9ceecd3d841d6c6981db";

    fn exchange(method: &str, url: &str, body: Option<(&str, &[u8])>) -> Exchange {
        Exchange {
            request: Request {
                method: method.into(),
                url: url.into(),
                body: body.map(|(mime, data)| Body {
                    data: data.to_vec(),
                    mime_type: Some(mime.into()),
                    ..Body::default()
                }),
                ..Request::default()
            },
            ..Exchange::default()
        }
    }

    fn decode(exchange: &Exchange) -> Collected {
        let mut out = Collected::default();
        Registry::builtin().decode(exchange, &mut out);
        out
    }

    #[test]
    fn get_with_literal_brackets_and_advanced_matching() {
        let url = format!(
            "https://www.facebook.com/tr/?id=1234567890123456&ev=Purchase&dl=https%3A%2F%2Fshop.test%2Fty%3Forder%3D1&rl=&cd[value]=39.99&cd[currency]=USD&cd[contents]=%5B%7B%22id%22%3A%22SKU-1%22%2C%22quantity%22%3A1%7D%5D&ud[em]={SHA_EMAIL}&ud[ph]={SHA_PHONE}&fbp=fb.1.1717171717171.1234567890&eid=order-1"
        );
        let out = decode(&exchange("GET", &url, None));
        assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
        let event = &out.events[0];
        assert_eq!(
            (event.event.as_deref(), event.pixel_id.as_deref()),
            (Some("Purchase"), Some("1234567890123456"))
        );
        assert_eq!(
            event.page_url.as_deref(),
            Some("https://shop.test/ty?order=1")
        );
        assert_eq!(
            event.referrer, None,
            "an empty rl is kept as a field but names no referrer"
        );
        assert!(
            event
                .fields
                .iter()
                .any(|f| f.path == "rl" && f.value.is_empty())
        );
        assert!(event.fields.iter().any(|f| f.path == "cd[contents][0].id"
            && f.value == "SKU-1"
            && f.property.as_deref() == Some("content")));
        let kinds: Vec<(&str, &str)> = event
            .identifiers
            .iter()
            .map(|i| (i.kind.as_str(), i.form.as_str()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("email", "sha256"),
                ("phone", "sha256"),
                ("client_id", "plain")
            ]
        );
    }

    #[test]
    fn multipart_post_reads_every_part() {
        let body = format!(
            "------WebKitFormBoundaryAbCdEfGhIjKlMnOp\r\nContent-Disposition: form-data; name=\"id\"\r\n\r\n1234567890123456\r\n------WebKitFormBoundaryAbCdEfGhIjKlMnOp\r\nContent-Disposition: form-data; name=\"ev\"\r\n\r\nLead\r\n------WebKitFormBoundaryAbCdEfGhIjKlMnOp\r\nContent-Disposition: form-data; name=\"dl\"\r\n\r\nhttps://church.test/join\r\n------WebKitFormBoundaryAbCdEfGhIjKlMnOp\r\nContent-Disposition: form-data; name=\"udff[em]\"\r\n\r\n{SHA_EMAIL}\r\n------WebKitFormBoundaryAbCdEfGhIjKlMnOp--\r\n"
        );
        let ex = exchange(
            "POST",
            "https://www.facebook.com/tr/",
            Some((
                "multipart/form-data; boundary=----WebKitFormBoundaryAbCdEfGhIjKlMnOp",
                body.as_bytes(),
            )),
        );
        let out = decode(&ex);
        assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
        let event = &out.events[0];
        assert_eq!(event.event.as_deref(), Some("Lead"));
        assert_eq!(event.page_url.as_deref(), Some("https://church.test/join"));
        assert!(event.fields.iter().all(|f| f.location == "body.multipart"));
        assert_eq!(event.identifiers[0].path, "udff[em]");
        assert_eq!(event.identifiers[0].kind, "email");
    }

    #[test]
    fn form_post_with_encoded_brackets() {
        let body = format!(
            "id=1234567890123456&ev=Lead&dl=https%3A%2F%2Fchurch.test%2Fjoin&ud%5Bem%5D={SHA_EMAIL}&rqm=formPOST"
        );
        let out = decode(&exchange(
            "POST",
            "https://www.facebook.com/tr/",
            Some(("application/x-www-form-urlencoded", body.as_bytes())),
        ));
        let event = &out.events[0];
        assert!(
            event
                .fields
                .iter()
                .any(|f| f.path == "ud[em]" && f.location == "body.form")
        );
        assert_eq!(event.identifiers[0].value, SHA_EMAIL);
    }

    #[test]
    fn legacy_conversion_pixel_has_no_pixel_id_but_keeps_ev() {
        let out = decode(&exchange(
            "GET",
            "https://www.facebook.com/tr/?id=null&ev=6020974733117&cd[value]=0.00&cd[currency]=SEK",
            None,
        ));
        assert_eq!(out.events[0].pixel_id, None);
        assert_eq!(out.events[0].event.as_deref(), Some("6020974733117"));
    }

    #[test]
    fn config_and_library_loads_are_library_records() {
        let out = decode(&exchange(
            "GET",
            "https://connect.facebook.net/signals/config/608795229329835?v=2.9.52&r=stable&hme=836f82db99121b3481011f16b49dfa5fbc714a0d1b1b9f784a1ebbbf5b39577f",
            None,
        ));
        let event = &out.events[0];
        assert_eq!(
            (event.kind, event.pixel_id.as_deref()),
            (Kind::Library, Some("608795229329835"))
        );
        assert!(
            event.identifiers.is_empty(),
            "hme is not a user hash: {:?}",
            event.identifiers
        );
        let out = decode(&exchange(
            "GET",
            "https://connect.facebook.net/en_US/fbevents.js",
            None,
        ));
        assert_eq!(out.events[0].kind, Kind::Library);
        let out = decode(&exchange(
            "GET",
            "https://connect.facebook.net/en_US/sdk.js",
            None,
        ));
        assert!(out.events.is_empty(), "the Facebook SDK is not the pixel");
    }

    #[test]
    fn first_party_proxy_is_claimed_by_shape() {
        let out = decode(&exchange(
            "GET",
            "https://metrics.shop.test/tr/?id=1234567890123456&ev=PageView&dl=https%3A%2F%2Fshop.test%2F",
            None,
        ));
        assert_eq!(out.events.len(), 1);
        assert_eq!(out.events[0].detection, pixelscope_model::Detection::Shape);
        assert_eq!(out.events[0].tracker, "meta");
        for ordinary in [
            "https://shop.test/tr/?id=12&ev=x",
            "https://shop.test/tr?lang=de",
            "https://shop.test/track?id=1234567890123456&ev=PageView",
        ] {
            assert!(
                decode(&exchange("GET", ordinary, None)).events.is_empty(),
                "{ordinary}"
            );
        }
    }

    #[test]
    fn unknown_body_is_reported_and_the_query_still_decoded() {
        let out = decode(&exchange(
            "POST",
            "https://www.facebook.com/tr/?id=1&ev=PageView",
            Some(("text/plain", b"hello there")),
        ));
        assert_eq!(out.diagnostics[0].code, "decode.unrecognised");
        assert_eq!(out.events[0].event.as_deref(), Some("PageView"));
        assert!(
            out.events[0]
                .fields
                .iter()
                .any(|f| f.location == "body.text" && f.value == "hello there")
        );
    }
}
