//! The registry: every decoder, indexed once by host.

use crate::catalog::{self, CatalogError};
use crate::decoder::{Decoder, Endpoint, HostPattern};
use crate::keymap::KeyMap;
use crate::record::Target;
use crate::trackers;
use pixelscope_model::{Detection, Event, EventSink, Exchange, Kind, Origin, Timestamp};
use std::borrow::Cow;

/// All decoders of a run, in a fixed order (output order depends on it),
/// with their endpoints indexed by host so that the 95% of requests no
/// tracker cares about cost one or two hash lookups.
pub struct Registry {
    decoders: Vec<Box<dyn Decoder>>,
    /// Exact host → (decoder, endpoint) routes.
    exact: KeyMap<Vec<Route>>,
    /// Domain (matches itself and subdomains) → routes.
    domains: KeyMap<Vec<Route>>,
    /// Endpoints on any host.
    any_host: Vec<Route>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Route {
    decoder: usize,
    endpoint: usize,
}

/// Why a decoder saw an exchange.
#[derive(Clone, Copy)]
pub struct Claim<'a> {
    pub decoder: &'a dyn Decoder,
    pub detection: Detection,
    /// The endpoint that matched (`None` for a shape claim).
    pub endpoint: Option<&'a Endpoint>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry::builtin()
    }
}

impl Registry {
    /// A registry with no decoders (for tests and custom line-ups).
    pub fn empty() -> Registry {
        Registry {
            decoders: Vec::new(),
            exact: KeyMap::default(),
            domains: KeyMap::default(),
            any_host: Vec::new(),
        }
    }

    /// Every built-in decoder, in a fixed order.
    pub fn builtin() -> Registry {
        trackers::builtin()
            .into_iter()
            .fold(Registry::empty(), Registry::with)
    }

    /// Adds a decoder after the existing ones (out-of-tree decoders, the
    /// declarative catalog, tests).
    pub fn with(mut self, decoder: Box<dyn Decoder>) -> Registry {
        self.add(decoder);
        self
    }

    /// Adds a decoder after the existing ones.
    pub fn add(&mut self, decoder: Box<dyn Decoder>) {
        self.index(self.decoders.len(), decoder.as_ref());
        self.decoders.push(decoder);
    }

