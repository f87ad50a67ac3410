//! The file layer: pcap and pcapng records, timestamps, interfaces, and the
//! dispatch of each frame to link decoding, the flow table and the sink.

use crate::defrag::Defragmenter;
use crate::flow::{FlowTable, origin_at};
use crate::packet::{self, Invalid, Transport};
use crate::stream::{Contact, Datagram, StreamSink};
use crate::{CaptureLimits, dns};
use pcap_parser::pcapng::Block;
use pcap_parser::traits::{PcapNGPacketBlock, PcapReaderIterator};
use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError, PcapNGReader, SecretsType};
use pixelscope_model::{Diagnostic, InputFormat, Origin, Timestamp};
use std::fmt;
use std::io::{self, Read};
use std::net::SocketAddr;

/// Read buffer to start with; it grows for larger records, up to
/// [`CaptureLimits::max_record_bytes`].
const INITIAL_BUFFER: usize = 256 * 1024;
const PCAPNG_OBSOLETE_PACKET: u32 = 0x0000_0002;
const PCAPNG_SIMPLE_PACKET: u32 = 0x0000_0003;
const PCAPNG_ENHANCED_PACKET: u32 = 0x0000_0006;
const PCAPNG_SECTION_HEADER: u32 = 0x0A0D_0D0A;

/// Sniffs the pcap or pcapng magic number at the start of a file.
pub fn looks_like_capture(prefix: &[u8]) -> Option<InputFormat> {
    let magic: [u8; 4] = prefix.get(..4)?.try_into().ok()?;
    match u32::from_le_bytes(magic) {
        // µs and ns pcap, both byte orders, and the "modified" (Kuznetzov) variant.
        0xA1B2_C3D4 | 0xD4C3_B2A1 | 0xA1B2_3C4D | 0x4D3C_B2A1 | 0xA1B2_CD34 | 0x34CD_B2A1 => {
            Some(InputFormat::Pcap)
        }
        PCAPNG_SECTION_HEADER => Some(InputFormat::Pcapng),
        _ => None,
    }
}

/// Why a file could not be read as a capture at all.
#[derive(Debug)]
#[non_exhaustive]
pub enum CaptureError {
    /// The file has no bytes.
    Empty,
    /// The first bytes are no pcap or pcapng magic number.
    NotACapture { first_bytes: Vec<u8> },
    /// The magic number is right but the file header is cut short or damaged.
    BadHeader { format: InputFormat, detail: String },
    /// Reading the input failed before anything could be read.
    Io(io::Error),
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureError::Empty => write!(f, "the capture file is empty (0 bytes)"),
            CaptureError::NotACapture { first_bytes } => {
                write!(f, "not a pcap or pcapng file: it starts with bytes")?;
                for b in first_bytes {
                    write!(f, " {b:02x}")?;
                }
                Ok(())
            }
            CaptureError::BadHeader { format, detail } => {
                let name = if *format == InputFormat::Pcapng {
                    "pcapng"
                } else {
                    "pcap"
                };
                write!(f, "the {name} file header is damaged: {detail}")
            }
            CaptureError::Io(e) => write!(f, "could not read the capture: {e}"),
        }
    }
}

impl std::error::Error for CaptureError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CaptureError::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// What a read found, for a one-line report and for tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaptureSummary {
    pub format: InputFormat,
    /// Packet records read (the last frame number).
    pub packets: u64,
    /// Captured bytes in those records.
    pub bytes: u64,
    /// Link types (pcap LINKTYPE_* values), in order of first appearance.
    pub link_types: Vec<u32>,
    /// TCP connections (stream ids `0..tcp_streams`).
    pub tcp_streams: u64,
    /// Gaps declared in TCP streams, and the bytes they cover.
    pub gaps: u64,
    pub gap_bytes: u64,
    /// UDP datagrams passed on.
    pub datagrams: u64,
    /// DNS answers passed on as contacts.
    pub contacts: u64,
    /// Decryption Secrets Blocks found (TLS key logs passed on).
    pub secrets_blocks: u64,
    /// Diagnostics emitted.
    pub diagnostics: u64,
}

