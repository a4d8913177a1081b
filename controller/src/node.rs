//! The controller daemon: the [`Controller`] core wired to zenoh, a control thread and a policy
//! thread.
//!
//! Threads:
//! - zenoh's callbacks decode `rt/lowstate` (CRC, length, `mode_machine` checked; bad frames are
//!   counted and dropped), watch `rt/lowcmd` for other writers, take operator commands and note
//!   depth frames. They hand data over through single-slot mailboxes.
//! - The control thread ticks the core at the control rate on its own clock (sleep, then spin for
//!   the last [`SPIN_S`]), phase-locked to land [`PHASE_LEAD_S`] after LowState arrivals, so a
//!   command follows each state closely while the period stays steady and the watchdog runs when
//!   states stop. It encodes the `LowCmd` into a buffer allocated at start and publishes it. It never allocates, blocks on I/O or formats text;
//!   transitions and status go to the I/O thread through a bounded channel.
//! - The policy thread runs the artifact at the policy rate on the newest LowState and posts the
//!   action back.
//! - The I/O thread logs transitions and publishes `ControllerStatus` (at the status rate and on
//!   every transition).
//!
//! The `LowCmd` carries this session's zenoh id as an attachment, so the controller can tell its
//! own frames on `rt/lowcmd` from another writer's.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use vigor_msgs::project::{
    Command, ControllerCommand, ControllerState, ControllerStatus, FaultCounters,
};
use vigor_msgs::topics;
use vigor_msgs::unitree_hg::{LowCmd, LowState};
use vigor_policy::{ObservationLayout, Policy};
use zenoh::Wait;

use crate::bus::{BusConfig, BusError};
use crate::config::ControllerParams;
use crate::core::{Controller, JointSpec, TickInput, Transition};
use crate::timing::bin;
pub use crate::timing::{
    HISTOGRAM_BINS, LoopStats, PHASE_GAIN, PHASE_LEAD_S, PHASE_MAX_STEP_S, SPIN_S, sleep_until,
};

/// Operator commands queued at most; more are dropped (an e-stop always gets in first).
pub const COMMAND_QUEUE: usize = 16;
/// A foreign `rt/lowcmd` frame within this long keeps arming refused, s.
pub const OTHER_WRITER_HOLD_S: f64 = 0.5;

