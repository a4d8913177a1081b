//! A student's reference tracks and how it picks one: the demonstration's joint trajectory its
//! actions are residuals on, chosen at engagement by the IMU's gravity direction
//! ([`pick_track`], [`closest_gravity`]), and handed over from a fall to the lying recovery the
//! body ends in ([`Reanchor`]). The teacher's training uses the same rules, so teacher and
//! student track the same demonstration.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::artifact::{self, ArtifactError, MANIFEST_FILE, Manifest, Network};

/// One start posture's reference joint trajectory: the base of the student's actions
/// (`q* = q_ref(t) + scale * a`), chosen at engagement by the gravity direction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceTrack {
    /// Posture name (`supine`, `prone`, `side`).
    pub posture: String,
    /// Projected gravity (body frame) of the first frame: the posture's signature.
    pub gravity: [f32; 3],
    /// Frames per second of `q`.
    pub rate_hz: f64,
    /// Clip seconds per second since engagement (clip length / played length).
    pub speed: f64,
    /// Joint targets per frame, rad.
    pub q: Vec<Vec<f32>>,
}

impl ReferenceTrack {
    /// Joint targets `t_s` after engagement (nearest frame, held after the end).
    #[must_use]
    pub fn at(&self, t_s: f32) -> &[f32] {
        let t = f64::from(t_s.max(0.0)) * self.speed;
        let k = (t * self.rate_hz).round() as usize;
        &self.q[k.min(self.q.len().saturating_sub(1))]
    }

    /// Seconds after its anchor at which the track reaches its last frame (then held).
    #[must_use]
    pub fn played_s(&self) -> f32 {
        let frames = self.q.len().saturating_sub(1) as f64;
        (frames / self.rate_hz / self.speed) as f32
    }
}

/// Index of the track whose gravity signature is closest in direction to `gravity`, with the
/// lateral (y) component compared by magnitude: a side track serves a robot lying on either side,
/// as the simulator's side scenario uses one side demonstration for both.
#[must_use]
pub fn pick_track(tracks: &[ReferenceTrack], gravity: [f32; 3]) -> usize {
    let signatures: Vec<[f32; 3]> = tracks.iter().map(|t| t.gravity).collect();
    closest_gravity(&signatures, gravity)
}

/// A signature leans to one side when its lateral (y) gravity is at least this (sin 11.5°).
const SIDED_Y: f32 = 0.2;

/// Index of the gravity signature closest in direction to `gravity` (0 when `signatures` is
/// empty): [`pick_track`]'s rule, which the teacher's training uses too so that teacher and
/// student track the same demonstration.
///
/// When the set has tracks leaning to both sides (a demonstration and its mirror image), the
/// lateral (y) component counts with its sign, so a body on its left side gets the left-side
/// track. Otherwise it is compared by magnitude, so one side's track serves both sides (the sets
/// before the mirrored demonstrations, whose choice this keeps unchanged).
#[must_use]
pub fn closest_gravity(signatures: &[[f32; 3]], gravity: [f32; 3]) -> usize {
    let sided =
        signatures.iter().any(|g| g[1] >= SIDED_Y) && signatures.iter().any(|g| g[1] <= -SIDED_Y);
    let dot = |g: [f32; 3]| {
        let lateral = if sided {
            g[1] * gravity[1]
        } else {
            g[1].abs() * gravity[1].abs()
        };
        g[0] * gravity[0] + lateral + g[2] * gravity[2]
    };
    (0..signatures.len())
        .max_by(|&a, &b| dot(signatures[a]).total_cmp(&dot(signatures[b])))
        .unwrap_or(0)
}