/// Reads one capture file and pushes what it recovers into a sink.
#[derive(Clone, Debug)]
pub struct CaptureReader {
    origin: Origin,
    limits: CaptureLimits,
}

impl CaptureReader {
    /// `origin_template` names the file; the reader fills in frames and
    /// stream ids for each diagnostic.
    pub fn new(origin_template: Origin) -> CaptureReader {
        CaptureReader {
            origin: origin_template,
            limits: CaptureLimits::default(),
        }
    }

    pub fn with_limits(mut self, limits: CaptureLimits) -> CaptureReader {
        self.limits = limits;
        self
    }

    /// Streams `input` (pcap or pcapng, sniffed) into `sink`.
    pub fn read<R: Read>(
        &self,
        input: R,
        sink: &mut dyn StreamSink,
    ) -> Result<CaptureSummary, CaptureError> {
        let mut input = Primed::new(input);
        input.prime(INITIAL_BUFFER).map_err(CaptureError::Io)?;
        let prefix = input.prefix();
        if prefix.is_empty() {
            return Err(CaptureError::Empty);
        }
        let Some(format) = looks_like_capture(prefix) else {
            return Err(CaptureError::NotACapture {
                first_bytes: prefix.iter().take(8).copied().collect(),
            });
        };
        let bad_header = |e: PcapError<&'static [u8]>| CaptureError::BadHeader {
            format,
            detail: match e {
                PcapError::Incomplete(_) | PcapError::UnexpectedEof | PcapError::Eof => {
                    "it is cut short".to_string()
                }
                other => format!("{other:?}"),
            },
        };
        let mut state = State::new(&self.origin, self.limits, format, sink);
        if format == InputFormat::Pcap {
            let mut reader = LegacyPcapReader::new(INITIAL_BUFFER, input).map_err(bad_header)?;
            state.pump(&mut reader);
        } else {
            // The section header must fit in the first buffer.
            let shb_len = prefix
                .get(4..8)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map_or(0, |b| {
                    let le = u32::from_le_bytes(b);
                    if prefix.get(8..12) == Some(&[0x1A, 0x2B, 0x3C, 0x4D]) {
                        le
                    } else {
                        u32::from_be_bytes(b)
                    }
                });
            let capacity = usize::try_from(shb_len).unwrap_or(0).clamp(
                INITIAL_BUFFER,
                self.limits.max_record_bytes.max(INITIAL_BUFFER),
            );
            let mut reader = PcapNGReader::new(capacity, input).map_err(bad_header)?;
            state.pump(&mut reader);
        }
        Ok(state.finish())
    }
}

/// The input with its first bytes read ahead for sniffing, keeping the last
/// I/O error (pcap-parser only reports that one happened).
struct Primed<R> {
    inner: R,
    prefix: Vec<u8>,
    at: usize,
    error: Option<io::Error>,
}

impl<R: Read> Primed<R> {
    fn new(inner: R) -> Primed<R> {
        Primed {
            inner,
            prefix: Vec::new(),
            at: 0,
            error: None,
        }
    }

    /// Reads up to `len` bytes ahead (fewer only at end of input).
    fn prime(&mut self, len: usize) -> io::Result<()> {
        let mut limited = (&mut self.inner).take(len as u64);
        limited.read_to_end(&mut self.prefix)?;
        Ok(())
    }

    fn prefix(&self) -> &[u8] {
        &self.prefix
    }
}

