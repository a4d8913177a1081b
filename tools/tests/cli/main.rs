//! The `vigor` binary as a user runs it, one module per concern: wire messages and keys
//! (`messages`), configuration and demonstration checks (`configs`), the research commands
//! (`commands`: evaluation, learning curves, terrain, robot export, benchmarks) and what the builds
//! resolve (`builds`: one feature set for the binary and the tests, a robot binary without the
//! simulator, the controller's joint table against the simulator's robot model).

mod builds;
mod commands;
mod configs;
mod messages;

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Runs the built `vigor` binary at the workspace root with `args`, feeding it `stdin`.
pub fn vigor(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vigor"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vigor");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

/// Bytes of an output stream as text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A run that failed and said `words` on stderr.
pub fn assert_fails_saying(out: &Output, words: &str) {
    assert!(!out.status.success(), "succeeded; expected: {words}");
    assert!(text(&out.stderr).contains(words), "{}", text(&out.stderr));
}

#[test]
fn help_lists_the_commands() {
    let out = vigor(&["--help"], b"");
    assert!(out.status.success());
    let help = text(&out.stdout);
    for cmd in ["demo", "msgs", "config", "topic"] {
        assert!(help.contains(cmd), "--help does not mention {cmd}:\n{help}");
    }
}
