//! Depth frames from the head camera (simulated, RealSense or recorded).

use serde::{Deserialize, Serialize};

use super::{Dec, Enc, Kind};
use crate::DecodeError;

/// Largest width or height accepted, px (the D435i's widest mode is 1280).
pub const MAX_DEPTH_SIDE_PX: u16 = 2048;

/// Pinhole intrinsics of the depth image.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Intrinsics {
    /// Focal length along x, px.
    pub fx_px: f32,
    /// Focal length along y, px.
    pub fy_px: f32,
    /// Principal point x, px.
    pub cx_px: f32,
    /// Principal point y, px.
    pub cy_px: f32,
}

/// Depth values, row-major, `width * height` of them. 0 means no return.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DepthData {
    /// Metres, as `f32`.
    Metres(Vec<f32>),
    /// Millimetres, as `u16` (the RealSense's native z16 at 1 mm units).
    Millimetres(Vec<u16>),
}

impl DepthData {
    fn len(&self) -> usize {
        match self {
            Self::Metres(v) => v.len(),
            Self::Millimetres(v) => v.len(),
        }
    }
}

/// One depth image. Topic: [`crate::topics::DEPTH`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepthFrame {
    /// Frame counter of the publishing source, from 0.
    pub seq: u64,
    /// Capture time, ns, on the source's clock.
    pub stamp_ns: u64,
    /// Image width, px (1..=[`MAX_DEPTH_SIDE_PX`]).
    pub width: u16,
    /// Image height, px (1..=[`MAX_DEPTH_SIDE_PX`]).
    pub height: u16,
    /// Camera intrinsics at this resolution.
    pub intrinsics: Intrinsics,
    /// The depth values.
    pub depth: DepthData,
}

impl DepthFrame {
    const NAME: &'static str = "DepthFrame";

    /// Encodes the frame.
    ///
    /// # Errors
    /// [`DecodeError::Invalid`] if the size is out of range or the data length is not
    /// `width * height` (the same checks decoding makes, so every encoded frame decodes).
    pub fn encode(&self) -> Result<Vec<u8>, DecodeError> {
        self.check()?;
        let n = self.depth.len();
        let mut e = Enc::new(Kind::DepthFrame, 40 + 4 * n);
        e.u64(self.seq);
        e.u64(self.stamp_ns);
        e.u16(self.width);
        e.u16(self.height);
        let k = &self.intrinsics;
        for v in [k.fx_px, k.fy_px, k.cx_px, k.cy_px] {
            e.f32(v);
        }
        match &self.depth {
            DepthData::Metres(v) => {
                e.u8(0);
                let out = e.bytes_mut();
                for x in v {
                    out.extend_from_slice(&x.to_le_bytes());
                }
            }
            DepthData::Millimetres(v) => {
                e.u8(1);
                let out = e.bytes_mut();
                for x in v {
                    out.extend_from_slice(&x.to_le_bytes());
                }
            }
        }
        Ok(e.finish())
    }

    fn check(&self) -> Result<(), DecodeError> {
        let invalid = |field, reason| DecodeError::Invalid {
            message: Self::NAME,
            field,
            reason,
        };
        if !(1..=MAX_DEPTH_SIDE_PX).contains(&self.width) {
            return Err(invalid("width", "outside 1..=2048"));
        }
        if !(1..=MAX_DEPTH_SIDE_PX).contains(&self.height) {
            return Err(invalid("height", "outside 1..=2048"));
        }
        if self.depth.len() != usize::from(self.width) * usize::from(self.height) {
            return Err(invalid("depth", "length is not width * height"));
        }
        Ok(())
    }

    /// Decodes a frame.
    ///
    /// # Errors
    /// [`DecodeError`] naming the field; never panics.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut d = Dec::open(bytes, Kind::DepthFrame, Self::NAME)?;
        let seq = d.u64("seq")?;
        let stamp_ns = d.u64("stamp_ns")?;
        let width = d.u16("width")?;
        let height = d.u16("height")?;
        if !(1..=MAX_DEPTH_SIDE_PX).contains(&width) {
            return Err(d.invalid("width", "outside 1..=2048"));
        }
        if !(1..=MAX_DEPTH_SIDE_PX).contains(&height) {
            return Err(d.invalid("height", "outside 1..=2048"));
        }
        let intrinsics = Intrinsics {
            fx_px: d.f32("intrinsics")?,
            fy_px: d.f32("intrinsics")?,
            cx_px: d.f32("intrinsics")?,
            cy_px: d.f32("intrinsics")?,
        };
        let n = usize::from(width) * usize::from(height);
        let depth = match d.u8("unit")? {
            0 => DepthData::Metres(
                d.take(4 * n, "depth")?
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
            ),
            1 => DepthData::Millimetres(
                d.take(2 * n, "depth")?
                    .chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect(),
            ),
            _ => return Err(d.invalid("unit", "neither 0 (metres) nor 1 (millimetres)")),
        };
        d.finish()?;
        Ok(Self {
            seq,
            stamp_ns,
            width,
            height,
            intrinsics,
            depth,
        })
    }
}
