//! `vigor perception run` as on the robot's Jetson: a real process publishing depth frames over
//! zenoh on loopback to this test's session, saving them to a recording; then the recording
//! replayed by a second process (`--source file`). The recording is read here with an independent
//! reader of its documented format (magic `VIGORDF1`, then u32 little-endian length + encoded
//! `DepthFrame` per frame).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use vigor_msgs::project::{DepthData, DepthFrame};
use vigor_system_tests::free_port;
use zenoh::Wait;

fn read_recording(path: &Path) -> Vec<DepthFrame> {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"VIGORDF1");
    let mut at = 8;
    let mut frames = Vec::new();
    while at < bytes.len() {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        frames.push(DepthFrame::decode(&bytes[at + 4..at + 4 + len]).unwrap());
        at += 4 + len;
    }
    frames
}

type Received = Arc<Mutex<BTreeMap<u64, DepthFrame>>>;

fn run(endpoint: &str, args: &[&str], got: &Received) -> Vec<DepthFrame> {
    got.lock().unwrap().clear();
    let out = Command::new(vigor_system_tests::vigor_bin())
        .args(["perception", "run", "--connect", endpoint])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Frames in flight when the process exits.
    std::thread::sleep(Duration::from_millis(300));
    got.lock().unwrap().values().cloned().collect()
}

#[test]
fn simulated_camera_frames_reach_the_bus_and_replay_from_their_recording() {
    let _g = vigor_system_tests::cpu_heavy();
    let dir = tempfile::tempdir().unwrap();
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let mut cfg = zenoh::Config::default();
    cfg.insert_json5("mode", "\"peer\"").unwrap();
    cfg.insert_json5("scouting/multicast/enabled", "false")
        .unwrap();
    cfg.insert_json5("listen/endpoints", &format!("[\"{endpoint}\"]"))
        .unwrap();
    let bus = zenoh::open(cfg).wait().unwrap();
    let got: Received = Arc::default();
    let sink = Arc::clone(&got);
    let _sub = bus
        .declare_subscriber("vigor/perception/depth")
        .callback(move |s| {
            let f = DepthFrame::decode(&s.payload().to_bytes()).unwrap();
            sink.lock().unwrap().insert(f.seq, f);
        })
        .wait()
        .unwrap();

    let rec = dir.path().join("stairs.vdf");
    let live = run(
        &endpoint,
        &[
            "--source",
            "sim",
            "--terrain",
            "stairs_down",
            "--frames",
            "45",
            "--save",
            rec.to_str().unwrap(),
        ],
        &got,
    );
    let recorded = read_recording(&rec);
    assert_eq!(recorded.len(), 45);
    // Frames published before the connection settled may be lost; most arrive.
    assert!(live.len() >= 30, "{} of 45 frames arrived", live.len());
    for f in &live {
        assert_eq!(*f, recorded[f.seq as usize], "frame {}", f.seq);
    }
    // 30 Hz of simulated time, and a camera that sees the ground and steps.
    let second = recorded[30].stamp_ns - recorded[0].stamp_ns;
    assert!(
        (second as i64 - 1_000_000_000).abs() <= 2_000_000,
        "{second} ns"
    );
    let DepthData::Metres(d) = &recorded[44].depth else {
        panic!("simulated frames are in metres")
    };
    assert_eq!((recorded[44].width, recorded[44].height), (64, 36));
    let valid: Vec<f32> = d.iter().copied().filter(|&x| x > 0.0).collect();
    assert!(valid.len() > d.len() / 4, "{} valid pixels", valid.len());
    assert!(valid.iter().all(|&x| (0.1..=3.0).contains(&x)));

    let replayed = run(
        &endpoint,
        &[
            "--source",
            "file",
            "--file",
            rec.to_str().unwrap(),
            "--rate-hz",
            "90",
        ],
        &got,
    );
    assert!(
        replayed.len() >= 30,
        "{} of 45 frames arrived",
        replayed.len()
    );
    for f in &replayed {
        assert_eq!(*f, recorded[f.seq as usize]);
    }
    // Without the feature, the RealSense source says how to get it.
    let out = Command::new(vigor_system_tests::vigor_bin())
        .args([
            "perception",
            "run",
            "--source",
            "realsense",
            "--connect",
            &endpoint,
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--features realsense"));
}
