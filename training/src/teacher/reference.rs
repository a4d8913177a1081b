//! The reference a teacher episode tracks: one of the recovery demonstrations, reduced to what the
//! observation and the reward read (heading-relative keypoints, root height, gravity direction and
//! joint angles per frame), with its sparse keyframes.

use rapier3d::na::{Isometry3, Point3, UnitQuaternion, Vector3};
use vigor_policy::projected_gravity;
use vigor_sim::robot::Robot;
use vigor_sim::scenario::Scenario;

use super::config::TaskSection;
use crate::demos::authored::RECOVERIES;
use crate::demos::{Clip, ClipKinematics, DemoError, Keyframes, Posture, shipped_demos};

/// Number of values in one reference observation: 15 keypoints (45), root height (1), gravity in
/// the reference pelvis frame (3), joints relative to the default pose (29), time to go (1).
#[must_use]
pub fn reference_obs_len(joints: usize) -> usize {
    crate::demos::KEYPOINTS.len() * 3 + 1 + 3 + joints + 1
}

/// Heading of a body orientation, rad about world z: the direction of the horizontal projections
/// of the pelvis's forward (x) and up (z) axes added together. Plain yaw is undefined for a body
/// lying on its back or front (forward points up or down); the sum stays defined for standing,
/// lying and kneeling bodies alike (it degenerates only upside down at 135° of pitch).
#[must_use]
pub fn heading(rotation: &UnitQuaternion<f64>) -> f64 {
    let x = rotation * Vector3::x();
    let z = rotation * Vector3::z();
    (x.y + z.y).atan2(x.x + z.x)
}

/// `points` relative to `root`'s position, in the frame turned by `root`'s heading only (gravity
/// stays along -z, so lying and standing differ), flattened x y z.
#[must_use]
pub fn heading_relative(root: &Isometry3<f64>, points: &[Point3<f64>]) -> Vec<f32> {
    let yaw = heading(&root.rotation);
    let turn = UnitQuaternion::from_axis_angle(&Vector3::z_axis(), -yaw);
    let origin = root.translation.vector;
    points
        .iter()
        .flat_map(|p| {
            let v = turn * (p.coords - origin);
            [v.x as f32, v.y as f32, v.z as f32]
        })
        .collect()
}

/// One reference frame as the task reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct RefFrame {
    /// Heading-relative keypoints, 45 values.
    pub keypoints: Vec<f32>,
    /// Keypoints in the clip's world, for drawing.
    pub keypoints_world: Vec<[f32; 3]>,
    /// Root height above the clip's ground, m.
    pub root_height_m: f32,
    /// Gravity in the reference's pelvis frame.
    pub gravity: [f32; 3],
    /// Joint angles, rad.
    pub q: Vec<f32>,
    /// The pelvis's orientation in the clip's world (a start posed at this frame takes it).
    pub root_rotation: UnitQuaternion<f64>,
}

/// A prepared reference.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    /// The demonstration's name.
    pub name: String,
    /// The posture it starts from.
    pub posture: Posture,
    /// Clip length, s.
    pub duration_s: f64,
    /// Frame rate, Hz.
    pub rate_hz: f64,
    /// Frames.
    pub frames: Vec<RefFrame>,
    /// Keyframe times, s of clip time.
    pub keyframe_times_s: Vec<f64>,
}

impl Reference {
    /// Prepares `clip` (which starts in `posture`) with keyframes every `spacing_s`.
    ///
    /// # Errors
    /// The clip does not fit the robot.
    pub fn new(
        robot: &Robot,
        clip: &Clip,
        posture: Posture,
        spacing_s: f64,
    ) -> Result<Self, DemoError> {
        let kin = ClipKinematics::new(robot, clip)?;
        let frames = clip
            .frames
            .iter()
            .zip(&kin.keypoints_world)
            .map(|(f, world)| {
                let root = f.root();
                let r = root.rotation.quaternion();
                RefFrame {
                    keypoints: heading_relative(&root, world),
                    keypoints_world: world
                        .iter()
                        .map(|p| [p.x as f32, p.y as f32, p.z as f32])
                        .collect(),
                    root_height_m: root.translation.vector.z as f32,
                    gravity: projected_gravity([r.w as f32, r.i as f32, r.j as f32, r.k as f32]),
                    q: f.joint_pos_rad.iter().map(|&q| q as f32).collect(),
                    root_rotation: root.rotation,
                }
            })
            .collect();
        Ok(Self {
            name: clip.name.clone(),
            posture,
            duration_s: clip.duration_s(),
            rate_hz: clip.rate_hz,
            frames,
            keyframe_times_s: Keyframes::uniform(clip, spacing_s).times_s,
        })
    }

    /// The frame nearest clip time `t_s` (clamped to the clip).
    #[must_use]
    pub fn frame_at(&self, t_s: f64) -> &RefFrame {
        let k = (t_s.max(0.0) * self.rate_hz).round() as usize;
        &self.frames[k.min(self.frames.len() - 1)]
    }

    /// The first keyframe strictly after `t_s` (the last one at the end) and the clip time to it.
    #[must_use]
    pub fn next_keyframe(&self, t_s: f64) -> (&RefFrame, f64) {
        let i = self
            .keyframe_times_s
            .partition_point(|&k| k <= t_s)
            .min(self.keyframe_times_s.len() - 1);
        let at = self.keyframe_times_s[i];
        (self.frame_at(at), (at - t_s).max(0.0))
    }

