//! A test connection: feeds bytes into an `HttpLayer` as the capture
//! reader would, one frame per chunk, and collects what comes out.

use pixelscope_capture::{Chunk, ConnectionInfo, Contact, Direction, StreamSink};
use pixelscope_http::{HttpLayer, HttpLimits};
use pixelscope_model::{Collected, Diagnostic, Exchange, InputFormat, Origin, Timestamp};

pub use Direction::{ToClient, ToServer};

pub struct Conn {
    pub layer: HttpLayer<Collected>,
    offsets: [u64; 2],
    pub frame: u64,
}

pub fn info(tls: Option<&str>, alpn: Option<&str>, saw_syn: bool) -> ConnectionInfo {
    ConnectionInfo {
        stream: 7,
        client: "192.0.2.10:51000".parse().unwrap(),
        server: "198.51.100.5:8080".parse().unwrap(),
        first_frame: 1,
        first_time: Timestamp(0),
        saw_syn,
        tls: tls.map(str::to_owned),
        alpn: alpn.map(str::to_owned),
        server_name: None,
    }
}

impl Conn {
    pub fn new() -> Conn {
        Conn::with(info(None, None, true), HttpLimits::default())
    }

    pub fn with(info: ConnectionInfo, limits: HttpLimits) -> Conn {
        let mut layer = HttpLayer::with_limits(
            Collected::default(),
            Origin::file("capture.pcapng", Some("ab".into()), InputFormat::Pcapng),
            limits,
        );
        layer.connection_opened(&info);
        Conn {
            layer,
            offsets: [0, 0],
            frame: 0,
        }
    }

    fn index(direction: Direction) -> usize {
        match direction {
            ToServer => 0,
            ToClient => 1,
        }
    }

    /// Sends `bytes` as one chunk carried by a new frame; returns the frame.
    pub fn send(&mut self, direction: Direction, bytes: &[u8]) -> u64 {
        self.frame += 1;
        let i = Conn::index(direction);
        let chunk = Chunk {
            stream: 7,
            direction,
            offset: self.offsets[i],
            data: bytes,
            frames: &[self.frame],
            time: Timestamp(self.frame as i64 * 1_000_000),
        };
        self.layer.data(chunk);
        self.offsets[i] += bytes.len() as u64;
        self.frame
    }

    pub fn client(&mut self, bytes: &[u8]) -> u64 {
        self.send(ToServer, bytes)
    }

    pub fn server(&mut self, bytes: &[u8]) -> u64 {
        self.send(ToClient, bytes)
    }

    /// Sends `bytes` cut at the given positions, one frame per piece.
    pub fn send_split(&mut self, direction: Direction, bytes: &[u8], cuts: &[usize]) {
        let mut start = 0;
        for &cut in cuts.iter().chain(std::iter::once(&bytes.len())) {
            let cut = cut.clamp(start, bytes.len());
            if cut > start {
                self.send(direction, &bytes[start..cut]);
            }
            start = cut;
        }
    }

    /// `n` bytes of `direction` are lost.
    pub fn gap(&mut self, direction: Direction, n: u64) {
        self.frame += 1;
        let i = Conn::index(direction);
        let start = self.offsets[i];
        self.layer.gap(7, direction, start..start + n, self.frame);
        self.offsets[i] += n;
    }

    pub fn close(mut self) -> Collected {
        self.layer.connection_closed(7);
        self.layer.finish()
    }

    pub fn contact(&mut self, contact: &Contact) {
        self.layer.contact(contact);
    }
}

pub fn codes(diagnostics: &[Diagnostic]) -> Vec<&str> {
    diagnostics.iter().map(|d| d.code.as_str()).collect()
}

pub fn body(exchange: &Exchange) -> &[u8] {
    exchange
        .request
        .body
        .as_ref()
        .map_or(&[][..], |b| b.data.as_slice())
}

pub fn response_body(exchange: &Exchange) -> &[u8] {
    exchange
        .response
        .as_ref()
        .and_then(|r| r.body.as_ref())
        .map_or(&[][..], |b| b.data.as_slice())
}

pub fn status(exchange: &Exchange) -> Option<u16> {
    exchange.response.as_ref().and_then(|r| r.status)
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}
