//! The supervisor: watches the threads from the caller's thread until the daemon ends.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use zenoh::Wait;

use super::{NodeHandle, NodeReport, PANICKED};
use crate::realtime::RealtimeReport;
use crate::timing::{LoopStats, sleep_until};

/// How often the supervisor looks, s.
pub const SUPERVISOR_POLL_S: f64 = 0.002;

impl NodeHandle {
    /// Supervises the daemon until it ends: `signal` (SIGINT/SIGTERM, see
    /// [`super::stop_on_signals`]) and the end of the duration become a stop with damping
    /// frames; a thread that dies makes the daemon damp and stop, and is named in the report.
    #[must_use]
    pub fn run(mut self, signal: &std::sync::atomic::AtomicBool) -> NodeReport {
        let sh = &self.shared;
        let start = Instant::now();
        let poll = Duration::from_secs_f64(SUPERVISOR_POLL_S);
        let mut died: Option<&'static str> = None;
        loop {
            if signal.load(Ordering::SeqCst) || self.duration.is_some_and(|d| start.elapsed() >= d)
            {
                sh.stop.store(true, Ordering::SeqCst);
            }
            let stopping = sh.stop.load(Ordering::SeqCst);
            for (name, h) in &self.threads {
                let gone = h.is_finished() && !sh.control_done.load(Ordering::SeqCst);
                // A thread that ends before a stop was asked for has died (a panic); so has any
                // thread while the panic hook has fired.
                if died.is_none() && gone && (!stopping || PANICKED.load(Ordering::SeqCst)) {
                    died = Some(name);
                    sh.thread_died.store(true, Ordering::SeqCst);
                }
            }
            let control_finished = self
                .threads
                .iter()
                .any(|(name, h)| *name == "control" && h.is_finished());
            if control_finished {
                if !sh.control_done.load(Ordering::SeqCst) {
                    // The control thread itself died: damp from here.
                    died = Some("control");
                    self.damp_until_exit();
                }
                break;
            }
            std::thread::sleep(poll);
        }
        sh.stop.store(true, Ordering::SeqCst);
        for (_, t) in self.threads.drain(..) {
            let _ = t.join();
        }
        let mut report = self
            .result
            .lock()
            .ok()
            .and_then(|mut r| r.take())
            .unwrap_or_else(|| NodeReport {
                state: vigor_msgs::project::ControllerState::Damping,
                faults: vigor_msgs::project::FaultCounters::default(),
                stats: LoopStats::new(),
                realtime: RealtimeReport::default(),
                died: None,
            });
        if let Some(p) = self.policy_stats.lock().ok().and_then(|mut p| p.take()) {
            report.stats.policy_steps = p.policy_steps;
            report.stats.policy_us = p.policy_us;
            report.stats.max_policy_us = p.max_policy_us;
        }
        report.realtime = self.realtime.clone();
        report.died = died;
        report
    }

    /// Publishes damping frames at the control rate for the exit time, in place of a dead
    /// control thread.
    fn damp_until_exit(&self) {
        let mut buf = [0u8; vigor_msgs::unitree_hg::LowCmd::WIRE_LEN];
        self.damping.encode_into(&mut buf);
        let period = Duration::from_secs_f64(self.params.control_dt_s);
        let end = Instant::now() + Duration::from_secs_f64(self.params.exit_damping_s);
        let mut due = Instant::now();
        while due < end {
            let _ = self
                .lowcmd_pub
                .put(&buf[..])
                .attachment(&self.zid[..])
                .wait();
            due += period;
            sleep_until(due);
        }
    }
}
