//! `LowState_`: the robot's state, robot -> user on `rt/lowstate` at about 500 Hz.

use serde::{Deserialize, Serialize};

use super::NUM_MOTOR_SLOTS;
use super::frame::{self, Frame, frame_methods};
use crate::cdr::{Reader, Writer};
use crate::{DecodeError, json};

/// An IMU reading (`IMUState_`). In `LowState` this is the pelvis IMU.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImuState {
    /// Orientation quaternion, order w, x, y, z.
    #[serde(with = "json::f32_array")]
    pub quaternion: [f32; 4],
    /// Angular velocity in the body frame, rad/s.
    #[serde(with = "json::f32_array")]
    pub gyroscope: [f32; 3],
    /// Specific force in the body frame, m/s².
    #[serde(with = "json::f32_array")]
    pub accelerometer: [f32; 3],
    /// Roll, pitch, yaw, rad.
    #[serde(with = "json::f32_array")]
    pub rpy: [f32; 3],
    /// Temperature, °C.
    pub temperature: i16,
}

/// One motor's state (`MotorState_`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MotorState {
    /// Motor mode as reported.
    pub mode: u8,
    /// Position, rad.
    #[serde(with = "json::f32")]
    pub q: f32,
    /// Velocity, rad/s.
    #[serde(with = "json::f32")]
    pub dq: f32,
    /// Acceleration, rad/s².
    #[serde(with = "json::f32")]
    pub ddq: f32,
    /// Estimated torque, N·m.
    #[serde(with = "json::f32")]
    pub tau_est: f32,
    /// [casing, winding] temperature, °C.
    pub temperature: [i16; 2],
    /// Supply voltage, V.
    #[serde(with = "json::f32")]
    pub vol: f32,
    /// Raw sensor words.
    pub sensor: [u32; 2],
    /// Motor error code; non-zero is a fault.
    pub motorstate: u32,
    /// Reserved (carried as is).
    pub reserve: [u32; 4],
}

/// The low-level state frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LowState {
    /// Firmware version words.
    pub version: [u32; 2],
    /// 0 = ankle and waist reported as pitch/roll joints, 1 = as parallel motors A/B.
    pub mode_pr: u8,
    /// Robot variant (5 = G1 29-DoF rev 1.0, 0 = simulation).
    pub mode_machine: u8,
    /// Running tick, non-zero once the robot publishes.
    pub tick: u32,
    /// Pelvis IMU.
    pub imu_state: ImuState,
    /// States by motor slot.
    #[serde(with = "json::padded_array")]
    pub motor_state: [MotorState; NUM_MOTOR_SLOTS],
    /// Wireless remote raw bytes.
    #[serde(with = "json::padded_array")]
    pub wireless_remote: [u8; 40],
    /// Reserved (carried as is).
    pub reserve: [u32; 4],
    /// CRC of the frame: set by [`LowState::encode`] (any value here is ignored and replaced),
    /// filled and checked by [`LowState::decode`].
    pub crc: u32,
}

impl Default for LowState {
    fn default() -> Self {
        Self {
            version: [0; 2],
            mode_pr: 0,
            mode_machine: 0,
            tick: 0,
            imu_state: ImuState::default(),
            motor_state: [MotorState::default(); NUM_MOTOR_SLOTS],
            wireless_remote: [0; 40],
            reserve: [0; 4],
            crc: 0,
        }
    }
}

impl Frame for LowState {
    const NAME: &'static str = "LowState";
    const BODY_LEN: usize = 2088;
    const C_LEN: usize = 2092;
    const CRC_WORDS: usize = 522;

    fn write_fields(&self, w: &mut Writer<'_>, crc: u32) {
        for &v in &self.version {
            w.u32(v);
        }
        w.u8(self.mode_pr);
        w.u8(self.mode_machine);
        w.u32(self.tick);
        let imu = &self.imu_state;
        w.begin_struct();
        for &v in imu
            .quaternion
            .iter()
            .chain(&imu.gyroscope)
            .chain(&imu.accelerometer)
            .chain(&imu.rpy)
        {
            w.f32(v);
        }
        w.i16(imu.temperature);
        w.end_struct();
        for m in &self.motor_state {
            w.begin_struct();
            w.u8(m.mode);
            for v in [m.q, m.dq, m.ddq, m.tau_est] {
                w.f32(v);
            }
            w.i16(m.temperature[0]);
            w.i16(m.temperature[1]);
            w.f32(m.vol);
            for &v in m
                .sensor
                .iter()
                .chain(std::iter::once(&m.motorstate))
                .chain(&m.reserve)
            {
                w.u32(v);
            }
            w.end_struct();
        }
        for &b in &self.wireless_remote {
            w.u8(b);
        }
        for &r in &self.reserve {
            w.u32(r);
        }
        w.u32(crc);
        w.end_struct();
    }

    fn read_fields(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut s = Self::default();
        for v in &mut s.version {
            *v = r.u32()?;
        }
        s.mode_pr = r.u8()?;
        s.mode_machine = r.u8()?;
        s.tick = r.u32()?;
        let imu = &mut s.imu_state;
        for v in imu
            .quaternion
            .iter_mut()
            .chain(&mut imu.gyroscope)
            .chain(&mut imu.accelerometer)
            .chain(&mut imu.rpy)
        {
            *v = r.f32()?;
        }
        imu.temperature = r.i16()?;
        for m in &mut s.motor_state {
            m.mode = r.u8()?;
            for v in [&mut m.q, &mut m.dq, &mut m.ddq, &mut m.tau_est] {
                *v = r.f32()?;
            }
            m.temperature = [r.i16()?, r.i16()?];
            m.vol = r.f32()?;
            m.sensor = [r.u32()?, r.u32()?];
            m.motorstate = r.u32()?;
            for v in &mut m.reserve {
                *v = r.u32()?;
            }
        }
        for b in &mut s.wireless_remote {
            *b = r.u8()?;
        }
        for v in &mut s.reserve {
            *v = r.u32()?;
        }
        s.crc = r.u32()?;
        Ok(s)
    }

    fn crc_field(&self) -> u32 {
        self.crc
    }
}

frame_methods!(LowState);
