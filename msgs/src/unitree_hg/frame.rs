//! What LowCmd and LowState share: CRC over the C layout, encoding with a fresh CRC, and
//! decoding with length, header, padding and CRC checks.

use crate::cdr::{Layout, Reader, Writer, XCDR1_LE_HEADER, open_frame};
use crate::{DecodeError, crc};

/// Largest C layout of any frame (`LowState_`): the stack buffer for the CRC input.
const MAX_C_LEN: usize = 2092;

/// A fixed-size `unitree_hg` message with a trailing CRC.
pub(crate) trait Frame: Sized {
    /// Message name used in errors.
    const NAME: &'static str;
    /// Bytes of the XCDR1 body.
    const BODY_LEN: usize;
    /// Bytes of the C struct.
    const C_LEN: usize;
    /// `u32` words covered by the CRC.
    const CRC_WORDS: usize;

    /// Writes every field in declaration order, `crc` last.
    fn write_fields(&self, w: &mut Writer<'_>, crc: u32);
    /// Reads every field in declaration order, the CRC field included.
    fn read_fields(r: &mut Reader<'_>) -> Result<Self, DecodeError>;
    /// The CRC field.
    fn crc_field(&self) -> u32;
}

/// Unitree's CRC of `frame` over its C layout.
pub(crate) fn compute_crc<F: Frame>(frame: &F) -> u32 {
    let mut buf = [0u8; MAX_C_LEN];
    let c = &mut buf[..F::C_LEN.min(MAX_C_LEN)];
    let mut w = Writer::new(c, Layout::C);
    frame.write_fields(&mut w, 0);
    debug_assert!(!w.overflowed() && w.position() == F::C_LEN);
    crc::crc32_words(c, F::CRC_WORDS)
}

/// Header, body and fresh CRC into `out` (`4 + BODY_LEN` bytes); returns the CRC.
pub(crate) fn encode_into<F: Frame>(frame: &F, out: &mut [u8]) -> u32 {
    let crc = compute_crc(frame);
    let (header, body) = out.split_at_mut(4);
    header.copy_from_slice(&XCDR1_LE_HEADER);
    let mut w = Writer::new(body, Layout::Cdr);
    frame.write_fields(&mut w, crc);
    debug_assert!(!w.overflowed() && w.position() == F::BODY_LEN);
    crc
}

/// Decodes and checks length, header, padding and CRC.
pub(crate) fn decode<F: Frame>(bytes: &[u8]) -> Result<F, DecodeError> {
    let body = open_frame(bytes, F::NAME, F::BODY_LEN)?;
    let mut r = Reader::new(body, F::NAME);
    let frame = F::read_fields(&mut r)?;
    debug_assert_eq!(r.position(), F::BODY_LEN);
    let computed = compute_crc(&frame);
    if computed != frame.crc_field() {
        return Err(DecodeError::Crc {
            message: F::NAME,
            received: frame.crc_field(),
            computed,
        });
    }
    Ok(frame)
}

/// The public codec methods, identical for both frames.
macro_rules! frame_methods {
    ($ty:ty) => {
        impl $ty {
            /// Bytes of the XCDR1 body.
            pub const BODY_LEN: usize = <Self as Frame>::BODY_LEN;
            /// Bytes on the wire: encapsulation header plus body.
            pub const WIRE_LEN: usize = 4 + Self::BODY_LEN;
            /// Bytes of the C struct the CRC is computed over.
            pub const C_LEN: usize = <Self as Frame>::C_LEN;
            /// `u32` words covered by the CRC (all but the CRC itself).
            pub const CRC_WORDS: usize = <Self as Frame>::CRC_WORDS;

            /// Unitree's CRC of this message (over the C layout; the `crc` field is not an input).
            #[must_use]
            pub fn compute_crc(&self) -> u32 {
                frame::compute_crc(self)
            }

            /// Writes the wire bytes (header, body, fresh CRC) into `out` without allocating,
            /// and returns the CRC written.
            pub fn encode_into(&self, out: &mut [u8; Self::WIRE_LEN]) -> u32 {
                frame::encode_into(self, out)
            }

            /// The wire bytes (header, body, fresh CRC).
            #[must_use]
            pub fn encode(&self) -> Vec<u8> {
                let mut out = vec![0u8; Self::WIRE_LEN];
                frame::encode_into(self, &mut out);
                out
            }

            /// Sets `crc` to this message's CRC and returns `self`.
            #[must_use]
            pub fn with_crc(mut self) -> Self {
                self.crc = self.compute_crc();
                self
            }

            /// Decodes wire bytes, checking length, header, padding and CRC.
            ///
            /// # Errors
            /// [`DecodeError`](crate::DecodeError) naming what failed; never panics.
            pub fn decode(bytes: &[u8]) -> Result<Self, crate::DecodeError> {
                frame::decode(bytes)
            }
        }
    };
}
pub(crate) use frame_methods;
