//! Observation layout: named blocks in a fixed order.

use serde::{Deserialize, Serialize};

/// One named block of the observation vector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObsBlock {
    /// Name, e.g. `base_ang_vel` (body frame, rad/s).
    pub name: String,
    /// Number of values.
    pub size: usize,
}

/// The observation vector as an ordered list of blocks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObservationLayout {
    /// Blocks in vector order.
    pub blocks: Vec<ObsBlock>,
}

impl ObservationLayout {
    /// A layout from `(name, size)` pairs.
    #[must_use]
    pub fn new(blocks: &[(&str, usize)]) -> Self {
        Self {
            blocks: blocks
                .iter()
                .map(|&(name, size)| ObsBlock {
                    name: name.to_owned(),
                    size,
                })
                .collect(),
        }
    }

    /// One proprioceptive frame of the G1 29-DoF: base angular velocity (3, rad/s), projected
    /// gravity (3), joint positions relative to the default pose (29, rad), joint velocities
    /// (29, rad/s), last action (29).
    #[must_use]
    pub fn g1_proprioception() -> Self {
        Self::proprioception(29)
    }

    /// One proprioceptive frame of a robot with `joints` driven joints (the G1 23-DoF has 23),
    /// laid out like [`ObservationLayout::g1_proprioception`].
    #[must_use]
    pub fn proprioception(joints: usize) -> Self {
        Self::new(&[
            ("base_ang_vel", 3),
            ("projected_gravity", 3),
            ("joint_pos_rel", joints),
            ("joint_vel", joints),
            ("last_action", joints),
        ])
    }

    /// Total number of values.
    #[must_use]
    pub fn len(&self) -> usize {
        self.blocks.iter().map(|b| b.size).sum()
    }

    /// True when there are no values.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Start offset of block `name`, if present.
    #[must_use]
    pub fn offset(&self, name: &str) -> Option<usize> {
        let mut at = 0;
        for b in &self.blocks {
            if b.name == name {
                return Some(at);
            }
            at += b.size;
        }
        None
    }

    /// `None` if `other` is the same layout, else a sentence naming the first difference.
    #[must_use]
    pub fn difference(&self, other: &Self) -> Option<String> {
        for (i, (a, b)) in self.blocks.iter().zip(&other.blocks).enumerate() {
            if a != b {
                return Some(format!(
                    "block {i} is `{}` ({} values) here but `{}` ({} values) there",
                    a.name, a.size, b.name, b.size
                ));
            }
        }
        match self.blocks.len().cmp(&other.blocks.len()) {
            std::cmp::Ordering::Equal => None,
            _ => Some(format!(
                "{} blocks here but {} there",
                self.blocks.len(),
                other.blocks.len()
            )),
        }
    }
}

/// The blocks [`ObservationLayout::write_proprioception`] can fill.
pub const PROPRIOCEPTIVE_BLOCKS: [&str; 5] = [
    "base_ang_vel",
    "projected_gravity",
    "joint_pos_rel",
    "joint_vel",
    "last_action",
];

/// One proprioceptive reading, as the robot's `LowState` and the simulator both give it.
#[derive(Debug, Clone, Copy)]
pub struct Proprioception<'a> {
    /// Pelvis IMU angular velocity, body frame, rad/s.
    pub gyro: [f32; 3],
    /// Pelvis IMU orientation, w x y z.
    pub quat_wxyz: [f32; 4],
    /// Joint positions, rad, by joint index.
    pub q: &'a [f32],
    /// Joint velocities, rad/s.
    pub dq: &'a [f32],
    /// Default (stand) joint positions, rad.
    pub default_q: &'a [f32],
    /// The previous action.
    pub last_action: &'a [f32],
}

/// Gravity's unit direction in the body frame for orientation `q` (w x y z): `R^T (0, 0, -1)`.
#[must_use]
pub fn projected_gravity(q: [f32; 4]) -> [f32; 3] {
    let [w, x, y, z] = q;
    [
        -2.0 * (x * z - w * y),
        -2.0 * (y * z + w * x),
        -(1.0 - 2.0 * (x * x + y * y)),
    ]
}

