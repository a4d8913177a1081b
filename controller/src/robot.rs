//! The controller's view of the robot description: the joint table
//! ([`vigor_common::robot::JointTable`], read without the simulator) as [`JointSpec`]s, with the
//! controller config's stand gains on the legs and waist.

pub use vigor_common::robot::{Joint, JointTable};

use crate::config::ControllerParams;
use crate::core::JointSpec;

/// Motor slots of the legs and waist on the G1 (0..15): the stand gains apply to them.
pub const LEG_WAIST_SLOTS: usize = 15;
/// Motor slots of the legs on the G1 (0..12): recovery also waits for them to reach the stand pose.
pub const LEGS_SLOTS: usize = 12;

/// The controller's joints: limits, policy gains and stand pose from the description; for the
/// legs and waist, the stand gains of `params` (`[ramp] stand_kp`, `stand_kd`) in Ramp and Armed,
/// and the description's gains elsewhere.
#[must_use]
pub fn joint_specs(table: &JointTable, params: &ControllerParams) -> Vec<JointSpec> {
    table
        .joints
        .iter()
        .map(|j| {
            let leg_or_waist = j.slot < LEG_WAIST_SLOTS;
            JointSpec {
                slot: j.slot,
                default: j.default_rad as f32,
                lower: j.lower_rad as f32,
                upper: j.upper_rad as f32,
                effort: j.effort_nm as f32,
                kp: j.kp as f32,
                kd: j.kd as f32,
                stand_kp: if leg_or_waist {
                    params.stand_kp
                } else {
                    j.kp as f32
                },
                stand_kd: if leg_or_waist {
                    params.stand_kd
                } else {
                    j.kd as f32
                },
                leg: j.slot < LEGS_SLOTS,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ControllerConfig;

    #[test]
    fn stand_gains_replace_the_description_gains_on_the_legs_and_waist_only() {
        let params = ControllerConfig::embedded().unwrap();
        let table = JointTable::embedded("g1_29dof").unwrap();
        let specs = joint_specs(&table, &params);
        assert_eq!(specs.len(), 29);
        let knee = specs[3];
        assert_eq!(
            (knee.slot, knee.default, knee.lower, knee.upper, knee.effort),
            (3, 0.3, -0.087267, 2.8798, 139.0)
        );
        assert_eq!((knee.kp, knee.kd), (150.0, 4.0), "the policy's gains");
        assert_eq!(
            (knee.stand_kp, knee.stand_kd),
            (500.0, 20.0),
            "configs/controller.toml"
        );
        assert!(knee.leg);
        let waist_pitch = specs[14];
        assert_eq!((waist_pitch.stand_kp, waist_pitch.stand_kd), (500.0, 20.0));
        assert!(!waist_pitch.leg);
        let shoulder = specs[15];
        assert_eq!((shoulder.slot, shoulder.kp, shoulder.kd), (15, 40.0, 1.0));
        assert_eq!((shoulder.stand_kp, shoulder.stand_kd), (40.0, 1.0));
        assert!(!shoulder.leg);
    }

    #[test]
    fn the_23_dof_robot_is_commanded_on_its_own_slots() {
        let params = ControllerConfig::embedded().unwrap();
        let table = JointTable::embedded("g1_23dof").unwrap();
        let slots: Vec<usize> = joint_specs(&table, &params)
            .iter()
            .map(|j| j.slot)
            .collect();
        assert_eq!(slots.len(), 23);
        assert!(!slots.iter().any(|s| [13, 14, 20, 21, 27, 28].contains(s)));
    }
}