/// The hand-over from a fall to the recovery the body ended in.
///
/// A fall demonstration flows into one recovery, from the landing it shows; a pushed robot often
/// lands otherwise (flat on its front or back). With a hand-over, an episode tracking a fall track
/// (one whose first frame stands within [`Reanchor::FALL_TRACK_TILT_RAD`] of upright) switches,
/// once, to the lying track closest by gravity ([`closest_gravity`] among the lying tracks) as soon
/// as the body lies: at least `after_s` after engagement, tilted past `lying_tilt_rad` and turning
/// slower than `settled_rad_s`. The new track plays from its start. With `again`, a lying track
/// whose clip has played to its end while the body lies (a recovery that failed, or a robot that
/// stood and fell again) starts over the same way, as often as that happens; without it a
/// recovery is tried once and its clip then holds its standing frame. With `sitting_tilt_rad`
/// too, `again` also starts over a body that sits after its clip: leaning backward or sideways
/// past that tilt ([`lean_back_or_side_rad`]) and turning slower than `settled_rad_s` for
/// [`Reanchor::SITTING_STILL_S`] without a break. Everything it reads is on
/// the robot's IMU (projected gravity and gyro of the newest proprioceptive frame), so the teacher
/// in training and the student on the robot decide alike.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reanchor {
    /// Earliest hand-over after engagement, s (0..=5).
    pub after_s: f32,
    /// The body lies when its tilt from upright exceeds this, rad (0.5..=1.5).
    pub lying_tilt_rad: f32,
    /// And its body rotation rate is under this, rad/s (0.1..=20).
    pub settled_rad_s: f32,
    /// Start a lying recovery over whenever its clip has ended with the body lying (absent in
    /// artifacts written before it existed: `false`, one try).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub again: bool,
    /// With `again`, a body whose clip has ended counts as down, and starts over, also when it
    /// leans backward or sideways past this, rad (0.2..=`lying_tilt_rad`), and has been still for
    /// [`Reanchor::SITTING_STILL_S`]: a robot that toppled onto its seat, or sat down beside its
    /// hand, is not lying and would otherwise hold there. A forward lean never counts: that is a
    /// crouch rising over its feet. Absent (and in artifacts written before it existed): only a
    /// lying body starts over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sitting_tilt_rad: Option<f32>,
}

impl Reanchor {
    /// A track whose first frame tilts less than this from upright is a fall track, rad (45°).
    pub const FALL_TRACK_TILT_RAD: f32 = std::f32::consts::FRAC_PI_4;

    /// How long a sitting body must have turned slower than `settled_rad_s`, without a break,
    /// before `sitting_tilt_rad` starts it over, s: a standing robot swaying through a lean is
    /// still only for an instant.
    pub const SITTING_STILL_S: f32 = 0.5;

    /// Checks the ranges; the message names the field.
    ///
    /// # Errors
    /// The first field out of its range.
    pub fn check(&self) -> Result<(), String> {
        let ranges = [
            ("after_s", self.after_s, 0.0, 5.0),
            ("lying_tilt_rad", self.lying_tilt_rad, 0.5, 1.5),
            ("settled_rad_s", self.settled_rad_s, 0.1, 20.0),
        ];
        for (name, v, lo, hi) in ranges {
            if !(lo..=hi).contains(&v) {
                return Err(format!("{name} = {v} is outside {lo}..={hi}"));
            }
        }
        match self.sitting_tilt_rad {
            Some(v) if !(0.2..=self.lying_tilt_rad).contains(&v) => Err(format!(
                "sitting_tilt_rad = {v} ({:.1}°) is outside 0.2..={} (lying_tilt_rad), \
                 {:.1}°..={:.1}°",
                v.to_degrees(),
                self.lying_tilt_rad,
                0.2f32.to_degrees(),
                self.lying_tilt_rad.to_degrees()
            )),
            _ => Ok(()),
        }
    }

    /// The track to switch to now, if any: `current` is the tracked one among `signatures` (each
    /// track's first-frame gravity), `since_s` the time since engagement, `clip_done` whether the
    /// tracked clip has played to its end, `gravity` and `gyro` the newest frame's projected
    /// gravity and body rotation rate, `still_s` how long the rotation rate has been under
    /// `settled_rad_s` without a break ([`Reanchor::still_s`] keeps it).
    #[must_use]
    // The robot's readings one by one, as both callers hold them (a struct would only rename them).
    #[allow(clippy::too_many_arguments)]
    pub fn hand_over(
        &self,
        signatures: &[[f32; 3]],
        current: usize,
        since_s: f32,
        clip_done: bool,
        gravity: [f32; 3],
        gyro: [f32; 3],
        still_s: f32,
    ) -> Option<usize> {
        let is_fall = |g: &[f32; 3]| tilt_rad(*g) < Self::FALL_TRACK_TILT_RAD;
        let (due, sitting_counts) = match signatures.get(current) {
            Some(g) if is_fall(g) => (since_s >= self.after_s, false),
            Some(_) => (self.again && clip_done, true),
            None => (false, false),
        };
        let lying = tilt_rad(gravity) > self.lying_tilt_rad;
        let sitting = sitting_counts
            && self.sitting_tilt_rad.is_some_and(|t| {
                lean_back_or_side_rad(gravity) > t && still_s >= Self::SITTING_STILL_S
            });
        if !due || !(lying || sitting) || !self.settled(gyro) {
            return None;
        }
        let lying: Vec<usize> = (0..signatures.len())
            .filter(|&k| !is_fall(&signatures[k]))
            .collect();
        let picks: Vec<[f32; 3]> = lying.iter().map(|&k| signatures[k]).collect();
        lying.get(closest_gravity(&picks, gravity)).copied()
    }

