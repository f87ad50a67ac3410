//! From a frame's bytes to a TCP segment or UDP datagram.
//!
//! Link layers are peeled by hand (they are a few fixed-size headers, and
//! etherparse 0.21 knows neither SLL2, NULL/LOOP nor PPPoE); IP, with its
//! extension headers, is read with etherparse's lax slicing so that frames cut
//! short by the snap length still give what they hold. TCP and UDP headers
//! are read by hand: fixed fields, no copies.

use crate::defrag::{Defragmenter, FragmentKey};
use etherparse::{Ipv6ExtensionSlice, LaxIpSlice};
use pixelscope_model::Timestamp;
use std::net::{IpAddr, SocketAddr};

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86DD;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88A8;
const ETHERTYPE_QINQ_OLD: u16 = 0x9100;
const ETHERTYPE_PPPOE_SESSION: u16 = 0x8864;
const ETHERTYPE_MPLS: u16 = 0x8847;
const ETHERTYPE_MPLS_MULTICAST: u16 = 0x8848;
const PPP_IPV4: u16 = 0x0021;
const PPP_IPV6: u16 = 0x0057;
const IP_TCP: u8 = 6;
const IP_UDP: u8 = 17;
const IP_IN_IP: u8 = 4;
const IPV6_IN_IP: u8 = 41;

/// Link types this reader understands (pcap LINKTYPE_* values).
pub(crate) fn link_supported(link: u32) -> bool {
    matches!(
        link,
        0 | 1 | 9 | 12 | 14 | 50 | 101 | 104 | 108 | 113 | 228 | 229 | 276
    )
}

/// The decoded transport layer of one frame.
pub(crate) enum Transport<'a> {
    Tcp(TcpSegment<'a>),
    Udp(UdpDatagram<'a>),
    /// Not TCP or UDP over IP (ARP, ICMP, …), or a fragment still waiting
    /// for the rest of its datagram. Nothing to report.
    Other,
}

pub(crate) struct TcpSegment<'a> {
    pub source: SocketAddr,
    pub destination: SocketAddr,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    /// What was captured of the payload: a frame cut short by the snap
    /// length gives fewer bytes, and the rest shows up as a gap.
    pub payload: &'a [u8],
}

pub(crate) const FIN: u8 = 0x01;
pub(crate) const SYN: u8 = 0x02;
pub(crate) const RST: u8 = 0x04;
pub(crate) const ACK: u8 = 0x10;

pub(crate) struct UdpDatagram<'a> {
    pub source: SocketAddr,
    pub destination: SocketAddr,
    pub payload: &'a [u8],
}

/// Why a frame could not be decoded.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Invalid {
    /// The frame is malformed; the text says how.
    Malformed(String),
    /// An IP fragment that cannot be part of any datagram.
    Fragment(&'static str),
}

/// A decoded frame: its transport and the frames it was built from (more
/// than one when IP fragments were reassembled).
pub(crate) struct Decoded<'a> {
    pub transport: Transport<'a>,
    /// The frames of a reassembled IP datagram; `None` for a whole frame.
    pub fragment_frames: Option<&'a [u64]>,
}

/// The IP packet inside a link-layer frame, or `None` for non-IP frames.
pub(crate) fn network_layer(link: u32, frame: &[u8]) -> Result<Option<&[u8]>, Invalid> {
    match link {
        // Ethernet
        1 => {
            let ether_type = be16(frame, 12)?;
            after_ether_type(ether_type, frame.get(14..).unwrap_or_default())
        }
        // BSD NULL (host byte order) and OpenBSD LOOP (network order): a
        // 4-byte address family, read in whichever order gives a small value.
        0 | 108 => {
            let [a, b, c, d, rest @ ..] = frame else {
                return Err(short("NULL/LOOP header"));
            };
            let le = u32::from_le_bytes([*a, *b, *c, *d]);
            let be = u32::from_be_bytes([*a, *b, *c, *d]);
            let family = le.min(be);
            // AF_INET is 2 everywhere; AF_INET6 is 10, 23, 24, 28 or 30.
            if matches!(family, 2 | 10 | 23 | 24 | 28 | 30) {
                Ok(Some(rest))
            } else {
                Ok(None)
            }
        }
        // Raw IP: LINKTYPE_RAW, LINKTYPE_IPV4/IPV6 and the two DLT_RAW values.
        12 | 14 | 101 | 228 | 229 => Ok(Some(frame)),
        // PPP and PPP in HDLC framing: optional FF 03, then the protocol.
        9 | 50 => {
            let body = match frame {
                [0xFF, 0x03, rest @ ..] => rest,
                other => other,
            };
            let protocol = be16(body, 0)?;
            match protocol {
                PPP_IPV4 | PPP_IPV6 => Ok(body.get(2..)),
                _ => Ok(None),
            }
        }
        // Cisco HDLC: address, control, then an Ethernet type.
        104 => {
            let protocol = be16(frame, 2)?;
            after_ether_type(protocol, frame.get(4..).unwrap_or_default())
        }
        // Linux cooked capture v1: protocol in bytes 14..16.
        113 => {
            let protocol = be16(frame, 14)?;
            after_ether_type(protocol, frame.get(16..).unwrap_or_default())
        }
        // Linux cooked capture v2: protocol in bytes 0..2, 20-byte header.
        276 => {
            let protocol = be16(frame, 0)?;
            if frame.len() < 20 {
                return Err(short("SLL2 header"));
            }
            after_ether_type(protocol, frame.get(20..).unwrap_or_default())
        }
        _ => Ok(None),
    }
}

