//! The controller's logic as a plain struct: safety state machine, watchdogs and command
//! generation, one call per control tick, with no network, threads or clocks of its own.
//!
//! States (see [`ControllerState`]):
//! - **Passive**: damping (kp 0, kd from config) around the measured pose. The state after start,
//!   after Disarm, after a cleared latch, and after LowState comes back from a watchdog expiry.
//! - **Ramp**: soft start, linear from the pose measured at Arm to the stand pose over the
//!   configured time, with the robot's PD gains.
//! - **Armed**: hold the stand pose, watch tilt; engage the policy when tilt exceeds the
//!   threshold (or on Engage).
//! - **Active**: the policy's targets. Back to Armed once tilt stays under the recovered
//!   threshold, with little angular velocity and the legs near their stand pose, for the
//!   configured hold time.
//! - **Damping**: the fault state. Stale LowState (un-latched: Passive when it returns); and,
//!   latched until Clear: depth stale with the `damping` action, NaN or Inf in the policy output,
//!   a policy whose newest action is older than the policy watchdog, a motor error code or
//!   over-temperature, another `rt/lowcmd` writer while Ramp, Armed or Active, a lost operator
//!   heartbeat, an e-stop (command or the remote's `select` button), and shutdown.
//!
//! Safety rules kept here: no command before the first valid LowState (an Arm before it is
//! refused with [`TransitionReason::NoLowState`], an e-stop before it latches); a LowState with NaN or Inf
//! in the IMU or a driven joint, or whose `tick` did not advance, is dropped and counted (so a
//! frozen stream goes stale like a silent one); every target is clamped, NaN-safely, to the joint
//! limits, and the controller's own stand-pose targets also to a torque-aware band
//! `|q* - q| <= effort / kp` (a full position error then asks for at most the motor's effort;
//! the policy's targets are not banded, as in training); Arm is refused while another `rt/lowcmd` writer is seen or,
//! with a deadman configured, without a fresh operator heartbeat. Joints are addressed by their
//! motor slot (a 23-DoF G1 skips slots 13, 14, 20, 21, 27 and 28). The control path allocates
//! nothing after [`Controller::new`] and never panics.

use vigor_msgs::project::{
    Command, ControllerState, ControllerStatus, FaultCounters, TransitionReason,
};
use vigor_msgs::unitree_hg::{LowCmd, LowState, MOTOR_MODE_ENABLE, MotorCmd};

use vigor_policy::ActionMode;

use crate::config::{ControllerParams, DepthStaleAction};

mod checks;
pub(crate) use checks::finite_state;
pub use checks::{JointTableError, REMOTE_SELECT_BIT, check_joint_table, clamp_or, remote_estop};

/// Angular speed under which a recovered robot counts as still, rad/s.
pub const STILL_RAD_S: f32 = 0.5;
/// How far a leg joint may be from its stand pose for the robot to count as standing again, rad.
pub const RECOVERED_LEG_TOLERANCE_RAD: f32 = 0.5;

/// One driven joint as the controller needs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JointSpec {
    /// Motor slot in `LowCmd.motor_cmd` and `LowState.motor_state` (0..35).
    pub slot: usize,
    /// Stand pose, rad.
    pub default: f32,
    /// Lower limit, rad.
    pub lower: f32,
    /// Upper limit, rad.
    pub upper: f32,
    /// Torque limit, N·m.
    pub effort: f32,
    /// Position gain under the policy (Active), N·m/rad.
    pub kp: f32,
    /// Velocity gain under the policy, N·m·s/rad.
    pub kd: f32,
    /// Position gain for the PD-only stand (Ramp, Armed), N·m/rad.
    pub stand_kp: f32,
    /// Velocity gain for the PD-only stand, N·m·s/rad.
    pub stand_kd: f32,
    /// A leg joint: recovery (Active -> Armed) also requires it within
    /// [`RECOVERED_LEG_TOLERANCE_RAD`] of its stand pose, so a robot sitting upright on the
    /// ground does not count as recovered.
    pub leg: bool,
}

