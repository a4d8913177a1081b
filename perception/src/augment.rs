//! Depth domain randomisation for training: the ways a real D435i image differs from a rendered
//! one, applied to the raw metric image (metres, 0 = no return) before
//! [`crate::preprocess`], from a seeded stream.
//!
//! Per frame, in this order ([`DepthAugmenter::apply`]):
//!
//! 1. Frame drop: with `frame_drop_prob` the frame is lost; the image is left untouched and
//!    `apply` returns `false`, and the caller repeats the previous frame (a late or missing
//!    camera frame).
//! 2. Nonlinear remap: one `k` uniform in `[-remap_strength, remap_strength]` per frame, and
//!    `d' = d (1 + k r^2)` with `r = min(d / far_max_m, 1)`: a depth-scale error growing with the
//!    square of depth, like stereo depth error. With `remap_strength <= 0.3` it is monotonic.
//! 3. Multiplicative Gaussian noise: `d' = d (1 + noise_std n)`, `n ~ N(0, 1)` per pixel.
//! 4. Range clip: one far clip uniform in `[far_min_m, far_max_m]` per frame; farther pixels
//!    read no return.
//! 5. Pixel dropout: each pixel reads no return with `pixel_dropout_prob` (with frame drops,
//!    spatio-temporal dropout).
//! 6. Synthetic occlusion: with `occlusion_prob`, one rectangle with sides uniform in
//!    `1 ..= max(1, occlusion_max_frac * side)` px at a uniform position is set to no return
//!    (with `occlusion_no_return_prob`) or to one depth uniform in
//!    `[occlusion_min_m, occlusion_max_m]` (something close in front of the lens).
//!
//! Camera pose jitter ([`DepthAugmenter::pose_jitter`]) is drawn from its own stream, for the
//! caller to apply when rendering.
//!
//! Invariants: a disabled config is the identity and draws nothing; no value becomes negative or
//! non-finite (a pixel that would is no return); the same seed and calls give the same output.

use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};
use vigor_common::seed::{SplitMix64, derive};
#[cfg(feature = "sim")]
use vigor_sim::sensors::LinkPose;

use crate::NO_RETURN;

use crate::error::{PerceptionError, check_image, check_range};

/// Allowed far clips (`far_min_m`, `far_max_m`), m.
pub const FAR_M: RangeInclusive<f32> = 0.1..=20.0;
/// Allowed `remap_strength` (keeps the remap monotonic and positive).
pub const REMAP_STRENGTH: RangeInclusive<f32> = 0.0..=0.3;
/// Allowed `noise_std`.
pub const NOISE_STD: RangeInclusive<f32> = 0.0..=0.2;
/// Allowed `pixel_dropout_prob` and `frame_drop_prob`.
pub const DROP_PROB: RangeInclusive<f32> = 0.0..=0.5;
/// Allowed occluder depths (`occlusion_min_m`, `occlusion_max_m`), m.
pub const OCCLUSION_M: RangeInclusive<f32> = 0.0..=2.0;
/// Allowed `pose_pos_m`, m.
pub const POSE_POS_M: RangeInclusive<f32> = 0.0..=0.1;
/// Allowed `pose_rot_rad`, rad.
pub const POSE_ROT_RAD: RangeInclusive<f32> = 0.0..=0.2;

/// Depth augmentation settings (training only; the deployed policy sees real frames).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepthAugmentConfig {
    /// Whether any augmentation runs; `false` makes [`DepthAugmenter::apply`] the identity and
    /// the pose jitter zero. Default true.
    pub enabled: bool,
    /// Lowest far clip, m. Range 0.1..=20, at most `far_max_m`; default 2.0.
    pub far_min_m: f32,
    /// Highest far clip, m, and the reference depth of the remap. Range 0.1..=20; default 3.0
    /// (the simulated camera's far clip, so some frames are not clipped further).
    pub far_max_m: f32,
    /// Largest `|k|` of the nonlinear remap. Range 0..=0.3; default 0.05 (5 % scale error at
    /// `far_max_m`).
    pub remap_strength: f32,
    /// Standard deviation of the multiplicative noise. Range 0..=0.2; default 0.02 (Intel quotes
    /// under 2 % RMS error at 2 m for the D435i).
    pub noise_std: f32,
    /// Probability that a pixel reads no return. Range 0..=0.5; default 0.02.
    pub pixel_dropout_prob: f32,
    /// Probability that a whole frame is dropped (the caller repeats the previous one). Range
    /// 0..=0.5; default 0.02.
    pub frame_drop_prob: f32,
    /// Probability of one occluding rectangle per frame. Range 0..=1; default 0.1.
    pub occlusion_prob: f32,
    /// Largest rectangle side as a fraction of the image side. Range 0..=1; default 0.3.
    pub occlusion_max_frac: f32,
    /// Probability that the rectangle reads no return rather than a near depth. Range 0..=1;
    /// default 0.5.
    pub occlusion_no_return_prob: f32,
    /// Nearest occluder depth, m. Range 0..=2, at most `occlusion_max_m`; default 0.15.
    pub occlusion_min_m: f32,
    /// Farthest occluder depth, m. Range 0..=2; default 0.5.
    pub occlusion_max_m: f32,
    /// Largest camera position offset per axis, m. Range 0..=0.1; default 0.01.
    pub pose_pos_m: f32,
    /// Largest camera rotation about each axis, rad. Range 0..=0.2; default 0.035 (2°).
    pub pose_rot_rad: f32,
}

