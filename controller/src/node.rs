//! The controller daemon: the [`ControlLoop`] wired to zenoh, with a control thread, a policy
//! thread, an I/O thread and a supervisor.
//!
//! Threads:
//! - zenoh's callbacks decode `rt/lowstate` (CRC, length, `mode_machine` checked; bad frames are
//!   counted and dropped), watch `rt/lowcmd` for other writers, queue operator commands (an
//!   e-stop empties the queue; heartbeats only stamp their time) and stamp depth frames. They hand
//!   data over through single-slot mailboxes and atomics.
//! - The control thread (SCHED_FIFO and pinned when permitted) sleeps to the loop's deadline,
//!   gathers the mailboxes, steps the [`ControlLoop`] and publishes its `LowCmd` from a buffer
//!   allocated at start. It never allocates, blocks on I/O or formats text; transitions and status
//!   go to the I/O thread through a bounded channel. When the daemon stops it sends damping
//!   frames for the configured exit time before it returns.
//! - The policy thread runs the artifact at the policy rate on the newest LowState and posts the
//!   action back; a late step is counted and skipped, never caught up in a burst.
//! - The I/O thread logs transitions and publishes `ControllerStatus`.
//! - The supervisor ([`NodeHandle::run`], on the caller's thread) turns a signal or the end of
//!   the duration into a stop, and a dead thread into damping: a dead policy or I/O thread makes
//!   the control loop damp and stop; a dead control thread makes the supervisor publish the
//!   damping frames itself. Either way the report names the thread and the caller exits non-zero.
//!
//! The `LowCmd` carries this session's zenoh id as an attachment, so the controller can tell its
//! own frames on `rt/lowcmd` from another writer's.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use vigor_msgs::project::{Command, ControllerCommand, ControllerState, FaultCounters};
use vigor_msgs::topics;
use vigor_msgs::unitree_hg::{LowCmd, LowState};
use vigor_policy::Deployment;
use zenoh::Wait;

use crate::bus::{BusConfig, BusError};
use crate::config::{ControllerParams, DepthStaleAction};
use crate::control_loop::CommandQueue;
use crate::core::{JointSpec, JointTableError, check_joint_table, finite_state};
use crate::realtime::{RealtimeReport, lock_memory};
pub use crate::timing::{
    HISTOGRAM_BINS, LoopStats, PHASE_GAIN, PHASE_LEAD_S, PHASE_MAX_STEP_S, SPIN_S, sleep_until,
};

mod control_thread;
mod inject;
mod policy_thread;
mod supervisor;

pub use inject::FaultInjection;

