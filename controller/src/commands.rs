//! Safe `LowCmd` frames.

use vigor_msgs::unitree_hg::{LowCmd, MOTOR_MODE_ENABLE, MotorCmd, NUM_MOTOR_SLOTS};

/// The damping command: every motor enabled with `kp = 0`, `kd = damping_kd` and no feed-forward,
/// so the robot sinks slowly instead of going limp (Unitree's deploy code uses kd 8).
///
/// `active_slots` motors (from slot 0) are enabled; the rest of the 35 slots stay disabled.
#[must_use]
pub fn damping(mode_machine: u8, damping_kd: f32, active_slots: usize) -> LowCmd {
    let mut cmd = LowCmd {
        mode_machine,
        ..LowCmd::default()
    };
    for m in cmd
        .motor_cmd
        .iter_mut()
        .take(active_slots.min(NUM_MOTOR_SLOTS))
    {
        *m = MotorCmd {
            mode: MOTOR_MODE_ENABLE,
            kd: damping_kd,
            ..MotorCmd::default()
        };
    }
    cmd.with_crc()
}

/// The damping command on the given motor slots only (a 23-DoF robot skips six); the other slots
/// stay disabled. Slots beyond the 35 are ignored.
#[must_use]
pub fn damping_slots(
    mode_machine: u8,
    damping_kd: f32,
    slots: impl IntoIterator<Item = usize>,
) -> LowCmd {
    let mut cmd = LowCmd {
        mode_machine,
        ..LowCmd::default()
    };
    for slot in slots {
        if let Some(m) = cmd.motor_cmd.get_mut(slot) {
            *m = MotorCmd {
                mode: MOTOR_MODE_ENABLE,
                kd: damping_kd,
                ..MotorCmd::default()
            };
        }
    }
    cmd.with_crc()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damping_on_all_35_slots_matches_unitree_crc_vector() {
        // ../shared/reference/unitree_hg.md: mode_machine 5, all 35 motors mode 1, kd 8 -> 0xD7E3AB3A.
        let cmd = damping(5, 8.0, NUM_MOTOR_SLOTS);
        assert_eq!(cmd.crc, 0xD7E3_AB3A);
        assert_eq!(LowCmd::decode(&cmd.encode()).unwrap(), cmd);
    }

    #[test]
    fn damping_by_slot_matches_the_count_form_and_skips_23_dof_gaps() {
        assert_eq!(damping_slots(5, 8.0, 0..29), damping(5, 8.0, 29));
        let skip = [13, 14, 20, 21, 27, 28];
        let cmd = damping_slots(4, 8.0, (0..29).filter(|s| !skip.contains(s)));
        for (slot, m) in cmd.motor_cmd.iter().enumerate() {
            let driven = slot < 29 && !skip.contains(&slot);
            assert_eq!(m.mode == 1 && m.kd == 8.0, driven, "slot {slot}");
        }
        assert_eq!(cmd.crc, cmd.compute_crc());
    }

    #[test]
    fn damping_for_29_dof_leaves_unused_slots_disabled() {
        let cmd = damping(5, 3.0, 29);
        assert!(
            cmd.motor_cmd[..29]
                .iter()
                .all(|m| m.mode == 1 && m.kp == 0.0 && m.kd == 3.0)
        );
        assert!(
            cmd.motor_cmd[29..]
                .iter()
                .all(|m| *m == MotorCmd::default())
        );
    }
}
