//! The Huffman code of HPACK (RFC 7541 §5.2, Appendix B), decoded four bits
//! at a time.
//!
//! The code is canonical: within one code length, codes are consecutive in
//! symbol order, and each length continues where the shorter one stopped.
//! So the code lengths alone ([`CODE_LENGTHS`]) define it. From them a
//! [`Machine`] is built once per process: its states are the inner nodes of
//! the code tree (the bits read since the last complete symbol), and for
//! every state and every 4-bit nibble it knows the next state and the
//! symbol completed on the way, if any. No code is shorter than 5 bits, so a
//! nibble completes at most one symbol. Decoding a string is then two table
//! look-ups per input byte, with no allocation but the output.
//!
//! Hostile input is an error, never a panic: the EOS symbol inside a string,
//! padding longer than 7 bits, and padding that is not a prefix of EOS (all
//! ones) are refused (RFC 7541 §5.2).

use std::fmt;
use std::sync::OnceLock;

/// The code length in bits of every symbol: the 256 octets, then EOS (256).
/// RFC 7541 Appendix B, the "len" column, sixteen symbols a row.
const CODE_LENGTHS: [u8; 257] = [
    13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, // 0..
    28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, // 16..
    6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, // 32..
    5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, // 48..
    13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, // 64..
    7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, // 80..
    15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, // 96..
    6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, // 112..
    20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, // 128..
    24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, // 144..
    22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, // 160..
    21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, // 176..
    26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, // 192..
    19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, // 208..
    20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, // 224..
    26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, // 240..
    30, // 256: EOS
];

/// The end-of-string symbol, which must never appear inside a string.
const EOS: u16 = 256;

/// Why a Huffman-coded string was refused. The messages are those the
/// project has always reported (they end up in diagnostics).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HuffmanError {
    /// More than 7 bits were left after the last symbol.
    PaddingTooLarge,
    /// The bits after the last symbol are not the start of EOS.
    InvalidPadding,
    /// The string contains the EOS symbol.
    EosInString,
}

impl fmt::Display for HuffmanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HuffmanError::PaddingTooLarge => "Padding too large",
            HuffmanError::InvalidPadding => "Invalid padding",
            HuffmanError::EosInString => "EOS in string",
        })
    }
}

impl std::error::Error for HuffmanError {}

/// What one nibble does from one state.
#[derive(Clone, Copy, Debug)]
struct Step {
    next: u16,
    symbol: u8,
    outcome: Outcome,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// No symbol completed.
    Nothing,
    /// `symbol` completed.
    Emit,
    /// EOS completed (or the code table has a hole, which a test excludes).
    Refuse,
}

const REFUSE: Step = Step {
    next: 0,
    symbol: 0,
    outcome: Outcome::Refuse,
};

/// The decoding automaton (see the module documentation).
struct Machine {
    /// Indexed by `state * 16 + nibble`.
    steps: Vec<Step>,
    /// Whether the string may end in each state: its bits since the last
    /// symbol are valid padding.
    ends: Vec<Result<(), HuffmanError>>,
}

/// A child of a tree node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Child {
    Missing,
    Inner(u16),
    Leaf(u16),
}

/// An inner node of the code tree.
#[derive(Clone, Copy, Debug)]
struct Node {
    children: [Child; 2],
    /// Bits from the root.
    depth: u8,
    /// Every bit from the root is 1 (a prefix of EOS).
    all_ones: bool,
}

/// The canonical codes: `(code, length)` of every symbol.
fn canonical_codes() -> [(u32, u8); 257] {
    let mut order: Vec<u16> = (0..=EOS).collect();
    order.sort_by_key(|&symbol| (length_of(symbol), symbol));
    let mut codes = [(0u32, 0u8); 257];
    let mut code: u32 = 0;
    let mut previous: Option<u8> = None;
    for symbol in order {
        let length = length_of(symbol);
        if let Some(previous) = previous {
            code = (code + 1) << (length - previous);
        }
        previous = Some(length);
        if let Some(slot) = codes.get_mut(usize::from(symbol)) {
            *slot = (code, length);
        }
    }
    codes
}

fn length_of(symbol: u16) -> u8 {
    CODE_LENGTHS.get(usize::from(symbol)).copied().unwrap_or(0)
}