/// Everything the daemon needs.
pub struct NodeOptions {
    /// The bus.
    pub bus: BusConfig,
    /// Checked controller parameters.
    pub params: ControllerParams,
    /// The driven joints, each at its motor slot.
    pub joints: Vec<JointSpec>,
    /// The robot description's `mode_machine` (checked against the config's).
    pub robot_mode_machine: u8,
    /// The policy (and the blind fallback of a depth student), loaded for these joints.
    pub policy: Deployment,
    /// Key scope (the DDS bridge's `--scope`), if any.
    pub scope: Option<String>,
    /// Stop after this long (benchmarks, tests); `None` runs until a signal or [`NodeHandle::stop`].
    pub duration: Option<Duration>,
    /// A fault to inject, for the system tests that check each fault ends in damping.
    pub inject: Option<FaultInjection>,
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
    /// The robot description does not fit the configuration.
    #[error("robot description: {0}")]
    Joints(#[from] JointTableError),
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
    /// What the kernel granted.
    pub realtime: RealtimeReport,
    /// The thread that died, if one did (the caller should exit non-zero).
    pub died: Option<&'static str>,
}

/// Everything the threads share.
struct Shared {
    epoch: Instant,
    /// Asked to stop (signal, duration, [`NodeHandle::stop`]).
    stop: AtomicBool,
    /// A thread died: the control loop damps and stops.
    thread_died: AtomicBool,
    /// The control loop finished its shutdown damping and returned.
    control_done: AtomicBool,
    bad_frames: AtomicU32,
    wrong_mode: AtomicU32,
    nonfinite_states: AtomicU32,
    policy_overruns: AtomicU32,
    other_writer_ns: AtomicU64,
    /// Arrival of the newest depth frame that decoded (set by the policy thread), ns.
    depth_ns: AtomicU64,
    /// The newest depth frame's bytes and arrival time, not yet taken by the policy thread.
    depth_frame: Mutex<Option<(Vec<u8>, u64)>>,
    heartbeat_ns: AtomicU64,
    /// Newest LowState, its sequence number and arrival time (ns).
    state: Mutex<(LowState, u64, u64)>,
    commands: Mutex<CommandQueue>,
    /// The policy thread's input: the newest state.
    policy_in: Mutex<LowState>,
    /// Whether the loop is Active, every control tick (the policy thread wakes on engagement).
    engaged: AtomicBool,
    /// The policy thread's output: newest joint targets and their sequence number.
    policy_out: Mutex<(Vec<f32>, u64)>,
}

impl Shared {
    /// Now on the daemon's clock, ns (never 0, which means "never" in the stamps).
    fn now_ns(&self) -> u64 {
        (self.epoch.elapsed().as_nanos() as u64).max(1)
    }
}

/// Set by the panic hook: some thread of this process panicked.
static PANICKED: AtomicBool = AtomicBool::new(false);

/// Chains a hook in front of the current panic hook that flags the panic for the supervisor,
/// which then damps without waiting for the thread to finish unwinding.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICKED.store(true, Ordering::SeqCst);
            previous(info);
        }));
    });
}

/// Registers SIGINT and SIGTERM to set the returned flag, which [`NodeHandle::run`] turns into a
/// stop with damping frames.
///
/// # Errors
/// If a handler cannot be registered.
pub fn stop_on_signals() -> std::io::Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&flag))?;
    }
    Ok(flag)
}

/// A running daemon.
pub struct NodeHandle {
    shared: Arc<Shared>,
    threads: Vec<(&'static str, std::thread::JoinHandle<()>)>,
    result: Arc<Mutex<Option<NodeReport>>>,
    policy_stats: Arc<Mutex<Option<LoopStats>>>,
    realtime: RealtimeReport,
    duration: Option<Duration>,
    lowcmd_pub: Arc<zenoh::pubsub::Publisher<'static>>,
    damping: LowCmd,
    params: ControllerParams,
    zid: Vec<u8>,
    _session: zenoh::Session,
}

impl NodeHandle {
    /// Asks the daemon to stop (it damps for the exit time first).
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
    }

    /// What the kernel granted of the real-time requests.
    #[must_use]
    pub fn realtime(&self) -> &RealtimeReport {
        &self.realtime
    }
}

