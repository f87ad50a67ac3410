//! RudderStack — JavaScript SDK (`rudderanalytics`), Segment-compatible.
//!
//! # Endpoints
//!
//! | host | path | kind |
//! |---|---|---|
//! | `*.dataplane.rudderstack.com`, `hosted.rudderlabs.com` | `/v1/{track,page,identify,group,alias,screen,batch}` | event |
//! | any host | a Segment-shaped message whose `context.library.name` is RudderStack's (`RudderLabs JavaScript SDK`) or that carries `rudderId`: a shape claim | event |
//! | `cdn.rudderlabs.com` | `/v1.1/rudder-analytics.min.js`, `/v3/…` | library |
//!
//! The write key travels in the `Authorization: Basic` header, not the
//! body, so records carry no pixel id. Fields are Segment's spec (see
//! [`super::segment`]): `type`/`event`, `context.page.url`, `traits.*`,
//! `userId`, `anonymousId`; RudderStack adds `rudderId` and
//! `channel` (OMNI RudderStack.js; RudderStack event spec, H).

use super::json_batch::{self, Spec};
use super::segment::{BATCH, label, segment_shape};
use super::{library_record, recognise};
use crate::decoder::{Decoder, Endpoint, Source, domain, exact_host, path_prefix};
use crate::record::Fields;
use pixelscope_model::{Detection, EventSink, Exchange, Kind};

/// The RudderStack decoder.
pub struct RudderStack;

static ENDPOINTS: [Endpoint; 3] = [
    Endpoint::new(
        domain("dataplane.rudderstack.com"),
        path_prefix("/v1/"),
        Kind::Event,
        "data plane: Segment-spec messages and batches (JSON)",
    ),
    Endpoint::new(
        exact_host("hosted.rudderlabs.com"),
        path_prefix("/v1/"),
        Kind::Event,
        "hosted data plane",
    ),
    Endpoint::new(
        exact_host("cdn.rudderlabs.com"),
        path_prefix("/"),
        Kind::Library,
        "JavaScript SDK",
    ),
];

static SOURCES: [Source; 2] = [
    Source::new(
        "OMNI",
        "https://github.com/MisterPhilip/omnibug (src/providers/RudderStack.js)",
    ),
    Source::new(
        "RUDDER-SPEC",
        "https://www.rudderstack.com/docs/event-spec/standard-events/",
    ),
];

static SPEC: Spec = Spec {
    batch_keys: BATCH,
    event: &["event", "type"],
    pixel_id: &[],
    page_url: &["context.page.url", "properties.url"],
    referrer: &["context.page.referrer", "properties.referrer"],
    page_title: &["context.page.title", "properties.title"],
    json_params: &[],
    query_events: false,
};

impl Decoder for RudderStack {
    fn id(&self) -> &str {
        "rudderstack"
    }
    fn vendor(&self) -> &str {
        "RudderStack"
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
        segment_shape(exchange) && super::segment::is_rudderstack(exchange)
    }
    fn decode(&self, exchange: &Exchange, sink: &mut dyn EventSink) {
        let (_, detection, kind) = recognise(self, exchange);
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
        json_batch::decode(self, &SPEC, &label, exchange, detection, sink);
    }
}