/// Follows VLAN tags and PPPoE session headers down to IP.
fn after_ether_type(mut ether_type: u16, mut rest: &[u8]) -> Result<Option<&[u8]>, Invalid> {
    // Bounded: each step consumes header bytes, and tag stacks are short.
    for _ in 0..8 {
        match ether_type {
            ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => return Ok(Some(rest)),
            ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD => {
                ether_type = be16(rest, 2)?;
                rest = rest.get(4..).unwrap_or_default();
            }
            ETHERTYPE_MPLS | ETHERTYPE_MPLS_MULTICAST => {
                // Labels until the bottom-of-stack bit; then IP, told by
                // its version nibble.
                for _ in 0..16 {
                    let label = rest.get(..4).ok_or_else(|| short("MPLS label"))?;
                    let bottom = label.get(2).is_some_and(|b| b & 1 == 1);
                    rest = rest.get(4..).unwrap_or_default();
                    if bottom {
                        return Ok(match rest.first().map(|b| b >> 4) {
                            Some(4 | 6) => Some(rest),
                            _ => None,
                        });
                    }
                }
                return Ok(None);
            }
            ETHERTYPE_PPPOE_SESSION => {
                let protocol = be16(rest, 6)?;
                let payload = rest.get(8..).unwrap_or_default();
                return match protocol {
                    PPP_IPV4 | PPP_IPV6 => Ok(Some(payload)),
                    _ => Ok(None),
                };
            }
            _ => return Ok(None),
        }
    }
    Ok(None)
}

fn short(what: &str) -> Invalid {
    Invalid::Malformed(format!("frame too short for its {what}"))
}

fn be16(data: &[u8], at: usize) -> Result<u16, Invalid> {
    match data.get(at..at + 2) {
        Some(&[a, b]) => Ok(u16::from_be_bytes([a, b])),
        _ => Err(short("link-layer header")),
    }
}

fn be32(data: &[u8], at: usize) -> Option<u32> {
    match data.get(at..at + 4) {
        Some(&[a, b, c, d]) => Some(u32::from_be_bytes([a, b, c, d])),
        _ => None,
    }
}

/// Decodes IP and the transport header, reassembling IP fragments.
pub(crate) fn decode<'a>(
    ip: &'a [u8],
    defrag: &'a mut Defragmenter,
    frame: u64,
    time: Timestamp,
) -> Result<Decoded<'a>, Invalid> {
    decode_at(ip, defrag, frame, time, 0)
}

/// `depth` counts IP-in-IP tunnels (6in4, 4in4) already opened.
fn decode_at<'a>(
    ip: &'a [u8],
    defrag: &'a mut Defragmenter,
    frame: u64,
    time: Timestamp,
    depth: u8,
) -> Result<Decoded<'a>, Invalid> {
    let (slice, _ext_error) =
        LaxIpSlice::from_slice(ip).map_err(|e| Invalid::Malformed(format!("IP header: {e}")))?;
    let payload = slice.payload();
    let source = slice.source_addr();
    let destination = slice.destination_addr();
    let protocol = payload.ip_number.0;
    let truncated = payload.incomplete;
    if !payload.fragmented {
        if matches!(protocol, IP_IN_IP | IPV6_IN_IP) && depth < 2 {
            return decode_at(payload.payload, defrag, frame, time, depth + 1);
        }
        let transport = transport(protocol, source, destination, payload.payload, truncated)?;
        return Ok(Decoded {
            transport,
            fragment_frames: None,
        });
    }
    let (id, offset, more) = match &slice {
        LaxIpSlice::Ipv4(v4) => {
            let h = v4.header();
            (
                u32::from(h.identification()),
                h.fragments_offset().byte_offset(),
                h.more_fragments(),
            )
        }
        LaxIpSlice::Ipv6(v6) => {
            let mut found = None;
            for ext in v6.extensions().clone() {
                if let Ipv6ExtensionSlice::Fragment(f) = ext {
                    found = Some((
                        f.identification(),
                        f.fragment_offset().byte_offset(),
                        f.more_fragments(),
                    ));
                    break;
                }
            }
            found.ok_or(Invalid::Fragment(
                "fragmented IPv6 packet without a fragment header",
            ))?
        }
    };
    if truncated {
        return Err(Invalid::Fragment(
            "IP fragment cut short by the snap length",
        ));
    }
    let key = FragmentKey {
        source,
        destination,
        id,
        protocol,
    };
    match defrag.add(key, usize::from(offset), more, payload.payload, frame, time)? {
        None => Ok(Decoded {
            transport: Transport::Other,
            fragment_frames: None,
        }),
        Some((datagram, frames)) => {
            let transport = transport(protocol, source, destination, datagram, false)?;
            Ok(Decoded {
                transport,
                fragment_frames: Some(frames),
            })
        }
    }
}