/// What happened since the last tick.
#[derive(Debug, Clone, Copy, Default)]
pub struct TickInput<'a> {
    /// Controller clock, s.
    pub now_s: f64,
    /// The newest valid LowState received since the last tick (CRC and `mode_machine` already
    /// checked by the node).
    pub lowstate: Option<&'a LowState>,
    /// An operator command.
    pub command: Option<Command>,
    /// Another process is writing `rt/lowcmd` (the node saw a foreign frame recently).
    pub other_writer: bool,
    /// The depth stream is stale (only meaningful for policies that read depth).
    pub depth_stale: bool,
    /// When the operator's newest heartbeat arrived, s (controller clock), if one has.
    pub heartbeat_s: Option<f64>,
}

/// A state change, for logs and the status topic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transition {
    /// From.
    pub from: ControllerState,
    /// To.
    pub to: ControllerState,
    /// Why.
    pub reason: TransitionReason,
    /// When, s.
    pub at_s: f64,
}

/// The controller.
#[derive(Debug, Clone)]
pub struct Controller {
    params: ControllerParams,
    joints: Vec<JointSpec>,
    state: ControllerState,
    reason: TransitionReason,
    since_s: f64,
    latched: bool,
    faults: FaultCounters,
    /// Newest LowState and when it came.
    last: LowState,
    have_state: bool,
    last_state_s: f64,
    stale: bool,
    /// Pose at the start of the ramp.
    ramp_from: Vec<f32>,
    /// Policy targets (Active).
    targets: Vec<f32>,
    have_targets: bool,
    upright_since: Option<f64>,
    tilt_rad: f32,
    /// When the newest policy action arrived (Active).
    action_s: f64,
    /// Whether another writer was seen on the previous tick (to count appearances).
    other_writer: bool,
    cmd: LowCmd,
    transition: Option<Transition>,
}

/// Tilt of the body z axis from vertical for orientation `q` (w x y z), rad.
#[must_use]
pub fn tilt_rad(q: [f32; 4]) -> f32 {
    let [_, x, y, _] = q;
    (1.0 - 2.0 * (x * x + y * y)).clamp(-1.0, 1.0).acos()
}

impl Controller {
    /// A controller in Passive for `joints` (each at its motor slot; check the table first with
    /// [`check_joint_table`]: a slot out of range is skipped, never indexed).
    #[must_use]
    pub fn new(params: ControllerParams, joints: Vec<JointSpec>) -> Self {
        let n = joints.len();
        let cmd = LowCmd {
            mode_machine: params.mode_machine,
            ..LowCmd::default()
        };
        Self {
            params,
            joints,
            state: ControllerState::Passive,
            reason: TransitionReason::Startup,
            since_s: 0.0,
            latched: false,
            faults: FaultCounters::default(),
            last: LowState::default(),
            have_state: false,
            last_state_s: f64::NEG_INFINITY,
            stale: false,
            ramp_from: vec![0.0; n],
            targets: vec![0.0; n],
            have_targets: false,
            upright_since: None,
            tilt_rad: 0.0,
            action_s: f64::NEG_INFINITY,
            other_writer: false,
            cmd,
            transition: None,
        }
    }

    /// Current state.
    #[must_use]
    pub fn state(&self) -> ControllerState {
        self.state
    }

    /// Whether a fault or e-stop is latched.
    #[must_use]
    pub fn latched(&self) -> bool {
        self.latched
    }

    /// Fault counters.
    #[must_use]
    pub fn faults(&self) -> &FaultCounters {
        &self.faults
    }

    /// Mutable fault counters, for faults the node counts (bad frames, deadline misses).
    pub fn faults_mut(&mut self) -> &mut FaultCounters {
        &mut self.faults
    }

    /// The newest LowState, once one has arrived.
    #[must_use]
    pub fn lowstate(&self) -> Option<&LowState> {
        self.have_state.then_some(&self.last)
    }

    /// The command of the last tick, once a LowState has arrived.
    #[must_use]
    pub fn last_command(&self) -> Option<&LowCmd> {
        self.have_state.then_some(&self.cmd)
    }

    /// The joints.
    #[must_use]
    pub fn joints(&self) -> &[JointSpec] {
        &self.joints
    }

    /// The last transition not yet taken, for logging.
    pub fn take_transition(&mut self) -> Option<Transition> {
        self.transition.take()
    }

