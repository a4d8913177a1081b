//! Posture classes of a whole-body pose, for labelling clips and their recovery behaviours.
//!
//! The class comes from the pelvis's orientation and height and the knees' heights. Axes of the
//! pelvis frame: x forward (out of the belly), y left, z up the spine. Thresholds:
//! - lying: the spine is within 37° of horizontal (`|z_body · up| < 0.6`) and the pelvis is below
//!   [`LYING_PELVIS_M`]; on the back if the belly faces up (`x_body · up > 0.6`), face down if it
//!   faces down, on a side if the left or right faces up (`|y_body · up| > 0.6`);
//! - standing: the spine within 37° of vertical and the pelvis above [`STANDING_PELVIS_M`];
//! - between those heights: on all fours if the belly faces down (spine within 41° of
//!   horizontal, `x_body · up < -0.75`), else kneeling if a knee is within [`KNEE_DOWN_M`] of the
//!   ground, else squatting;
//! - sitting: the spine within 53° of vertical and the pelvis below [`SITTING_PELVIS_M`].

use rapier3d::na::{Isometry3, Vector3};
use serde::{Deserialize, Serialize};

/// Pelvis height below which the robot is on the ground, m (about half of standing, 0.79 m).
pub const LYING_PELVIS_M: f64 = 0.35;
/// Pelvis height above which an upright robot is standing, m.
pub const STANDING_PELVIS_M: f64 = 0.65;
/// Pelvis height below which an upright robot sits on the ground, m (the pelvis collider's
/// bottom is 0.15 m below its origin).
pub const SITTING_PELVIS_M: f64 = 0.22;
/// Height of a knee link origin below which the knee is on the ground, m (knee capsule radius
/// 0.045 m plus margin).
pub const KNEE_DOWN_M: f64 = 0.12;

/// A posture class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Posture {
    /// Upright, pelvis at standing height.
    Standing,
    /// Upright, pelvis low, knees off the ground.
    Squat,
    /// Pelvis off the ground with a knee down.
    Kneel,
    /// Face down, pelvis raised on hands and knees.
    AllFours,
    /// Upright trunk, pelvis on the ground.
    Sitting,
    /// Lying on the back.
    Supine,
    /// Lying face down.
    Prone,
    /// Lying on a side.
    Side,
    /// None of the above (a transition).
    Other,
}

impl Posture {
    /// Every class.
    pub const ALL: [Self; 9] = [
        Self::Standing,
        Self::Squat,
        Self::Kneel,
        Self::AllFours,
        Self::Sitting,
        Self::Supine,
        Self::Prone,
        Self::Side,
        Self::Other,
    ];

    /// The label used in files and listings.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Standing => "standing",
            Self::Squat => "squat",
            Self::Kneel => "kneel",
            Self::AllFours => "all_fours",
            Self::Sitting => "sitting",
            Self::Supine => "supine",
            Self::Prone => "prone",
            Self::Side => "side",
            Self::Other => "other",
        }
    }

    /// Parses [`Posture::name`].
    ///
    /// # Errors
    /// An unknown name, with the allowed ones.
    pub fn from_name(name: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|p| p.name()).collect();
                format!("unknown posture `{name}`: allowed {}", names.join(", "))
            })
    }

    /// Whether this is one of the lying classes (supine, prone, side).
    #[must_use]
    pub const fn is_lying(self) -> bool {
        matches!(self, Self::Supine | Self::Prone | Self::Side)
    }

    /// Whether a recovery can start from this class: lying or sitting on the ground.
    #[must_use]
    pub const fn is_on_ground(self) -> bool {
        self.is_lying() || matches!(self, Self::Sitting)
    }

    /// Classifies a pose from the pelvis pose and the lower of the two knee heights, m.
    #[must_use]
    pub fn classify(root: &Isometry3<f64>, lowest_knee_m: f64) -> Self {
        let r = root.rotation;
        let x_up = (r * Vector3::x()).z;
        let y_up = (r * Vector3::y()).z;
        let z_up = (r * Vector3::z()).z;
        let h = root.translation.vector.z;
        let low = h < LYING_PELVIS_M;
        if z_up > 0.8 && h > STANDING_PELVIS_M {
            Self::Standing
        } else if low && z_up.abs() < 0.6 {
            if x_up > 0.6 {
                Self::Supine
            } else if x_up < -0.6 {
                Self::Prone
            } else if y_up.abs() > 0.6 {
                Self::Side
            } else {
                Self::Other
            }
        } else if h < SITTING_PELVIS_M && z_up >= 0.6 {
            Self::Sitting
        } else if h <= STANDING_PELVIS_M + 0.05 {
            if x_up < -0.75 {
                Self::AllFours
            } else if lowest_knee_m < KNEE_DOWN_M {
                Self::Kneel
            } else if z_up > 0.3 {
                Self::Squat
            } else {
                Self::Other
            }
        } else {
            Self::Other
        }
    }
}

impl std::fmt::Display for Posture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
