//! Byte layouts of the `unitree_hg` structs: XCDR1 (the wire) and the C struct (the CRC input).
//!
//! One field-writing routine per message drives a [`Writer`] in either layout. The layouts differ
//! only in how nested structs align: XCDR1 aligns each primitive to its size relative to the body
//! start and gives structs no alignment of their own, while C aligns and pads every struct to its
//! largest member (4 bytes for all `unitree_hg` structs). `begin_struct`/`end_struct` are no-ops in
//! XCDR1 and align to 4 in C.

use crate::DecodeError;

/// Which byte layout a [`Writer`] produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// XCDR1 body: primitives aligned to their size, structs unaligned.
    Cdr,
    /// C memory layout: structs aligned and padded to 4 bytes.
    C,
}

/// Little-endian writer over a fixed buffer. Padding is written as zeros.
///
/// The buffers are sized by constants checked in tests, so writes never run past the end; if they
/// did, the writer would stop writing and `overflowed` would be set rather than panic.
pub(crate) struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
    layout: Layout,
    overflowed: bool,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(buf: &'a mut [u8], layout: Layout) -> Self {
        Self {
            buf,
            pos: 0,
            layout,
            overflowed: false,
        }
    }

    /// Bytes written so far (including padding).
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// True when a write did not fit the buffer (a layout bug, caught by tests).
    pub(crate) fn overflowed(&self) -> bool {
        self.overflowed
    }

    fn put(&mut self, bytes: &[u8]) {
        match self.buf.get_mut(self.pos..self.pos + bytes.len()) {
            Some(dst) => dst.copy_from_slice(bytes),
            None => self.overflowed = true,
        }
        self.pos += bytes.len();
    }

    fn align(&mut self, to: usize) {
        while !self.pos.is_multiple_of(to) {
            self.put(&[0]);
        }
    }

    pub(crate) fn begin_struct(&mut self) {
        if self.layout == Layout::C {
            self.align(4);
        }
    }

    pub(crate) fn end_struct(&mut self) {
        if self.layout == Layout::C {
            self.align(4);
        }
    }

    pub(crate) fn u8(&mut self, v: u8) {
        self.put(&[v]);
    }

    pub(crate) fn i16(&mut self, v: i16) {
        self.align(2);
        self.put(&v.to_le_bytes());
    }

    pub(crate) fn u32(&mut self, v: u32) {
        self.align(4);
        self.put(&v.to_le_bytes());
    }

    pub(crate) fn f32(&mut self, v: f32) {
        self.u32(v.to_bits());
    }
}

/// XCDR1 little-endian body reader that checks padding bytes are zero.
pub(crate) struct Reader<'a> {
    body: &'a [u8],
    pos: usize,
    message: &'static str,
}

impl<'a> Reader<'a> {
    /// `body` is the payload after the 4-byte encapsulation header; its length was checked.
    pub(crate) fn new(body: &'a [u8], message: &'static str) -> Self {
        Self {
            body,
            pos: 0,
            message,
        }
    }

    fn take<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let out = self
            .body
            .get(self.pos..self.pos + N)
            .and_then(|s| <[u8; N]>::try_from(s).ok())
            .ok_or(DecodeError::Truncated {
                message: self.message,
                field: "body",
                offset: self.pos,
            })?;
        self.pos += N;
        Ok(out)
    }

    fn align(&mut self, to: usize) -> Result<(), DecodeError> {
        while !self.pos.is_multiple_of(to) {
            let [b] = self.take::<1>()?;
            if b != 0 {
                return Err(DecodeError::Padding {
                    message: self.message,
                    offset: self.pos - 1,
                });
            }
        }
        Ok(())
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take::<1>()?[0])
    }

    pub(crate) fn i16(&mut self) -> Result<i16, DecodeError> {
        self.align(2)?;
        Ok(i16::from_le_bytes(self.take()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        self.align(4)?;
        Ok(u32::from_le_bytes(self.take()?))
    }

    pub(crate) fn f32(&mut self) -> Result<f32, DecodeError> {
        Ok(f32::from_bits(self.u32()?))
    }

    /// Bytes consumed so far.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }
}

/// The XCDR1 little-endian encapsulation header (representation id 0x0001, options 0).
pub(crate) const XCDR1_LE_HEADER: [u8; 4] = [0x00, 0x01, 0x00, 0x00];

/// Checks total length and header; returns the body.
pub(crate) fn open_frame<'a>(
    bytes: &'a [u8],
    message: &'static str,
    body_len: usize,
) -> Result<&'a [u8], DecodeError> {
    if bytes.len() != 4 + body_len {
        return Err(DecodeError::Length {
            message,
            expected: 4 + body_len,
            got: bytes.len(),
        });
    }
    let (header, body) = bytes.split_at(4);
    if header != XCDR1_LE_HEADER {
        let mut found = [0u8; 4];
        found.copy_from_slice(header);
        return Err(DecodeError::Header { found });
    }
    Ok(body)
}
