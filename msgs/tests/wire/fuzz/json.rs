//! JSON inputs: valid texts mutated (characters deleted, inserted, replaced; numbers swapped for
//! huge, tiny, non-finite or wrongly typed values; arrays grown; deep nesting; splices), token soup
//! built from the messages' own keys, and random bytes (invalid UTF-8 included).

use crate::rng::Rng;

/// Values to put where a value was: out-of-range and overflowing numbers, non-finite strings (the
/// accepted spellings and near misses), bare non-JSON words, and every wrong JSON type.
const VALUES: [&str; 40] = [
    "0",
    "-0",
    "1",
    "-1",
    "255",
    "256",
    "65535",
    "65536",
    "4294967296",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775809",
    "1.5",
    "1e38",
    "3.4028235e38",
    "3.4028236e38",
    "-3.5e38",
    "1e-46",
    "1e999",
    "-1e999",
    "1e-999",
    "0.0000000000000000000000000000000000000000000000000000000001",
    "123456789012345678901234567890123456789012345678901234567890",
    "NaN",
    "Infinity",
    "\"NaN\"",
    "\"nan\"",
    "\"inf\"",
    "\"+inf\"",
    "\"-inf\"",
    "\"Infinity\"",
    "\"-Infinity\"",
    "\"1.0\"",
    "\"\"",
    "null",
    "true",
    "[]",
    "{}",
    "[0,1]",
    "{\"a\":1}",
];

/// Fragments that break or bend JSON syntax and string escapes.
const SYNTAX: [&str; 16] = [
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "\\",
    " ",
    "\n",
    "-",
    ".",
    "e",
    "\"\\u0000\"",
    "\"\\ud800\"",
    "\"\\uZZZZ\"",
];

/// Deepest nesting inserted (serde_json stops at 128; this checks it stops cleanly).
const MAX_NESTING: usize = 10_000;

/// Everything one JSON decoder's inputs are made from.
pub(crate) struct TextCorpus {
    /// Valid JSON of the decoder's own message.
    seeds: Vec<Vec<u8>>,
    /// Valid JSON of the other messages (splice material).
    others: Vec<Vec<u8>>,
    /// Quoted keys and enum names found in all the texts (so mutations speak the schema).
    words: Vec<Vec<u8>>,
}

impl TextCorpus {
    pub(crate) fn new(seeds: Vec<Vec<u8>>, others: Vec<Vec<u8>>) -> Self {
        let mut words: Vec<Vec<u8>> = seeds
            .iter()
            .chain(&others)
            .flat_map(|t| quoted(t))
            .collect();
        words.sort();
        words.dedup();
        Self {
            seeds,
            others,
            words,
        }
    }

    /// Writes the next input into `out`.
    pub(crate) fn generate(&self, rng: &mut Rng, out: &mut Vec<u8>) {
        out.clear();
        match rng.below(16) {
            0 => {
                out.resize(rng.below(super::bytes::MAX_RANDOM_LEN + 1), 0);
                rng.fill_fast(out);
            }
            1 => {
                for _ in 0..rng.below(64) {
                    let token = self.token(rng);
                    out.extend_from_slice(token);
                }
            }
            2 => {
                let open: &[u8] = if rng.one_in(2) { b"[" } else { b"{\"a\":" };
                for _ in 0..1 + rng.below(MAX_NESTING) {
                    out.extend_from_slice(open);
                }
                if rng.one_in(2) {
                    out.extend_from_slice(rng.pick(&self.seeds).as_slice());
                }
            }
            _ => {
                out.extend_from_slice(rng.pick(&self.seeds).as_slice());
                for _ in 0..1 + rng.below(4) {
                    self.mutate(rng, out);
                }
            }
        }
    }

    fn token<'a>(&'a self, rng: &mut Rng) -> &'a [u8] {
        match rng.below(3) {
            0 => rng.pick(&self.words).as_slice(),
            1 => rng.pick(&VALUES).as_bytes(),
            _ => rng.pick(&SYNTAX).as_bytes(),
        }
    }

    fn mutate(&self, rng: &mut Rng, out: &mut Vec<u8>) {
        let len = out.len();
        let at = rng.below(len + 1);
        match rng.below(11) {
            0 => {
                let n = rng.below((len - at).min(32) + 1);
                out.drain(at..at + n);
            }
            1 => {
                let token = self.token(rng).to_vec();
                out.splice(at..at, token);
            }
            2 => {
                let n = rng.below((len - at).min(16) + 1);
                let token = self.token(rng).to_vec();
                out.splice(at..at + n, token);
            }
            // The number (or word) at or after `at` becomes another value.
            3 => {
                if let Some(start) = out[at..].iter().position(|b| b"-0123456789tfn".contains(b)) {
                    let start = at + start;
                    let end = out[start..]
                        .iter()
                        .position(|b| b",]}\n ".contains(b))
                        .map_or(out.len(), |n| start + n);
                    let value = rng.pick(&VALUES).as_bytes().to_vec();
                    out.splice(start..end, value);
                }
            }
            4 => {
                let opens: [&[u8]; 3] = [b"[", b"{\"q\":", b"[{\"motor_cmd\":"];
                let open = *rng.pick(&opens);
                let depth = 1 + rng.below(MAX_NESTING);
                out.splice(at..at, open.repeat(depth));
            }
            // Grow the array that opens at or after `at` (too many motors, a huge depth image).
            5 => {
                if let Some(open) = out[at..].iter().position(|&b| b == b'[') {
                    let items: [&[u8]; 4] = [b"0,", b"{},", b"\"NaN\",", b"1e300,"];
                    let item = *rng.pick(&items);
                    let count = if rng.one_in(4) {
                        rng.below(20_000)
                    } else {
                        rng.below(40)
                    };
                    let to = at + open + 1;
                    out.splice(to..to, item.repeat(count));
                }
            }
            6 => {
                let n = rng.below((len - at).min(256) + 1);
                let chunk = out[at..at + n].to_vec();
                let to = rng.below(len + 1);
                out.splice(to..to, chunk);
            }
            7 => {
                let other = if rng.one_in(2) {
                    rng.pick(&self.seeds)
                } else {
                    rng.pick(&self.others)
                };
                let from = rng.below(other.len() + 1);
                out.truncate(at);
                out.extend_from_slice(&other[from..]);
            }
            8 => out.truncate(at),
            9 if len > 0 => {
                let at = at.min(len - 1);
                out[at] ^= 1 << rng.below(8);
            }
            _ if len > 0 => {
                let at = at.min(len - 1);
                out[at] = rng.next() as u8;
            }
            _ => out.push(rng.next() as u8),
        }
    }
}

/// Every `"..."` in a JSON text, quotes included.
fn quoted(text: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, &b) in text.iter().enumerate() {
        if b == b'"' {
            match start.take() {
                None => start = Some(i),
                Some(s) => out.push(text[s..=i].to_vec()),
            }
        }
    }
    out
}
