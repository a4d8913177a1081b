//! The control loop as a plain struct: what the control thread does each tick, apart from
//! sleeping and moving bytes. Time is passed in (nanoseconds on the daemon's clock), so the phase
//! lock, deadline misses, the other-writer window, the depth and heartbeat ages, status
//! decimation and the shutdown sequence are unit-tested without zenoh or threads.
//!
//! One tick: the node sleeps until [`ControlLoop::deadline_ns`], gathers what arrived (the newest
//! LowState and its arrival time, one operator command, the newest policy targets, when another
//! `rt/lowcmd` writer, a depth frame and an operator heartbeat were last seen, the decoder's
//! counters), calls [`ControlLoop::step`], publishes [`ControlLoop::command`] when the step says
//! so, and forwards the transition and status it returns.

use std::collections::VecDeque;

use vigor_msgs::project::{Command, ControllerState, ControllerStatus};
use vigor_msgs::unitree_hg::{LowCmd, LowState};

use crate::config::ControllerParams;
use crate::core::{Controller, JointSpec, TickInput, Transition};
use crate::timing::{LoopStats, PHASE_GAIN, PHASE_LEAD_S, PHASE_MAX_STEP_S, bin};

/// A foreign `rt/lowcmd` frame within this long counts as another writer, s.
pub const OTHER_WRITER_HOLD_S: f64 = 0.5;
/// Operator commands queued at most; more are dropped (an e-stop always gets in).
pub const COMMAND_QUEUE: usize = 16;

/// Operator commands in arrival order, taken one per tick. An e-stop empties the queue and stands
/// alone at its head, so a `clear` or `arm` queued before it can never undo it; heartbeats are not
/// queued (the node records their time).
#[derive(Debug)]
pub struct CommandQueue {
    queue: VecDeque<Command>,
}

impl Default for CommandQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl CommandQueue {
    /// An empty queue with room for [`COMMAND_QUEUE`] commands.
    #[must_use]
    pub fn new() -> Self {
        Self {
            queue: VecDeque::with_capacity(COMMAND_QUEUE),
        }
    }

    /// Adds a command; returns whether it was kept.
    pub fn push(&mut self, c: Command) -> bool {
        match c {
            Command::EStop => {
                self.queue.clear();
                self.queue.push_back(c);
                true
            }
            Command::Heartbeat => false,
            _ if self.queue.len() < COMMAND_QUEUE => {
                self.queue.push_back(c);
                true
            }
            _ => false,
        }
    }

    /// The oldest command.
    pub fn pop(&mut self) -> Option<Command> {
        self.queue.pop_front()
    }
}

/// What arrived since the last tick, with times in ns on the daemon's clock (0: never).
#[derive(Debug, Clone, Copy, Default)]
pub struct LoopInput<'a> {
    /// When this tick started.
    pub now_ns: u64,
    /// The newest LowState not yet seen, and when it arrived.
    pub lowstate: Option<(&'a LowState, u64)>,
    /// One operator command.
    pub command: Option<Command>,
    /// The newest policy joint targets not yet seen, rad.
    pub targets: Option<&'a [f32]>,
    /// When a foreign `rt/lowcmd` frame was last seen.
    pub other_writer_ns: u64,
    /// When the newest depth frame arrived.
    pub depth_ns: u64,
    /// When the newest operator heartbeat arrived.
    pub heartbeat_ns: u64,
    /// Frames the node dropped: bad CRC, header or length.
    pub bad_frames: u32,
    /// Frames the node dropped: wrong `mode_machine`.
    pub wrong_mode_machine: u32,
    /// Frames the node dropped: NaN or Inf in the IMU or a driven joint (counted where each
    /// frame arrives, so a single bad frame is counted even when the next one replaces it
    /// before a tick).
    pub nonfinite_states: u32,
    /// Policy steps that started late.
    pub policy_overruns: u32,
    /// A thread of the daemon died: damp and stop.
    pub thread_died: bool,
    /// The daemon was asked to stop: damp for the exit time, then stop.
    pub stop: bool,
}

/// What one step asks of the node.
#[derive(Debug, Clone, PartialEq)]
pub struct LoopOutput {
    /// Publish [`ControlLoop::command`] (false only before the first valid LowState).
    pub send: bool,
    /// A transition to log.
    pub transition: Option<Transition>,
    /// A status to publish (every `status_decimation` ticks and on every transition).
    pub status: Option<ControllerStatus>,
    /// The policy should run (Active).
    pub policy_active: bool,
    /// The shutdown damping is done: leave the loop.
    pub finished: bool,
}

/// The control loop.
#[derive(Debug)]
pub struct ControlLoop {
    core: Controller,
    params: ControllerParams,
    period_ns: u64,
    deadline_ns: u64,
    last_tick_ns: Option<u64>,
    last_arrival_ns: Option<u64>,
    reads_depth: bool,
    seen_nonfinite: u32,
    tick_no: u64,
    status_seq: u64,
    stopping_since_ns: Option<u64>,
    stats: LoopStats,
}

fn age_s(now_ns: u64, at_ns: u64) -> f64 {
    now_ns.saturating_sub(at_ns) as f64 * 1e-9
}

