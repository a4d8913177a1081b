//! The simulated robot on zenoh, in real time: `rt/lowstate` at the configured rate, `rt/lowcmd`
//! consumed, depth frames, and requests on `vigor/sim/request`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use vigor_controller::bus::BusConfig;
use vigor_msgs::project::SimRequest;
use vigor_msgs::topics;
use vigor_msgs::unitree_hg::LowState;
use zenoh::Wait;

use super::{Counters, SimRobot};

/// Received messages waiting for the simulation loop.
#[derive(Default)]
struct Inbox {
    lowcmd: VecDeque<Vec<u8>>,
    requests: VecDeque<Vec<u8>>,
}

/// Most queued frames kept; older ones are dropped (a stalled loop must not grow memory).
const INBOX_LIMIT: usize = 64;

/// What the loop did.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunReport {
    /// The robot's counters.
    pub counters: Counters,
    /// Physics steps that started more than one step late.
    pub late_steps: u64,
    /// Physics steps run.
    pub steps: u64,
    /// Pelvis height at the end, m.
    pub final_height_m: f32,
}

/// Runs the simulated robot until `stop` is set or `duration` passes.
///
/// # Errors
/// The bus could not be opened or a publisher declared.
pub fn run(
    mut robot: SimRobot,
    bus: &BusConfig,
    scope: Option<&str>,
    duration: Option<Duration>,
    stop: &AtomicBool,
) -> Result<RunReport> {
    let session = bus.open()?;
    let key = |t: &topics::Topic| t.scoped(scope);
    let inbox = Arc::new(Mutex::new(Inbox::default()));
    let _cmd_sub = {
        let inbox = Arc::clone(&inbox);
        session
            .declare_subscriber(key(&topics::LOWCMD))
            .callback(move |s| {
                if let Ok(mut i) = inbox.lock() {
                    if i.lowcmd.len() >= INBOX_LIMIT {
                        i.lowcmd.pop_front();
                    }
                    i.lowcmd.push_back(s.payload().to_bytes().into_owned());
                }
            })
            .wait()
            .map_err(|e| anyhow!("zenoh: {e}"))?
    };
    let _req_sub = {
        let inbox = Arc::clone(&inbox);
        session
            .declare_subscriber(key(&topics::SIM_REQUEST))
            .callback(move |s| {
                if let Ok(mut i) = inbox.lock() {
                    if i.requests.len() >= INBOX_LIMIT {
                        i.requests.pop_front();
                    }
                    i.requests.push_back(s.payload().to_bytes().into_owned());
                }
            })
            .wait()
            .map_err(|e| anyhow!("zenoh: {e}"))?
    };
    let state_pub = session
        .declare_publisher(key(&topics::LOWSTATE))
        .congestion_control(zenoh::qos::CongestionControl::Drop)
        .express(true)
        .wait()
        .map_err(|e| anyhow!("zenoh: {e}"))?;
    let depth_pub = session
        .declare_publisher(key(&topics::DEPTH))
        .wait()
        .map_err(|e| anyhow!("zenoh: {e}"))?;

    let dt = Duration::from_secs_f64(robot.dt_s());
    let depth_every = robot.steps_per_depth();
    let mut buf = [0u8; LowState::WIRE_LEN];
    let mut report = RunReport::default();
    let start = Instant::now();
    let mut lowcmds: Vec<Vec<u8>> = Vec::new();
    let mut requests: Vec<Vec<u8>> = Vec::new();
    let mut announced_takeover = false;
    while !stop.load(Ordering::SeqCst) && duration.is_none_or(|d| start.elapsed() < d) {
        report.steps += 1;
        let due = start + dt * report.steps as u32;
        if let Ok(mut i) = inbox.lock() {
            lowcmds.extend(i.lowcmd.drain(..));
            requests.extend(i.requests.drain(..));
        }
        for bytes in lowcmds.drain(..) {
            let _ = robot.on_lowcmd(&bytes);
        }
        for bytes in requests.drain(..) {
            match SimRequest::decode(&bytes) {
                Ok(r) => match robot.request(&r.request) {
                    Ok(()) => eprintln!("sim-robot: request {} done: {:?}", r.seq, r.request),
                    Err(e) => eprintln!("sim-robot: request {} refused: {e:#}", r.seq),
                },
                Err(e) => eprintln!("sim-robot: undecodable request dropped: {e}"),
            }
        }
        if let Some(state) = robot.step() {
            state.encode_into(&mut buf);
            let _ = state_pub.put(&buf[..]).wait();
        }
        if !announced_takeover && robot.taken_over() {
            announced_takeover = true;
            eprintln!(
                "sim-robot: position control took over at {:.3} s; the gantry lowers {:.1} s later",
                robot.time_s(),
                super::GANTRY_RELEASE_AFTER_S
            );
        }
        if depth_every > 0
            && report.steps.is_multiple_of(depth_every)
            && let Some(frame) = robot.depth_frame(start.elapsed().as_nanos() as u64)
            && let Ok(bytes) = frame.encode()
        {
            let _ = depth_pub.put(bytes).wait();
        }
        match due.checked_duration_since(Instant::now()) {
            Some(_) => vigor_controller::node::sleep_until(due),
            None => {
                if Instant::now() - due > dt {
                    report.late_steps += 1;
                }
            }
        }
    }
    report.counters = robot.counters;
    report.final_height_m = robot.engine().state().base_pos[2];
    Ok(report)
}
