//! Controller status (published) and operator commands (subscribed).

use serde::{Deserialize, Serialize};

use super::{Dec, Enc, Kind};
use crate::DecodeError;

/// Defines a `u8`-coded enum with `code()` and `from_code()`.
macro_rules! coded_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        #[repr(u8)]
        pub enum $name {
            $($(#[$vmeta])* $variant = $code,)+
        }

        impl $name {
            /// Every variant, in code order.
            pub const ALL: &'static [Self] = &[$(Self::$variant,)+];

            /// The wire code.
            #[must_use]
            pub const fn code(self) -> u8 {
                self as u8
            }

            /// The variant with wire code `code`, if any.
            #[must_use]
            pub const fn from_code(code: u8) -> Option<Self> {
                match code {
                    $($code => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

coded_enum! {
    /// The controller's safety state.
    ControllerState {
        /// Damping (kp 0, kd from config); the state after start and after a clear.
        Passive = 0,
        /// Soft start from the measured pose to the stand pose.
        Ramp = 1,
        /// Holding the stand pose, watching tilt.
        Armed = 2,
        /// The fall-safety policy is in control.
        Active = 3,
        /// A fault or e-stop: damping until cleared.
        Damping = 4,
    }
}

coded_enum! {
    /// Why the last state transition happened.
    TransitionReason {
        /// The daemon started.
        Startup = 0,
        /// An operator command ([`Command`]).
        Commanded = 1,
        /// The soft-start ramp finished.
        RampComplete = 2,
        /// Base tilt exceeded the engage threshold.
        TiltEngaged = 3,
        /// The robot is upright and stable again.
        Recovered = 4,
        /// No valid LowState within the watchdog.
        LowStateStale = 5,
        /// No depth frame within the watchdog.
        DepthStale = 6,
        /// The policy produced NaN or Inf.
        NonFiniteAction = 7,
        /// Emergency stop (latched until cleared).
        EStop = 8,
        /// A latched fault was cleared.
        Cleared = 9,
        /// Another process writes `rt/lowcmd`.
        OtherWriter = 10,
        /// A motor reported an error or an over-temperature.
        MotorFault = 11,
        /// The policy's newest action is older than the policy watchdog while Active.
        PolicyStale = 12,
        /// The operator's heartbeat (deadman) stopped while Ramp, Armed or Active.
        OperatorLost = 13,
        /// The daemon is stopping (a signal, the end of `--duration-s`): damping before exit.
        Shutdown = 14,
        /// The e-stop button of the Unitree remote (`select`) is pressed (latched until cleared).
        RemoteEStop = 15,
        /// A thread of the daemon died (a panic): damping, then the process exits non-zero.
        ThreadDied = 16,
        /// An Arm came before the first valid LowState: refused, still Passive (arm again once
        /// the robot's state flows).
        NoLowState = 17,
    }
}

coded_enum! {
    /// An operator command.
    Command {
        /// Passive -> Ramp -> Armed.
        Arm = 0,
        /// Back to Passive.
        Disarm = 1,
        /// Armed -> Active without waiting for tilt.
        Engage = 2,
        /// Emergency stop: Damping, latched.
        EStop = 3,
        /// Clear a latched fault or e-stop (-> Passive).
        Clear = 4,
        /// The operator is there (deadman): when the controller is configured with an operator
        /// heartbeat, Ramp, Armed and Active need one at least every `operator_heartbeat_ms`.
        Heartbeat = 5,
    }
}

/// Fault counters since the daemon started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultCounters {
    /// LowState frames dropped for a bad CRC, header or length.
    pub bad_frames: u32,
    /// LowState frames dropped for a wrong `mode_machine`.
    pub wrong_mode_machine: u32,
    /// LowState watchdog expiries.
    pub lowstate_stale: u32,
    /// Depth watchdog expiries.
    pub depth_stale: u32,
    /// Policy outputs with NaN or Inf.
    pub nonfinite_actions: u32,
    /// Control ticks that missed their deadline.
    pub deadline_misses: u32,
    /// Times another `rt/lowcmd` writer was seen (each appearance after a quiet spell).
    pub other_writers: u32,
    /// LowState frames dropped for NaN or Inf in the IMU or a driven joint's position or velocity.
    pub nonfinite_states: u32,
    /// LowState frames dropped because their `tick` did not advance (a frozen or replayed stream).
    pub repeated_states: u32,
    /// Policy watchdog expiries while Active.
    pub policy_stale: u32,
    /// Policy steps that started more than one period late (the thread skips, never bursts).
    pub policy_overruns: u32,
    /// Motor error codes (`motorstate` != 0) seen on a driven motor.
    pub motor_errors: u32,
    /// Operator heartbeat expiries.
    pub operator_lost: u32,
}

impl FaultCounters {
    /// Number of counters on the wire.
    pub const COUNT: usize = 13;

    fn fields(&self) -> [u32; Self::COUNT] {
        [
            self.bad_frames,
            self.wrong_mode_machine,
            self.lowstate_stale,
            self.depth_stale,
            self.nonfinite_actions,
            self.deadline_misses,
            self.other_writers,
            self.nonfinite_states,
            self.repeated_states,
            self.policy_stale,
            self.policy_overruns,
            self.motor_errors,
            self.operator_lost,
        ]
    }
}

/// Controller status. Topic: [`crate::topics::CONTROLLER_STATUS`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControllerStatus {
    /// Status counter, from 0.
    pub seq: u64,
    /// Publication time, ns, controller clock.
    pub stamp_ns: u64,
    /// Current state.
    pub state: ControllerState,
    /// Reason of the last transition.
    pub reason: TransitionReason,
    /// Time of the last transition, ns, controller clock.
    pub since_ns: u64,
    /// An e-stop or fault is latched until [`Command::Clear`].
    pub latched: bool,
    /// Base tilt from vertical, rad.
    pub tilt_rad: f32,
    /// Fault counters.
    pub faults: FaultCounters,
}

impl ControllerStatus {
    const NAME: &'static str = "ControllerStatus";

    /// Encodes the status.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Enc::new(Kind::ControllerStatus, 31 + 4 * FaultCounters::COUNT);
        e.u64(self.seq);
        e.u64(self.stamp_ns);
        e.u8(self.state.code());
        e.u8(self.reason.code());
        e.u64(self.since_ns);
        e.u8(u8::from(self.latched));
        e.f32(self.tilt_rad);
        for v in self.faults.fields() {
            e.u32(v);
        }
        e.finish()
    }

    /// Decodes a status.
    ///
    /// # Errors
    /// [`DecodeError`] naming the field; never panics.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut d = Dec::open(bytes, Kind::ControllerStatus, Self::NAME)?;
        let seq = d.u64("seq")?;
        let stamp_ns = d.u64("stamp_ns")?;
        let state =
            ControllerState::from_code(d.u8("state")?).ok_or(d.invalid("state", "unknown code"))?;
        let reason = TransitionReason::from_code(d.u8("reason")?)
            .ok_or(d.invalid("reason", "unknown code"))?;
        let since_ns = d.u64("since_ns")?;
        let latched = d.bool("latched")?;
        let tilt_rad = d.f32("tilt_rad")?;
        let faults = FaultCounters {
            bad_frames: d.u32("faults")?,
            wrong_mode_machine: d.u32("faults")?,
            lowstate_stale: d.u32("faults")?,
            depth_stale: d.u32("faults")?,
            nonfinite_actions: d.u32("faults")?,
            deadline_misses: d.u32("faults")?,
            other_writers: d.u32("faults")?,
            nonfinite_states: d.u32("faults")?,
            repeated_states: d.u32("faults")?,
            policy_stale: d.u32("faults")?,
            policy_overruns: d.u32("faults")?,
            motor_errors: d.u32("faults")?,
            operator_lost: d.u32("faults")?,
        };
        d.finish()?;
        Ok(Self {
            seq,
            stamp_ns,
            state,
            reason,
            since_ns,
            latched,
            tilt_rad,
            faults,
        })
    }
}

/// An operator command to the controller. Topic: [`crate::topics::CONTROLLER_COMMAND`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControllerCommand {
    /// Sender's command counter.
    pub seq: u64,
    /// Send time, ns, sender's clock.
    pub stamp_ns: u64,
    /// The command.
    pub command: Command,
}

impl ControllerCommand {
    const NAME: &'static str = "ControllerCommand";

    /// Encodes the command.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Enc::new(Kind::ControllerCommand, 17);
        e.u64(self.seq);
        e.u64(self.stamp_ns);
        e.u8(self.command.code());
        e.finish()
    }

    /// Decodes a command.
    ///
    /// # Errors
    /// [`DecodeError`] naming the field; never panics.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut d = Dec::open(bytes, Kind::ControllerCommand, Self::NAME)?;
        let seq = d.u64("seq")?;
        let stamp_ns = d.u64("stamp_ns")?;
        let command =
            Command::from_code(d.u8("command")?).ok_or(d.invalid("command", "unknown code"))?;
        d.finish()?;
        Ok(Self {
            seq,
            stamp_ns,
            command,
        })
    }
}