impl ControlLoop {
    /// A loop whose first tick is due one period after `start_ns`; `reads_depth` when the policy
    /// reads depth (only then does a stale depth stream matter).
    #[must_use]
    pub fn new(
        params: ControllerParams,
        joints: Vec<JointSpec>,
        reads_depth: bool,
        start_ns: u64,
    ) -> Self {
        let period_ns = (params.control_dt_s * 1e9).round() as u64;
        Self {
            core: Controller::new(params.clone(), joints),
            params,
            period_ns,
            deadline_ns: start_ns + period_ns,
            last_tick_ns: None,
            last_arrival_ns: None,
            reads_depth,
            seen_nonfinite: 0,
            tick_no: 0,
            status_seq: 0,
            stopping_since_ns: None,
            stats: LoopStats::new(),
        }
    }

    /// When the next tick is due, ns.
    #[must_use]
    pub fn deadline_ns(&self) -> u64 {
        self.deadline_ns
    }

    /// The command of the last step.
    #[must_use]
    pub fn command(&self) -> Option<&LowCmd> {
        self.core.last_command()
    }

    /// The controller core.
    #[must_use]
    pub fn core(&self) -> &Controller {
        &self.core
    }

    /// Loop timing so far.
    #[must_use]
    pub fn stats(&self) -> &LoopStats {
        &self.stats
    }

    /// Records the time from a LowState's arrival to its command's publication, µs.
    pub fn record_reaction(&mut self, us: u64) {
        bin(&mut self.stats.reaction_us, us);
        self.stats.max_reaction_us = self.stats.max_reaction_us.max(us);
    }

    /// One tick.
    pub fn step(&mut self, input: &LoopInput<'_>) -> LoopOutput {
        let now = input.now_ns;
        self.timing(now);
        if let Some((_, at)) = input.lowstate {
            self.last_arrival_ns = Some(at);
        }
        self.deadline_ns = self.next_deadline(now);

        let now_s = now as f64 * 1e-9;
        {
            let f = self.core.faults_mut();
            f.bad_frames = input.bad_frames;
            f.nonfinite_states += input.nonfinite_states.saturating_sub(self.seen_nonfinite);
            self.seen_nonfinite = self.seen_nonfinite.max(input.nonfinite_states);
            f.wrong_mode_machine = input.wrong_mode_machine;
            f.policy_overruns = input.policy_overruns;
        }
        if input.thread_died && self.core.state() != ControllerState::Damping {
            self.core.thread_died(now_s);
        }
        if (input.stop || input.thread_died) && self.stopping_since_ns.is_none() {
            self.stopping_since_ns = Some(now);
            if !input.thread_died {
                self.core.shutdown(now_s);
            }
        }
        if let Some(t) = input.targets
            && self.core.state() == ControllerState::Active
        {
            self.core.set_targets(t, now_s);
        }
        let other_writer =
            input.other_writer_ns > 0 && age_s(now, input.other_writer_ns) < OTHER_WRITER_HOLD_S;
        let depth_stale =
            input.depth_ns == 0 || age_s(now, input.depth_ns) > self.params.depth_timeout_s;
        let tick = TickInput {
            now_s,
            lowstate: input.lowstate.map(|(s, _)| s),
            // No operator command is taken while stopping.
            command: input.command.filter(|_| self.stopping_since_ns.is_none()),
            other_writer,
            depth_stale: self.reads_depth && depth_stale,
            heartbeat_s: (input.heartbeat_ns > 0).then_some(input.heartbeat_ns as f64 * 1e-9),
        };
        let send = self.core.tick(&tick).is_some();
        self.stats.ticks += 1;
        self.tick_no += 1;
        let transition = self.core.take_transition();
        let status = (transition.is_some()
            || self
                .tick_no
                .is_multiple_of(u64::from(self.params.status_decimation)))
        .then(|| {
            let s = self.core.status(self.status_seq, now);
            self.status_seq += 1;
            s
        });
        let finished = self
            .stopping_since_ns
            .is_some_and(|since| age_s(now, since) >= self.params.exit_damping_s);
        LoopOutput {
            send,
            transition,
            status,
            policy_active: self.core.state() == ControllerState::Active,
            finished,
        }
    }

    /// Period error and deadline misses, from the previous tick to this one.
    fn timing(&mut self, now: u64) {
        if let Some(prev) = self.last_tick_ns {
            let interval = now.saturating_sub(prev);
            let err_us = interval.abs_diff(self.period_ns) / 1000;
            bin(&mut self.stats.period_error_us, err_us);
            self.stats.max_period_error_us = self.stats.max_period_error_us.max(err_us);
            if interval * 2 > self.period_ns * 3 {
                self.core.faults_mut().deadline_misses += 1;
            }
        }
        self.last_tick_ns = Some(now);
    }

    /// The phase lock: the next tick one period on, steered a little per tick toward
    /// [`PHASE_LEAD_S`] after the newest LowState, so commands follow states closely while the
    /// period stays steady; after a stall, one period from now: missed ticks are skipped, never
    /// caught up in a burst.
    fn next_deadline(&self, now: u64) -> u64 {
        let mut next = self.deadline_ns + self.period_ns;
        if let Some(a) = self.last_arrival_ns {
            let phase = now.saturating_sub(a) as f64 * 1e-9;
            if phase < self.params.control_dt_s {
                let err = phase - PHASE_LEAD_S;
                let step = (PHASE_GAIN * err).clamp(-PHASE_MAX_STEP_S, PHASE_MAX_STEP_S);
                let step_ns = (step.abs() * 1e9) as u64;
                next = if step >= 0.0 {
                    next.saturating_sub(step_ns)
                } else {
                    next + step_ns
                };
            }
        }
        if next < now {
            now + self.period_ns
        } else {
            next
        }
    }
}

#[cfg(test)]
mod tests;
