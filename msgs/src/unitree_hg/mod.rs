//! Unitree `unitree_hg` (G1/H1-2) low-level messages, byte-compatible with the robot.
//!
//! IDL module `unitree_hg::msg::dds_`, all types `@final` and keyless. Field names follow Unitree's
//! IDL so captured frames read the same as in Unitree's tools; units are in the docs.
//!
//! | type | XCDR1 body | wire (with header) | C layout | CRC words |
//! |---|---|---|---|---|
//! | [`LowCmd`] | 1000 | 1004 | 1004 | 250 |
//! | [`LowState`] | 2088 | 2092 | 2092 | 522 |
//!
//! Encoding sets the CRC; decoding checks length, header, zero padding and CRC.

mod frame;
mod lowcmd;
mod lowstate;

pub use lowcmd::{LowCmd, MotorCmd};
pub use lowstate::{ImuState, LowState, MotorState};

/// Motor slots in every `unitree_hg` message (35; the G1 29-DoF uses 0..29).
pub const NUM_MOTOR_SLOTS: usize = 35;

/// Motors of the G1 29-DoF, slots 0..29.
pub const NUM_G1_29DOF_MOTORS: usize = 29;

/// `mode_machine` of a G1 29-DoF rev 1.0 (every LowCmd must echo what LowState reports).
pub const MODE_MACHINE_G1_29DOF: u8 = 5;

/// `mode_machine` of a G1 23-DoF rev 1.0.
pub const MODE_MACHINE_G1_23DOF: u8 = 4;

/// `MotorCmd::mode` value that enables a motor (0 disables it).
pub const MOTOR_MODE_ENABLE: u8 = 1;

/// DDS type name of [`LowCmd`].
pub const LOWCMD_TYPE_NAME: &str = "unitree_hg::msg::dds_::LowCmd_";

/// DDS type name of [`LowState`].
pub const LOWSTATE_TYPE_NAME: &str = "unitree_hg::msg::dds_::LowState_";

/// Joint name of each G1 29-DoF motor slot, in slot order (also the LAFAN1-G1 CSV column order).
pub const G1_29DOF_SLOT_NAMES: [&str; NUM_G1_29DOF_MOTORS] = [
    "left_hip_pitch",
    "left_hip_roll",
    "left_hip_yaw",
    "left_knee",
    "left_ankle_pitch",
    "left_ankle_roll",
    "right_hip_pitch",
    "right_hip_roll",
    "right_hip_yaw",
    "right_knee",
    "right_ankle_pitch",
    "right_ankle_roll",
    "waist_yaw",
    "waist_roll",
    "waist_pitch",
    "left_shoulder_pitch",
    "left_shoulder_roll",
    "left_shoulder_yaw",
    "left_elbow",
    "left_wrist_roll",
    "left_wrist_pitch",
    "left_wrist_yaw",
    "right_shoulder_pitch",
    "right_shoulder_roll",
    "right_shoulder_yaw",
    "right_elbow",
    "right_wrist_roll",
    "right_wrist_pitch",
    "right_wrist_yaw",
];

/// Slots a G1 23-DoF does not drive (waist roll and pitch, wrist pitch and yaw on both arms).
pub const G1_23DOF_INVALID_SLOTS: [usize; 6] = [13, 14, 20, 21, 27, 28];