fn transport<'a>(
    protocol: u8,
    source: IpAddr,
    destination: IpAddr,
    data: &'a [u8],
    truncated: bool,
) -> Result<Transport<'a>, Invalid> {
    match protocol {
        IP_TCP => {
            let (Some(ports), Some(seq), Some(ack)) = (be32(data, 0), be32(data, 4), be32(data, 8))
            else {
                return Err(short_transport("TCP", truncated));
            };
            let offset_byte = data.get(12).copied().unwrap_or(0);
            let flags = data
                .get(13)
                .copied()
                .ok_or_else(|| short_transport("TCP", truncated))?;
            let header_len = usize::from(offset_byte >> 4) * 4;
            if header_len < 20 {
                return Err(Invalid::Malformed(format!(
                    "TCP header length {header_len} is below 20"
                )));
            }
            let payload = data
                .get(header_len..)
                .ok_or_else(|| short_transport("TCP", truncated))?;
            Ok(Transport::Tcp(TcpSegment {
                source: SocketAddr::new(source, (ports >> 16) as u16),
                destination: SocketAddr::new(destination, ports as u16),
                seq,
                ack,
                flags,
                payload,
            }))
        }
        IP_UDP => {
            let Some(ports) = be32(data, 0) else {
                return Err(short_transport("UDP", truncated));
            };
            let length = be16(data, 4).map_or(0, usize::from);
            let body = data
                .get(8..)
                .ok_or_else(|| short_transport("UDP", truncated))?;
            // The UDP length bounds the payload (Ethernet padding follows);
            // 0 (jumbograms) or a length beyond the frame keeps what is there.
            let payload = match length.checked_sub(8) {
                Some(n) if length >= 8 && n <= body.len() => body.get(..n).unwrap_or(body),
                _ => body,
            };
            Ok(Transport::Udp(UdpDatagram {
                source: SocketAddr::new(source, (ports >> 16) as u16),
                destination: SocketAddr::new(destination, ports as u16),
                payload,
            }))
        }
        _ => Ok(Transport::Other),
    }
}

fn short_transport(what: &str, truncated: bool) -> Invalid {
    if truncated {
        Invalid::Malformed(format!("{what} header cut short by the snap length"))
    } else {
        Invalid::Malformed(format!("{what} header is incomplete"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peels_vlan_and_pppoe_down_to_ip() {
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&[0x81, 0x00, 0x00, 0x05, 0x88, 0x64]);
        frame.extend_from_slice(&[0x11, 0x00, 0x12, 0x34, 0x00, 0x10, 0x00, 0x21]);
        frame.extend_from_slice(&[0x45, 0x00]);
        assert_eq!(network_layer(1, &frame), Ok(Some(&[0x45u8, 0x00][..])));
    }

    #[test]
    fn reads_null_loopback_in_either_byte_order() {
        for header in [[2u8, 0, 0, 0], [0, 0, 0, 2], [30, 0, 0, 0], [0, 0, 0, 24]] {
            let mut frame = header.to_vec();
            frame.push(0x45);
            assert_eq!(network_layer(0, &frame), Ok(Some(&[0x45u8][..])));
        }
        assert_eq!(network_layer(0, &[7, 0, 0, 0, 1]), Ok(None));
    }

    #[test]
    fn reads_sll2_by_hand() {
        let mut frame = vec![0x86, 0xDD];
        frame.extend_from_slice(&[0u8; 18]);
        frame.push(0x60);
        assert_eq!(network_layer(276, &frame), Ok(Some(&[0x60u8][..])));
        assert!(network_layer(276, &frame[..10]).is_err());
    }
}
