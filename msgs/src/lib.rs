//! Every message that crosses a process boundary in vigor, and every zenoh key.
//!
//! - [`unitree_hg`]: Unitree's G1 low-level types (`LowCmd`, `LowState`, `MotorCmd`, `MotorState`,
//!   `ImuState`) encoded to and decoded from the exact bytes the robot's DDS stack puts on the wire
//!   (XCDR1 little-endian with its 4-byte encapsulation header), with Unitree's CRC computed over the
//!   C struct layout. Through zenoh's DDS bridge these bytes are the zenoh payloads of `rt/lowcmd`
//!   and `rt/lowstate`.
//! - [`project`]: vigor's own messages (depth frames, controller status and commands, simulated-robot
//!   requests), each with a kind tag, a schema version and a compact little-endian encoding.
//! - [`topics`]: every zenoh key, each documented with payload, publisher, subscribers and rate.
//!   Nothing else in vigor formats key strings.
//!
//! Invariants: decoding checks length, header, padding, CRC and schema and returns a typed
//! [`DecodeError`]; it never panics, whatever the input (tested with random and mutated bytes).
//! Encoding into a caller's buffer never allocates. Plain data plus codecs: no I/O, no clock.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod cdr;
pub mod crc;
mod error;
pub mod json;
pub mod project;
pub mod topics;
pub mod unitree_hg;

pub use error::DecodeError;