    /// The status message at `now_ns`.
    #[must_use]
    pub fn status(&self, seq: u64, now_ns: u64) -> ControllerStatus {
        ControllerStatus {
            seq,
            stamp_ns: now_ns,
            state: self.state,
            reason: self.reason,
            since_ns: (self.since_s.max(0.0) * 1e9) as u64,
            latched: self.latched,
            tilt_rad: self.tilt_rad,
            faults: self.faults,
        }
    }

    fn go(&mut self, to: ControllerState, reason: TransitionReason, now_s: f64) {
        if to == self.state && reason == self.reason {
            return;
        }
        self.transition = Some(Transition {
            from: self.state,
            to,
            reason,
            at_s: now_s,
        });
        self.state = to;
        self.reason = reason;
        self.since_s = now_s;
        self.upright_since = None;
        match to {
            ControllerState::Ramp => {
                for (r, j) in self.ramp_from.iter_mut().zip(&self.joints) {
                    *r = self.last.motor_state.get(j.slot).map_or(j.default, |m| m.q);
                }
            }
            ControllerState::Active => self.have_targets = false,
            _ => {}
        }
    }

    /// Goes to Damping for shutdown (latched): every later tick sends damping frames.
    pub fn shutdown(&mut self, now_s: f64) {
        self.fault(TransitionReason::Shutdown, true, now_s);
    }

    /// Goes to Damping because a thread of the daemon died (latched).
    pub fn thread_died(&mut self, now_s: f64) {
        self.fault(TransitionReason::ThreadDied, true, now_s);
    }

    fn fault(&mut self, reason: TransitionReason, latch: bool, now_s: f64) {
        if latch {
            self.latched = true;
        }
        self.go(ControllerState::Damping, reason, now_s);
    }

    /// Hands the policy's joint position targets (rad, one per joint, before the joint limits)
    /// to the controller, used while Active. Targets of the wrong length or with NaN or Inf latch
    /// Damping.
    pub fn set_targets(&mut self, targets: &[f32], now_s: f64) {
        if targets.len() != self.targets.len() || targets.iter().any(|a| !a.is_finite()) {
            self.faults.nonfinite_actions += 1;
            self.fault(TransitionReason::NonFiniteAction, true, now_s);
            return;
        }
        self.targets.copy_from_slice(targets);
        self.have_targets = true;
        self.action_s = now_s;
    }

    /// [`Controller::set_targets`] for an action: `q_default + scale·a`
    /// ([`ActionMode::DefaultOffset`]) or `q + scale·a` ([`ActionMode::CurrentDelta`]), as an MLP
    /// policy's runtime computes them.
    pub fn set_action(&mut self, action: &[f32], mode: ActionMode, scale: f32, now_s: f64) {
        let targets: Vec<f32> = action
            .iter()
            .zip(&self.joints)
            .map(|(a, j)| {
                let base = match mode {
                    ActionMode::DefaultOffset => j.default,
                    ActionMode::CurrentDelta => {
                        self.last.motor_state.get(j.slot).map_or(j.default, |m| m.q)
                    }
                };
                base + scale * a
            })
            .collect();
        let targets = if targets.len() == action.len() {
            targets
        } else {
            action.to_vec()
        };
        self.set_targets(&targets, now_s);
    }

    /// One control tick: returns the command to send, or `None` before the first valid LowState.
    pub fn tick(&mut self, input: &TickInput<'_>) -> Option<&LowCmd> {
        let now = input.now_s;
        if let Some(s) = input.lowstate {
            if !finite_state(s, &self.joints) {
                self.faults.nonfinite_states += 1;
            } else if self.have_state && s.tick == self.last.tick {
                self.faults.repeated_states += 1;
            } else {
                self.last.clone_from(s);
                self.have_state = true;
                self.last_state_s = now;
            }
        }
        if !self.have_state {
            if let Some(c) = input.command {
                self.command_without_state(c, now);
            }
            return None;
        }
        self.tilt_rad = tilt_rad(self.last.imu_state.quaternion);
        self.watch(input, now);
        if let Some(c) = input.command {
            let operator = self.operator_present(input.heartbeat_s, now);
            self.command(c, input.other_writer, operator, now);
        }
        self.advance(now);
        self.write_command(now);
        Some(&self.cmd)
    }