impl<R: Read> Read for Primed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at < self.prefix.len() {
            let rest = self.prefix.get(self.at..).unwrap_or_default();
            let n = rest.len().min(buf.len());
            if let (Some(to), Some(from)) = (buf.get_mut(..n), rest.get(..n)) {
                to.copy_from_slice(from);
            }
            self.at += n;
            if self.at >= self.prefix.len() {
                self.prefix = Vec::new();
                self.at = 0;
            }
            return Ok(n);
        }
        loop {
            match self.inner.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let kind = e.kind();
                    self.error = Some(e);
                    return Err(io::Error::from(kind));
                }
                Ok(n) => return Ok(n),
            }
        }
    }
}

/// One pcapng interface (or the single link of a pcap file).
#[derive(Clone, Copy, Debug)]
struct Interface {
    link: u32,
    /// Timestamp units per second.
    units_per_second: u64,
    /// Seconds added to every timestamp (`if_tsoffset`).
    offset_seconds: i64,
    snaplen: u32,
    reported_unsupported: bool,
}

/// What the main loop does after a step of the pcap-parser reader.
enum Step {
    Consumed(usize),
    End,
    NeedMore,
    TooSmall,
    Truncated,
    ReadFailed,
    Invalid(String),
}

struct State<'a> {
    origin: &'a Origin,
    limits: CaptureLimits,
    sink: &'a mut dyn StreamSink,
    summary: CaptureSummary,
    interfaces: Vec<Interface>,
    big_endian: bool,
    legacy_nanos: bool,
    last_time: Timestamp,
    flows: FlowTable,
    defrag: Defragmenter,
    capacity: usize,
}

