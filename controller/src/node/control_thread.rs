//! The control thread (the [`ControlLoop`] at the control rate) and the I/O thread.

use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::time::Duration;

use vigor_msgs::project::{ControllerStatus, PolicyTrace};
use vigor_msgs::unitree_hg::{LowCmd, LowState};
use zenoh::Wait;

use super::{FaultInjection, NodeReport, Shared};
use crate::config::ControllerParams;
use crate::control_loop::{ControlLoop, LoopInput};
use crate::core::{JointSpec, Transition};
use crate::realtime::{Grant, RealtimeReport, pin_current, promote_current};
use crate::timing::sleep_until;

/// What a loop thread was granted, sent once before its loop starts.
pub(super) enum GrantMsg {
    /// The control thread: SCHED_FIFO, and its core.
    Control((u8, Grant), (Option<usize>, Grant)),
    /// The policy thread: SCHED_FIFO.
    Policy((u8, Grant)),
}

/// What the control and policy threads send the I/O thread.
pub(super) enum IoEvent {
    Transition(Transition),
    Status(ControllerStatus),
    Trace(PolicyTrace),
}

/// The control thread's settings.
pub(super) struct ControlThread {
    pub(super) params: ControllerParams,
    pub(super) joints: Vec<JointSpec>,
    pub(super) reads_depth: bool,
    pub(super) inject: Option<FaultInjection>,
    pub(super) zid: Vec<u8>,
}

impl ControlThread {
    /// Runs until the loop finishes its shutdown damping; the report goes to `result`.
    pub(super) fn run(
        self,
        sh: &Shared,
        publisher: &zenoh::pubsub::Publisher<'static>,
        io: &SyncSender<IoEvent>,
        grants: &SyncSender<GrantMsg>,
        result: &Mutex<Option<NodeReport>>,
    ) {
        let p = &self.params;
        let fifo = (p.control_priority, promote_current(p.control_priority));
        let cpu = (p.control_cpu, pin_current(p.control_cpu));
        let _ = grants.try_send(GrantMsg::Control(fifo, cpu));
        let n = self.joints.len();
        let mut l = ControlLoop::new(
            self.params.clone(),
            self.joints,
            self.reads_depth,
            sh.now_ns(),
        );
        let mut buf = [0u8; LowCmd::WIRE_LEN];
        let mut local = LowState::default();
        let mut action = vec![0.0f32; n];
        let (mut seen_state, mut seen_action) = (0u64, 0u64);
        let panic_at_ns = match self.inject {
            Some(FaultInjection::ControlPanic { after_s }) => Some((after_s * 1e9) as u64),
            _ => None,
        };
        loop {
            sleep_until(sh.epoch + Duration::from_nanos(l.deadline_ns()));
            let now = sh.now_ns();
            if panic_at_ns.is_some_and(|at| now >= at) {
                super::inject::control_panic();
            }
            let mut arrived = None;
            if let Ok(slot) = sh.state.lock()
                && slot.1 != seen_state
            {
                seen_state = slot.1;
                local.clone_from(&slot.0);
                arrived = Some(slot.2);
            }
            let mut fresh_action = false;
            if let Ok(a) = sh.policy_out.try_lock()
                && a.1 != seen_action
            {
                seen_action = a.1;
                action.copy_from_slice(&a.0);
                fresh_action = true;
            }
            let command = sh.commands.lock().ok().and_then(|mut q| q.pop());
            let input = LoopInput {
                now_ns: now,
                lowstate: arrived.map(|at| (&local, at)),
                command,
                targets: fresh_action.then_some(&action[..]),
                other_writer_ns: sh.other_writer_ns.load(Ordering::Relaxed),
                depth_ns: sh.depth_ns.load(Ordering::Relaxed),
                heartbeat_ns: sh.heartbeat_ns.load(Ordering::Relaxed),
                bad_frames: sh.bad_frames.load(Ordering::Relaxed),
                wrong_mode_machine: sh.wrong_mode.load(Ordering::Relaxed),
                nonfinite_states: sh.nonfinite_states.load(Ordering::Relaxed),
                policy_overruns: sh.policy_overruns.load(Ordering::Relaxed),
                thread_died: sh.thread_died.load(Ordering::SeqCst),
                stop: sh.stop.load(Ordering::SeqCst),
            };
            let out = l.step(&input);
            if out.send
                && let Some(cmd) = l.command()
            {
                cmd.encode_into(&mut buf);
                let _ = publisher.put(&buf[..]).attachment(&self.zid[..]).wait();
                if let Some(at) = arrived {
                    l.record_reaction(sh.now_ns().saturating_sub(at) / 1000);
                }
            }
            if let Ok(mut p) = sh.policy_in.try_lock() {
                p.clone_from(&local);
            }
            sh.engaged.store(out.policy_active, Ordering::SeqCst);
            if let Some(t) = out.transition {
                let _ = io.try_send(IoEvent::Transition(t));
            }
            if let Some(s) = out.status {
                // A full channel drops this status; the next one follows.
                let _ = io.try_send(IoEvent::Status(s));
            }
            if out.finished {
                break;
            }
        }
        if let Ok(mut r) = result.lock() {
            *r = Some(NodeReport {
                state: l.core().state(),
                faults: *l.core().faults(),
                stats: l.stats().clone(),
                realtime: RealtimeReport::default(),
                died: None,
            });
        }
        sh.control_done.store(true, Ordering::SeqCst);
    }
}

/// The I/O thread: transitions to stderr, status on the bus, until the control thread is gone
/// (it holds the only sender).
pub(super) fn io_loop(
    rx: &Receiver<IoEvent>,
    status_pub: &zenoh::pubsub::Publisher<'static>,
    trace_pub: &zenoh::pubsub::Publisher<'static>,
) {
    loop {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(IoEvent::Transition(t)) => eprintln!(
                "[{:9.3} s] {:?} -> {:?} ({:?})",
                t.at_s, t.from, t.to, t.reason
            ),
            Ok(IoEvent::Status(s)) => {
                let _ = status_pub.put(s.encode()).wait();
            }
            Ok(IoEvent::Trace(t)) => {
                if let Ok(bytes) = t.encode() {
                    let _ = trace_pub.put(bytes).wait();
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}
