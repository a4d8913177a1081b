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
        Self::new(&[
            ("base_ang_vel", 3),
            ("projected_gravity", 3),
            ("joint_pos_rel", 29),
            ("joint_vel", 29),
            ("last_action", 29),
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

#[cfg(test)]
mod tests {
    use super::*;

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
