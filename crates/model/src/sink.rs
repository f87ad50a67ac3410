//! Push-model sinks: producers and decoders hand results over one at a time.

use crate::{Diagnostic, Event, Exchange};

/// Receives the exchanges a producer recovers from an input.
pub trait ExchangeSink {
    fn exchange(&mut self, exchange: Exchange);
    fn diagnostic(&mut self, diagnostic: Diagnostic);
}

/// Receives the events decoders produce.
pub trait EventSink {
    fn event(&mut self, event: Event);
    fn diagnostic(&mut self, diagnostic: Diagnostic);
}

/// A sink that keeps everything in memory, for tests and small jobs.
#[derive(Debug, Default, Clone)]
pub struct Collected {
    pub exchanges: Vec<Exchange>,
    pub events: Vec<Event>,
    pub diagnostics: Vec<Diagnostic>,
}

impl ExchangeSink for Collected {
    fn exchange(&mut self, exchange: Exchange) {
        self.exchanges.push(exchange);
    }
    fn diagnostic(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }
}

impl EventSink for Collected {
    fn event(&mut self, event: Event) {
        self.events.push(event);
    }
    fn diagnostic(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }
}
