//! Valid messages of every type, built with the crate's encoders: the starting points of mutation.
//! Each comes with the offsets of its floats and of its length, size and code fields (taken from
//! ../shared/reference/unitree_hg.md and the project encoding), where edge values do most harm.

use vigor_msgs::project::{
    ActingPolicy, Assignment, Command, ControllerCommand, ControllerState, ControllerStatus,
    DepthData, DepthFrame, EpisodeRef, FaultCounters, Intrinsics, NamedTensor, PolicyTrace,
    SimRequest, SimRequestKind, TrainChunk, TrainWeights, TrainWork, TransitionReason,
};
use vigor_msgs::unitree_hg::{LowCmd, LowState, MOTOR_MODE_ENABLE, NUM_MOTOR_SLOTS};

use crate::rng::Rng;

/// A valid encoding and where its interesting fields sit.
pub(crate) struct Seed {
    /// The wire bytes.
    pub(crate) bytes: Vec<u8>,
    /// Offsets of `f32` fields (little-endian, 4 bytes).
    pub(crate) floats: Vec<usize>,
    /// `(offset, width)` of length, size, enum-code and CRC fields.
    pub(crate) fields: Vec<(usize, usize)>,
}

/// A float from every class: ordinary, zero, subnormal, huge, infinite, NaN with any payload.
fn any_f32(rng: &mut Rng) -> f32 {
    match rng.below(4) {
        0 => *rng.pick(&super::bytes::SPECIAL_F32),
        1 => f32::from_bits(rng.next() as u32),
        _ => (rng.below(2001) as f32 - 1000.0) * 0.01,
    }
}

/// Zeros, Unitree's damping command, and frames with random fields (special floats included).
pub(crate) fn lowcmds(rng: &mut Rng) -> Vec<LowCmd> {
    let mut damping = LowCmd {
        mode_machine: 5,
        ..LowCmd::default()
    };
    for m in &mut damping.motor_cmd {
        m.mode = MOTOR_MODE_ENABLE;
        m.kd = 8.0;
    }
    let mut out = vec![LowCmd::default(), damping];
    for _ in 0..6 {
        let mut cmd = LowCmd {
            mode_pr: rng.next() as u8,
            mode_machine: rng.next() as u8,
            reserve: [rng.next() as u32, 0, u32::MAX, rng.next() as u32],
            ..LowCmd::default()
        };
        for m in &mut cmd.motor_cmd {
            m.mode = rng.next() as u8;
            for v in [&mut m.q, &mut m.dq, &mut m.tau, &mut m.kp, &mut m.kd] {
                *v = any_f32(rng);
            }
            m.reserve = rng.next() as u32;
        }
        out.push(cmd);
    }
    out
}

/// The wire offset of motor `k`'s first float (`q`) in a LowCmd (header included).
fn lowcmd_q_at(k: usize) -> usize {
    4 + 28 * k + 4
}

pub(crate) fn lowcmd_seeds(rng: &mut Rng) -> Vec<Seed> {
    let floats: Vec<usize> = (0..NUM_MOTOR_SLOTS)
        .flat_map(|k| (0..5).map(move |j| lowcmd_q_at(k) + 4 * j))
        .collect();
    let mut fields = vec![(4, 1), (5, 1), (6, 1), (4 + 980, 4), (4 + 996, 4)];
    fields.extend((1..NUM_MOTOR_SLOTS).map(|k| (4 + 28 * k, 1)));
    lowcmds(rng)
        .iter()
        .map(|m| Seed {
            bytes: m.encode(),
            floats: floats.clone(),
            fields: fields.clone(),
        })
        .collect()
}

/// Zeros and frames with random fields (special floats included).
pub(crate) fn lowstates(rng: &mut Rng) -> Vec<LowState> {
    let mut out = vec![LowState::default()];
    for _ in 0..6 {
        let mut s = LowState {
            version: [rng.next() as u32, 1],
            mode_pr: rng.next() as u8,
            mode_machine: rng.next() as u8,
            tick: rng.next() as u32,
            ..LowState::default()
        };
        let imu = &mut s.imu_state;
        for v in imu
            .quaternion
            .iter_mut()
            .chain(&mut imu.gyroscope)
            .chain(&mut imu.accelerometer)
            .chain(&mut imu.rpy)
        {
            *v = any_f32(rng);
        }
        imu.temperature = rng.next() as i16;
        for m in &mut s.motor_state {
            m.mode = rng.next() as u8;
            for v in [&mut m.q, &mut m.dq, &mut m.ddq, &mut m.tau_est, &mut m.vol] {
                *v = any_f32(rng);
            }
            m.temperature = [rng.next() as i16, rng.next() as i16];
            m.motorstate = if rng.one_in(2) { 0 } else { rng.next() as u32 };
        }
        rng.fill(&mut s.wireless_remote);
        out.push(s);
    }
    out
}