/// The inner nodes of the code tree; node 0 is the root.
fn tree() -> Vec<Node> {
    let mut nodes = vec![Node {
        children: [Child::Missing; 2],
        depth: 0,
        all_ones: true,
    }];
    for (symbol, (code, length)) in (0u16..).zip(canonical_codes()) {
        let mut at = 0usize;
        for bit_index in (0..length).rev() {
            let bit = usize::from((code >> bit_index) & 1 == 1);
            let last = bit_index == 0;
            let Some(node) = nodes.get(at).copied() else {
                break;
            };
            let child = node.children.get(bit).copied().unwrap_or(Child::Missing);
            at = match child {
                Child::Inner(next) => usize::from(next),
                _ if last => {
                    if let Some(slot) = nodes.get_mut(at).and_then(|n| n.children.get_mut(bit)) {
                        *slot = Child::Leaf(symbol);
                    }
                    break;
                }
                _ => {
                    let next = nodes.len();
                    nodes.push(Node {
                        children: [Child::Missing; 2],
                        depth: node.depth + 1,
                        all_ones: node.all_ones && bit == 1,
                    });
                    let id = u16::try_from(next).unwrap_or(u16::MAX);
                    if let Some(slot) = nodes.get_mut(at).and_then(|n| n.children.get_mut(bit)) {
                        *slot = Child::Inner(id);
                    }
                    next
                }
            };
        }
    }
    nodes
}

impl Machine {
    fn build() -> Machine {
        let nodes = tree();
        let mut steps = Vec::with_capacity(nodes.len() * 16);
        for start in 0..nodes.len() {
            for nibble in 0u8..16 {
                steps.push(walk(&nodes, start, nibble));
            }
        }
        let ends = nodes
            .iter()
            .map(|node| {
                if node.depth > 7 {
                    Err(HuffmanError::PaddingTooLarge)
                } else if !node.all_ones {
                    Err(HuffmanError::InvalidPadding)
                } else {
                    Ok(())
                }
            })
            .collect();
        Machine { steps, ends }
    }
}

/// Reads the four bits of `nibble` (high bit first) from inner node `start`.
fn walk(nodes: &[Node], start: usize, nibble: u8) -> Step {
    let mut at = start;
    let mut emitted = None;
    for bit_index in (0..4).rev() {
        let bit = usize::from((nibble >> bit_index) & 1 == 1);
        let child = nodes
            .get(at)
            .and_then(|n| n.children.get(bit))
            .copied()
            .unwrap_or(Child::Missing);
        match child {
            Child::Inner(next) => at = usize::from(next),
            Child::Leaf(symbol) => match u8::try_from(symbol) {
                Ok(octet) if emitted.is_none() => {
                    emitted = Some(octet);
                    at = 0;
                }
                _ => return REFUSE,
            },
            Child::Missing => return REFUSE,
        }
    }
    Step {
        next: u16::try_from(at).unwrap_or(u16::MAX),
        symbol: emitted.unwrap_or(0),
        outcome: if emitted.is_some() {
            Outcome::Emit
        } else {
            Outcome::Nothing
        },
    }
}

fn machine() -> &'static Machine {
    static MACHINE: OnceLock<Machine> = OnceLock::new();
    MACHINE.get_or_init(Machine::build)
}

/// Decodes the Huffman-coded `raw` string, appending the octets to `out`.
/// On error `out` may hold part of the string.
pub(crate) fn decode(raw: &[u8], out: &mut Vec<u8>) -> Result<(), HuffmanError> {
    let machine = machine();
    // Codes are at least 5 bits long: at most 8 symbols per 5 bytes.
    out.reserve(raw.len().saturating_mul(8) / 5);
    let mut state = 0usize;
    for &byte in raw {
        for nibble in [byte >> 4, byte & 0x0f] {
            let step = machine
                .steps
                .get(state * 16 + usize::from(nibble))
                .copied()
                .unwrap_or(REFUSE);
            match step.outcome {
                Outcome::Nothing => {}
                Outcome::Emit => out.push(step.symbol),
                Outcome::Refuse => return Err(HuffmanError::EosInString),
            }
            state = usize::from(step.next);
        }
    }
    machine
        .ends
        .get(state)
        .copied()
        .unwrap_or(Err(HuffmanError::PaddingTooLarge))
}

