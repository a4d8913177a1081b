//! vigor's own messages and their compact binary encoding.
//!
//! Every message starts with a 4-byte header: magic `b"VG"`, a kind tag ([`Kind`]) and the schema
//! version ([`SCHEMA_VERSION`]). Fields follow in declaration order, little-endian, unpadded;
//! strings and arrays are a `u32` length then the items. Decoding checks header, lengths, enum codes
//! and UTF-8, rejects trailing bytes, and never panics.

mod controller;
mod depth;
mod policy;
mod sim_robot;
mod train;

pub use controller::{
    Command, ControllerCommand, ControllerState, ControllerStatus, FaultCounters, TransitionReason,
};
pub use depth::{DepthData, DepthFrame, Intrinsics, MAX_DEPTH_SIDE_PX};
pub use policy::{ActingPolicy, MAX_LATENT, PolicyTrace};
pub use sim_robot::{MAX_NAME_LEN, SimRequest, SimRequestKind};
pub use train::{
    Assignment, EpisodeRef, MAX_CHUNK_ENVS, MAX_TENSORS, MAX_TRAIN_FLOATS, MAX_TRAIN_JSON,
    MAX_TRAIN_NAME_LEN, MAX_VALUE_HEADS, NamedTensor, TrainChunk, TrainWeights, TrainWork,
};

use crate::DecodeError;

/// Schema version of every message in this module; bump it when a layout changes.
/// Version 2: `ControllerStatus` carries 13 fault counters (was 7); new transition reasons and
/// the `Heartbeat` command.
pub const SCHEMA_VERSION: u8 = 2;

/// Magic bytes that open every vigor message.
pub const MAGIC: [u8; 2] = *b"VG";

/// Kind tag, the third header byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// [`DepthFrame`].
    DepthFrame = 1,
    /// [`ControllerStatus`].
    ControllerStatus = 2,
    /// [`ControllerCommand`].
    ControllerCommand = 3,
    /// [`SimRequest`].
    SimRequest = 4,
    /// [`PolicyTrace`].
    PolicyTrace = 5,
    /// [`TrainWork`].
    TrainWork = 6,
    /// [`TrainWeights`].
    TrainWeights = 7,
    /// [`TrainChunk`].
    TrainChunk = 8,
}

/// Little-endian encoder into a growable buffer.
pub(crate) struct Enc {
    buf: Vec<u8>,
}

impl Enc {
    pub(crate) fn new(kind: Kind, capacity: usize) -> Self {
        let mut buf = Vec::with_capacity(4 + capacity);
        buf.extend_from_slice(&MAGIC);
        buf.push(kind as u8);
        buf.push(SCHEMA_VERSION);
        Self { buf }
    }
    pub(crate) fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    pub(crate) fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn f32(&mut self, v: f32) {
        self.u32(v.to_bits());
    }
    pub(crate) fn str(&mut self, s: &str) {
        self.u32(u32::try_from(s.len()).unwrap_or(u32::MAX));
        self.buf.extend_from_slice(s.as_bytes());
    }
    pub(crate) fn bytes_mut(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }
    pub(crate) fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Little-endian decoder over a payload; every read is bounds-checked.
pub(crate) struct Dec<'a> {
    bytes: &'a [u8],
    pos: usize,
    message: &'static str,
}

impl<'a> Dec<'a> {
    /// Checks the header for `kind` and positions after it.
    pub(crate) fn open(
        bytes: &'a [u8],
        kind: Kind,
        message: &'static str,
    ) -> Result<Self, DecodeError> {
        let header = bytes.get(..4).ok_or(DecodeError::Length {
            message,
            expected: 4,
            got: bytes.len(),
        })?;
        if header[..2] != MAGIC || header[2] != kind as u8 {
            return Err(DecodeError::Kind {
                message,
                found: [header[0], header[1], header[2]],
            });
        }
        if header[3] != SCHEMA_VERSION {
            return Err(DecodeError::Schema {
                message,
                found: header[3],
                supported: SCHEMA_VERSION,
            });
        }
        Ok(Self {
            bytes,
            pos: 4,
            message,
        })
    }

    pub(crate) fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n);
        let out = end
            .and_then(|e| self.bytes.get(self.pos..e))
            .ok_or(DecodeError::Truncated {
                message: self.message,
                field,
                offset: self.pos,
            })?;
        self.pos += n;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let s = self.take(N, field)?;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(field)?[0])
    }
    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array(field)?))
    }
    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }
    pub(crate) fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array(field)?))
    }
    pub(crate) fn f32(&mut self, field: &'static str) -> Result<f32, DecodeError> {
        Ok(f32::from_bits(self.u32(field)?))
    }
    pub(crate) fn bool(&mut self, field: &'static str) -> Result<bool, DecodeError> {
        match self.u8(field)? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(self.invalid(field, "boolean is neither 0 nor 1")),
        }
    }
    /// A length-prefixed UTF-8 string of at most `max` bytes.
    pub(crate) fn str(&mut self, field: &'static str, max: usize) -> Result<String, DecodeError> {
        let len = self.u32(field)? as usize;
        if len > max {
            return Err(self.invalid(field, "string longer than allowed"));
        }
        let raw = self.take(len, field)?;
        String::from_utf8(raw.to_vec()).map_err(|_| self.invalid(field, "not UTF-8"))
    }
    pub(crate) fn invalid(&self, field: &'static str, reason: &'static str) -> DecodeError {
        DecodeError::Invalid {
            message: self.message,
            field,
            reason,
        }
    }
    /// Bytes not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }
    /// Checks nothing is left.
    pub(crate) fn finish(self) -> Result<(), DecodeError> {
        match self.bytes.len() - self.pos {
            0 => Ok(()),
            extra => Err(DecodeError::TrailingBytes {
                message: self.message,
                extra,
            }),
        }
    }
}