impl<'a> State<'a> {
    fn new(
        origin: &'a Origin,
        limits: CaptureLimits,
        format: InputFormat,
        sink: &'a mut dyn StreamSink,
    ) -> State<'a> {
        State {
            origin,
            limits,
            sink,
            summary: CaptureSummary {
                format,
                ..CaptureSummary::default()
            },
            interfaces: Vec::new(),
            big_endian: false,
            legacy_nanos: false,
            last_time: Timestamp(0),
            flows: FlowTable::new(limits),
            defrag: Defragmenter::new(
                limits.max_fragmented_datagrams,
                limits.fragment_timeout_seconds,
            ),
            capacity: INITIAL_BUFFER,
        }
    }

    fn diagnose(&mut self, diagnostic: Diagnostic) {
        self.summary.diagnostics += 1;
        self.sink.diagnostic(diagnostic);
    }

    /// The next frame's number, for problems found before it is counted.
    fn next_frame(&self) -> u64 {
        self.summary.packets + 1
    }

    /// Runs the reader to the end of the input.
    fn pump<P: PcapReaderIterator>(&mut self, reader: &mut P) {
        loop {
            let step = match reader.next() {
                Ok((consumed, block)) => {
                    self.block(block);
                    Step::Consumed(consumed)
                }
                Err(PcapError::Eof) => Step::End,
                Err(PcapError::Incomplete(_)) => Step::NeedMore,
                Err(PcapError::BufferTooSmall) => Step::TooSmall,
                Err(PcapError::UnexpectedEof) => Step::Truncated,
                Err(PcapError::ReadError) => Step::ReadFailed,
                Err(e) => Step::Invalid(format!("{e:?}").chars().take(120).collect()),
            };
            match step {
                Step::Consumed(n) => reader.consume(n),
                Step::End => break,
                Step::NeedMore => {
                    let before = reader.data().len();
                    if reader.refill().is_err() {
                        self.read_failed();
                        break;
                    }
                    if reader.data().len() == before {
                        if reader.reader_exhausted() {
                            self.truncated(before);
                            break;
                        }
                        if !self.grow(reader) {
                            break;
                        }
                    }
                }
                Step::TooSmall => {
                    if !self.grow(reader) {
                        break;
                    }
                }
                Step::Truncated => {
                    self.truncated(reader.data().len());
                    break;
                }
                Step::ReadFailed => {
                    self.read_failed();
                    break;
                }
                Step::Invalid(detail) => {
                    if !self.skip_invalid_block(reader, &detail) {
                        break;
                    }
                }
            }
        }
    }

    /// Length the record at the front of the buffer claims, header included.
    fn claimed_length<P: PcapReaderIterator>(&self, reader: &P) -> Option<u64> {
        let data = reader.data();
        let word = |at: usize| -> Option<u32> {
            let b: [u8; 4] = data.get(at..at + 4)?.try_into().ok()?;
            Some(if self.big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            })
        };
        match self.summary.format {
            InputFormat::Pcapng => word(4).map(u64::from),
            _ => word(8).map(|caplen| u64::from(caplen) + 16),
        }
    }

    /// Grows the read buffer for a large record, unless the record claims
    /// more than the limit (then it is corruption and reading stops).
    fn grow<P: PcapReaderIterator>(&mut self, reader: &mut P) -> bool {
        let claimed = self.claimed_length(reader).unwrap_or(0);
        let max = self.limits.max_record_bytes as u64;
        if claimed > max || self.capacity as u64 >= max {
            let message = format!(
                "record {} claims {claimed} bytes, more than the {max}-byte limit; the file is damaged here and the rest of it cannot be located",
                self.next_frame()
            );
            let origin = origin_at(self.origin, self.next_frame(), None);
            self.diagnose(Diagnostic::error("capture.record-invalid", message, origin));
            return false;
        }
        let wanted = usize::try_from(claimed)
            .unwrap_or(usize::MAX)
            .saturating_add(64);
        let new_capacity = self
            .capacity
            .saturating_mul(2)
            .max(wanted)
            .min(self.limits.max_record_bytes);
        if new_capacity <= self.capacity || !reader.grow(new_capacity) {
            return false;
        }
        self.capacity = new_capacity;
        if reader.refill().is_err() {
            self.read_failed();
            return false;
        }
        true
    }

    fn truncated(&mut self, left: usize) {
        if left == 0 {
            return;
        }
        let message = format!(
            "the file ends inside record {}: its last {left} bytes are a cut-off record, which was not read",
            self.next_frame()
        );
        let origin = origin_at(self.origin, self.next_frame(), None);
        self.diagnose(Diagnostic::warning("capture.truncated", message, origin));
    }

    fn read_failed(&mut self) {
        let message = format!(
            "reading the input failed after frame {}; the rest was not read",
            self.summary.packets
        );
        let origin = origin_at(self.origin, self.summary.packets.max(1), None);
        self.diagnose(Diagnostic::error("capture.read-failed", message, origin));
    }

    /// Skips a pcapng block that does not parse, by its length field, and
    /// reports it. Legacy pcap records cannot be skipped this way.
    fn skip_invalid_block<P: PcapReaderIterator>(&mut self, reader: &mut P, detail: &str) -> bool {
        let data = reader.data();
        let word = |at: usize| -> Option<u32> {
            let b: [u8; 4] = data.get(at..at + 4)?.try_into().ok()?;
            Some(if self.big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            })
        };
        let block_type = word(0);
        let length = word(4).and_then(|l| usize::try_from(l).ok());
        let skippable = self.summary.format == InputFormat::Pcapng
            && length.is_some_and(|l| l >= 12 && l % 4 == 0 && l <= data.len());
        let is_packet = matches!(
            block_type,
            Some(PCAPNG_ENHANCED_PACKET | PCAPNG_SIMPLE_PACKET | PCAPNG_OBSOLETE_PACKET)
        );
        if is_packet {
            // Wireshark numbers the damaged record too.
            self.summary.packets += 1;
        }
        let frame = if is_packet {
            self.summary.packets
        } else {
            self.next_frame()
        };
        let (code, message) = if is_packet {
            (
                "capture.packet-invalid",
                format!("packet record {frame} is damaged ({detail}); it was skipped"),
            )
        } else {
            (
                "capture.block-invalid",
                format!(
                    "a pcapng block before frame {frame} is damaged ({detail}); it was skipped"
                ),
            )
        };
        let message = if skippable {
            message
        } else {
            format!("{message}; the rest of the file cannot be located")
        };
        let origin = origin_at(self.origin, frame, None);
        self.diagnose(Diagnostic::error(code, message, origin));
        match length {
            Some(l) if skippable => {
                reader.consume(l);
                true
            }
            _ => false,
        }
    }

    fn block(&mut self, block: PcapBlockOwned<'_>) {
        match block {
            PcapBlockOwned::LegacyHeader(header) => {
                self.legacy_nanos = header.is_nanosecond_precision();
                let link = header.network.0 as u32;
                self.add_interface(
                    link,
                    if self.legacy_nanos {
                        1_000_000_000
                    } else {
                        1_000_000
                    },
                    0,
                    header.snaplen,
                );
            }
            PcapBlockOwned::Legacy(record) => {
                let nanos = if self.legacy_nanos {
                    record.ts_usec
                } else {
                    record.ts_usec.saturating_mul(1000)
                };
                let time = Timestamp::from_parts(i64::from(record.ts_sec), nanos)
                    .unwrap_or(self.last_time);
                self.packet(0, time, record.data);
            }
            PcapBlockOwned::NG(block) => self.ng_block(block),
        }
    }

    fn add_interface(
        &mut self,
        link: u32,
        units_per_second: u64,
        offset_seconds: i64,
        snaplen: u32,
    ) {
        if !self.summary.link_types.contains(&link) {
            self.summary.link_types.push(link);
        }
        self.interfaces.push(Interface {
            link,
            units_per_second,
            offset_seconds,
            snaplen,
            reported_unsupported: false,
        });
    }

    fn ng_block(&mut self, block: Block<'_>) {
        match block {
            Block::SectionHeader(shb) => {
                self.big_endian = shb.big_endian();
                self.interfaces.clear();
            }
            Block::InterfaceDescription(idb) => {
                let resolution = units_per_second(idb.if_tsresol);
                if resolution.is_none() {
                    let message = format!(
                        "interface {} has an impossible timestamp resolution ({}); microseconds are assumed",
                        self.interfaces.len(),
                        idb.if_tsresol
                    );
                    let origin = origin_at(self.origin, self.next_frame(), None);
                    self.diagnose(Diagnostic::warning(
                        "capture.interface-invalid",
                        message,
                        origin,
                    ));
                }
                self.add_interface(
                    idb.linktype.0 as u32,
                    resolution.unwrap_or(1_000_000),
                    idb.if_tsoffset,
                    idb.snaplen,
                );
            }
            Block::EnhancedPacket(epb) => {
                let ts = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                let interface = usize::try_from(epb.if_id).unwrap_or(usize::MAX);
                let time = self.time_of(interface, ts);
                self.packet(interface, time, epb.packet_data());
            }
            Block::SimplePacket(spb) => {
                // No timestamp: the previous packet's time stands in.
                let mut data = spb.packet_data();
                if let Some(snap) = self
                    .interfaces
                    .first()
                    .map(|i| i.snaplen as usize)
                    .filter(|s| *s > 0)
                {
                    data = data.get(..snap).unwrap_or(data);
                }
                self.packet(0, self.last_time, data);
            }
            Block::DecryptionSecrets(dsb) => {
                self.summary.secrets_blocks += 1;
                let len = usize::try_from(dsb.secrets_len).unwrap_or(usize::MAX);
                let secrets = dsb.data.get(..len).unwrap_or(dsb.data);
                if dsb.secrets_type == SecretsType::TlsKeyLog {
                    self.sink.secrets(secrets);
                } else {
                    let message = format!(
                        "a Decryption Secrets Block of type {:#010x} (not a TLS key log) was ignored",
                        dsb.secrets_type.0
                    );
                    let origin = origin_at(self.origin, self.next_frame(), None);
                    self.diagnose(Diagnostic::info(
                        "capture.secrets-unsupported",
                        message,
                        origin,
                    ));
                }
            }
            Block::Unknown(unknown) if unknown.block_type == PCAPNG_OBSOLETE_PACKET => {
                self.obsolete_packet(unknown.data);
            }
            // Statistics, name resolution, comments, custom blocks: nothing
            // for the streams.
            _ => {}
        }
    }

    /// The obsolete pcapng Packet Block (type 2): 16-bit interface id and
    /// drop count, then as an Enhanced Packet Block.
    fn obsolete_packet(&mut self, body: &[u8]) {
        let u16_at = |at: usize| -> Option<u16> {
            let b: [u8; 2] = body.get(at..at + 2)?.try_into().ok()?;
            Some(if self.big_endian {
                u16::from_be_bytes(b)
            } else {
                u16::from_le_bytes(b)
            })
        };
        let u32_at = |at: usize| -> Option<u32> {
            let b: [u8; 4] = body.get(at..at + 4)?.try_into().ok()?;
            Some(if self.big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            })
        };
        let parsed = (|| {
            let interface = usize::from(u16_at(0)?);
            let ts = (u64::from(u32_at(4)?) << 32) | u64::from(u32_at(8)?);
            let caplen = usize::try_from(u32_at(12)?).ok()?;
            let data = body.get(20..20usize.checked_add(caplen)?)?;
            Some((interface, ts, data))
        })();
        match parsed {
            Some((interface, ts, data)) => {
                let time = self.time_of(interface, ts);
                self.packet(interface, time, data);
            }
            None => {
                self.summary.packets += 1;
                let frame = self.summary.packets;
                let origin = origin_at(self.origin, frame, None);
                let message = format!(
                    "packet record {frame} (an obsolete Packet Block) is damaged; it was skipped"
                );
                self.diagnose(Diagnostic::error("capture.packet-invalid", message, origin));
            }
        }
    }

    fn time_of(&self, interface: usize, ts: u64) -> Timestamp {
        let Some(i) = self.interfaces.get(interface) else {
            return self.last_time;
        };
        let units = i.units_per_second.max(1);
        let seconds = i64::try_from(ts / units)
            .unwrap_or(i64::MAX)
            .saturating_add(i.offset_seconds);
        let nanos = u128::from(ts % units) * 1_000_000_000 / u128::from(units);
        Timestamp::from_parts(seconds, u32::try_from(nanos).unwrap_or(0)).unwrap_or(self.last_time)
    }

    /// One packet record: a new frame number, then down the layers.
    fn packet(&mut self, interface: usize, time: Timestamp, data: &[u8]) {
        self.summary.packets += 1;
        self.summary.bytes += data.len() as u64;
        self.last_time = time;
        let frame = self.summary.packets;
        let Some(iface) = self.interfaces.get_mut(interface) else {
            let message = format!(
                "frame {frame} names interface {interface}, which the file never described"
            );
            let origin = origin_at(self.origin, frame, None);
            self.diagnose(Diagnostic::error("capture.packet-invalid", message, origin));
            return;
        };
        let link = iface.link;
        if !packet::link_supported(link) {
            if !iface.reported_unsupported {
                iface.reported_unsupported = true;
                let message = format!(
                    "interface {interface} has link type {link}, which pixelscope cannot read; its packets (from frame {frame} on) were skipped"
                );
                let origin = origin_at(self.origin, frame, None);
                self.diagnose(Diagnostic::error(
                    "capture.link-unsupported",
                    message,
                    origin,
                ));
            }
            return;
        }
        let ip = match packet::network_layer(link, data) {
            Ok(Some(ip)) => ip,
            Ok(None) => return,
            Err(invalid) => {
                self.invalid(frame, invalid);
                return;
            }
        };
        let decoded = packet::decode(ip, &mut self.defrag, frame, time);
        match decoded {
            Ok(decoded) => {
                let frames = decoded
                    .fragment_frames
                    .unwrap_or(std::slice::from_ref(&frame));
                match decoded.transport {
                    Transport::Tcp(segment) => {
                        self.flows
                            .segment(&segment, frames, time, &mut *self.sink, self.origin);
                    }
                    Transport::Udp(udp) => {
                        self.summary.datagrams += 1;
                        self.sink.datagram(Datagram {
                            source: udp.source,
                            destination: udp.destination,
                            data: udp.payload,
                            frame,
                            time,
                        });
                        if is_dns(udp.source, udp.destination) {
                            dns_contacts(
                                udp.payload,
                                frames,
                                time,
                                &mut self.summary,
                                &mut *self.sink,
                            );
                        }
                    }
                    Transport::Other => {}
                }
            }
            Err(invalid) => self.invalid(frame, invalid),
        }
        self.report_abandoned_fragments();
    }

    fn invalid(&mut self, frame: u64, invalid: Invalid) {
        let text = match invalid {
            Invalid::Malformed(text) => text,
            Invalid::Fragment(text) => text.to_string(),
        };
        let message = format!("frame {frame} could not be decoded: {text}");
        let origin = origin_at(self.origin, frame, None);
        self.diagnose(Diagnostic::warning(
            "capture.packet-invalid",
            message,
            origin,
        ));
    }

    fn report_abandoned_fragments(&mut self) {
        if self.defrag.abandoned.is_empty() {
            return;
        }
        for abandoned in std::mem::take(&mut self.defrag.abandoned) {
            let first = abandoned.frames.first().copied().unwrap_or(0);
            let message = format!(
                "an IP datagram fragmented over frames {:?} never completed ({} bytes received); it was not read",
                abandoned.frames, abandoned.received
            );
            let mut origin = origin_at(self.origin, first, None);
            origin.frames = Some(abandoned.frames);
            self.diagnose(Diagnostic::warning(
                "ip.fragment-incomplete",
                message,
                origin,
            ));
        }
    }

    fn finish(mut self) -> CaptureSummary {
        let last = self.summary.packets;
        self.flows.finish(last, &mut *self.sink, self.origin);
        self.defrag.abandon_all();
        self.report_abandoned_fragments();
        self.summary.tcp_streams = self.flows.streams();
        self.summary.gaps = self.flows.gaps;
        self.summary.gap_bytes = self.flows.gap_bytes;
        self.summary.diagnostics += self.flows.gaps + self.flows.conflicts;
        self.summary
    }
}

