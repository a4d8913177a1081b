//! The shipped deployment (`deploy/`): who may talk to the robot. Certificates come from
//! `deploy/make-certs.sh`; the robot's router runs `deploy/zenoh/robot.json5` (mutual TLS, access
//! control by certificate common name); the clients run `deploy/zenoh/{controller,operator}.json5`
//! (zenoh clients that listen nowhere). Everything runs as real processes on loopback.
//!
//! The robot is at 127.0.0.2 where the test allows: only make-certs.sh's address argument puts
//! that in the robot's certificate, so every TLS connection checks it. Where a test needs the
//! robot's router but not the robot, the router is `vigor topic echo` on a key nobody
//! publishes, with the robot's configuration: then whatever reaches the subscriber that stands
//! for the controller came through that router. Every wait is bounded. `configs` checks the
//! files themselves: the access control against the topic registry, the files that must agree,
//! and what make-certs.sh issues.

mod configs;
mod site;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use site::{LIMIT, Proc, Site, accepting_ports, bounded};

fn lowstate(tick: u64) -> String {
    format!(r#"{{"mode_machine":5,"tick":{tick}}}"#)
}

fn arm(seq: u64) -> String {
    format!(r#"{{"seq":{seq},"stamp_ns":0,"command":"arm"}}"#)
}

#[test]
fn the_controller_listens_nowhere() {
    let _g = vigor_system_tests::real_time();
    let site = Site::new("127.0.0.2", &[]);
    let robot = site.sim_robot(&site.endpoint());
    let policy = site.path().join("policy");
    let made = site
        .vigor(&["policy", "init", "--out", policy.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let config = site.client("controller");
    let connect = site.endpoint();
    let args = [
        "control",
        "--policy",
        policy.to_str().unwrap(),
        "--zenoh-config",
        config.to_str().unwrap(),
        "--connect",
        &connect,
    ];
    let controller = Proc(
        site.vigor(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Once an operator hears the controller's status, the controller's session is up.
    let config = site.client("operator");
    let args = [
        "topic",
        "echo",
        "vigor/controller/status",
        "--count",
        "1",
        "--zenoh-config",
        config.to_str().unwrap(),
        "--connect",
        &connect,
    ];
    let status = bounded(site.vigor(&args), LIMIT);
    assert!(
        status.stdout.contains("\"state\""),
        "no status from the controller: {}",
        status.stderr
    );
    let accepting = accepting_ports(controller.0.id());
    assert!(
        accepting.is_empty(),
        "the controller accepts connections on {accepting:?}"
    );
    // The same look at the robot finds its listener.
    let listening = accepting_ports(robot.0.id());
    assert!(
        listening
            .iter()
            .any(|p| p.ends_with(&format!("/{}", site.port))),
        "the robot's listener on {} was not found: {listening:?}",
        site.port
    );
}

#[test]
fn intruders_cannot_inject_state_or_commands_but_their_owners_can() {
    // A router and a dozen short-lived client processes: never beside a real-time test.
    let _g = vigor_system_tests::cpu_heavy();
    let site = Site::new("127.0.0.2", &["intruder"]);
    let _router = site.router();
    let controller = site.client("controller");
    let _state = site.echo("rt/lowstate", &controller, "state.out");
    let _commands = site.echo("vigor/controller/command", &controller, "command.out");
    let ticks = || site.seen("state.out", "tick");
    let seqs = || site.seen("command.out", "seq");
    let owners = |n: u64| {
        let state = site.write(&format!("state-{n}.json"), &lowstate(n));
        let command = site.write(&format!("arm-{n}.json"), &arm(n));
        let robot = site.client("robot");
        site.deliver("rt/lowstate", &state, &robot, || ticks().contains(&n));
        let operator = site.client("operator");
        site.deliver("vigor/controller/command", &command, &operator, || {
            seqs().contains(&n)
        });
    };
    // The robot's state and the operator's command reach the controller ...
    owners(1);

    // ... the intruders' do not: over plain TCP, over TLS without a client certificate, and
    // with a valid certificate of another name, both as a client (which the router would
    // forward) and as a listening peer (which a client that dialled the peers the router
    // announces would meet directly).
    const MARK: u64 = 666;
    let state = site.write("state-intruder.json", &lowstate(MARK));
    let command = site.write("arm-intruder.json", &arm(MARK));
    let no_cert = site.write(
        "no-cert.json5",
        r#"{ mode: "client", scouting: { multicast: { enabled: false } },
             transport: { link: { tls: { root_ca_certificate: "certs/ca.pem" } } } }"#,
    );
    let intruder = site.client("intruder");
    let intruder_peer = site.write(
        "intruder-peer.json5",
        &std::fs::read_to_string(&intruder)
            .unwrap()
            .replace(r#"mode: "client""#, r#"mode: "peer""#),
    );
    let tcp = format!("tcp/{}:{}", site.address, site.port);
    let tls = site.endpoint();
    let intruder_listens = format!("tls/{}:{}", site.address, vigor_system_tests::free_port());
    let ways: Vec<Vec<String>> = vec![
        vec!["--connect".into(), tcp],
        vec![
            "--zenoh-config".into(),
            no_cert.to_str().unwrap().into(),
            "--connect".into(),
            tls.clone(),
        ],
        vec![
            "--zenoh-config".into(),
            intruder.to_str().unwrap().into(),
            "--connect".into(),
            tls.clone(),
        ],
        vec![
            "--zenoh-config".into(),
            intruder_peer.to_str().unwrap().into(),
            "--connect".into(),
            tls,
            "--listen".into(),
            intruder_listens,
        ],
    ];
    let attempts: Vec<_> = ways
        .iter()
        .flat_map(|bus| {
            let bus: Vec<&str> = bus.iter().map(String::as_str).collect();
            [
                site.publisher("rt/lowstate", &state, &bus),
                site.publisher("vigor/controller/command", &command, &bus),
            ]
        })
        .map(|cmd| std::thread::spawn(move || bounded(cmd, LIMIT)))
        .collect();
    for a in attempts {
        a.join().unwrap();
    }

    // The owners get through again, after everything the intruders sent.
    owners(2);
    assert!(
        !ticks().contains(&MARK),
        "an intruder's LowState reached the controller: ticks {:?}",
        ticks()
    );
    assert!(
        !seqs().contains(&MARK),
        "an intruder's command reached the controller: seqs {:?}",
        seqs()
    );
}

/// A LowCmd asking two motors for position control (the simulated robot reports the takeover).
const POSITION_COMMAND: &str =
    r#"{"mode_machine":5,"motor_cmd":[{"mode":1,"kp":100,"kd":2},{"mode":1,"kp":100,"kd":2}]}"#;

#[test]
fn only_the_controller_identity_may_put_on_lowcmd() {
    let _g = vigor_system_tests::real_time();
    let site = Site::new("localhost", &["intruder"]);
    let cmd = site.write("cmd.json", POSITION_COMMAND);
    let _robot = site.sim_robot(&format!("tls/127.0.0.1:{}", site.port));
    let log = site.path().join("sim-robot.log");
    let took_over = || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("took over")
    };
    let connect = site.endpoint();
    let intruder = site.client("intruder");

    // The intruder connects (it reads the robot's state) ...
    let args = [
        "topic",
        "echo",
        "rt/lowstate",
        "--count",
        "1",
        "--zenoh-config",
        intruder.to_str().unwrap(),
        "--connect",
        &connect,
    ];
    let echo = bounded(site.vigor(&args), LIMIT);
    assert!(
        echo.stdout.contains("\"mode_machine\":5"),
        "the intruder could not read rt/lowstate: {}{}",
        echo.stdout,
        echo.stderr
    );
    // ... but its commands never reach the robot, nor the operator's, whose certificate lets it
    // command the controller but not the motors.
    let put = |config: &Path| {
        let bus = [
            "--zenoh-config",
            config.to_str().unwrap(),
            "--connect",
            &connect,
        ];
        let run = bounded(site.publisher("rt/lowcmd", &cmd, &bus), LIMIT);
        assert!(run.succeeded(), "{}", run.stderr);
    };
    put(&intruder);
    put(&site.client("operator"));
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        !took_over(),
        "a LowCmd from another identity reached the robot"
    );
    // The controller's do.
    put(&site.client("controller"));
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