impl Default for DepthAugmentConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            far_min_m: 2.0,
            far_max_m: 3.0,
            remap_strength: 0.05,
            noise_std: 0.02,
            pixel_dropout_prob: 0.02,
            frame_drop_prob: 0.02,
            occlusion_prob: 0.1,
            occlusion_max_frac: 0.3,
            occlusion_no_return_prob: 0.5,
            occlusion_min_m: 0.15,
            occlusion_max_m: 0.5,
            pose_pos_m: 0.01,
            pose_rot_rad: 0.035,
        }
    }
}

fn ordered(key: &'static str, lo: f32, hi: f32, lo_key: &str) -> Result<(), PerceptionError> {
    if hi >= lo {
        Ok(())
    } else {
        Err(PerceptionError::OutOfRange {
            key,
            value: hi.to_string(),
            allowed: format!("at least {lo_key} = {lo}"),
        })
    }
}

impl DepthAugmentConfig {
    /// Everything off: [`DepthAugmenter::apply`] is the identity.
    #[must_use]
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }

    /// Checks every field against its range (also when disabled, so a config file stays valid
    /// when switched on).
    ///
    /// # Errors
    /// [`PerceptionError::OutOfRange`] naming the first bad field and its allowed range.
    pub fn validate(&self) -> Result<(), PerceptionError> {
        let check = |key, value, range: &RangeInclusive<f32>| {
            check_range(key, value, *range.start(), *range.end())
        };
        check("far_min_m", self.far_min_m, &FAR_M)?;
        check("far_max_m", self.far_max_m, &FAR_M)?;
        ordered("far_max_m", self.far_min_m, self.far_max_m, "far_min_m")?;
        check("remap_strength", self.remap_strength, &REMAP_STRENGTH)?;
        check("noise_std", self.noise_std, &NOISE_STD)?;
        check("pixel_dropout_prob", self.pixel_dropout_prob, &DROP_PROB)?;
        check("frame_drop_prob", self.frame_drop_prob, &DROP_PROB)?;
        check("occlusion_prob", self.occlusion_prob, &(0.0..=1.0))?;
        check("occlusion_max_frac", self.occlusion_max_frac, &(0.0..=1.0))?;
        check(
            "occlusion_no_return_prob",
            self.occlusion_no_return_prob,
            &(0.0..=1.0),
        )?;
        check("occlusion_min_m", self.occlusion_min_m, &OCCLUSION_M)?;
        check("occlusion_max_m", self.occlusion_max_m, &OCCLUSION_M)?;
        let (lo, hi) = (self.occlusion_min_m, self.occlusion_max_m);
        ordered("occlusion_max_m", lo, hi, "occlusion_min_m")?;
        check("pose_pos_m", self.pose_pos_m, &POSE_POS_M)?;
        check("pose_rot_rad", self.pose_rot_rad, &POSE_ROT_RAD)
    }
}

/// A camera pose perturbation, in the camera frame (x forward, y left, z up).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PoseJitter {
    /// Position offset, m.
    pub offset_m: [f32; 3],
    /// Roll (about x), pitch (about y), yaw (about z), rad: rotation `Rz(yaw) Ry(pitch) Rx(roll)`.
    pub rpy_rad: [f32; 3],
}

impl PoseJitter {
    /// The rotation as a unit quaternion `(w, x, y, z)`.
    #[must_use]
    pub fn quat_wxyz(&self) -> [f32; 4] {
        let [r, p, y] = self.rpy_rad.map(|a| 0.5 * a);
        let (sr, cr, sp, cp, sy, cy) = (r.sin(), r.cos(), p.sin(), p.cos(), y.sin(), y.cos());
        [
            cr * cp * cy + sr * sp * sy,
            sr * cp * cy - cr * sp * sy,
            cr * sp * cy + sr * cp * sy,
            cr * cp * sy - sr * sp * cy,
        ]
    }

    /// The jitter as a transform in the camera frame.
    #[cfg(feature = "sim")]
    #[must_use]
    pub fn as_pose(&self) -> LinkPose {
        LinkPose {
            pos: self.offset_m,
            quat_wxyz: self.quat_wxyz(),
        }
    }

