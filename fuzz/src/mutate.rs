//! A small mutator for the stable replay harness: bit flips, byte
//! changes, insertions, deletions, truncations, duplicated runs, splices
//! with another corpus input and "interesting" integers. Deterministic for
//! a given seed, so a run can be repeated.

/// xorshift64*: small, fast, good enough to pick mutations.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const INTERESTING: &[u32] = &[
    0,
    1,
    0x7f,
    0x80,
    0xff,
    0x100,
    0x7fff,
    0x8000,
    0xffff,
    0x1_0000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_fffe,
    0xffff_ffff,
];

/// Mutates `input` in place 1 to 8 times; `other` is another corpus input
/// for splicing. The result is at most `max_len` bytes.
pub fn mutate(input: &mut Vec<u8>, other: &[u8], rng: &mut Rng, max_len: usize) {
    let rounds = 1 + rng.below(8);
    for _ in 0..rounds {
        let len = input.len();
        match rng.below(10) {
            0 if len > 0 => {
                let i = rng.below(len);
                if let Some(b) = input.get_mut(i) {
                    *b ^= 1 << rng.below(8);
                }
            }
            1 if len > 0 => {
                let i = rng.below(len);
                if let Some(b) = input.get_mut(i) {
                    *b = rng.next() as u8;
                }
            }
            2 => {
                let i = rng.below(len + 1);
                let n = 1 + rng.below(16);
                let fill: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                input.splice(i..i, fill);
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(64));
                input.drain(i..i + n);
            }
            4 if len > 0 => input.truncate(rng.below(len)),
            5 if len > 0 => {
                // Duplicate a run (repeated headers, records, entries).
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(256));
                let run: Vec<u8> = input.get(i..i + n).unwrap_or_default().to_vec();
                let at = rng.below(len + 1);
                input.splice(at..at, run);
            }
            6 if !other.is_empty() => {
                // Splice: our head with the other's tail.
                let cut = rng.below(len + 1);
                let from = rng.below(other.len());
                input.truncate(cut);
                input.extend_from_slice(other.get(from..).unwrap_or_default());
            }
            7 if len >= 4 => {
                let value = INTERESTING
                    .get(rng.below(INTERESTING.len()))
                    .copied()
                    .unwrap_or(0);
                let bytes = if rng.below(2) == 0 {
                    value.to_le_bytes()
                } else {
                    value.to_be_bytes()
                };
                let width = [1usize, 2, 4].get(rng.below(3)).copied().unwrap_or(4);
                let i = rng.below(len - width + 1);
                let src = if rng.below(2) == 0 {
                    bytes.get(..width)
                } else {
                    bytes.get(4 - width..)
                };
                if let (Some(dst), Some(src)) = (input.get_mut(i..i + width), src) {
                    dst.copy_from_slice(src);
                }
            }
            8 if len > 1 => {
                // Swap two runs (out-of-order records).
                let a = rng.below(len);
                let b = rng.below(len);
                let n = 1 + rng.below(32);
                let (a, b) = (a.min(b), a.max(b));
                if a + n <= b && b + n <= len {
                    for k in 0..n {
                        input.swap(a + k, b + k);
                    }
                }
            }
            _ => {
                let i = rng.below(len + 1);
                let digits = rng.next().to_string();
                input.splice(i..i, digits.bytes());
            }
        }
    }
    input.truncate(max_len);
}
