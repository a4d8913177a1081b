//! Depth perception for vigor: where depth frames come from and how they are prepared.
//!
//! Today this crate holds the head camera's geometry ([`camera`]): the Intel RealSense D435i's
//! depth field of view and its mount on the G1's torso, and pinhole intrinsics for any resolution.
//! The `DepthSource` trait (simulated, RealSense behind a cargo feature, recorded) and the single
//! preprocessing pipeline used identically in training and on the robot come with the student issue.
//!
//! Invariant: preprocessing parameters travel inside the policy artifact, never beside it.

pub mod camera;
