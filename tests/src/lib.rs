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
