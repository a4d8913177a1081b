//! The shipped deployment configuration: mutual TLS and access control on the robot side
//! (`deploy/zenoh/robot.json5`) let only the controller's identity put on `rt/lowcmd`. Real
//! processes: `vigor sim-robot` with the robot's configuration, and `vigor topic` as the
//! controller and as an intruder holding a valid certificate of another name, all with
//! certificates made by `deploy/make-certs.sh`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn vigor(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(vigor_system_tests::vigor_bin());
    c.current_dir(dir).args(args);
    c
}

/// A LowCmd asking two motors for position control (the simulated robot reports the takeover).
const POSITION_COMMAND: &str =
    r#"{"mode_machine":5,"motor_cmd":[{"mode":1,"kp":100,"kd":2},{"mode":1,"kp":100,"kd":2}]}"#;

#[test]
fn only_the_controller_identity_may_put_on_lowcmd() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let made = Command::new(repo().join("deploy/make-certs.sh"))
        .arg(d.join("certs"))
        .arg("intruder")
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let controller = repo().join("deploy/zenoh/controller.json5");
    let intruder = d.join("intruder.json5");
    std::fs::write(
        &intruder,
        std::fs::read_to_string(&controller)
            .unwrap()
            .replace("certs/controller.", "certs/intruder."),
    )
    .unwrap();
    std::fs::write(d.join("cmd.json"), POSITION_COMMAND).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("tls/127.0.0.1:{port}");
    let connect = format!("tls/localhost:{port}");
    let log = d.join("sim-robot.log");
    let robot_config = repo().join("deploy/zenoh/robot.json5");
    let _robot = Proc(
        vigor(
            d,
            &[
                "sim-robot",
                "--zenoh-config",
                robot_config.to_str().unwrap(),
                "--listen",
                &listen,
            ],
        )
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap(),
    );
    let took_over = || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("took over")
    };

    // The intruder connects (it reads the robot's state) ...
    let echo = vigor(
        d,
        &[
            "topic",
            "echo",
            "rt/lowstate",
            "--count",
            "1",
            "--timeout-s",
            "20",
            "--zenoh-config",
            intruder.to_str().unwrap(),
            "--connect",
            &connect,
        ],
    )
    .output()
    .unwrap();
    let text = String::from_utf8_lossy(&echo.stdout);
    assert!(
        text.contains("\"mode_machine\":5"),
        "the intruder could not read rt/lowstate: {text}{}",
        String::from_utf8_lossy(&echo.stderr)
    );
    // ... but its commands never reach the robot.
    let put = |config: &Path| {
        let out = vigor(
            d,
            &[
                "topic",
                "pub",
                "rt/lowcmd",
                "--json",
                "cmd.json",
                "--repeat",
                "25",
                "--interval-ms",
                "20",
                "--zenoh-config",
                config.to_str().unwrap(),
                "--connect",
                &connect,
            ],
        )
        .output()
        .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    put(&intruder);
    std::thread::sleep(Duration::from_secs(1));
    assert!(!took_over(), "the intruder's LowCmd reached the robot");
    // The controller's do.
    put(&controller);
    let start = Instant::now();
    while !took_over() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the controller's LowCmd did not reach the robot: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
