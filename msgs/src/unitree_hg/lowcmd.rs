//! `LowCmd_`: per-motor commands, user -> robot on `rt/lowcmd`.

use serde::{Deserialize, Serialize};

use super::NUM_MOTOR_SLOTS;
use crate::cdr::{Layout, Reader, Writer, XCDR1_LE_HEADER, open_frame};
use crate::{DecodeError, crc, json};

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

impl LowCmd {
    /// Bytes of the XCDR1 body.
    pub const BODY_LEN: usize = 1000;
    /// Bytes on the wire: encapsulation header plus body.
    pub const WIRE_LEN: usize = 4 + Self::BODY_LEN;
    /// Bytes of the C struct the CRC is computed over.
    pub const C_LEN: usize = 1004;
    /// `u32` words covered by the CRC (all but the CRC itself).
    pub const CRC_WORDS: usize = 250;

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

    /// Unitree's CRC of this command (over the C layout; the `crc` field is not an input).
    #[must_use]
    pub fn compute_crc(&self) -> u32 {
        let mut c = [0u8; Self::C_LEN];
        let mut w = Writer::new(&mut c, Layout::C);
        self.write_fields(&mut w, 0);
        debug_assert!(!w.overflowed() && w.position() == Self::C_LEN);
        crc::crc32_words(&c, Self::CRC_WORDS)
    }

    /// Writes the wire bytes (header, body, fresh CRC) into `out` without allocating, and returns
    /// the CRC written.
    pub fn encode_into(&self, out: &mut [u8; Self::WIRE_LEN]) -> u32 {
        let crc = self.compute_crc();
        let (header, body) = out.split_at_mut(4);
        header.copy_from_slice(&XCDR1_LE_HEADER);
        let mut w = Writer::new(body, Layout::Cdr);
        self.write_fields(&mut w, crc);
        debug_assert!(!w.overflowed() && w.position() == Self::BODY_LEN);
        crc
    }

    /// The wire bytes (header, body, fresh CRC).
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = [0u8; Self::WIRE_LEN];
        self.encode_into(&mut out);
        out.to_vec()
    }

    /// Sets `crc` to this command's CRC and returns `self`.
    #[must_use]
    pub fn with_crc(mut self) -> Self {
        self.crc = self.compute_crc();
        self
    }

    /// Decodes wire bytes, checking length, header, padding and CRC.
    ///
    /// # Errors
    /// [`DecodeError`] naming what failed; never panics.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        const NAME: &str = "LowCmd";
        let body = open_frame(bytes, NAME, Self::BODY_LEN)?;
        let mut r = Reader::new(body, NAME);
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
        debug_assert_eq!(r.position(), Self::BODY_LEN);
        let computed = cmd.compute_crc();
        if computed != cmd.crc {
            return Err(DecodeError::Crc {
                message: NAME,
                received: cmd.crc,
                computed,
            });
        }
        Ok(cmd)
    }
}