/// Starts the daemon.
///
/// # Errors
/// A policy or robot description that does not fit, or a bus that cannot be opened.
pub fn start(opts: NodeOptions) -> Result<NodeHandle, NodeError> {
    let manifest = opts.policy.primary().manifest().clone();
    let n = opts.joints.len();
    check_joint_table(&opts.params, opts.robot_mode_machine, &opts.joints)?;
    if manifest.joints.len() != n {
        return Err(NodeError::Policy {
            name: manifest.name.clone(),
            message: format!(
                "it drives {} joints; the robot has {n}",
                manifest.joints.len()
            ),
        });
    }
    // Depth matters only to policies that read it (the depth student).
    let reads_depth = opts.policy.reads_depth();
    if reads_depth
        && opts.params.depth_stale_action == DepthStaleAction::Blind
        && opts.policy.fallback().is_none()
    {
        return Err(NodeError::Policy {
            name: manifest.name,
            message: "it reads depth and `watchdog.depth_stale_action` is \"blind\", but no blind \
                      fallback was given (the artifact's `fallback`, or --blind-policy DIR); or \
                      set the action to \"damping\""
                .into(),
        });
    }
    install_panic_hook();
    let memory = lock_memory(opts.params.lock_memory);
    let session = opts.bus.open()?;
    let zid = session.zid().to_string().into_bytes();
    let scope = opts.scope.as_deref();
    let key = |t: &topics::Topic| t.scoped(scope);
    let zerr = |e: zenoh::Error| NodeError::Bus(BusError::Zenoh(e.to_string()));

    let shared = Arc::new(Shared {
        epoch: Instant::now(),
        stop: AtomicBool::new(false),
        thread_died: AtomicBool::new(false),
        control_done: AtomicBool::new(false),
        bad_frames: AtomicU32::new(0),
        wrong_mode: AtomicU32::new(0),
        nonfinite_states: AtomicU32::new(0),
        policy_overruns: AtomicU32::new(0),
        other_writer_ns: AtomicU64::new(0),
        depth_ns: AtomicU64::new(0),
        depth_frame: Mutex::new(None),
        heartbeat_ns: AtomicU64::new(0),
        state: Mutex::new((LowState::default(), 0, 0)),
        commands: Mutex::new(CommandQueue::new()),
        policy_in: Mutex::new(LowState::default()),
        engaged: AtomicBool::new(false),
        policy_out: Mutex::new((vec![0.0; n], 0)),
    });

    let mode_machine = opts.params.mode_machine;
    let sub_state = {
        let sh = Arc::clone(&shared);
        let joints = opts.joints.clone();
        session
            .declare_subscriber(key(&topics::LOWSTATE))
            .callback(move |sample| {
                let bytes = sample.payload().to_bytes();
                match LowState::decode(&bytes) {
                    // Dropped and counted here, where every frame is seen: the slot keeps only
                    // the newest, which the next frame may replace before a tick reads it.
                    Ok(s) if s.mode_machine == mode_machine && !finite_state(&s, &joints) => {
                        sh.nonfinite_states.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(s) if s.mode_machine == mode_machine => {
                        let at = sh.now_ns();
                        if let Ok(mut slot) = sh.state.lock() {
                            slot.0 = s;
                            slot.1 += 1;
                            slot.2 = at;
                        }
                    }
                    Ok(_) => {
                        sh.wrong_mode.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => {
                        sh.bad_frames.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
            .wait()
            .map_err(zerr)?
    };
    let sub_lowcmd = {
        let sh = Arc::clone(&shared);
        let me = zid.clone();
        session
            .declare_subscriber(key(&topics::LOWCMD))
            .callback(move |sample| {
                let mine = sample
                    .attachment()
                    .is_some_and(|a| a.to_bytes().as_ref() == me.as_slice());
                if !mine {
                    sh.other_writer_ns.store(sh.now_ns(), Ordering::Relaxed);
                }
            })
            .wait()
            .map_err(zerr)?
    };
    let sub_command = {
        let sh = Arc::clone(&shared);
        session
            .declare_subscriber(key(&topics::CONTROLLER_COMMAND))
            .callback(move |sample| {
                let Ok(c) = ControllerCommand::decode(&sample.payload().to_bytes()) else {
                    return;
                };
                if c.command == Command::Heartbeat {
                    sh.heartbeat_ns.store(sh.now_ns(), Ordering::Relaxed);
                } else if let Ok(mut q) = sh.commands.lock() {
                    q.push(c.command);
                }
            })
            .wait()
            .map_err(zerr)?
    };
    let sub_depth = {
        let sh = Arc::clone(&shared);
        session
            .declare_subscriber(key(&topics::DEPTH))
            .callback(move |sample| {
                // The policy thread decodes the newest frame at its next tick; a frame that
                // does not decode there is counted and does not refresh the depth age.
                if let Ok(mut slot) = sh.depth_frame.lock() {
                    *slot = Some((sample.payload().to_bytes().into_owned(), sh.now_ns()));
                }
            })
            .wait()
            .map_err(zerr)?
    };
    let lowcmd_pub = Arc::new(
        session
            .declare_publisher(key(&topics::LOWCMD))
            .congestion_control(zenoh::qos::CongestionControl::Drop)
            .express(true)
            .wait()
            .map_err(zerr)?,
    );
    let status_pub = session
        .declare_publisher(key(&topics::CONTROLLER_STATUS))
        .wait()
        .map_err(zerr)?;
    let trace_pub = session
        .declare_publisher(key(&topics::CONTROLLER_POLICY))
        .congestion_control(zenoh::qos::CongestionControl::Drop)
        .wait()
        .map_err(zerr)?;

    let result = Arc::new(Mutex::new(None));
    let policy_stats = Arc::new(Mutex::new(None));
    let (io_tx, io_rx) = sync_channel(256);
    let (grant_tx, grant_rx) = sync_channel(2);
    let mut threads = Vec::new();
    let spawn = |name: &'static str, f: Box<dyn FnOnce() + Send>| {
        std::thread::Builder::new()
            .name(format!("vigor-{name}"))
            .spawn(f)
            .map(|h| (name, h))
            .map_err(|e| NodeError::Thread(name, e))
    };

    threads.push(spawn(
        "io",
        Box::new(move || {
            let _keep = (sub_state, sub_lowcmd, sub_command, sub_depth);
            control_thread::io_loop(&io_rx, &status_pub, &trace_pub);
        }),
    )?);
    threads.push(spawn(
        "policy",
        Box::new({
            let ctx = policy_thread::PolicyThread {
                policy: opts.policy,
                joints: opts.joints.clone(),
                depth_timeout: Duration::from_secs_f64(opts.params.depth_timeout_s),
                period: Duration::from_secs_f64(
                    opts.params.control_dt_s * f64::from(opts.params.policy_decimation),
                ),
                priority: opts.params.policy_priority,
                inject: opts.inject,
            };
            let sh = Arc::clone(&shared);
            let stats = Arc::clone(&policy_stats);
            let grants = grant_tx.clone();
            let io = io_tx.clone();
            move || ctx.run(&sh, &stats, &grants, &io)
        }),
    )?);
    threads.push(spawn(
        "control",
        Box::new({
            let ctx = control_thread::ControlThread {
                params: opts.params.clone(),
                joints: opts.joints.clone(),
                reads_depth,
                inject: opts.inject,
                zid: zid.clone(),
            };
            let sh = Arc::clone(&shared);
            let publisher = Arc::clone(&lowcmd_pub);
            let result = Arc::clone(&result);
            move || ctx.run(&sh, &publisher, &io_tx, &grant_tx, &result)
        }),
    )?);

    // Both loop threads say what the kernel granted them before their loops start.
    let mut realtime = RealtimeReport {
        memory,
        ..RealtimeReport::default()
    };
    for _ in 0..2 {
        match grant_rx.recv_timeout(Duration::from_secs(2)) {
            Ok(control_thread::GrantMsg::Control(fifo, cpu)) => {
                realtime.control_fifo = fifo;
                realtime.control_cpu = cpu;
            }
            Ok(control_thread::GrantMsg::Policy(fifo)) => realtime.policy_fifo = fifo,
            Err(_) => break,
        }
    }
    let damping = crate::commands::damping_slots(
        opts.params.mode_machine,
        opts.params.damping_kd,
        opts.joints.iter().map(|j| j.slot),
    );
    Ok(NodeHandle {
        shared,
        threads,
        result,
        policy_stats,
        realtime,
        duration: opts.duration,
        lowcmd_pub,
        damping,
        params: opts.params,
        zid,
        _session: session,
    })
}
