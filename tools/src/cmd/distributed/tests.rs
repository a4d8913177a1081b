//! The learner's bookkeeping without a bus: hand-out, refusal, assembly.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use vigor_msgs::project::{Assignment, EpisodeRef, TrainChunk, TrainWork};
use vigor_training::rl::RunningNorm;
use vigor_training::teacher::Outcome;
use vigor_training::teacher::config::REWARD_COUNT;

use super::collect::*;
use super::learner::*;

fn job(chunks: usize) -> JobState {
    let assignment = |c: usize| Assignment {
        run_id: 1,
        version: 4,
        iteration: 4,
        chunk: c as u32,
        first_env: (2 * c) as u32,
        total_envs: (2 * chunks) as u32,
        steps: 3,
        seed: 1,
        assist: 0.0,
        episodes: (0..2)
            .map(|k| EpisodeRef {
                scenario: "supine".into(),
                terrain: "flat".into(),
                difficulty: 0.0,
                seed: k,
            })
            .collect(),
    };
    JobState {
        iteration: 4,
        version: 4,
        steps: 3,
        row: 5,
        act: 2,
        assignments: (0..chunks).map(assignment).collect(),
        handed: vec![None; chunks],
        results: (0..chunks).map(|_| None).collect(),
    }
}

fn chunk(c: u32) -> TrainChunk {
    let (k, steps, row, act) = (2usize, 3usize, 5usize, 2usize);
    TrainChunk {
        run_id: 1,
        worker: "w".into(),
        version: 4,
        iteration: 4,
        chunk: c,
        envs: k as u32,
        steps: steps as u32,
        row: row as u32,
        act: act as u32,
        log_std: vec![0.0; act],
        raw_obs: vec![1.0; k * steps * row],
        actions: vec![0.0; k * steps * act],
        means: vec![0.0; k * steps * act],
        log_probs: vec![0.0; k * steps],
        values: vec![0.0; k * steps],
        rewards: vec![0.0; k * steps],
        term_sums: vec![0.0; k * REWARD_COUNT],
        outcomes_json: serde_json::to_string(&vec![Outcome::default(); k]).unwrap(),
        sim_s: 0.0,
        forward_s: 0.0,
        reset_s: 0.0,
    }
}

fn shared(job: JobState) -> Shared {
    Arc::new((
        Mutex::new(State {
            run_id: 1,
            job: Some(job),
            ..State::default()
        }),
        Condvar::new(),
    ))
}

fn handed(work: TrainWork) -> Option<u32> {
    match work {
        TrainWork::Chunk(a) => Some(a.chunk),
        _ => None,
    }
}

#[test]
fn chunks_go_out_once_and_come_back_when_their_holder_asks_again_or_is_late() {
    let s = shared(job(2));
    let long = Duration::from_secs(60);
    assert_eq!(handed(hand_out(&s, "a", long)), Some(0));
    assert_eq!(handed(hand_out(&s, "b", long)), Some(1));
    // Both held: nothing for a third worker.
    assert_eq!(hand_out(&s, "c", long), TrainWork::Wait);
    // `a` asks again without handing in: it gave chunk 0 up, and gets it back.
    assert_eq!(handed(hand_out(&s, "a", long)), Some(0));
    // A holder past the deadline loses its chunk to the next asker.
    assert_eq!(handed(hand_out(&s, "c", Duration::ZERO)), Some(0));
    lock(&s).done = true;
    assert_eq!(hand_out(&s, "a", long), TrainWork::Done);
    assert!(lock(&s).told_done.contains("a"));
}

#[test]
fn a_chunk_that_does_not_fit_its_assignment_is_refused_and_stays_queued() {
    let s = shared(job(2));
    let long = Duration::from_secs(60);
    assert_eq!(handed(hand_out(&s, "w", long)), Some(0));
    let encode = |c: &TrainChunk| c.encode().unwrap();
    let mut wrong_row = chunk(0);
    wrong_row.row = 4;
    wrong_row.raw_obs.truncate(2 * 3 * 4);
    assert_eq!(take_chunk(&s, &encode(&wrong_row)), "bad");
    let mut wrong_outcomes = chunk(0);
    wrong_outcomes.outcomes_json = "[{}]".into();
    assert_eq!(take_chunk(&s, &encode(&wrong_outcomes)), "bad");
    let mut old = chunk(0);
    old.version = 3;
    assert_eq!(take_chunk(&s, &encode(&old)), "stale");
    assert_eq!(take_chunk(&s, b"not a chunk"), "bad");
    assert!(lock(&s).job.as_ref().unwrap().results[0].is_none());
    assert_eq!(take_chunk(&s, &encode(&chunk(0))), "taken");
    assert_eq!(take_chunk(&s, &encode(&chunk(0))), "duplicate");
    let st = lock(&s);
    assert_eq!(
        (st.counters.bad, st.counters.stale, st.counters.duplicate),
        (3, 1, 1)
    );
}

#[test]
fn chunks_assemble_step_major_in_slot_order() {
    let norm = RunningNorm::new(5);
    let mut a = chunk(0);
    let mut b = chunk(1);
    // Rewards tell (chunk, step, episode) apart.
    for t in 0..3 {
        for i in 0..2 {
            a.rewards[t * 2 + i] = (100 * t + i) as f32;
            b.rewards[t * 2 + i] = (100 * t + 2 + i) as f32;
        }
    }
    let received = |c: TrainChunk| Received {
        chunk: c,
        latency_s: 0.0,
        bytes: 0,
        decode_s: 0.0,
    };
    let ro = assemble(&[received(a), received(b)], &norm).unwrap();
    assert_eq!(ro.envs, 4);
    let want: Vec<f32> = (0..3)
        .flat_map(|t| (0..4).map(move |i| (100 * t + i) as f32))
        .collect();
    assert_eq!(ro.rewards, want);
    assert_eq!(ro.outcomes.len(), 4);
    assert_eq!(ro.obs.len(), 3 * 4 * 5);
}
