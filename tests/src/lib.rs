//! System tests for vigor: each test in `tests/` runs real `vigor` processes and checks what they
//! print, write and publish.
//!
//! [`vigor_bin`] finds the binary that `cargo test --workspace` builds beside the test executables
//! (the `vigor-tools` package has integration tests, so cargo builds its binary first).

use std::path::PathBuf;

/// Path of the `vigor` binary of the current build profile.
///
/// # Panics
/// If the binary is not built, with the command that builds it.
#[must_use]
pub fn vigor_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    // target/<profile>/deps/<test-exe> -> target/<profile>/vigor
    let bin = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|profile| profile.join("vigor"))
        .unwrap_or_default();
    assert!(
        bin.is_file(),
        "{} not found: run the suite with `cargo test --workspace`, or `cargo build -p vigor-tools` first",
        bin.display()
    );
    bin
}

/// The rerun CLI that `scripts/setup.sh` installs into the project environment (rerun-sdk, the
/// same version as the crate), which the tests use to read recordings back.
///
/// # Panics
/// If it is not installed, naming the set-up script.
#[must_use]
pub fn rerun_cli() -> PathBuf {
    let rerun = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.venv/bin/rerun"));
    assert!(
        rerun.is_file(),
        "{} not found: run scripts/setup.sh",
        rerun.display()
    );
    rerun
}

/// A free TCP port on loopback, for a test's own zenoh endpoint.
///
/// # Panics
/// If no port can be bound.
#[must_use]
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind a loopback port")
}

static REAL_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Holds the machine for one test that runs real-time processes (a 500 Hz controller, the
/// simulated robot): such tests run one at a time, and never beside a test that keeps the cores
/// busy ([`cpu_heavy`]), since on a two-core machine either would starve the 500 Hz loops (CI saw
/// LowState gaps past the 20 ms watchdog while distributed training ran beside a controller).
/// Light system tests (a CLI call, a config check) run beside them.
pub fn real_time() -> std::sync::MutexGuard<'static, ()> {
    REAL_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Holds the machine for one test that keeps the cores busy (training, several simulators,
/// recordings): it runs neither beside a [`real_time`] test nor beside another busy one (on two
/// cores they would only share them).
pub fn cpu_heavy() -> std::sync::MutexGuard<'static, ()> {
    real_time()
}