/// Everything the daemon needs.
pub struct NodeOptions {
    /// The bus.
    pub bus: BusConfig,
    /// Checked controller parameters.
    pub params: ControllerParams,
    /// The driven joints, by motor slot.
    pub joints: Vec<JointSpec>,
    /// The policy artifact.
    pub policy: Policy,
    /// Key scope (the DDS bridge's `--scope`), if any.
    pub scope: Option<String>,
    /// Stop after this long (benchmarks, tests); `None` runs until [`NodeHandle::stop`].
    pub duration: Option<Duration>,
}

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The bus failed.
    #[error(transparent)]
    Bus(#[from] BusError),
    /// The policy does not fit the controller (observation or action).
    #[error("policy `{name}` does not fit this controller: {message}")]
    Policy {
        /// The artifact's name.
        name: String,
        /// What does not fit.
        message: String,
    },
    /// A thread could not be started.
    #[error("cannot start the {0} thread: {1}")]
    Thread(&'static str, std::io::Error),
}

/// What the daemon reports when it stops.
#[derive(Debug, Clone)]
pub struct NodeReport {
    /// Final state.
    pub state: ControllerState,
    /// Fault counters.
    pub faults: FaultCounters,
    /// Loop timing.
    pub stats: LoopStats,
}

/// A running daemon.
pub struct NodeHandle {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
    result: Arc<Mutex<Option<NodeReport>>>,
    policy_stats: Arc<Mutex<Option<LoopStats>>>,
    _session: zenoh::Session,
}

impl NodeHandle {
    /// Asks every thread to stop.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// Whether the daemon has stopped (its duration ran out, or it was asked to).
    #[must_use]
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Waits for the threads and returns the report.
    #[must_use]
    pub fn join(mut self) -> Option<NodeReport> {
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        let mut report = self.result.lock().ok().and_then(|mut r| r.take())?;
        if let Some(p) = self.policy_stats.lock().ok().and_then(|mut p| p.take()) {
            report.stats.policy_steps = p.policy_steps;
            report.stats.policy_us = p.policy_us;
            report.stats.max_policy_us = p.max_policy_us;
        }
        Some(report)
    }
}

/// Newest LowState, its sequence number and arrival time.
struct StateSlot {
    slot: Mutex<(LowState, u64, Option<Instant>)>,
}

/// What the policy thread needs from the control thread.
struct PolicySlot {
    state: Mutex<(LowState, bool)>,
    action: Mutex<(Vec<f32>, u64)>,
}

enum IoEvent {
    Transition(Transition),
    Status(ControllerStatus),
}

fn now_ns(epoch: Instant) -> u64 {
    epoch.elapsed().as_nanos() as u64
}

/// Starts the daemon.
///
/// # Errors
/// A policy that does not fit (observation blocks this build cannot fill, action size), or a
/// bus that cannot be opened.
pub fn start(opts: NodeOptions) -> Result<NodeHandle, NodeError> {
    let manifest = opts.policy.manifest().clone();
    let n = opts.joints.len();
    if let Some(message) = manifest.observation.unbuildable_block(n) {
        return Err(NodeError::Policy {
            name: manifest.name,
            message,
        });
    }
    if manifest.action.dim != n {
        return Err(NodeError::Policy {
            name: manifest.name.clone(),
            message: format!(
                "it outputs {} actions; the robot has {n} joints",
                manifest.action.dim
            ),
        });
    }
    let session = opts.bus.open()?;
    let zid = session.zid().to_string();
    let scope = opts.scope.as_deref();
    let key = |t: &topics::Topic| t.scoped(scope);

    let epoch = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let bad_frames = Arc::new(AtomicU64::new(0));
    let wrong_mode = Arc::new(AtomicU64::new(0));
    let other_writer_ns = Arc::new(AtomicU64::new(0));
    let last_depth_ns = Arc::new(AtomicU64::new(0));
    // Operator commands, in order (an e-stop jumps the queue); one is taken per tick.
    let pending_command: Arc<Mutex<VecDeque<Command>>> =
        Arc::new(Mutex::new(VecDeque::with_capacity(COMMAND_QUEUE)));
    let states = Arc::new(StateSlot {
        slot: Mutex::new((LowState::default(), 0, None)),
    });
    let policy_slot = Arc::new(PolicySlot {
        state: Mutex::new((LowState::default(), false)),
        action: Mutex::new((vec![0.0; n], 0)),
    });
    let zerr = |e: zenoh::Error| NodeError::Bus(BusError::Zenoh(e.to_string()));

    let mode_machine = opts.params.mode_machine;
    let sub_state = {
        let states = Arc::clone(&states);
        let bad = Arc::clone(&bad_frames);
        let wrong = Arc::clone(&wrong_mode);
        session
            .declare_subscriber(key(&topics::LOWSTATE))
            .callback(move |sample| {
                let bytes = sample.payload().to_bytes();
                match LowState::decode(&bytes) {
                    Ok(s) if s.mode_machine == mode_machine => {
                        if let Ok(mut slot) = states.slot.lock() {
                            slot.0 = s;
                            slot.1 += 1;
                            slot.2 = Some(Instant::now());
                        }
                    }
                    Ok(_) => {
                        wrong.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => {
                        bad.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
            .wait()
            .map_err(zerr)?
    };
    let sub_lowcmd = {
        let other = Arc::clone(&other_writer_ns);
        let me = zid.clone();
        session
            .declare_subscriber(key(&topics::LOWCMD))
            .callback(move |sample| {
                let mine = sample
                    .attachment()
                    .is_some_and(|a| a.to_bytes().as_ref() == me.as_bytes());
                if !mine {
                    other.store(now_ns(epoch).max(1), Ordering::Relaxed);
                }
            })
            .wait()
            .map_err(zerr)?
    };
    let sub_command = {
        let pending = Arc::clone(&pending_command);
        session
            .declare_subscriber(key(&topics::CONTROLLER_COMMAND))
            .callback(move |sample| {
                if let Ok(c) = ControllerCommand::decode(&sample.payload().to_bytes())
                    && let Ok(mut p) = pending.lock()
                {
                    if c.command == Command::EStop {
                        p.push_front(c.command);
                    } else if p.len() < COMMAND_QUEUE {
                        p.push_back(c.command);
                    }
                }
            })
            .wait()
            .map_err(zerr)?
    };
    let sub_depth = {
        let last = Arc::clone(&last_depth_ns);
        session
            .declare_subscriber(key(&topics::DEPTH))
            .callback(move |_| last.store(now_ns(epoch).max(1), Ordering::Relaxed))
            .wait()
            .map_err(zerr)?
    };
    let lowcmd_pub = session
        .declare_publisher(key(&topics::LOWCMD))
        .congestion_control(zenoh::qos::CongestionControl::Drop)
        .express(true)
        .wait()
        .map_err(zerr)?;
    let status_pub = session
        .declare_publisher(key(&topics::CONTROLLER_STATUS))
        .wait()
        .map_err(zerr)?;

    let result = Arc::new(Mutex::new(None));
    let policy_stats = Arc::new(Mutex::new(None));
    // Depth matters only to policies that read it (the depth student).
    let reads_depth = manifest
        .observation
        .blocks
        .iter()
        .any(|b| b.name.starts_with("depth"));
    let (io_tx, io_rx): (SyncSender<IoEvent>, Receiver<IoEvent>) = sync_channel(256);
    let mut threads = Vec::new();

    // I/O thread: transitions to stderr, status on the bus.
    {
        let stop = Arc::clone(&stop);
        threads.push(
            std::thread::Builder::new()
                .name("vigor-io".into())
                .spawn(move || {
                    let _keep = (sub_state, sub_lowcmd, sub_command, sub_depth);
                    while !stop.load(Ordering::SeqCst) {
                        match io_rx.recv_timeout(Duration::from_millis(50)) {
                            Ok(IoEvent::Transition(t)) => eprintln!(
                                "[{:9.3} s] {:?} -> {:?} ({:?})",
                                t.at_s, t.from, t.to, t.reason
                            ),
                            Ok(IoEvent::Status(s)) => {
                                let _ = status_pub.put(s.encode()).wait();
                            }
                            Err(_) => {}
                        }
                    }
                })
                .map_err(|e| NodeError::Thread("I/O", e))?,
        );
    }

    // Policy thread.
    {
        let stop = Arc::clone(&stop);
        let slot = Arc::clone(&policy_slot);
        let policy = opts.policy;
        let layout: ObservationLayout = manifest.observation.clone();
        let default_q: Vec<f32> = opts.joints.iter().map(|j| j.default).collect();
        let period = Duration::from_secs_f64(
            opts.params.control_dt_s * f64::from(opts.params.policy_decimation),
        );
        let stats_slot = Arc::clone(&policy_stats);
        threads.push(
            std::thread::Builder::new()
                .name("vigor-policy".into())
                .spawn(move || {
                    policy_loop(
                        &policy,
                        &layout,
                        &default_q,
                        &slot,
                        &stop,
                        period,
                        &stats_slot,
                    );
                })
                .map_err(|e| NodeError::Thread("policy", e))?,
        );
    }

    // Control thread.
    {
        let stop = Arc::clone(&stop);
        let params = opts.params.clone();
        let joints = opts.joints.clone();
        let duration = opts.duration;
        let action_mode = manifest.action.mode;
        let action_scale = manifest.action.scale;
        let result = Arc::clone(&result);
        let zid_bytes = zid.into_bytes();
        threads.push(
            std::thread::Builder::new()
                .name("vigor-control".into())
                .spawn(move || {
                    let mut core = Controller::new(params.clone(), joints);
                    let mut stats = LoopStats::new();
                    let mut buf = [0u8; LowCmd::WIRE_LEN];
                    let period = Duration::from_secs_f64(params.control_dt_s);
                    let mut last_tick: Option<Instant> = None;
                    let mut seen_seq = 0u64;
                    let mut seen_action = 0u64;
                    let mut local = LowState::default();
                    let mut status_seq = 0u64;
                    let mut tick_no = 0u64;
                    let mut action = vec![0.0f32; n];
                    let mut deadline = Instant::now() + period;
                    let mut last_arrival: Option<Instant> = None;
                    while !stop.load(Ordering::SeqCst) {
                        if duration.is_some_and(|d| epoch.elapsed() >= d) {
                            stop.store(true, Ordering::SeqCst);
                            break;
                        }
                        sleep_until(deadline);
                        let tick_at = Instant::now();
                        let mut arrived = None;
                        if let Ok(slot) = states.slot.lock()
                            && slot.1 != seen_seq
                        {
                            seen_seq = slot.1;
                            local.clone_from(&slot.0);
                            arrived = slot.2;
                        }
                        if arrived.is_some() {
                            last_arrival = arrived;
                        }
                        if let Some(prev) = last_tick {
                            let interval = tick_at.duration_since(prev).as_secs_f64();
                            let err_us = ((interval - params.control_dt_s).abs() * 1e6) as u64;
                            bin(&mut stats.period_error_us, err_us);
                            stats.max_period_error_us = stats.max_period_error_us.max(err_us);
                            if interval > 1.5 * params.control_dt_s {
                                core.faults_mut().deadline_misses += 1;
                            }
                        }
                        last_tick = Some(tick_at);
                        // Phase lock: steer the next tick toward PHASE_LEAD after the newest
                        // LowState, a little per tick, so commands follow states closely while
                        // the period stays steady.
                        let mut next = deadline + period;
                        if let Some(a) = last_arrival {
                            let phase = tick_at.saturating_duration_since(a).as_secs_f64();
                            if phase < params.control_dt_s {
                                let err = phase - PHASE_LEAD_S;
                                let step =
                                    (PHASE_GAIN * err).clamp(-PHASE_MAX_STEP_S, PHASE_MAX_STEP_S);
                                next = if step >= 0.0 {
                                    next - Duration::from_secs_f64(step)
                                } else {
                                    next + Duration::from_secs_f64(-step)
                                };
                            }
                        }
                        // After a stall, resume on schedule rather than bursting to catch up.
                        deadline = next.max(Instant::now());
                        let now_s = epoch.elapsed().as_secs_f64();
                        let now = now_ns(epoch);
                        let command = pending_command.lock().ok().and_then(|mut c| c.pop_front());
                        let other = other_writer_ns.load(Ordering::Relaxed);
                        let other_writer = other > 0
                            && (now.saturating_sub(other) as f64) < OTHER_WRITER_HOLD_S * 1e9;
                        let depth = last_depth_ns.load(Ordering::Relaxed);
                        let depth_stale = depth == 0
                            || (now.saturating_sub(depth) as f64) > params.depth_timeout_s * 1e9;
                        // The newest action, if the policy posted one.
                        if let Ok(a) = policy_slot.action.try_lock()
                            && a.1 != seen_action
                        {
                            seen_action = a.1;
                            action.copy_from_slice(&a.0);
                            if core.state() == ControllerState::Active {
                                core.set_action(&action, action_mode, action_scale, now_s);
                            }
                        }
                        {
                            let f = core.faults_mut();
                            f.bad_frames = bad_frames.load(Ordering::Relaxed) as u32;
                            f.wrong_mode_machine = wrong_mode.load(Ordering::Relaxed) as u32;
                        }
                        let input = TickInput {
                            now_s,
                            lowstate: arrived.is_some().then_some(&local),
                            command,
                            other_writer,
                            // Depth matters only to policies that read it.
                            depth_stale: reads_depth && depth_stale,
                        };
                        let sent = core.tick(&input).map(|cmd| cmd.encode_into(&mut buf));
                        if sent.is_some() {
                            let _ = lowcmd_pub.put(&buf[..]).attachment(&zid_bytes[..]).wait();
                            if let Some(t) = arrived {
                                let us = t.elapsed().as_micros() as u64;
                                bin(&mut stats.reaction_us, us);
                                stats.max_reaction_us = stats.max_reaction_us.max(us);
                            }
                        }
                        stats.ticks += 1;
                        tick_no += 1;
                        if let Ok(mut p) = policy_slot.state.try_lock() {
                            p.0.clone_from(&local);
                            p.1 = core.state() == ControllerState::Active;
                        }
                        let transition = core.take_transition();
                        if let Some(t) = transition {
                            let _ = io_tx.try_send(IoEvent::Transition(t));
                        }
                        if transition.is_some()
                            || tick_no.is_multiple_of(u64::from(params.status_decimation))
                        {
                            let status = core.status(status_seq, now);
                            status_seq += 1;
                            // A full channel drops this status; the next one follows.
                            let _ = io_tx.try_send(IoEvent::Status(status));
                        }
                    }
                    if let Ok(mut r) = result.lock() {
                        *r = Some(NodeReport {
                            state: core.state(),
                            faults: *core.faults(),
                            stats,
                        });
                    }
                })
                .map_err(|e| NodeError::Thread("control", e))?,
        );
    }

    Ok(NodeHandle {
        stop,
        threads,
        result,
        policy_stats,
        _session: session,
    })
}

mod policy_thread;
use policy_thread::policy_loop;