    /// Whether a body turning at `gyro` (rad/s) is settled: slower than `settled_rad_s`.
    #[must_use]
    pub fn settled(&self, gyro: [f32; 3]) -> bool {
        gyro.iter().map(|w| w * w).sum::<f32>().sqrt() < self.settled_rad_s
    }

    /// The `still_s` for [`Reanchor::hand_over`] after a frame `dt_s` after the last: `still_s`
    /// plus `dt_s` while the body is settled, 0 as soon as it turns faster.
    #[must_use]
    pub fn still_s(&self, still_s: f32, dt_s: f32, gyro: [f32; 3]) -> f32 {
        if self.settled(gyro) {
            still_s + dt_s.max(0.0)
        } else {
            0.0
        }
    }
}

/// How far a body whose projected gravity is `g` leans backward or sideways, rad: its tilt from
/// upright with any forward lean left out (gravity's forward component, +x in the body frame as
/// on a body lying on its front, counts as upright). 0 upright or leaning only forward.
#[must_use]
pub fn lean_back_or_side_rad(g: [f32; 3]) -> f32 {
    tilt_rad([g[0].min(0.0), g[1], g[2]])
}

/// Tilt from upright of a body whose projected gravity is `g`, rad (0 upright, pi upside down).
#[must_use]
pub fn tilt_rad(g: [f32; 3]) -> f32 {
    let n = (g[0] * g[0] + g[1] * g[1] + g[2] * g[2]).sqrt();
    if n <= f32::EPSILON {
        return 0.0;
    }
    (-g[2] / n).clamp(-1.0, 1.0).acos()
}

/// Sets `again` and `sitting_tilt_rad` in a student artifact's hand-over rule
/// (`network.student.reanchor`): with `again` the robot's runtime starts a recovery over whenever
/// its clip has ended with the body lying, and with a sitting tilt also sitting still, leaning
/// backward or sideways past it ([`Reanchor`]). Only `manifest.json` changes; the weights, and so
/// every action before a clip ends, stay as they are.
///
/// # Errors
/// The manifest cannot be read or written, is not a student's, or has no hand-over rule; or the
/// sitting tilt is out of its range (`Reanchor::check`), or given without `again`.
pub fn set_again(
    dir: &Path,
    again: bool,
    sitting_tilt_rad: Option<f32>,
) -> Result<Manifest, ArtifactError> {
    let mut manifest = artifact::read_manifest(dir)?;
    let path = dir.join(MANIFEST_FILE);
    let kind = manifest.kind;
    let Network::Student(s) = &mut manifest.network else {
        return Err(ArtifactError::WrongKind {
            path,
            kind,
            message: "only a student carries the robot's hand-over rule".into(),
        });
    };
    let Some(rule) = s.reanchor.as_mut() else {
        return Err(ArtifactError::Field {
            path,
            field: "network.student.reanchor".into(),
            message: "absent: this student never hands a fall over, so it has nothing to start \
                      over (distil it from a teacher with `task.reanchor`)"
                .into(),
        });
    };
    let field = |message: String| ArtifactError::Field {
        path: path.clone(),
        field: "network.student.reanchor.sitting_tilt_rad".into(),
        message,
    };
    if sitting_tilt_rad.is_some() && !again {
        return Err(field(
            "a sitting body starts over only under `again`".into(),
        ));
    }
    rule.again = again;
    rule.sitting_tilt_rad = sitting_tilt_rad;
    rule.check().map_err(field)?;
    artifact::write_manifest(dir, &manifest)?;
    Ok(manifest)
}
