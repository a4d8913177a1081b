//! Unitree's CRC-32, as the robot checks `LowCmd` and the SDK checks `LowState`.
//!
//! Computed over the C struct memory layout (not the CDR bytes), taken as little-endian `u32` words:
//! `crc = 0xFFFFFFFF`, polynomial `0x04C11DB7`, for each word and each bit from 31 down to 0: shift
//! the CRC left, xor the polynomial if the bit shifted out was set, and xor it again if the data bit
//! is set. No reflection, no final xor. This equals CRC-32/MPEG-2 over each word's bytes in
//! big-endian order (checked in the tests against an independent table implementation).

/// CRC-32 polynomial used by Unitree (the IEEE 802.3 polynomial, unreflected).
pub const POLY: u32 = 0x04C1_1DB7;

/// CRC-32/MPEG-2 lookup table: entry `b` is the CRC register after shifting byte `b` through.
const TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = (i as u32) << 24;
        let mut bit = 0;
        while bit < 8 {
            c = if c & 0x8000_0000 != 0 {
                (c << 1) ^ POLY
            } else {
                c << 1
            };
            bit += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// Unitree's CRC over `words` little-endian `u32` words taken from the start of `bytes`.
///
/// Table-driven (a byte at a time, each word's bytes fed most significant first), which equals
/// Unitree's bit loop ([`crc32_words_bitwise`]) and runs about ten times faster.
/// Words past the end of `bytes` are not read; callers pass buffers of at least `4 * words` bytes.
#[must_use]
pub fn crc32_words(bytes: &[u8], words: usize) -> u32 {
    let mut crc: u32 = 0xFFFF_FFFF;
    for chunk in bytes.chunks_exact(4).take(words) {
        for &b in chunk.iter().rev() {
            crc = (crc << 8) ^ TABLE[usize::from((crc >> 24) as u8 ^ b)];
        }
    }
    crc
}

/// Unitree's CRC exactly as its SDK computes it, a bit at a time (the reference for
/// [`crc32_words`]).
#[must_use]
pub fn crc32_words_bitwise(bytes: &[u8], words: usize) -> u32 {
    let mut crc: u32 = 0xFFFF_FFFF;
    for chunk in bytes.chunks_exact(4).take(words) {
        let word = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        for bit in (0..32).rev() {
            let top = crc & 0x8000_0000;
            crc <<= 1;
            if top != 0 {
                crc ^= POLY;
            }
            if (word >> bit) & 1 != 0 {
                crc ^= POLY;
            }
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CRC-32/MPEG-2 (poly 0x04C11DB7, init 0xFFFFFFFF, no reflection, no xorout), byte-wise with a
    /// table: an independent formulation to check the bit loop against.
    fn crc32_mpeg2(data: &[u8]) -> u32 {
        let mut table = [0u32; 256];
        for (i, entry) in table.iter_mut().enumerate() {
            let mut c = (i as u32) << 24;
            for _ in 0..8 {
                c = if c & 0x8000_0000 != 0 {
                    (c << 1) ^ POLY
                } else {
                    c << 1
                };
            }
            *entry = c;
        }
        let mut crc = 0xFFFF_FFFFu32;
        for &b in data {
            crc = (crc << 8) ^ table[(((crc >> 24) as u8) ^ b) as usize];
        }
        crc
    }

    #[test]
    fn mpeg2_check_value() {
        // The catalogued check value of CRC-32/MPEG-2 for "123456789".
        assert_eq!(crc32_mpeg2(b"123456789"), 0x0376_E6E7);
    }

    #[test]
    fn bit_loop_table_and_mpeg2_agree() {
        let mut state = 0x1234_5678u32;
        for len_words in [0usize, 1, 2, 7, 250, 522] {
            let mut bytes = Vec::with_capacity(len_words * 4);
            for _ in 0..len_words * 4 {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                bytes.push((state >> 24) as u8);
            }
            let swapped: Vec<u8> = bytes
                .chunks_exact(4)
                .flat_map(|c| [c[3], c[2], c[1], c[0]])
                .collect();
            let reference = crc32_words_bitwise(&bytes, len_words);
            assert_eq!(reference, crc32_mpeg2(&swapped), "{len_words} words");
            assert_eq!(
                crc32_words(&bytes, len_words),
                reference,
                "{len_words} words"
            );
        }
    }
}