/// Units per second of a pcapng `if_tsresol`: 10^n, or 2^n with the top bit.
fn units_per_second(tsresol: u8) -> Option<u64> {
    if tsresol & 0x80 == 0 {
        10u64.checked_pow(u32::from(tsresol))
    } else {
        1u64.checked_shl(u32::from(tsresol & 0x7F))
    }
}

fn is_dns(source: SocketAddr, destination: SocketAddr) -> bool {
    matches!(source.port(), 53 | 5353) || matches!(destination.port(), 53 | 5353)
}

/// Every A, AAAA and CNAME answer of a DNS response becomes a contact.
fn dns_contacts(
    message: &[u8],
    frames: &[u64],
    time: Timestamp,
    summary: &mut CaptureSummary,
    sink: &mut dyn StreamSink,
) {
    // A malformed DNS message is not a capture anomaly worth a diagnostic:
    // port 53/5353 carries other traffic too.
    let Ok(answers) = dns::answers(message) else {
        return;
    };
    for answer in answers {
        summary.contacts += 1;
        sink.contact(&Contact {
            host: answer.name,
            via: "dns",
            stream: None,
            frames: frames.to_vec(),
            time,
            // Port 0: the answer names an address, not a service.
            server: answer.address.map(|ip| SocketAddr::new(ip, 0)),
        });
    }
}
