//! `LowCmd_`: per-motor commands, user -> robot on `rt/lowcmd`.

use serde::{Deserialize, Serialize};

use super::NUM_MOTOR_SLOTS;
use super::frame::{self, Frame, frame_methods};
use crate::cdr::{Reader, Writer};
use crate::{DecodeError, json};

/// One motor's command. The robot applies `tau = tau + kp * (q - q_meas) + kd * (dq - dq_meas)`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MotorCmd {
    /// 1 = enable, 0 = disable.
    pub mode: u8,
    /// Target position, rad.
    #[serde(with = "json::f32")]
    pub q: f32,
    /// Target velocity, rad/s.
    #[serde(with = "json::f32")]
    pub dq: f32,
    /// Feed-forward torque, N·m.
    #[serde(with = "json::f32")]
    pub tau: f32,
    /// Position gain, N·m/rad.
    #[serde(with = "json::f32")]
    pub kp: f32,
    /// Velocity gain, N·m·s/rad.
    #[serde(with = "json::f32")]
    pub kd: f32,
    /// Reserved (carried as is).
    pub reserve: u32,
}

/// The low-level command frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LowCmd {
    /// 0 = command the ankle and waist pitch/roll joints (default), 1 = the parallel motors A/B.
    pub mode_pr: u8,
    /// Robot variant; must echo `LowState::mode_machine` (5 = G1 29-DoF rev 1.0).
    pub mode_machine: u8,
    /// Commands by motor slot (see [`super::G1_29DOF_SLOT_NAMES`]).
    #[serde(with = "json::padded_array")]
    pub motor_cmd: [MotorCmd; NUM_MOTOR_SLOTS],
    /// Reserved (carried as is).
    pub reserve: [u32; 4],
    /// CRC of the frame: set by [`LowCmd::encode`] (any value here is ignored and replaced), filled
    /// and checked by [`LowCmd::decode`].
    pub crc: u32,
}

impl Default for LowCmd {
    fn default() -> Self {
        Self {
            mode_pr: 0,
            mode_machine: 0,
            motor_cmd: [MotorCmd::default(); NUM_MOTOR_SLOTS],
            reserve: [0; 4],
            crc: 0,
        }
    }
}

impl Frame for LowCmd {
    const NAME: &'static str = "LowCmd";
    const BODY_LEN: usize = 1000;
    const C_LEN: usize = 1004;
    const CRC_WORDS: usize = 250;

    fn write_fields(&self, w: &mut Writer<'_>, crc: u32) {
        w.u8(self.mode_pr);
        w.u8(self.mode_machine);
        for m in &self.motor_cmd {
            w.begin_struct();
            w.u8(m.mode);
            w.f32(m.q);
            w.f32(m.dq);
            w.f32(m.tau);
            w.f32(m.kp);
            w.f32(m.kd);
            w.u32(m.reserve);
            w.end_struct();
        }
        for &r in &self.reserve {
            w.u32(r);
        }
        w.u32(crc);
        w.end_struct();
    }

    fn read_fields(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut cmd = Self {
            mode_pr: r.u8()?,
            mode_machine: r.u8()?,
            ..Self::default()
        };
        for m in &mut cmd.motor_cmd {
            *m = MotorCmd {
                mode: r.u8()?,
                q: r.f32()?,
                dq: r.f32()?,
                tau: r.f32()?,
                kp: r.f32()?,
                kd: r.f32()?,
                reserve: r.u32()?,
            };
        }
        for v in &mut cmd.reserve {
            *v = r.u32()?;
        }
        cmd.crc = r.u32()?;
        Ok(cmd)
    }

    fn crc_field(&self) -> u32 {
        self.crc
    }
}

frame_methods!(LowCmd);
