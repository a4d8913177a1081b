//! Distributed training as a user runs it: a learner (`vigor train teacher --workers`) and
//! rollout workers (`vigor rollout-worker`) as real processes on a loopback zenoh bus. One worker
//! with no lag trains exactly as the in-process run does; a worker killed mid-run loses at most
//! its chunk, the run goes on, and a worker that joins late gets the current weights and works.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vigor_system_tests::{free_port, vigor_bin};

/// The shipped teacher config shrunk: 8 environments, 1 s episodes, small networks.
fn small_config(dir: &Path, iterations: usize) -> String {
    let shipped = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/teacher.toml"),
    )
    .unwrap();
    let text = shipped
        .replace("envs = 32", "envs = 8")
        .replace("iterations = 400", &format!("iterations = {iterations}"))
        .replace("checkpoint_every = 5", "checkpoint_every = 1")
        .replace("episode_s = 7.5", "episode_s = 1.0")
        .replace("encoder_hidden = [128, 64]", "encoder_hidden = [16]")
        .replace("actor_hidden = [256, 128, 64]", "actor_hidden = [16]")
        .replace("critic_hidden = [256, 128, 64]", "critic_hidden = [16]");
    let path = dir.join("small.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn digest(run: &Path, iteration: usize) -> String {
    let manifest = run
        .join("checkpoints")
        .join(format!("iter_{iteration:06}"))
        .join("manifest.json");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    v["weights_sha256"].as_str().unwrap().to_owned()
}

fn metrics(run: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn train(config: &str, run: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(vigor_bin())
        .args(["train", "teacher", "--config", config, "--run-dir"])
        .arg(run)
        .arg("--plain")
        .args(extra)
        .output()
        .unwrap()
}

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn one_worker_without_lag_trains_exactly_as_in_process() {
    let _g = vigor_system_tests::cpu_heavy();
    let tmp = tempfile::tempdir().unwrap();
    let config = small_config(tmp.path(), 3);
    let here = tmp.path().join("in-process");
    let o = train(&config, &here, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let there = tmp.path().join("distributed");
    let o = train(
        &config,
        &there,
        &["--workers", "1", "--chunk-envs", "8", "--listen", &endpoint],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("the run is over after 3 chunk(s)"),
        "{}",
        text(&o)
    );
    assert_eq!(digest(&here, 3), digest(&there, 3), "the same weights");
    let m = metrics(&there);
    assert_eq!(m.len(), 3);
    for row in &m {
        assert_eq!(row["dist/staleness"].as_f64(), Some(0.0), "{row}");
        assert_eq!(row["dist/chunks"].as_f64(), Some(1.0), "{row}");
        assert!(row["dist/chunk_mb"].as_f64().unwrap() > 0.1, "{row}");
    }
    // The same episodes' returns, iteration by iteration.
    let base = metrics(&here);
    for (a, b) in base.iter().zip(&m) {
        assert_eq!(a["mean_return"], b["mean_return"]);
    }
}

struct Worker {
    child: Child,
    log: PathBuf,
}

impl Worker {
    fn start(endpoint: &str, name: &str, dir: &Path) -> Self {
        let log = dir.join(format!("{name}.log"));
        let child = Command::new(vigor_bin())
            .args([
                "rollout-worker",
                "--connect",
                endpoint,
                "--name",
                name,
                "--threads",
                "1",
            ])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Self { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_killed_worker_loses_at_most_its_chunk_and_a_late_one_joins() {
    let _g = vigor_system_tests::cpu_heavy();
    let tmp = tempfile::tempdir().unwrap();
    let iterations = 8;
    let config = small_config(tmp.path(), iterations);
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let run = tmp.path().join("run");
    let learner_log = tmp.path().join("learner.log");
    let mut learner = Command::new(vigor_bin())
        .args(["train", "teacher", "--config", &config, "--run-dir"])
        .arg(&run)
        .args([
            "--plain",
            "--workers",
            "0",
            "--chunk-envs",
            "2",
            "--listen",
            &endpoint,
        ])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&learner_log).unwrap())
        .spawn()
        .unwrap();
    let mut a = Worker::start(&endpoint, "a", tmp.path());
    let b = Worker::start(&endpoint, "b", tmp.path());
    let limit = Duration::from_secs(240);
    wait_for("two iterations", limit, || metrics(&run).len() >= 2);
    // Killed without warning, most likely in the middle of a chunk.
    a.child.kill().unwrap();
    a.child.wait().unwrap();
    let learner_text = || std::fs::read_to_string(&learner_log).unwrap_or_default();
    wait_for("the learner to see worker a leave", limit, || {
        learner_text().contains("worker `a` left the bus")
    });
    let killed_at = metrics(&run).len();
    wait_for("an iteration after the kill", limit, || {
        metrics(&run).len() > killed_at
    });
    let c = Worker::start(&endpoint, "c", tmp.path());
    let status = {
        let start = Instant::now();
        loop {
            if let Some(s) = learner.try_wait().unwrap() {
                break s;
            }
            assert!(start.elapsed() < limit, "the learner did not finish");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    assert!(status.success(), "{}", learner_text());
    let m = metrics(&run);
    assert_eq!(m.len(), iterations, "every iteration trained");
    for row in &m {
        assert_eq!(
            row["dist/chunks"].as_f64(),
            Some(4.0),
            "every chunk of every iteration: {row}"
        );
        assert_eq!(row["dist/staleness"].as_f64(), Some(0.0), "{row}");
    }
    // The late worker fetched the weights of the version it was given and ran chunks.
    wait_for("worker c to hear the run is over", limit, || {
        c.log().contains("the run is over")
    });
    let ran = c
        .log()
        .lines()
        .find_map(|l| {
            l.split("the run is over after ")
                .nth(1)
                .and_then(|r| r.split(' ').next())
                .and_then(|n| n.parse::<usize>().ok())
        })
        .unwrap_or(0);
    assert!(ran > 0, "worker c ran no chunk:\n{}", c.log());
    assert!(b.log().contains("the run is over"), "{}", b.log());
}

#[test]
fn workers_reconnect_to_a_restarted_learner_that_resumes() {
    let _g = vigor_system_tests::cpu_heavy();
    let tmp = tempfile::tempdir().unwrap();
    let iterations = 12;
    let config = small_config(tmp.path(), iterations);
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let run = tmp.path().join("run");
    // The worker starts first and waits for a learner.
    let w = Worker::start(&endpoint, "w", tmp.path());
    let learner = |resume: bool| {
        let mut c = Command::new(vigor_bin());
        c.args(["train", "teacher", "--config", &config, "--run-dir"])
            .arg(&run)
            .args(["--plain", "--workers", "0", "--listen", &endpoint])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if resume {
            c.arg("--resume");
        }
        c.spawn().unwrap()
    };
    let limit = Duration::from_secs(240);
    let mut first = learner(false);
    wait_for("three iterations", limit, || metrics(&run).len() >= 3);
    first.kill().unwrap();
    first.wait().unwrap();
    let mut second = learner(true);
    let start = Instant::now();
    let status = loop {
        if let Some(s) = second.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < limit,
            "the resumed learner did not finish"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success());
    assert_eq!(metrics(&run).len(), iterations, "the resumed run completed");
    wait_for("the worker to hear the run is over", limit, || {
        w.log().contains("the run is over")
    });
}
