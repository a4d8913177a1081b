//! `vigor-controller`: the controller daemon as the robot's computer runs it.
//!
//! The same daemon and flags as the workstation's `vigor control` ([`vigor_controller::cli`]),
//! without its recorder: this binary links the controller, the policy runtime, the message
//! codecs and zenoh, and no simulator, trainer or rerun (`tools/tests/cli.rs` checks its
//! dependency tree). `main` maps any error to exit code 1 (2 for bad usage, from clap) after
//! printing it with its chain of causes.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

use std::process::ExitCode;

use clap::Parser;
use vigor_controller::cli;

#[derive(Debug, Parser)]
#[command(
    name = "vigor-controller",
    version,
    about = cli::ABOUT,
    long_about = cli::LONG_ABOUT
)]
struct Cli {
    #[command(flatten)]
    control: cli::ControlArgs,
}

fn main() -> ExitCode {
    pin_math_paths();
    match cli::control(&Cli::parse().control, "vigor-controller") {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Pins the math libraries' code paths ([`vigor_policy::PINNED_MATH_PATHS`]) unless the
/// environment chose them: the robot computes its actions as the evaluations did.
#[allow(unsafe_code)]
fn pin_math_paths() {
    for (key, value) in vigor_policy::math_paths_to_pin(|k| std::env::var(k).ok()) {
        // SAFETY: the first thing `main` does: no other thread exists yet (zenoh and the
        // control and policy threads start later), so nothing reads the environment concurrently.
        unsafe { std::env::set_var(key, value) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn help_explains_the_daemon_and_its_flags() {
        let help = Cli::command().render_long_help().to_string();
        for text in [
            "The on-robot controller daemon",
            "Starts in Passive (damping)",
            "--policy",
            "--robot",
            "--zenoh-config",
            "--connect",
            "--duration-s",
        ] {
            assert!(help.contains(text), "`{text}` missing from --help:\n{help}");
        }
        assert!(
            !help.contains("--inject-fault"),
            "a hidden flag shows:\n{help}"
        );
        assert!(
            !help.contains("--record"),
            "a vigor-only flag shows:\n{help}"
        );
    }
}
