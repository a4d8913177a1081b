//! What a real-time Linux process asks of the kernel, asked for safely: memory locked against page
//! faults (`mlockall`), SCHED_FIFO priority for the control and policy threads, and the control
//! thread pinned to a core. Each request that is not permitted (no CAP_SYS_NICE or `rtprio`
//! limit, no CAP_IPC_LOCK or `memlock` limit) falls back to normal operation and is reported, so
//! the daemon still runs on a workstation; the README says how to grant them on the robot.

use std::fmt;

use thread_priority::{
    RealtimeThreadSchedulePolicy, ThreadPriority, ThreadPriorityValue, ThreadSchedulePolicy,
    set_thread_priority_and_policy, thread_native_id,
};

/// What one request got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// Not asked for (configured off).
    Off,
    /// Granted.
    Granted,
    /// Refused by the kernel: the reason, and the daemon runs without it.
    Refused(String),
}

impl Grant {
    fn from_result<E: fmt::Display>(r: Result<(), E>) -> Self {
        match r {
            Ok(()) => Self::Granted,
            Err(e) => Self::Refused(e.to_string()),
        }
    }

    /// Whether it was asked for and refused.
    #[must_use]
    pub fn refused(&self) -> bool {
        matches!(self, Self::Refused(_))
    }
}

/// How a thread or the process is scheduled after [`lock_memory`] and [`promote_current`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealtimeReport {
    /// `mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)`.
    pub memory: Grant,
    /// SCHED_FIFO for the control thread, at this priority.
    pub control_fifo: (u8, Grant),
    /// The control thread's core.
    pub control_cpu: (Option<usize>, Grant),
    /// SCHED_FIFO for the policy thread, at this priority.
    pub policy_fifo: (u8, Grant),
}

impl Default for RealtimeReport {
    fn default() -> Self {
        Self {
            memory: Grant::Off,
            control_fifo: (0, Grant::Off),
            control_cpu: (None, Grant::Off),
            policy_fifo: (0, Grant::Off),
        }
    }
}

impl RealtimeReport {
    /// Whether anything asked for was refused (the daemon then warns).
    #[must_use]
    pub fn degraded(&self) -> bool {
        self.memory.refused()
            || self.control_fifo.1.refused()
            || self.control_cpu.1.refused()
            || self.policy_fifo.1.refused()
    }
}

fn describe(g: &Grant, what: &str) -> String {
    match g {
        Grant::Off => format!("{what} off"),
        Grant::Granted => what.to_owned(),
        Grant::Refused(e) => format!("{what} REFUSED ({e})"),
    }
}

impl fmt::Display for RealtimeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cpu = match self.control_cpu.0 {
            Some(c) => describe(&self.control_cpu.1, &format!("control thread on CPU {c}")),
            None => "control thread not pinned".to_owned(),
        };
        write!(
            f,
            "{}, {}, {}, {}",
            describe(&self.memory, "memory locked"),
            describe(
                &self.control_fifo.1,
                &format!("control thread SCHED_FIFO {}", self.control_fifo.0)
            ),
            cpu,
            describe(
                &self.policy_fifo.1,
                &format!("policy thread SCHED_FIFO {}", self.policy_fifo.0)
            ),
        )
    }
}

/// Locks the process's pages in memory as they are touched, now and later, so that no tick waits
/// on a page fault (MCL_ONFAULT: libraries mapped but never used, like most of libtorch, are not
/// read in).
#[must_use]
pub fn lock_memory(enabled: bool) -> Grant {
    use rustix::mm::{MlockAllFlags, mlockall};
    if !enabled {
        return Grant::Off;
    }
    Grant::from_result(mlockall(
        MlockAllFlags::CURRENT | MlockAllFlags::FUTURE | MlockAllFlags::ONFAULT,
    ))
}

/// Runs the calling thread under SCHED_FIFO at `priority` (1..=99; 0 leaves it alone).
#[must_use]
pub fn promote_current(priority: u8) -> Grant {
    if priority == 0 {
        return Grant::Off;
    }
    let value = match ThreadPriorityValue::try_from(priority) {
        Ok(v) => v,
        Err(e) => return Grant::Refused(e.to_owned()),
    };
    Grant::from_result(
        set_thread_priority_and_policy(
            thread_native_id(),
            ThreadPriority::Crossplatform(value),
            ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo),
        )
        .map_err(|e| format!("{e:?}")),
    )
}

/// Pins the calling thread to `cpu`, if given.
#[must_use]
pub fn pin_current(cpu: Option<usize>) -> Grant {
    use rustix::thread::{CpuSet, sched_setaffinity};
    let Some(cpu) = cpu else {
        return Grant::Off;
    };
    if cpu >= CpuSet::MAX_CPU {
        return Grant::Refused(format!("CPU {cpu} is beyond {}", CpuSet::MAX_CPU));
    }
    let mut set = CpuSet::new();
    set.set(cpu);
    Grant::from_result(sched_setaffinity(None, &set))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_turned_off_are_not_made() {
        assert_eq!(lock_memory(false), Grant::Off);
        assert_eq!(promote_current(0), Grant::Off);
        assert_eq!(pin_current(None), Grant::Off);
        assert!(!RealtimeReport::default().degraded());
    }

    #[test]
    fn a_refusal_is_reported_not_fatal() {
        let r = RealtimeReport {
            control_fifo: (80, Grant::Refused("Operation not permitted".into())),
            ..RealtimeReport::default()
        };
        assert!(r.degraded());
        let text = r.to_string();
        assert!(
            text.contains("control thread SCHED_FIFO 80 REFUSED (Operation not permitted)"),
            "{text}"
        );
    }

    #[test]
    fn an_impossible_cpu_is_refused() {
        assert!(pin_current(Some(100_000)).refused());
    }

    #[test]
    fn pinning_to_the_current_cpu_is_granted() {
        // Always permitted: a thread may restrict itself to a CPU it may run on. Run it on a
        // thread of its own so the test harness's thread keeps its mask.
        std::thread::spawn(|| {
            let cpu = rustix::thread::sched_getcpu();
            assert_eq!(pin_current(Some(cpu)), Grant::Granted);
        })
        .join()
        .unwrap();
    }
}