    /// Loads a user catalog file (TOML, see docs/DECODERS.md) and adds its
    /// trackers after the existing decoders. An entry whose id is already
    /// taken is an error unless it says `override = true`; then it
    /// replaces that decoder in place (same position in the output order).
    /// Nothing is added when the file has any error.
    pub fn load_catalog(&mut self, path: impl AsRef<std::path::Path>) -> Result<(), CatalogError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| CatalogError {
            file: name.clone(),
            line: 0,
            message: format!("cannot read the catalog: {e}"),
        })?;
        self.load_catalog_str(&name, &text)
    }

    /// [`Registry::load_catalog`] on catalog text; `name` stands for the
    /// file in errors.
    pub fn load_catalog_str(&mut self, name: &str, text: &str) -> Result<(), CatalogError> {
        let entries = catalog::parse(name, text)?;
        for entry in &entries {
            let taken = self.decoders.iter().any(|d| d.id() == entry.decoder.id());
            if taken && !entry.replaces {
                return Err(CatalogError {
                    file: name.to_owned(),
                    line: entry.line,
                    message: format!(
                        "tracker id `{}` is already defined; set `override = true` in this entry to replace it",
                        entry.decoder.id()
                    ),
                });
            }
        }
        for entry in entries {
            let position = self
                .decoders
                .iter()
                .position(|d| d.id() == entry.decoder.id());
            match position.and_then(|at| self.decoders.get_mut(at)) {
                Some(slot) => *slot = Box::new(entry.decoder),
                None => self.decoders.push(Box::new(entry.decoder)),
            }
        }
        self.reindex();
        Ok(())
    }

    fn reindex(&mut self) {
        self.exact.clear();
        self.domains.clear();
        self.any_host.clear();
        let decoders = std::mem::take(&mut self.decoders);
        for (index, decoder) in decoders.iter().enumerate() {
            self.index(index, decoder.as_ref());
        }
        self.decoders = decoders;
    }

    fn index(&mut self, index: usize, decoder: &dyn Decoder) {
        for (endpoint_index, endpoint) in decoder.endpoints().iter().enumerate() {
            let route = Route {
                decoder: index,
                endpoint: endpoint_index,
            };
            match &endpoint.host {
                HostPattern::Exact(host) => self
                    .exact
                    .entry(host.to_ascii_lowercase())
                    .or_default()
                    .push(route),
                HostPattern::Domain(domain) => self
                    .domains
                    .entry(domain.to_ascii_lowercase())
                    .or_default()
                    .push(route),
                HostPattern::Any => self.any_host.push(route),
            }
        }
        // Kept in registry order: `routes_for_host` hands it out as it is.
        self.any_host.sort_unstable();
    }

    /// The decoders, in registry order (`pixelscope trackers` lists them).
    pub fn decoders(&self) -> &[Box<dyn Decoder>] {
        &self.decoders
    }

    /// The decoder with this id.
    pub fn decoder(&self, id: &str) -> Option<&dyn Decoder> {
        self.decoders
            .iter()
            .find(|d| d.id() == id)
            .map(|d| d.as_ref())
    }

    /// Routes whose host pattern covers `host`, in registry order. Most
    /// hosts belong to no tracker: they get the any-host routes as they are
    /// (indexed in registry order), without a copy or a sort.
    fn routes_for_host(&self, host: &str) -> Cow<'_, [Route]> {
        let mut routes: Vec<Route> = Vec::new();
        if let Some(found) = self.exact.get(host) {
            routes.extend_from_slice(found);
        }
        let mut suffix = host;
        loop {
            if let Some(found) = self.domains.get(suffix) {
                routes.extend_from_slice(found);
            }
            match suffix.split_once('.') {
                Some((_, rest)) if !rest.is_empty() => suffix = rest,
                _ => break,
            }
        }
        if routes.is_empty() {
            return Cow::Borrowed(&self.any_host);
        }
        routes.extend_from_slice(&self.any_host);
        routes.sort_unstable();
        Cow::Owned(routes)
    }

    fn endpoint(&self, route: Route) -> Option<(&dyn Decoder, &Endpoint)> {
        let decoder = self.decoders.get(route.decoder)?;
        let endpoint = decoder.endpoints().get(route.endpoint)?;
        Some((decoder.as_ref(), endpoint))
    }

    /// The decoders that claim an exchange: endpoint claims first; shape
    /// claims only when no endpoint matched. At most one claim per decoder,
    /// in registry order.
    pub fn claims(&self, exchange: &Exchange) -> Vec<Claim<'_>> {
        let target = Target::of(exchange);
        let mut claims: Vec<Claim<'_>> = Vec::new();
        let mut seen: Vec<usize> = Vec::new();
        for &route in self.routes_for_host(&target.host).iter() {
            if seen.contains(&route.decoder) {
                continue;
            }
            if let Some((decoder, endpoint)) = self.endpoint(route)
                && endpoint.path.matches(target.path)
            {
                seen.push(route.decoder);
                claims.push(Claim {
                    decoder,
                    detection: Detection::Endpoint,
                    endpoint: Some(endpoint),
                });
            }
        }
        if claims.is_empty() {
            claims.extend(
                self.decoders
                    .iter()
                    .filter(|d| d.claims_shape(exchange))
                    .map(|decoder| Claim {
                        decoder: decoder.as_ref(),
                        detection: Detection::Shape,
                        endpoint: None,
                    }),
            );
        }
        claims
    }

    /// Runs every claiming decoder over the exchange.
    pub fn decode(&self, exchange: &Exchange, sink: &mut dyn EventSink) {
        for claim in self.claims(exchange) {
            claim.decoder.decode(exchange, sink);
        }
    }

    /// The tracker a host belongs to (any endpoint host pattern covers it),
    /// for turning DNS answers and TLS SNI names into contact records.
    /// Any-host endpoints do not count: a host alone proves nothing there.
    pub fn tracker_for_host(&self, host: &str) -> Option<&dyn Decoder> {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.routes_for_host(&host)
            .iter()
            .filter(|route| !self.any_host.contains(route))
            .find_map(|route| self.decoders.get(route.decoder).map(|d| d.as_ref()))
    }

    /// A `Kind::Contact` record for a connection to a tracker host whose
    /// content could not be read (`None` when the host is no tracker's).
    pub fn contact_event(
        &self,
        host: &str,
        time: Option<Timestamp>,
        origin: Origin,
    ) -> Option<Event> {
        let decoder = self.tracker_for_host(host)?;
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let exchange = Exchange {
            time,
            origin,
            ..Exchange::default()
        };
        let mut event =
            Event::for_exchange(decoder.id(), decoder.vendor(), Kind::Contact, &exchange);
        event.request.host = Some(host);
        event.detection = Detection::Host;
        Some(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pixelscope_model::{InputFormat, Request};

    fn get(url: &str) -> Exchange {
        Exchange {
            request: Request {
                method: "GET".into(),
                url: url.into(),
                ..Request::default()
            },
            ..Exchange::default()
        }
    }

    #[test]
    fn hosts_map_to_trackers_for_contact_records() {
        let registry = Registry::builtin();
        let id = |host: &str| registry.tracker_for_host(host).map(|d| d.id().to_owned());
        assert_eq!(id("analytics.tiktok.com").as_deref(), Some("tiktok"));
        assert_eq!(id("Connect.Facebook.NET.").as_deref(), Some("meta"));
        assert_eq!(id("region1.google-analytics.com").as_deref(), Some("ga4"));
        assert_eq!(id("sgtm.shop.test"), None, "shape claims never name a host");
        let origin = Origin {
            frames: Some(vec![7]),
            ..Origin::file("c.pcapng", None, InputFormat::Pcapng)
        };
        let contact = registry
            .contact_event("www.facebook.com", None, origin)
            .unwrap();
        assert_eq!(
            (contact.kind, contact.detection),
            (Kind::Contact, Detection::Host)
        );
        assert_eq!(contact.request.host.as_deref(), Some("www.facebook.com"));
        assert_eq!(contact.origin.frames, Some(vec![7]));
        assert!(
            registry
                .contact_event("example.com", None, Origin::default())
                .is_none()
        );
    }

    #[test]
    fn endpoint_claims_win_and_unrelated_requests_cost_nothing() {
        let registry = Registry::builtin();
        let claims = registry.claims(&get(
            "https://www.google-analytics.com/g/collect?v=2&tid=G-X&en=a",
        ));
        assert_eq!(claims.len(), 1);
        assert_eq!(
            (claims[0].decoder.id(), claims[0].detection),
            ("ga4", Detection::Endpoint)
        );
        assert!(
            registry
                .claims(&get("https://shop.test/cart?v=2&tid=G-X"))
                .is_empty()
        );
        assert!(
            registry
                .claims(&get("https://www.facebook.com/plugins/like.php?href=x"))
                .is_empty()
        );
        let ids: Vec<&str> = registry.decoders().iter().map(|d| d.id()).collect();
        assert_eq!(ids.get(..3), Some(["tiktok", "meta", "ga4"].as_slice()));
    }
}