/// Huffman-codes `octets` (test helper: the project only decodes).
#[cfg(test)]
pub(crate) fn encode(octets: &[u8]) -> Vec<u8> {
    let codes = canonical_codes();
    let mut out = Vec::new();
    let mut bits: u64 = 0;
    let mut count = 0u32;
    for &octet in octets {
        let (code, length) = codes[usize::from(octet)];
        bits = (bits << length) | u64::from(code);
        count += u32::from(length);
        while count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    if count > 0 {
        // Pad with the most significant bits of EOS: ones.
        let pad = 8 - count;
        out.push(((bits << pad) | ((1 << pad) - 1)) as u8);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decoded(raw: &[u8]) -> Result<Vec<u8>, HuffmanError> {
        let mut out = Vec::new();
        decode(raw, &mut out).map(|()| out)
    }

    #[test]
    fn the_code_is_complete_and_prefix_free() {
        // Kraft: the 257 codes fill the code space exactly, so every bit
        // sequence reads as symbols, and the tree has 256 inner nodes.
        let sum: u64 = CODE_LENGTHS.iter().map(|&l| 1u64 << (30 - l)).sum();
        assert_eq!(sum, 1 << 30);
        let nodes = tree();
        assert_eq!(nodes.len(), 256);
        assert!(nodes.iter().all(|n| !n.children.contains(&Child::Missing)));
    }

    #[test]
    fn codes_match_rfc_7541_appendix_b_samples() {
        let codes = canonical_codes();
        assert_eq!(codes[usize::from(b'0')], (0x0, 5));
        assert_eq!(codes[usize::from(b' ')], (0x14, 6));
        assert_eq!(codes[usize::from(b'A')], (0x21, 6));
        assert_eq!(codes[usize::from(b':')], (0x5c, 7));
        assert_eq!(codes[usize::from(b'&')], (0xf8, 8));
        assert_eq!(codes[0], (0x1ff8, 13));
        assert_eq!(codes[255], (0x3ffffee, 26));
        assert_eq!(codes[256], (0x3fffffff, 30));
    }

    #[test]
    fn rfc_7541_c4_strings_decode() {
        // C.4.1: "www.example.com"
        let raw = [
            0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4, 0xff,
        ];
        assert_eq!(decoded(&raw).unwrap(), b"www.example.com");
        // C.4.2: "no-cache"
        let raw = [0xa8, 0xeb, 0x10, 0x64, 0x9c, 0xbf];
        assert_eq!(decoded(&raw).unwrap(), b"no-cache");
        assert_eq!(decoded(&[]).unwrap(), b"");
    }

    #[test]
    fn hostile_strings_are_refused() {
        // 30 ones: EOS itself.
        assert_eq!(
            decoded(&[0xff, 0xff, 0xff, 0xfc]),
            Err(HuffmanError::EosInString)
        );
        // A whole byte of padding.
        assert_eq!(decoded(&[0xff]), Err(HuffmanError::PaddingTooLarge));
        // '0' (00000) then padding 000 instead of 111.
        assert_eq!(decoded(&[0x00]), Err(HuffmanError::InvalidPadding));
        // '0' then correct padding.
        assert_eq!(decoded(&[0x07]).unwrap(), b"0");
        // 16 bits into a 23-bit code: too long for padding.
        assert_eq!(decoded(&[0xff, 0xfe]), Err(HuffmanError::PaddingTooLarge));
    }

    proptest! {
        #[test]
        fn every_octet_string_round_trips(octets in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(decoded(&encode(&octets)).unwrap(), octets);
        }

        /// Differential: any bytes decode (or fail) exactly as with the
        /// decoder the project used before, `loona-hpack`'s.
        #[test]
        fn same_result_as_loona_hpack(
            raw in proptest::collection::vec(prop_oneof![any::<u8>(), Just(0xff), Just(0xfe)], 0..48),
        ) {
            let theirs = loona_hpack::huffman::HuffmanDecoder::new()
                .decode(&raw)
                .map_err(|e| e.to_string());
            let ours = decoded(&raw).map_err(|e| e.to_string());
            prop_assert_eq!(ours, theirs);
        }

        #[test]
        fn encoded_strings_decode_as_with_loona_hpack(octets in proptest::collection::vec(any::<u8>(), 0..64)) {
            let raw = encode(&octets);
            let theirs = loona_hpack::huffman::HuffmanDecoder::new().decode(&raw).unwrap();
            prop_assert_eq!(theirs, octets);
        }
    }
}