pub(crate) fn lowstate_seeds(rng: &mut Rng) -> Vec<Seed> {
    // Body offsets: IMU floats from 16; motor 0's q at 72, motor k >= 1's at 124 + 56(k-1) + 4,
    // with dq, ddq, tau_est following and vol at q + 20.
    let mut floats: Vec<usize> = (0..13).map(|j| 4 + 16 + 4 * j).collect();
    for k in 0..NUM_MOTOR_SLOTS {
        let q_at = 4 + if k == 0 { 72 } else { 124 + 56 * (k - 1) + 4 };
        floats.extend([q_at, q_at + 4, q_at + 8, q_at + 12, q_at + 20]);
    }
    let mut fields = vec![
        (4, 4),
        (12, 1),
        (13, 1),
        (16, 4),
        (4 + 70, 1),
        (4 + 2084, 4),
    ];
    fields.extend((1..NUM_MOTOR_SLOTS).map(|k| (4 + 124 + 56 * (k - 1), 1)));
    lowstates(rng)
        .iter()
        .map(|s| Seed {
            bytes: s.encode(),
            floats: floats.clone(),
            fields: fields.clone(),
        })
        .collect()
}

/// One status per state and per reason, latched or not, with edge values in the counters.
pub(crate) fn statuses() -> Vec<ControllerStatus> {
    let states = ControllerState::ALL.iter().cycle();
    TransitionReason::ALL
        .iter()
        .zip(states)
        .enumerate()
        .map(|(i, (&reason, &state))| ControllerStatus {
            seq: i as u64,
            stamp_ns: u64::MAX - i as u64,
            state,
            reason,
            since_ns: 1_000_000 * i as u64,
            latched: i % 2 == 0,
            tilt_rad: 0.1 * i as f32,
            faults: FaultCounters {
                bad_frames: i as u32,
                other_writers: u32::MAX,
                ..FaultCounters::default()
            },
        })
        .collect()
}

pub(crate) fn status_seeds() -> Vec<Seed> {
    // header 4, seq 8, stamp_ns 8, state @20, reason @21, since_ns 8, latched @30, tilt @31.
    statuses()
        .iter()
        .map(|s| Seed {
            bytes: s.encode(),
            floats: vec![31],
            fields: vec![(20, 1), (21, 1), (30, 1), (35, 4)],
        })
        .collect()
}

pub(crate) fn commands() -> Vec<ControllerCommand> {
    Command::ALL
        .iter()
        .enumerate()
        .map(|(i, &command)| ControllerCommand {
            seq: i as u64,
            stamp_ns: 7 * i as u64,
            command,
        })
        .collect()
}

pub(crate) fn command_seeds() -> Vec<Seed> {
    commands()
        .iter()
        .map(|c| Seed {
            bytes: c.encode(),
            floats: Vec::new(),
            fields: vec![(20, 1)],
        })
        .collect()
}

/// Frames in both units, the smallest legal size among them and one longer than 4096 bytes.
pub(crate) fn depth_frames() -> Vec<DepthFrame> {
    [
        (1, 1, false),
        (1, 1, true),
        (8, 6, false),
        (8, 6, true),
        (3, 17, true),
        (64, 48, true),
    ]
    .into_iter()
    .map(|(width, height, mm): (u16, u16, bool)| {
        let n = usize::from(width) * usize::from(height);
        DepthFrame {
            seq: n as u64,
            stamp_ns: 42,
            width,
            height,
            intrinsics: Intrinsics {
                fx_px: 40.0,
                fy_px: 41.0,
                cx_px: f32::from(width) / 2.0,
                cy_px: f32::from(height) / 2.0,
            },
            depth: if mm {
                DepthData::Millimetres((0..n).map(|i| (i * 37) as u16).collect())
            } else {
                DepthData::Metres((0..n).map(|i| i as f32 * 0.25).collect())
            },
        }
    })
    .collect()
}

pub(crate) fn depth_seeds() -> Vec<Seed> {
    // seq, stamp_ns, width @20, height @22, intrinsics @24..40, unit @40, values from 41.
    depth_frames()
        .iter()
        .filter_map(|f| {
            let bytes = f.encode().ok()?;
            let mut floats = vec![24, 28, 32, 36];
            if let DepthData::Metres(v) = &f.depth {
                floats.extend((0..v.len()).map(|i| 41 + 4 * i));
            }
            Some(Seed {
                bytes,
                floats,
                fields: vec![(20, 2), (22, 2), (40, 1)],
            })
        })
        .collect()
}