    fn watch(&mut self, input: &TickInput<'_>, now: f64) {
        let stale = now - self.last_state_s > self.params.lowstate_timeout_s;
        if stale && !self.stale {
            self.faults.lowstate_stale += 1;
            self.fault(TransitionReason::LowStateStale, false, now);
        } else if !stale
            && self.stale
            && self.state == ControllerState::Damping
            && self.reason == TransitionReason::LowStateStale
            && !self.latched
        {
            self.go(ControllerState::Passive, TransitionReason::Cleared, now);
        }
        self.stale = stale;
        let (mut hot, mut error) = (false, false);
        for j in &self.joints {
            if let Some(m) = self.last.motor_state.get(j.slot) {
                hot |= m.temperature[0] >= self.params.max_winding_c
                    || m.temperature[1] >= self.params.max_casing_c;
                error |= m.motorstate != 0;
            }
        }
        let damping = self.state == ControllerState::Damping;
        if error && !(damping && self.reason == TransitionReason::MotorFault) {
            self.faults.motor_errors += 1;
        }
        if (hot || error) && !damping {
            self.fault(TransitionReason::MotorFault, true, now);
        }
        if remote_estop(&self.last) && !self.stale {
            self.fault(TransitionReason::RemoteEStop, true, now);
        }
        if input.other_writer && !self.other_writer {
            self.faults.other_writers += 1;
        }
        self.other_writer = input.other_writer;
        use ControllerState as S;
        let driving = matches!(self.state, S::Ramp | S::Armed | S::Active);
        if input.other_writer && driving {
            self.fault(TransitionReason::OtherWriter, true, now);
        }
        if let Some(timeout) = self.params.operator_timeout_s
            && driving
            && !input.heartbeat_s.is_some_and(|h| now - h <= timeout)
        {
            self.faults.operator_lost += 1;
            self.fault(TransitionReason::OperatorLost, true, now);
        }
        if self.state == S::Active {
            let last = if self.have_targets {
                self.action_s
            } else {
                self.since_s
            };
            if now - last > self.params.policy_timeout_s {
                self.faults.policy_stale += 1;
                self.fault(TransitionReason::PolicyStale, true, now);
            }
        }
        if input.depth_stale && self.state == S::Active {
            self.faults.depth_stale += 1;
            if self.params.depth_stale_action == DepthStaleAction::Damping {
                self.fault(TransitionReason::DepthStale, true, now);
            }
        }
    }

    /// Whether the operator's heartbeat is fresh (always, when no deadman is configured).
    fn operator_present(&self, heartbeat_s: Option<f64>, now: f64) -> bool {
        self.params
            .operator_timeout_s
            .is_none_or(|timeout| heartbeat_s.is_some_and(|h| now - h <= timeout))
    }

    /// A command before the first valid LowState: an e-stop latches (the first frames, once the
    /// robot's state arrives, are damping), an Arm is refused with the reason in the status, and
    /// nothing else applies to a controller that has nothing to command yet.
    fn command_without_state(&mut self, c: Command, now: f64) {
        match c {
            Command::EStop => self.fault(TransitionReason::EStop, true, now),
            Command::Arm if self.state == ControllerState::Passive => {
                self.go(ControllerState::Passive, TransitionReason::NoLowState, now);
            }
            _ => {}
        }
    }

    fn command(&mut self, c: Command, other_writer: bool, operator: bool, now: f64) {
        use ControllerState as S;
        match (c, self.state) {
            (Command::EStop, _) => self.fault(TransitionReason::EStop, true, now),
            // Clearing needs a live stream and the remote's e-stop released; a shutdown or a
            // dead thread is never cleared.
            (Command::Clear, S::Damping)
                if !self.stale
                    && !remote_estop(&self.last)
                    && !matches!(
                        self.reason,
                        TransitionReason::Shutdown | TransitionReason::ThreadDied
                    ) =>
            {
                self.latched = false;
                self.go(S::Passive, TransitionReason::Cleared, now);
            }
            (Command::Arm, S::Passive) if !self.latched && !self.stale => {
                if other_writer {
                    // Refused: stay in Passive, and say why.
                    self.go(S::Passive, TransitionReason::OtherWriter, now);
                } else if !operator {
                    self.go(S::Passive, TransitionReason::OperatorLost, now);
                } else if self.tilt_rad > self.params.engage_tilt_rad {
                    // Already down: the policy takes over from the pose the robot lies in, as it
                    // trained; ramping a lying robot toward the stand pose would only fold it.
                    self.go(S::Active, TransitionReason::TiltEngaged, now);
                } else {
                    self.go(S::Ramp, TransitionReason::Commanded, now);
                }
            }
            (Command::Disarm, S::Ramp | S::Armed | S::Active) => {
                self.go(S::Passive, TransitionReason::Commanded, now);
            }
            (Command::Engage, S::Armed) => self.go(S::Active, TransitionReason::Commanded, now),
            _ => {}
        }
    }