    /// Writes the reference observation for clip time `t_s` into `out`
    /// ([`reference_obs_len`] values): the next keyframe, relative to the default pose, and the
    /// time to it in episode seconds (`time_scale` = episode s per clip s).
    pub fn write_obs(&self, t_s: f64, default_q: &[f32], time_scale: f64, out: &mut [f32]) {
        let (f, to_go) = self.next_keyframe(t_s);
        let mut at = 0;
        let mut put = |v: f32| {
            out[at] = v;
            at += 1;
        };
        f.keypoints.iter().for_each(|&v| put(v));
        put(f.root_height_m);
        f.gravity.iter().for_each(|&v| put(v));
        f.q.iter().zip(default_q).for_each(|(q, d)| put(q - d));
        put((to_go * time_scale) as f32);
    }
}

/// The shipped recovery demonstrations, prepared, one per start posture.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceSet {
    /// The references.
    pub references: Vec<Reference>,
}

impl ReferenceSet {
    /// The three lying recoveries of `configs/demos/` at 50 Hz, the set of every teacher before
    /// the fall demonstrations (and of a configuration without `task.demos`).
    ///
    /// # Errors
    /// A shipped demonstration is broken (tests guard it).
    pub fn shipped(robot: &Robot, spacing_s: f64) -> Result<Self, DemoError> {
        let names: Vec<String> = RECOVERIES.iter().map(|&s| s.to_owned()).collect();
        Self::named(robot, &names, spacing_s)
    }

    /// The shipped demonstrations a task tracks (`task.demos`), in that order.
    ///
    /// # Errors
    /// A name that is not a shipped demonstration (the configuration's check refuses it first).
    pub fn for_task(robot: &Robot, task: &TaskSection) -> Result<Self, DemoError> {
        Self::named(robot, &task.demos, f64::from(task.keyframe_spacing_s))
    }

    fn named(robot: &Robot, names: &[String], spacing_s: f64) -> Result<Self, DemoError> {
        let all = shipped_demos(robot)?;
        let references = names
            .iter()
            .map(|n| {
                let d = all
                    .iter()
                    .find(|d| &d.name == n)
                    .ok_or_else(|| DemoError::Clip {
                        clip: n.clone(),
                        message: "not a shipped demonstration (configs/demos/)".into(),
                    })?;
                Reference::new(robot, &d.to_clip(robot, 50.0), d.posture, spacing_s)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { references })
    }

    /// The posture whose recovery an episode of `scenario` tracks.
    #[must_use]
    pub fn posture_for(scenario: Scenario) -> Posture {
        match scenario {
            Scenario::Prone | Scenario::DrapedOverStair => Posture::Prone,
            Scenario::Side => Posture::Side,
            _ => Posture::Supine,
        }
    }

    /// Index of the reference whose first frame's gravity is closest in direction to `gravity`
    /// (the body frame's, at engagement): the rule the deployed student picks its track by
    /// ([`vigor_policy::student::closest_gravity`]).
    #[must_use]
    pub fn index_for_gravity(&self, gravity: [f32; 3]) -> usize {
        vigor_policy::student::closest_gravity(&self.signatures(), gravity)
    }

    /// Each reference's first-frame gravity (body frame): its posture's signature.
    #[must_use]
    pub fn signatures(&self) -> Vec<[f32; 3]> {
        self.references
            .iter()
            .map(|r| r.frames.first().map_or([0.0, 0.0, -1.0], |f| f.gravity))
            .collect()
    }

    /// Indices of the fall tracks: the references whose first frame stands within
    /// [`vigor_policy::student::Reanchor::FALL_TRACK_TILT_RAD`] of upright (the rule the hand-over
    /// tells a fall from a recovery by), in `task.demos` order.
    #[must_use]
    pub fn fall_indices(&self) -> Vec<usize> {
        self.signatures()
            .iter()
            .enumerate()
            .filter(|(_, g)| {
                vigor_policy::student::tilt_rad(**g)
                    < vigor_policy::student::Reanchor::FALL_TRACK_TILT_RAD
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// Index of the reference a reference-state start of `scenario` poses along, the episode
    /// seeded `seed`: a fall start's is one of the fall tracks drawn uniformly from the seed
    /// (the first reference where the set has none), a lying start's that of
    /// [`ReferenceSet::index_for`].
    #[must_use]
    pub fn index_for_posed(&self, scenario: Scenario, seed: u64) -> usize {
        if !scenario.is_fall() {
            return self.index_for(scenario);
        }
        let falls = self.fall_indices();
        if falls.is_empty() {
            return 0;
        }
        let k = vigor_common::seed::derive(seed, "reference-fall", 0) % falls.len() as u64;
        falls[k as usize]
    }

    /// Index of the reference for `scenario` (the first of its posture, else the first).
    #[must_use]
    pub fn index_for(&self, scenario: Scenario) -> usize {
        let want = Self::posture_for(scenario);
        self.references
            .iter()
            .position(|r| r.posture == want)
            .unwrap_or(0)
    }
}