    /// `camera` (the camera's world pose) moved by this jitter in its own frame.
    #[cfg(feature = "sim")]
    #[must_use]
    pub fn apply(&self, camera: &LinkPose) -> LinkPose {
        camera.compose(&self.as_pose())
    }
}

/// Seeded depth augmentation; see the module docs for what one frame goes through.
#[derive(Debug, Clone)]
pub struct DepthAugmenter {
    config: DepthAugmentConfig,
    rng: SplitMix64,
    pose_rng: SplitMix64,
}

impl DepthAugmenter {
    /// An augmenter whose image and pose streams derive from `seed` (labels `"depth_augment"` and
    /// `"depth_pose_jitter"`), so pose draws never shift the image draws.
    ///
    /// # Errors
    /// [`PerceptionError::OutOfRange`] from [`DepthAugmentConfig::validate`].
    pub fn new(config: DepthAugmentConfig, seed: u64) -> Result<Self, PerceptionError> {
        config.validate()?;
        Ok(Self {
            config,
            rng: SplitMix64::new(derive(seed, "depth_augment", 0)),
            pose_rng: SplitMix64::new(derive(seed, "depth_pose_jitter", 0)),
        })
    }

    /// The settings.
    #[must_use]
    pub fn config(&self) -> &DepthAugmentConfig {
        &self.config
    }

    /// Augments one raw image in place (`width x height`, row-major, metres, 0 = no return).
    /// Returns `false` when the frame is dropped: the image is then untouched and the caller
    /// should repeat its previous frame.
    ///
    /// # Errors
    /// [`PerceptionError::ImageSize`] when `depth_m` does not hold `width * height` values.
    pub fn apply(
        &mut self,
        width: usize,
        height: usize,
        depth_m: &mut [f32],
    ) -> Result<bool, PerceptionError> {
        check_image(width, height, depth_m.len())?;
        let c = &self.config;
        if !c.enabled {
            return Ok(true);
        }
        let rng = &mut self.rng;
        if rng.next_f32() < c.frame_drop_prob {
            return Ok(false);
        }
        let k = rng.uniform(-c.remap_strength, c.remap_strength);
        let far = rng.uniform(c.far_min_m, c.far_max_m);
        for d in depth_m.iter_mut() {
            if !(d.is_finite() && *d > 0.0) {
                *d = NO_RETURN;
                continue;
            }
            let r = (*d / c.far_max_m).min(1.0);
            let mut v = *d * (1.0 + k * r * r);
            if c.noise_std > 0.0 {
                v *= 1.0 + c.noise_std * gaussian(rng);
            }
            let dropped = c.pixel_dropout_prob > 0.0 && rng.next_f32() < c.pixel_dropout_prob;
            *d = if dropped || !(v > 0.0 && v <= far) {
                NO_RETURN
            } else {
                v
            };
        }
        if rng.next_f32() < c.occlusion_prob {
            let side = |n: usize, rng: &mut SplitMix64| {
                let max = ((c.occlusion_max_frac * n as f32) as usize).clamp(1, n);
                1 + (rng.next_u64() % max as u64) as usize
            };
            let (w, h) = (side(width, rng), side(height, rng));
            let col0 = (rng.next_u64() % (width - w + 1) as u64) as usize;
            let row0 = (rng.next_u64() % (height - h + 1) as u64) as usize;
            let value = if rng.next_f32() < c.occlusion_no_return_prob {
                NO_RETURN
            } else {
                rng.uniform(c.occlusion_min_m, c.occlusion_max_m)
            };
            for row in depth_m.chunks_exact_mut(width).skip(row0).take(h) {
                row[col0..col0 + w].fill(value);
            }
        }
        Ok(true)
    }

    /// A camera pose jitter, each offset uniform in `[-pose_pos_m, pose_pos_m]` and each angle in
    /// `[-pose_rot_rad, pose_rot_rad]`; zero when disabled.
    pub fn pose_jitter(&mut self) -> PoseJitter {
        let c = &self.config;
        if !c.enabled {
            return PoseJitter::default();
        }
        let rng = &mut self.pose_rng;
        let mut draw = |max: f32| rng.uniform(-max, max);
        PoseJitter {
            offset_m: [draw(c.pose_pos_m), draw(c.pose_pos_m), draw(c.pose_pos_m)],
            rpy_rad: [
                draw(c.pose_rot_rad),
                draw(c.pose_rot_rad),
                draw(c.pose_rot_rad),
            ],
        }
    }
}

/// A standard normal draw (Box-Muller from two uniforms, the first in `(0, 1]`).
fn gaussian(rng: &mut SplitMix64) -> f32 {
    let u1 = 1.0 - rng.next_f32();
    let u2 = rng.next_f32();
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

#[cfg(test)]
#[path = "augment_tests.rs"]
mod tests;