impl ObservationLayout {
    /// `None` if every block is one [`ObservationLayout::write_proprioception`] fills with the
    /// size `joints` implies, else a sentence naming the first block it cannot build.
    #[must_use]
    pub fn unbuildable_block(&self, joints: usize) -> Option<String> {
        for b in &self.blocks {
            let expected = match b.name.as_str() {
                "base_ang_vel" | "projected_gravity" => 3,
                "joint_pos_rel" | "joint_vel" | "last_action" => joints,
                other => {
                    return Some(format!(
                        "observation block `{other}` is not proprioceptive: this build fills {}",
                        PROPRIOCEPTIVE_BLOCKS.join(", ")
                    ));
                }
            };
            if b.size != expected {
                return Some(format!(
                    "observation block `{}` has {} values; the robot gives {expected}",
                    b.name, b.size
                ));
            }
        }
        None
    }

    /// Writes the observation for `p` into `out` (length [`ObservationLayout::len`]) without
    /// allocating. This is the one observation builder of training, evaluation and the
    /// controller. Blocks it does not know (see [`ObservationLayout::unbuildable_block`]) are
    /// left as they are.
    pub fn write_proprioception(&self, p: &Proprioception<'_>, out: &mut [f32]) {
        let mut at = 0;
        for b in &self.blocks {
            let Some(dst) = out.get_mut(at..at + b.size) else {
                return;
            };
            match b.name.as_str() {
                "base_ang_vel" => copy(dst, &p.gyro),
                "projected_gravity" => copy(dst, &projected_gravity(p.quat_wxyz)),
                "joint_pos_rel" => {
                    for ((d, q), q0) in dst.iter_mut().zip(p.q).zip(p.default_q) {
                        *d = q - q0;
                    }
                }
                "joint_vel" => copy(dst, p.dq),
                "last_action" => copy(dst, p.last_action),
                _ => {}
            }
            at += b.size;
        }
    }
}

fn copy(dst: &mut [f32], src: &[f32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = *s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proprioception_is_written_block_by_block() {
        let l = ObservationLayout::g1_proprioception();
        assert_eq!(l.unbuildable_block(29), None);
        let q: Vec<f32> = (0..29).map(|i| i as f32 * 0.1).collect();
        let dq = vec![2.0; 29];
        let q0 = vec![0.05; 29];
        let a = vec![-1.0; 29];
        let h = std::f32::consts::FRAC_1_SQRT_2;
        let p = Proprioception {
            gyro: [0.1, 0.2, 0.3],
            quat_wxyz: [h, h, 0.0, 0.0],
            q: &q,
            dq: &dq,
            default_q: &q0,
            last_action: &a,
        };
        let mut out = vec![f32::NAN; l.len()];
        l.write_proprioception(&p, &mut out);
        assert_eq!(&out[..3], &[0.1, 0.2, 0.3]);
        // Rolled +90° about x: gravity points along the body's -y.
        assert!(out[3].abs() < 1e-6 && (out[4] + 1.0).abs() < 1e-6 && out[5].abs() < 1e-6);
        assert!((out[6 + 10] - (1.0 - 0.05)).abs() < 1e-6);
        assert_eq!(out[35], 2.0);
        assert_eq!(out[92], -1.0);
        assert!(out.iter().all(|x| x.is_finite()));
        let mut bad = l.clone();
        bad.blocks.push(ObsBlock {
            name: "depth_latent".into(),
            size: 32,
        });
        assert!(
            bad.unbuildable_block(29)
                .unwrap()
                .contains("`depth_latent`")
        );
        assert!(l.unbuildable_block(23).unwrap().contains("23"));
    }

    #[test]
    fn proprioception_is_93_values_with_offsets() {
        let l = ObservationLayout::g1_proprioception();
        assert_eq!(l.len(), 93);
        assert_eq!(l.offset("joint_pos_rel"), Some(6));
        assert_eq!(l.offset("last_action"), Some(64));
        assert_eq!(l.offset("height_scan"), None);
    }

    #[test]
    fn difference_names_the_block() {
        let a = ObservationLayout::g1_proprioception();
        let mut b = a.clone();
        b.blocks[2].size = 23;
        assert_eq!(
            a.difference(&b).unwrap(),
            "block 2 is `joint_pos_rel` (29 values) here but `joint_pos_rel` (23 values) there"
        );
        assert_eq!(a.difference(&a), None);
    }
}