/// Every request kind, names from empty to the longest allowed, numbers at their limits.
pub(crate) fn sim_requests() -> Vec<SimRequest> {
    let longest = "n".repeat(64);
    let names: [&str; 4] = ["", "pelvis", "torso_link", &longest];
    let mut out = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let kinds = [
            SimRequestKind::Push {
                link: (*name).into(),
                force_n: [100.0, -1e30, 0.0],
                duration_s: [10.0, 0.2, f32::MIN_POSITIVE, 1.0][i],
            },
            SimRequestKind::Reset {
                scenario: (*name).into(),
                seed: u64::MAX >> i,
            },
            SimRequestKind::Terrain {
                name: (*name).into(),
                difficulty: [0.0, 1.0, 0.5, 0.999][i],
                seed: i as u64,
            },
            SimRequestKind::Episode {
                scenario: (*name).into(),
                terrain: names[3 - i].into(),
                difficulty: [1.0, 0.0, 0.25, 0.5][i],
                seed: u64::MAX >> (2 * i),
            },
        ];
        out.extend(kinds.into_iter().map(|request| SimRequest {
            seq: i as u64,
            stamp_ns: 3,
            request,
        }));
    }
    out
}

pub(crate) fn sim_request_seeds() -> Vec<Seed> {
    // seq, stamp_ns, request code @20, name length @21 (u32), name from 25, then the numbers.
    sim_requests()
        .iter()
        .filter_map(|r| {
            let bytes = r.encode().ok()?;
            let after_name = match &r.request {
                SimRequestKind::Push { link, .. } => 25 + link.len(),
                SimRequestKind::Reset { scenario, .. } => 25 + scenario.len(),
                SimRequestKind::Terrain { name, .. } => 25 + name.len(),
                // The terrain name's length, then the name.
                SimRequestKind::Episode { scenario, .. } => 25 + scenario.len(),
            };
            let floats = match &r.request {
                SimRequestKind::Push { .. } => (0..4).map(|j| after_name + 4 * j).collect(),
                SimRequestKind::Terrain { .. } => vec![after_name],
                SimRequestKind::Reset { .. } => Vec::new(),
                SimRequestKind::Episode { terrain, .. } => vec![after_name + 4 + terrain.len()],
            };
            Some(Seed {
                bytes,
                floats,
                fields: vec![(20, 1), (21, 4), (after_name, 4)],
            })
        })
        .collect()
}

/// Traces with and without a latent, track and depth age, at the latent's longest.
pub(crate) fn policy_traces() -> Vec<PolicyTrace> {
    [0usize, 1, 32, vigor_msgs::project::MAX_LATENT]
        .iter()
        .enumerate()
        .map(|(i, &n)| PolicyTrace {
            seq: i as u64,
            stamp_ns: u64::MAX >> i,
            engaged: i % 2 == 1,
            engaged_s: [0.0, 1.5, f32::MAX, -0.0][i],
            acting: if i == 2 {
                ActingPolicy::Fallback
            } else {
                ActingPolicy::Primary
            },
            track: (i > 0).then_some([0, 1, 2, 255][i]),
            depth_age_ms: (i % 2 == 0).then_some([33.0, 0.0, 1e9, 0.5][i]),
            latent: (0..n).map(|k| k as f32 * 0.25 - 3.0).collect(),
        })
        .collect()
}

pub(crate) fn policy_trace_seeds() -> Vec<Seed> {
    // seq @4, stamp_ns @12, engaged @20, engaged_s @21, acting @25, track flag and value @26,
    // depth age flag @28 and value @29, latent length @33 (u16), then the latent.
    policy_traces()
        .iter()
        .filter_map(|t| {
            let bytes = t.encode().ok()?;
            let mut floats = vec![21, 29];
            floats.extend((0..t.latent.len().min(8)).map(|k| 35 + 4 * k));
            Some(Seed {
                bytes,
                floats,
                fields: vec![(20, 1), (25, 1), (26, 1), (27, 1), (28, 1), (33, 2)],
            })
        })
        .collect()
}

