//! The fixture of the deployment tests: a temporary folder with certificates from
//! `deploy/make-certs.sh`, the robot's side and clients started with the shipped configurations,
//! bounded runs, and a look at the sockets a process accepts on.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub(super) struct Proc(pub(super) Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(super) fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// The identities with a shipped client configuration, named as make-certs.sh names their files.
const SHIPPED_CLIENTS: [&str; 3] = ["controller", "operator", "perception"];

/// A deployment in a temporary folder: certificates from `deploy/make-certs.sh` for a robot at
/// `address`, client configurations, and the robot's endpoint on a free port.
pub(super) struct Site {
    dir: tempfile::TempDir,
    pub(super) address: &'static str,
    pub(super) port: u16,
}

impl Site {
    pub(super) fn new(address: &'static str, extra_names: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let made = Command::new(repo().join("deploy/make-certs.sh"))
            .arg(dir.path().join("certs"))
            .arg(address)
            .args(extra_names)
            .output()
            .unwrap();
        assert!(
            made.status.success(),
            "deploy/make-certs.sh failed: {}",
            String::from_utf8_lossy(&made.stderr)
        );
        Self {
            dir,
            address,
            port: vigor_system_tests::free_port(),
        }
    }

    pub(super) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The robot's endpoint, as the clients connect to it.
    pub(super) fn endpoint(&self) -> String {
        format!("tls/{}:{}", self.address, self.port)
    }

    /// A client configuration holding certificate `name`: the shipped file for the shipped
    /// identities, and the controller's file with the other certificate for the rest.
    pub(super) fn client(&self, name: &str) -> PathBuf {
        if SHIPPED_CLIENTS.contains(&name) {
            return repo().join(format!("deploy/zenoh/{name}.json5"));
        }
        let path = self.path().join(format!("{name}.json5"));
        let controller = std::fs::read_to_string(repo().join("deploy/zenoh/controller.json5"));
        let text = controller
            .unwrap()
            .replace("certs/controller.", &format!("certs/{name}."));
        std::fs::write(&path, text).unwrap();
        path
    }

    pub(super) fn vigor(&self, args: &[&str]) -> Command {
        let mut c = Command::new(vigor_system_tests::vigor_bin());
        c.current_dir(self.path()).args(args);
        c
    }

    pub(super) fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The robot's router without the robot (see the module doc), listening on the endpoint.
    pub(super) fn router(&self) -> Proc {
        let listen = self.endpoint();
        self.robot_side(
            &["topic", "echo", "vigor/sim/request"],
            &listen,
            "router.log",
        )
    }

    /// `vigor sim-robot` as the robot's router, listening on `listen`; its log is sim-robot.log.
    pub(super) fn sim_robot(&self, listen: &str) -> Proc {
        self.robot_side(&["sim-robot"], listen, "sim-robot.log")
    }

    fn robot_side(&self, command: &[&str], listen: &str, log: &str) -> Proc {
        let config = repo().join("deploy/zenoh/robot.json5");
        let log = std::fs::File::create(self.path().join(log)).unwrap();
        Proc(
            self.vigor(command)
                .args([
                    "--zenoh-config",
                    config.to_str().unwrap(),
                    "--listen",
                    listen,
                ])
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap(),
        )
    }

    /// A subscriber to `key` with client configuration `config`, printing to `out`.
    pub(super) fn echo(&self, key: &str, config: &Path, out: &str) -> Proc {
        let connect = self.endpoint();
        let args = [
            "topic",
            "echo",
            key,
            "--timeout-s",
            "300",
            "--zenoh-config",
            config.to_str().unwrap(),
            "--connect",
            &connect,
        ];
        let out = std::fs::File::create(self.path().join(out)).unwrap();
        Proc(
            self.vigor(&args)
                .stdout(out)
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        )
    }

    /// `vigor topic pub` of `json` on `key`, 20 times 20 ms apart, with `bus` flags.
    pub(super) fn publisher(&self, key: &str, json: &Path, bus: &[&str]) -> Command {
        let mut c = self.vigor(&["topic", "pub", key, "--json", json.to_str().unwrap()]);
        c.args(["--repeat", "20", "--interval-ms", "20"]).args(bus);
        c
    }

    /// Publishes `json` on `key` with client configuration `config` until `reached` holds,
    /// for at most 60 s.
    pub(super) fn deliver(
        &self,
        key: &str,
        json: &Path,
        config: &Path,
        reached: impl Fn() -> bool,
    ) {
        let connect = self.endpoint();
        let bus = [
            "--zenoh-config",
            config.to_str().unwrap(),
            "--connect",
            &connect,
        ];
        let start = Instant::now();
        while !reached() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{} from {} never reached the subscriber",
                json.display(),
                config.display()
            );
            let run = bounded(self.publisher(key, json, &bus), LIMIT);
            assert!(
                run.succeeded(),
                "publishing {} failed: {}",
                json.display(),
                run.stderr
            );
        }
    }

    /// The values of `field` in the JSON lines a subscriber printed to `out`.
    pub(super) fn seen(&self, out: &str, field: &str) -> Vec<u64> {
        std::fs::read_to_string(self.path().join(out))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v.get(field).and_then(serde_json::Value::as_u64))
            .collect()
    }
}

/// How long one `vigor topic pub` may take (it takes about one second), and a bound for the
/// other short runs.
pub(super) const LIMIT: Duration = Duration::from_secs(30);

/// What a bounded run left: its exit status (`None` if it had to be killed), stdout and stderr.
pub(super) struct Run {
    pub(super) status: Option<ExitStatus>,
    pub(super) stdout: String,
    pub(super) stderr: String,
}

impl Run {
    pub(super) fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }
}

/// Runs `cmd` for at most `limit`, then kills it.
pub(super) fn bounded(mut cmd: Command, limit: Duration) -> Run {
    let out = tempfile::NamedTempFile::new().unwrap();
    let err = tempfile::NamedTempFile::new().unwrap();
    let mut child = cmd
        .stdout(out.reopen().unwrap())
        .stderr(err.reopen().unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let read = |f: &tempfile::NamedTempFile| std::fs::read_to_string(f.path()).unwrap_or_default();
    Run {
        status,
        stdout: read(&out),
        stderr: read(&err),
    }
}

/// The ports on which process `pid` holds a listening TCP socket or a bound UDP socket: the
/// socket inodes among `/proc/PID/fd`, looked up in the process's `/proc/PID/net` tables.
pub(super) fn accepting_ports(pid: u32) -> Vec<String> {
    let inodes: HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|target| {
            let t = target.to_str()?;
            Some(t.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned())
        })
        .collect();
    let mut found = Vec::new();
    for table in ["tcp", "tcp6", "udp", "udp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap();
        // sl local_address rem_address st ... uid timeout inode
        for row in text.lines().skip(1) {
            let f: Vec<&str> = row.split_whitespace().collect();
            let listening = table.starts_with("udp") || f[3] == "0A";
            if listening && inodes.contains(f[9]) {
                let port = f[1].rsplit(':').next().unwrap();
                let port = u16::from_str_radix(port, 16).unwrap();
                found.push(format!("{table}/{port}"));
            }
        }
    }
    found
}
