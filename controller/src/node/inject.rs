//! Faults injected on purpose, so the system tests can show that each one ends in damping frames
//! and a non-zero exit with real processes (`vigor control --inject-fault`). Nothing is injected
//! unless asked for.

use std::fmt;
use std::str::FromStr;

/// A fault to inject, `KIND@SECONDS` on the command line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FaultInjection {
    /// The control thread panics this many seconds after start.
    ControlPanic {
        /// Seconds after start.
        after_s: f64,
    },
    /// The policy thread panics at its first step this many seconds after start while Active.
    PolicyPanic {
        /// Seconds after start.
        after_s: f64,
    },
    /// The policy thread stops posting actions (stalls) from this many seconds after start while
    /// Active, and stays alive.
    PolicyStall {
        /// Seconds after start.
        after_s: f64,
    },
}

impl FromStr for FaultInjection {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let usage = || {
            format!(
                "`{s}`: expected KIND@SECONDS with KIND one of control-panic, policy-panic, policy-stall"
            )
        };
        let (kind, at) = s.split_once('@').ok_or_else(usage)?;
        let after_s: f64 = at.parse().map_err(|_| usage())?;
        if !(after_s.is_finite() && after_s >= 0.0) {
            return Err(usage());
        }
        match kind {
            "control-panic" => Ok(Self::ControlPanic { after_s }),
            "policy-panic" => Ok(Self::PolicyPanic { after_s }),
            "policy-stall" => Ok(Self::PolicyStall { after_s }),
            _ => Err(usage()),
        }
    }
}

impl fmt::Display for FaultInjection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ControlPanic { after_s } => write!(f, "control-panic@{after_s}"),
            Self::PolicyPanic { after_s } => write!(f, "policy-panic@{after_s}"),
            Self::PolicyStall { after_s } => write!(f, "policy-stall@{after_s}"),
        }
    }
}

/// The injected control-thread panic.
#[allow(clippy::panic)] // The fault under test: a panic on the control path.
pub(super) fn control_panic() -> ! {
    panic!("injected fault: control thread panic");
}

/// The injected policy-thread panic.
#[allow(clippy::panic)] // The fault under test: a panic in the policy thread.
pub(super) fn policy_panic() -> ! {
    panic!("injected fault: policy thread panic");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn injections_parse_and_print_back() {
        for text in ["control-panic@2.5", "policy-panic@0", "policy-stall@3"] {
            let f: FaultInjection = text.parse().unwrap();
            assert_eq!(f.to_string().parse::<FaultInjection>().unwrap(), f);
        }
        let err = "policy-nap@1".parse::<FaultInjection>().unwrap_err();
        assert!(
            err.contains("control-panic, policy-panic, policy-stall"),
            "{err}"
        );
        assert!("control-panic@-1".parse::<FaultInjection>().is_err());
        assert!("control-panic".parse::<FaultInjection>().is_err());
    }
}