/// Training answers: wait, done, and assignments of zero, one and three episodes.
pub(crate) fn train_work_seeds() -> Vec<Seed> {
    let episode = |k: u64| EpisodeRef {
        scenario: ["supine", "push", "draped_over_stair"][k as usize % 3].into(),
        terrain: ["flat", "stairs_down"][k as usize % 2].into(),
        difficulty: 0.25 * k as f32,
        seed: k.wrapping_mul(0x9E37_79B9_7F4A_7C15),
    };
    let mut out = vec![TrainWork::Wait, TrainWork::Done];
    for n in [0u64, 1, 3] {
        out.push(TrainWork::Chunk(Assignment {
            run_id: 7,
            version: n,
            iteration: n + 1,
            chunk: n as u32,
            first_env: 8 * n as u32,
            total_envs: 32,
            steps: 375,
            seed: 1,
            assist: 0.5,
            episodes: (0..n).map(episode).collect(),
        }));
    }
    // The answer code @4; an assignment's assist @53 and episode count @57.
    out.iter()
        .filter_map(|w| {
            let bytes = w.encode().ok()?;
            let (floats, fields) = match w {
                TrainWork::Chunk(_) => (vec![53], vec![(4, 1), (57, 4)]),
                _ => (Vec::new(), vec![(4, 1)]),
            };
            Some(Seed {
                bytes,
                floats,
                fields,
            })
        })
        .collect()
}

/// Weights: no tensor, and two small ones.
pub(crate) fn train_weights_seeds() -> Vec<Seed> {
    let tensor = |name: &str, shape: Vec<u32>| NamedTensor {
        name: name.into(),
        data: (0..shape.iter().product::<u32>())
            .map(|x| x as f32 * 0.5)
            .collect(),
        shape,
    };
    let manifest = "{\"name\":\"teacher\"}".to_owned();
    [
        Vec::new(),
        vec![
            tensor("actor.0.weight", vec![2, 3]),
            tensor("log_std", vec![3]),
        ],
    ]
    .into_iter()
    .filter_map(|tensors| {
        let w = TrainWeights {
            run_id: 7,
            version: 2,
            manifest_json: manifest.clone(),
            tensors,
        };
        let bytes = w.encode().ok()?;
        // The manifest's length @20, the tensor count after it.
        let count_at = 24 + manifest.len();
        Some(Seed {
            bytes,
            floats: Vec::new(),
            fields: vec![(20, 4), (count_at, 4)],
        })
    })
    .collect()
}

/// Chunks of one and two episodes.
pub(crate) fn train_chunk_seeds() -> Vec<Seed> {
    [1u32, 2]
        .into_iter()
        .filter_map(|envs| {
            let (steps, row, act) = (2u32, 3u32, 2u32);
            let sn = (envs * steps) as usize;
            let c = TrainChunk {
                run_id: 7,
                worker: "w".into(),
                version: 1,
                iteration: 1,
                chunk: 0,
                envs,
                steps,
                row,
                act,
                log_std: vec![-1.0; act as usize],
                raw_obs: (0..sn * row as usize).map(|x| x as f32).collect(),
                actions: vec![0.5; sn * act as usize],
                means: vec![0.25; sn * act as usize],
                log_probs: vec![-2.0; sn],
                values: vec![1.0; sn],
                rewards: vec![0.1; sn],
                term_sums: vec![0.0; envs as usize * 3],
                outcomes_json: "[]".into(),
                sim_s: 1.0,
                forward_s: 0.25,
                reset_s: 0.5,
            };
            let bytes = c.encode().ok()?;
            // The worker name's length @12, envs/steps/row/act after the version, iteration and
            // chunk, then the first array's length.
            let after_name = 16 + c.worker.len();
            let counts = after_name + 8 + 8 + 4;
            Some(Seed {
                bytes,
                floats: vec![counts + 20],
                fields: vec![
                    (12, 4),
                    (counts, 4),
                    (counts + 4, 4),
                    (counts + 8, 4),
                    (counts + 12, 4),
                    (counts + 16, 4),
                ],
            })
        })
        .collect()
}

/// Hand-written LowCmd JSON of the kind `vigor msgs encode` documents: partial, non-finite strings.
pub(crate) const LOWCMD_JSON: [&str; 3] = [
    r#"{"mode_machine":5,"motor_cmd":[{"mode":1,"kd":8}]}"#,
    r#"{"motor_cmd":[{"q":"NaN","dq":"-inf","tau":"inf"},{},{"kp":1e3}],"reserve":[1,2,3,4]}"#,
    "{}",
];

/// Hand-written LowState JSON: partial motors and IMU, every non-finite spelling.
pub(crate) const LOWSTATE_JSON: [&str; 2] = [
    r#"{"tick":1,"imu_state":{"quaternion":[1,0,0,0],"rpy":["NaN","inf","-inf"]},"motor_state":[{"q":0.5,"temperature":[30,40]}]}"#,
    r#"{"wireless_remote":[1,2,3],"imu_state":{"gyroscope":["nan","+inf","-Infinity"],"temperature":-5}}"#,
];