    fn advance(&mut self, now: f64) {
        use ControllerState as S;
        let t = now - self.since_s;
        match self.state {
            S::Ramp if t >= f64::from(self.params.ramp_duration_s) => {
                self.go(S::Armed, TransitionReason::RampComplete, now);
            }
            S::Armed if self.tilt_rad > self.params.engage_tilt_rad => {
                self.go(S::Active, TransitionReason::TiltEngaged, now);
            }
            S::Active => {
                let g = self.last.imu_state.gyroscope;
                let spin = (g[0] * g[0] + g[1] * g[1] + g[2] * g[2]).sqrt();
                let legs_standing =
                    self.joints.iter().all(|j| {
                        !j.leg
                            || self.last.motor_state.get(j.slot).is_some_and(|m| {
                                (m.q - j.default).abs() < RECOVERED_LEG_TOLERANCE_RAD
                            })
                    });
                if self.tilt_rad < self.params.recovered_tilt_rad
                    && spin < STILL_RAD_S
                    && legs_standing
                {
                    let since = *self.upright_since.get_or_insert(now);
                    if now - since >= f64::from(self.params.recovered_hold_s) {
                        self.go(S::Armed, TransitionReason::Recovered, now);
                    }
                } else {
                    self.upright_since = None;
                }
            }
            _ => {}
        }
    }

    fn write_command(&mut self, now: f64) {
        use ControllerState as S;
        let ramp = if self.state == S::Ramp {
            ((now - self.since_s) / f64::from(self.params.ramp_duration_s)).clamp(0.0, 1.0) as f32
        } else {
            1.0
        };
        let kd_damp = self.params.damping_kd;
        for (i, j) in self.joints.iter().enumerate() {
            let Some(q) = self.last.motor_state.get(j.slot).map(|m| m.q) else {
                continue;
            };
            let (target, kp, kd) = match self.state {
                S::Passive | S::Damping => (q, 0.0, kd_damp),
                S::Ramp => (
                    self.ramp_from[i] + (j.default - self.ramp_from[i]) * ramp,
                    j.stand_kp,
                    j.stand_kd,
                ),
                S::Armed => (j.default, j.stand_kp, j.stand_kd),
                S::Active if self.have_targets => (self.targets[i], j.kp, j.kd),
                // Engaged but no policy step yet: keep holding the stand pose.
                S::Active => (j.default, j.stand_kp, j.stand_kd),
            };
            // The controller's own stand pose is held within the torque band. The policy's
            // targets reach the motors as they did in training: limited by the joint limits, with
            // the motor saturating at its effort. A band there would also cut the torque the
            // damping term leaves while a joint moves fast, which the policy never met.
            let banded = !(self.state == S::Active && self.have_targets);
            let band = if kp > 0.0 && banded {
                j.effort / kp
            } else {
                f32::INFINITY
            };
            // NaN-safe: never a panic on the control path, whatever the inputs.
            let target = clamp_or(target, q - band, q + band, q);
            let target = clamp_or(target, j.lower, j.upper, j.default);
            if let Some(m) = self.cmd.motor_cmd.get_mut(j.slot) {
                *m = MotorCmd {
                    mode: MOTOR_MODE_ENABLE,
                    q: target,
                    dq: 0.0,
                    tau: 0.0,
                    kp,
                    kd,
                    reserve: 0,
                };
            }
        }
        self.cmd.mode_machine = self.params.mode_machine;
        self.cmd.crc = self.cmd.compute_crc();
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod fault_tests;
