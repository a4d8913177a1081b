//! Terrain alignment (VIGOR): a reference recorded on flat ground is placed on complex terrain.
//!
//! A seeded draw picks a clip, a phase to start from, a small x-y offset and optionally a yaw; the
//! reference, moved horizontally, is then lifted as a whole by
//!
//! `dz = max over frames f and links l of ( h(x_fl, y_fl) - z_fl )`
//!
//! where `(x, y, z)_fl` is the lowest point of link `l`'s collision primitives in frame `f` and
//! `h` the terrain height. A link that rests on the flat ground (z = 0) of the reference then rests
//! on the highest terrain under any resting link, and no link of the reference ends up below the
//! terrain. Using the primitives' lowest points rather than link origins keeps a clip on flat
//! terrain where it was (dz = 0 for a reference that touches but does not penetrate z = 0).

use rapier3d::na::{Isometry3, Translation3, UnitQuaternion, Vector3};
use vigor_common::seed::SplitMix64;

use super::clip::Clip;
use super::kinematics::ClipKinematics;

/// The ranges of the random draw.
#[derive(Debug, Clone, PartialEq)]
pub struct AlignParams {
    /// Largest |x| and |y| offset from the spawn point, m.
    pub xy_offset_m: f64,
    /// Largest |yaw| about the vertical through the spawn point, rad (0: keep the heading).
    pub yaw_rad: f64,
    /// Range of the start phase (0 = clip start, 1 = clip end).
    pub phase: [f64; 2],
}

impl Default for AlignParams {
    fn default() -> Self {
        Self {
            xy_offset_m: 0.3,
            yaw_rad: 0.0,
            phase: [0.0, 1.0],
        }
    }
}

/// One placement of a reference on terrain.
#[derive(Debug, Clone, PartialEq)]
pub struct Alignment {
    /// Index of the chosen clip.
    pub clip: usize,
    /// Start phase, 0..=1.
    pub phase: f64,
    /// Start time in the clip, s.
    pub start_time_s: f64,
    /// The horizontal placement: yaw about z, then translation by (spawn + offset).
    pub placement: Isometry3<f64>,
    /// The lift, m.
    pub dz_m: f64,
}

impl Alignment {
    /// The whole transform applied to the reference: placement, then lift.
    #[must_use]
    pub fn transform(&self) -> Isometry3<f64> {
        Translation3::new(0.0, 0.0, self.dz_m) * self.placement
    }

    /// `clip` moved onto the terrain.
    #[must_use]
    pub fn apply(&self, clip: &Clip) -> Clip {
        let t = self.transform();
        let mut out = clip.clone();
        for f in &mut out.frames {
            f.set_root(&(t * f.root()));
        }
        out
    }
}

/// The lift `dz` of the reference whose kinematics are `kin`, placed by `placement`, over terrain
/// heights `height(x, y)` (module docs).
#[must_use]
pub fn lift_onto(
    kin: &ClipKinematics,
    placement: &Isometry3<f64>,
    height: &dyn Fn(f64, f64) -> f64,
) -> f64 {
    let mut dz = f64::NEG_INFINITY;
    for frame in &kin.lowest_points {
        for p in frame.iter().flatten() {
            let q = placement * p;
            dz = dz.max(height(q.x, q.y) - q.z);
        }
    }
    if dz.is_finite() { dz } else { 0.0 }
}

/// A seeded placement of one of `clips` (with their kinematics `kin`, same order) at `spawn_xy`
/// on terrain `height`. The same generator state gives the same alignment.
///
/// # Panics
/// When `clips` is empty or `kin` does not match it in length.
pub fn align(
    clips: &[Clip],
    kin: &[ClipKinematics],
    spawn_xy: [f64; 2],
    height: &dyn Fn(f64, f64) -> f64,
    params: &AlignParams,
    rng: &mut SplitMix64,
) -> Alignment {
    assert!(
        !clips.is_empty() && clips.len() == kin.len(),
        "one kinematics per clip"
    );
    let clip = (rng.next_u64() % clips.len() as u64) as usize;
    let u = |rng: &mut SplitMix64| f64::from(rng.uniform(-1.0, 1.0));
    let [p0, p1] = params.phase;
    let phase = p0 + (p1 - p0) * f64::from(rng.next_f32());
    let dx = params.xy_offset_m * u(rng);
    let dy = params.xy_offset_m * u(rng);
    let yaw = params.yaw_rad * u(rng);
    let placement = Isometry3::from_parts(
        Translation3::from(Vector3::new(spawn_xy[0] + dx, spawn_xy[1] + dy, 0.0)),
        UnitQuaternion::from_axis_angle(&Vector3::z_axis(), yaw),
    );
    Alignment {
        clip,
        phase,
        start_time_s: phase * clips[clip].duration_s(),
        dz_m: lift_onto(&kin[clip], &placement, height),
        placement,
    }
}
