//! Binary inputs: valid frames mutated (bit flips, edge values, special floats at float offsets,
//! corrupted headers and length fields, truncation, extension, splices), and random byte strings.

use super::seeds::Seed;
use crate::rng::Rng;

/// Byte values that sit on boundaries: zero, all ones, the sign bit, the largest positive.
const SPECIAL_U8: [u8; 6] = [0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF];

/// Word values that sit on boundaries, among them the limits the decoders check (1, 64, 65, 2048,
/// 2049) and lengths that overflow `usize` arithmetic if multiplied.
const SPECIAL_U32: [u32; 14] = [
    0,
    1,
    2,
    64,
    65,
    2048,
    2049,
    0x7FFF,
    0xFFFF,
    0x1_0000,
    0x7FFF_FFFF,
    0x8000_0000,
    0xFFFF_FFFE,
    0xFFFF_FFFF,
];

/// Floats a decoder must carry or reject without trouble: NaNs (quiet, signalling, with payload,
/// negative), infinities, signed zeros, subnormals, extremes and the decoders' range limits.
pub(crate) const SPECIAL_F32: [f32; 17] = [
    f32::NAN,
    f32::from_bits(0x7F80_0001), // signalling NaN
    f32::from_bits(0xFFFF_FFFF), // negative NaN, full payload
    f32::INFINITY,
    f32::NEG_INFINITY,
    0.0,
    -0.0,
    f32::from_bits(1), // smallest subnormal
    f32::MIN_POSITIVE,
    f32::MAX,
    f32::MIN,
    f32::EPSILON,
    1.0,
    1.000_000_1,
    -1.0,
    10.0,
    10.000_001,
];

/// Longest random byte string.
pub(crate) const MAX_RANDOM_LEN: usize = 4096;

/// Everything one decoder's inputs are made from.
pub(crate) struct ByteCorpus {
    /// Valid encodings of the decoder's own message.
    pub(crate) seeds: Vec<Seed>,
    /// Valid encodings of every other message (splice material, wrong-kind input).
    pub(crate) others: Vec<Vec<u8>>,
    /// The header a valid input starts with.
    pub(crate) header: Vec<u8>,
    /// For CRC-protected frames: rewrites the CRC field to match the content, so that mutated
    /// content (special floats, odd modes) also reaches the accepting path.
    pub(crate) fix_crc: Option<fn(&mut [u8])>,
}

impl ByteCorpus {
    /// Writes the next input into `out`.
    pub(crate) fn generate(&self, rng: &mut Rng, out: &mut Vec<u8>) {
        out.clear();
        match rng.below(16) {
            // Random bytes of a random length.
            0 => {
                let len = rng.below(MAX_RANDOM_LEN + 1);
                random_bytes(rng, len, out);
            }
            // Random bytes of exactly a valid length, some behind a valid header.
            1 | 2 => {
                let len = rng.pick(&self.seeds).bytes.len();
                random_bytes(rng, len, out);
                if rng.one_in(2) && len >= self.header.len() {
                    out[..self.header.len()].copy_from_slice(&self.header);
                }
            }
            _ => {
                let seed = rng.pick(&self.seeds);
                out.extend_from_slice(&seed.bytes);
                let stacked = 1 + rng.below(4);
                for _ in 0..stacked {
                    self.mutate(rng, seed, out);
                }
                if let Some(fix) = self.fix_crc
                    && rng.one_in(2)
                {
                    fix(out);
                }
            }
        }
    }

    fn mutate(&self, rng: &mut Rng, seed: &Seed, out: &mut Vec<u8>) {
        let len = out.len();
        match rng.below(13) {
            0 if len > 0 => {
                let at = rng.below(len);
                out[at] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let at = rng.below(len);
                out[at] = *rng.pick(&SPECIAL_U8);
            }
            2 if len >= 4 => {
                let at = rng.below(len - 3);
                out[at..at + 4].copy_from_slice(&rng.pick(&SPECIAL_U32).to_le_bytes());
            }
            3 if !seed.floats.is_empty() => {
                let at = *rng.pick(&seed.floats);
                let value = rng.pick(&SPECIAL_F32).to_le_bytes();
                if let Some(dst) = out.get_mut(at..at + 4) {
                    dst.copy_from_slice(&value);
                }
            }
            4 if !seed.fields.is_empty() => {
                let &(at, width) = rng.pick(&seed.fields);
                let value = if rng.one_in(4) {
                    rng.next() as u32
                } else {
                    *rng.pick(&SPECIAL_U32)
                };
                if let Some(dst) = out.get_mut(at..at + width) {
                    dst.copy_from_slice(&value.to_le_bytes()[..width]);
                }
            }
            // Header: one byte to an edge or random value (magic, kind, version, encapsulation).
            5 if len >= self.header.len() && !self.header.is_empty() => {
                let at = rng.below(self.header.len());
                out[at] = if rng.one_in(2) {
                    *rng.pick(&SPECIAL_U8)
                } else {
                    rng.below(8) as u8
                };
            }
            6 => out.truncate(rng.below(len + 1)),
            7 => {
                let extra = if rng.one_in(8) {
                    rng.below(MAX_RANDOM_LEN)
                } else {
                    1 + rng.below(16)
                };
                let start = out.len();
                out.resize(start + extra, 0);
                if rng.one_in(2) {
                    rng.fill_fast(&mut out[start..]);
                }
            }
            // Splice: this input's head, another valid message's tail.
            8 => {
                let other = self.other(rng);
                let keep = rng.below(len + 1);
                let from = rng.below(other.len() + 1);
                out.truncate(keep);
                out.extend_from_slice(&other[from..]);
            }
            // Another message (or a splice of one) behind this message's header.
            9 => {
                out.clear();
                out.extend_from_slice(self.other(rng));
                if out.len() >= self.header.len() {
                    out[..self.header.len()].copy_from_slice(&self.header);
                }
            }
            10 if len > 0 => {
                let at = rng.below(len);
                let n = 1 + rng.below((len - at).min(64));
                out.drain(at..at + n);
            }
            11 if len > 0 => {
                let at = rng.below(len);
                let n = 1 + rng.below((len - at).min(64));
                let chunk = out[at..at + n].to_vec();
                let to = rng.below(len + 1);
                out.splice(to..to, chunk);
            }
            _ if len > 0 => {
                let at = rng.below(len);
                out[at] = rng.next() as u8;
            }
            _ => out.push(rng.next() as u8),
        }
    }

    fn other<'a>(&'a self, rng: &mut Rng) -> &'a [u8] {
        if self.others.is_empty() || rng.one_in(2) {
            &rng.pick(&self.seeds).bytes
        } else {
            rng.pick(&self.others).as_slice()
        }
    }
}

fn random_bytes(rng: &mut Rng, len: usize, out: &mut Vec<u8>) {
    out.resize(len, 0);
    rng.fill_fast(out);
}
