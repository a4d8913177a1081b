//! `vigor`: the one command-line tool of the vigor fall-safety stack.
//!
//! Each subcommand is a thin shell over a library crate: it parses flags, loads and validates
//! configs, calls the library and reports. `main` maps any error to exit code 1 (2 for bad usage,
//! from clap) after printing it with its chain of causes.

mod bus_record;
mod cmd;
mod configs;
mod progress;
mod sim_robot;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// vigor: keeps a Unitree G1 humanoid safe when it falls.
///
/// Trains, evaluates and deploys VIGOR fall-safety policies (goal-in-context teacher, depth
/// student) from one codebase. Run `vigor demo` for an end-to-end tour of what is built.
#[derive(Debug, Parser)]
#[command(name = "vigor", version, about, long_about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the end-to-end demo on the embedded default configs and write what it made to a folder.
    Demo(cmd::demo::Args),
    /// Encode and decode wire messages (Unitree LowCmd/LowState and vigor's own) as JSON.
    #[command(subcommand)]
    Msgs(cmd::msgs::Command),
    /// Check configuration files against their typed schemas.
    #[command(subcommand)]
    Config(cmd::config::Command),
    /// List the zenoh keys vigor uses, with payload, publisher, subscribers and rate.
    #[command(subcommand)]
    Topic(cmd::topic::Command),
    /// Procedural terrain: preview the tile grid as a picture.
    #[command(subcommand)]
    Terrain(cmd::terrain::Command),
    /// Simulate and record episodes to rerun files.
    #[command(subcommand)]
    Sim(cmd::sim::Command),
    /// Open a recording (.rrd) in the rerun viewer (installed by scripts/setup.sh).
    Replay(cmd::sim::ReplayArgs),
    /// Benchmarks: simulator throughput, teacher training throughput.
    #[command(subcommand)]
    Bench(cmd::bench::Command),
    /// The robot description: show it, or export it as MJCF for MuJoCo.
    #[command(subcommand)]
    Robot(cmd::robot::Command),
    /// Demonstrations: import LAFAN1-G1 takes as clips, list clips, play one back in rerun.
    #[command(subcommand)]
    Demos(cmd::demos::Command),
    // The same help as the robot's `vigor-controller` binary (vigor_controller::cli).
    #[command(about = vigor_controller::cli::ABOUT, long_about = vigor_controller::cli::LONG_ABOUT)]
    Control(cmd::control::ControlArgs),
    /// The simulated G1 as a process on the bus, speaking the real robot's LowState/LowCmd.
    ///
    /// Publishes rt/lowstate at 500 Hz in real time and depth frames at 30 Hz, applies rt/lowcmd
    /// through the motor law, and takes pushes, resets and terrain changes on vigor/sim/request.
    /// Listens on tcp/127.0.0.1:7447 unless told otherwise.
    SimRobot(cmd::control::SimRobotArgs),
    /// Policy artifacts: make a freshly initialised one, or check a student artifact on this
    /// machine.
    #[command(subcommand)]
    Policy(cmd::policy::Command),
    /// Train policies: the privileged teacher (PPO) and the depth or blind student (DAgger
    /// distillation).
    #[command(subcommand)]
    Train(cmd::train::Command),
    /// Depth perception: publish depth frames from the simulated camera, a RealSense or a
    /// recording (the process that runs on the robot's Jetson).
    #[command(subcommand)]
    Perception(cmd::perception::Command),
    /// Evaluate a policy: success, safe success, time to recover, tracking, energy and drift per
    /// scenario x terrain class, on rapier, MuJoCo or both (sim2sim).
    Eval(cmd::eval::EvalArgs),
    /// Distributed training: run a learner's episodes (`vigor train teacher --workers`) and send
    /// the rollouts back, over zenoh, until the learner's run is over. Workers may run on any
    /// host that reaches the learner's endpoint.
    RolloutWorker(cmd::train::RolloutWorkerArgs),
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Demo(args) => cmd::demo::run(&args),
        Command::Msgs(c) => cmd::msgs::run(&c),
        Command::Config(c) => cmd::config::run(&c),
        Command::Topic(c) => cmd::topic::run(&c),
        Command::Terrain(c) => cmd::terrain::run(&c),
        Command::Robot(c) => cmd::robot::run(&c),
        Command::Bench(c) => cmd::bench::run(&c),
        Command::Sim(c) => cmd::sim::run(&c),
        Command::Replay(a) => cmd::sim::replay(&a),
        Command::Demos(c) => cmd::demos::run(&c),
        Command::Control(a) => cmd::control::control(&a),
        Command::SimRobot(a) => cmd::control::sim_robot(&a),
        Command::Policy(c) => cmd::policy::run(&c),
        Command::Train(c) => cmd::train::run(&c),
        Command::Perception(c) => cmd::perception::run(&c),
        Command::Eval(a) => cmd::eval::run(&a),
        Command::RolloutWorker(a) => cmd::train::rollout_worker(&a),
    }
}

fn main() -> ExitCode {
    pin_math_paths();
    // libtorch's own pool would start one worker per core for every forward pass, and its idle
    // workers spin: an evaluation on one worker thread used 1.6 cores, and two at once ran three
    // times slower than alone. Policies run on the calling thread; training's updates raise the
    // count for themselves (`torch_threads`) and lower it again.
    vigor_policy::run_single_threaded();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Pins the math libraries' code paths ([`vigor_policy::PINNED_MATH_PATHS`]) unless the
/// environment chose them, so results do not depend on the processor's widest instructions.
#[allow(unsafe_code)]
fn pin_math_paths() {
    for (key, value) in vigor_policy::math_paths_to_pin(|k| std::env::var(k).ok()) {
        // SAFETY: the first thing `main` does: no other thread exists yet (zenoh, rayon and
        // libtorch start theirs later), so nothing reads the environment concurrently.
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
}
