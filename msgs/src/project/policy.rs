//! What the controller's policy did on a tick, for recordings and for the operator: which policy
//! acted, the student's inferred latent z_hat and its reference track, and the depth age.

use serde::{Deserialize, Serialize};

use super::{Dec, Enc, Kind};
use crate::DecodeError;

/// Longest latent a trace carries (VIGOR's is 32).
pub const MAX_LATENT: usize = 256;

/// Which policy acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActingPolicy {
    /// The controller's policy (the depth student on the robot).
    Primary,
    /// The blind fallback, while depth frames are stale.
    Fallback,
}

/// One policy tick. Topic: [`crate::topics::CONTROLLER_POLICY`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyTrace {
    /// Tick counter of the policy thread, from 0.
    pub seq: u64,
    /// Time of the tick, ns, controller clock.
    pub stamp_ns: u64,
    /// Whether the controller was Active (the targets drove the robot).
    pub engaged: bool,
    /// Seconds since engagement (0 when not engaged).
    pub engaged_s: f32,
    /// Which policy acted.
    pub acting: ActingPolicy,
    /// The student's reference track, picked at engagement (`None` for a policy without one).
    pub track: Option<u8>,
    /// Age of the newest good depth frame, ms (`None` before the first).
    pub depth_age_ms: Option<f32>,
    /// The inferred goal-in-context latent z_hat (empty for a policy without one).
    pub latent: Vec<f32>,
}

impl PolicyTrace {
    const NAME: &'static str = "PolicyTrace";

    /// Encodes the trace.
    ///
    /// # Errors
    /// [`DecodeError::Invalid`] if the latent is longer than [`MAX_LATENT`] (the same check
    /// decoding makes, so every encoded trace decodes).
    pub fn encode(&self) -> Result<Vec<u8>, DecodeError> {
        if self.latent.len() > MAX_LATENT {
            return Err(DecodeError::Invalid {
                message: Self::NAME,
                field: "latent",
                reason: "longer than 256 values",
            });
        }
        let mut e = Enc::new(Kind::PolicyTrace, 32 + 4 * self.latent.len());
        e.u64(self.seq);
        e.u64(self.stamp_ns);
        e.u8(u8::from(self.engaged));
        e.f32(self.engaged_s);
        e.u8(match self.acting {
            ActingPolicy::Primary => 0,
            ActingPolicy::Fallback => 1,
        });
        match self.track {
            Some(t) => {
                e.u8(1);
                e.u8(t);
            }
            None => {
                e.u8(0);
                e.u8(0);
            }
        }
        match self.depth_age_ms {
            Some(a) => {
                e.u8(1);
                e.f32(a);
            }
            None => {
                e.u8(0);
                e.f32(0.0);
            }
        }
        e.u16(self.latent.len() as u16);
        for v in &self.latent {
            e.f32(*v);
        }
        Ok(e.finish())
    }

    /// Decodes a trace.
    ///
    /// # Errors
    /// [`DecodeError`] naming the field; never panics.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut d = Dec::open(bytes, Kind::PolicyTrace, Self::NAME)?;
        let seq = d.u64("seq")?;
        let stamp_ns = d.u64("stamp_ns")?;
        let engaged = d.bool("engaged")?;
        let engaged_s = d.f32("engaged_s")?;
        let acting = match d.u8("acting")? {
            0 => ActingPolicy::Primary,
            1 => ActingPolicy::Fallback,
            _ => return Err(d.invalid("acting", "neither 0 (primary) nor 1 (fallback)")),
        };
        let has_track = d.bool("track")?;
        let track = d.u8("track")?;
        let has_age = d.bool("depth_age_ms")?;
        let age = d.f32("depth_age_ms")?;
        // An absent value is written as zero, so every decoded trace re-encodes to its bytes.
        if !has_track && track != 0 {
            return Err(d.invalid("track", "absent but not zero"));
        }
        if !has_age && age.to_bits() != 0 {
            return Err(d.invalid("depth_age_ms", "absent but not zero"));
        }
        let n = usize::from(d.u16("latent")?);
        if n > MAX_LATENT {
            return Err(d.invalid("latent", "longer than 256 values"));
        }
        let latent = d
            .take(4 * n, "latent")?
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        d.finish()?;
        Ok(Self {
            seq,
            stamp_ns,
            engaged,
            engaged_s,
            acting,
            track: has_track.then_some(track),
            depth_age_ms: has_age.then_some(age),
            latent,
        })
    }
}
