//! The engine shared by decoders whose payload is a JSON event or a JSON
//! batch of events (Segment, RudderStack, Amplitude, Mixpanel, Snowplow):
//! one record per element, each with the element's own fields plus the
//! shared ones, and the summary keys taken from element-relative paths in
//! a fixed priority. A tracker module supplies a [`Spec`]; this module does
//! the reading, the splitting and the diagnostics.

use super::{
    contact_record, element_fields, element_relative, json_event_prefixes, push_unexpected_body,
};
use crate::decoder::Decoder;
use crate::payload::body::{self, BodyShape};
use crate::payload::{encoding, json};
use crate::record::{self, Fields, Location, Pick, PropertyFn};
use pixelscope_model::{Detection, EventSink, Exchange, Field, Kind};
use serde_json::Value;

/// What a JSON-event tracker looks like.
pub(crate) struct Spec {
    /// Keys whose array value lists events (`batch`, `events`, `data`).
    pub batch_keys: &'static [&'static str],
    /// Element-relative paths naming the event, first non-empty wins.
    pub event: &'static [&'static str],
    pub pixel_id: &'static [&'static str],
    pub page_url: &'static [&'static str],
    pub referrer: &'static [&'static str],
    pub page_title: &'static [&'static str],
    /// Form or query parameters whose value is the JSON payload, plain or
    /// base64 (Mixpanel `data`, legacy Amplitude `e`).
    pub json_params: &'static [&'static str],
    /// Whether a body-less request with the payload in its query is normal
    /// (Snowplow GET, Mixpanel GET); otherwise it gets a diagnostic.
    pub query_events: bool,
}

/// The first non-empty payload value among `paths`, relative to a batch
/// element.
fn pick(fields: &[Field], spec: &Spec, paths: &[&str]) -> Option<String> {
    paths.iter().find_map(|wanted| {
        fields
            .iter()
            .find(|f| {
                f.location != Location::Header.as_str()
                    && f.location != Location::Cookie.as_str()
                    && !f.value.is_empty()
                    && !f.path.contains('?')
                    && element_relative(&f.path, spec.batch_keys) == *wanted
            })
            .map(|f| f.value.clone())
    })
}

/// JSON text or base64 of JSON text.
fn json_value(text: &str) -> Option<Value> {
    if let Some(Ok(value)) = json::sniff(text.as_bytes()) {
        return Some(value);
    }
    let (bytes, _) = encoding::decode_base64(text.trim())?;
    json::sniff(&bytes).and_then(Result::ok)
}

/// Decodes one exchange with `spec`, labelling with `label`.
pub(crate) fn decode(
    decoder: &dyn Decoder,
    spec: &Spec,
    label: PropertyFn<'_>,
    exchange: &Exchange,
    detection: Detection,
    sink: &mut dyn EventSink,
) {
    let target = record::Target::of(exchange);
    let params = target.params();
    let mut head = Fields::new(label);
    let mut payload: Option<Value> = None;
    for param in &params {
        head.push(Location::Query, &param.key, &param.value);
        if payload.is_none() && spec.json_params.contains(&param.key.as_ref()) {
            payload = json_value(&param.value);
        }
    }
    let mut context = head.sibling();
    context.push_request_context(&exchange.request);
    let mut readable = true;
    let mut body_fields = head.sibling();
    if let Some(request_body) = exchange.request.body.as_ref() {
        if let Some(problem) = record::body_problem(request_body) {
            sink.diagnostic(record::body_unreadable(decoder, exchange, &problem));
            readable = false;
        }
        match body::sniff(&request_body.data, request_body.mime_type.as_deref()) {
            BodyShape::Empty => {}
            BodyShape::Json { value, .. } => payload = Some(value),
            BodyShape::Form(form) => {
                let mut found = None;
                for param in &form {
                    if found.is_none() && spec.json_params.contains(&param.key.as_ref()) {
                        found = json_value(&param.value);
                        body_fields.push_labelled(
                            Location::BodyForm,
                            &param.key,
                            &param.value,
                            None,
                        );
                    } else {
                        body_fields.push(Location::BodyForm, &param.key, &param.value);
                    }
                }
                if found.is_some() {
                    payload = found;
                } else {
                    let what = "form body without a JSON payload parameter";
                    if readable {
                        sink.diagnostic(record::unrecognised(decoder, exchange, what));
                    }
                    readable = false;
                }
            }
            BodyShape::BrokenJson { error } => {
                if readable {
                    sink.diagnostic(record::body_unreadable(
                        decoder,
                        exchange,
                        &format!("invalid JSON: {error}"),
                    ));
                }
                readable = false;
            }
            other => {
                let what = push_unexpected_body(&mut body_fields, &other);
                if readable {
                    sink.diagnostic(record::unrecognised(decoder, exchange, what));
                }
                readable = false;
            }
        }
    }
    let Some(value) = payload else {
        head.extend_from(body_fields.as_slice());
        let has_event = pick(head.as_slice(), spec, spec.event).is_some();
        if readable && !(spec.query_events && has_event) {
            sink.diagnostic(record::unrecognised(
                decoder,
                exchange,
                "no JSON event payload in the request",
            ));
        }
        head.extend_from(context.as_slice());
        if spec.query_events && has_event {
            sink.event(summarise(
                decoder,
                spec,
                exchange,
                detection,
                head.into_vec(),
            ));
        } else {
            sink.event(contact_record(decoder, exchange, detection, head));
        }
        return;
    };
    let location = if body_fields.is_empty() && exchange.request.body.is_some() {
        Location::BodyJson
    } else if exchange.request.body.is_some() {
        Location::BodyForm
    } else {
        Location::Query
    };
    body_fields.push_json(location, &value, "");
    let prefixes = json_event_prefixes(&value, spec.batch_keys);
    for prefix in &prefixes {
        let mut fields: Vec<Field> = head.as_slice().to_vec();
        fields.extend(element_fields(body_fields.as_slice(), &prefixes, prefix));
        fields.extend_from_slice(context.as_slice());
        let event = summarise(decoder, spec, exchange, detection, fields);
        if event.event.is_none() {
            sink.diagnostic(record::unrecognised(
                decoder,
                exchange,
                &format!("event {prefix:?} names no event"),
            ));
        }
        sink.event(event);
    }
}

fn summarise(
    decoder: &dyn Decoder,
    spec: &Spec,
    exchange: &Exchange,
    detection: Detection,
    fields: Vec<Field>,
) -> pixelscope_model::Event {
    let mut event = record::build_event(
        decoder,
        Kind::Event,
        detection,
        exchange,
        fields,
        Pick::First,
    );
    let fields = &event.fields;
    event.event = pick(fields, spec, spec.event);
    event.pixel_id = pick(fields, spec, spec.pixel_id).or(event.pixel_id.take());
    event.page_url = pick(fields, spec, spec.page_url).or(event.page_url.take());
    event.referrer = pick(fields, spec, spec.referrer).or(event.referrer.take());
    event.page_title = pick(fields, spec, spec.page_title).or(event.page_title.take());
    event
}
