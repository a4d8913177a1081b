//! Round trips and refusals of the training messages.

use super::*;

fn assignment() -> TrainWork {
    TrainWork::Chunk(Assignment {
        run_id: 7,
        version: 3,
        iteration: 3,
        chunk: 1,
        first_env: 8,
        total_envs: 16,
        steps: 375,
        seed: 1,
        assist: 0.25,
        episodes: vec![EpisodeRef {
            scenario: "push".into(),
            terrain: "stairs_down".into(),
            difficulty: 0.5,
            seed: u64::MAX,
        }],
    })
}

fn chunk() -> TrainChunk {
    TrainChunk {
        run_id: 7,
        worker: "w0".into(),
        version: 3,
        iteration: 3,
        chunk: 1,
        envs: 2,
        steps: 3,
        row: 4,
        act: 2,
        log_std: vec![-1.0, -0.5],
        raw_obs: (0..24).map(|x| x as f32).collect(),
        actions: vec![0.5; 12],
        means: vec![0.25; 12],
        log_probs: vec![-1.5; 6],
        values: vec![2.0; 6],
        rewards: vec![0.1; 6],
        term_sums: vec![1.0; 4],
        outcomes_json: "[{},{}]".into(),
        sim_s: 1.25,
        forward_s: 0.5,
        reset_s: 0.25,
    }
}

#[test]
fn every_message_round_trips() {
    for w in [TrainWork::Wait, TrainWork::Done, assignment()] {
        assert_eq!(TrainWork::decode(&w.encode().unwrap()).unwrap(), w);
    }
    let weights = TrainWeights {
        run_id: 7,
        version: 3,
        manifest_json: "{\"name\":\"t\"}".into(),
        tensors: vec![NamedTensor {
            name: "actor.0.weight".into(),
            shape: vec![2, 3],
            data: vec![1.0, 2.0, 3.0, 4.0, 5.0, f32::MIN_POSITIVE],
        }],
    };
    assert_eq!(
        TrainWeights::decode(&weights.encode().unwrap()).unwrap(),
        weights
    );
    let c = chunk();
    assert_eq!(TrainChunk::decode(&c.encode().unwrap()).unwrap(), c);
    // A multi-critic's chunk: values and rewards per value head.
    let heads = TrainChunk {
        values: vec![2.0; 6 * 3],
        rewards: vec![0.1; 6 * 3],
        ..chunk()
    };
    assert_eq!(TrainChunk::decode(&heads.encode().unwrap()).unwrap(), heads);
}

#[test]
fn value_heads_are_whole_and_at_most_eight() {
    let with = |values: usize, rewards: usize| {
        TrainChunk {
            values: vec![2.0; values],
            rewards: vec![0.1; rewards],
            ..chunk()
        }
        .encode()
    };
    assert!(with(6 * MAX_VALUE_HEADS, 6 * MAX_VALUE_HEADS).is_ok());
    for (values, rewards, field) in [
        (6 * 9, 6 * 9, "values"),
        (0, 0, "values"),
        (7, 7, "values"),
        (12, 6, "rewards"),
    ] {
        let e = with(values, rewards).unwrap_err();
        assert!(
            matches!(e, DecodeError::Invalid { field: f, .. } if f == field),
            "{values} {rewards}: {e:?}"
        );
    }
}

#[test]
fn inconsistent_or_cut_messages_are_refused_without_panics() {
    let mut c = chunk();
    c.rewards.pop();
    assert!(matches!(
        c.encode(),
        Err(DecodeError::Invalid {
            field: "rewards",
            ..
        })
    ));
    let bytes = chunk().encode().unwrap();
    for cut in 0..bytes.len() {
        assert!(TrainChunk::decode(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    let mut extra = bytes.clone();
    extra.push(0);
    assert!(TrainChunk::decode(&extra).is_err());
    let work = assignment().encode().unwrap();
    for cut in 0..work.len() {
        assert!(TrainWork::decode(&work[..cut]).is_err(), "cut at {cut}");
    }
    // A length field claiming more floats than the payload holds fails before allocating.
    let mut huge = Enc::new(Kind::TrainWeights, 32);
    huge.u64(1);
    huge.u64(1);
    huge.str("{}");
    huge.u32(1);
    huge.str("w");
    huge.u8(1);
    huge.u32(4);
    huge.u32(u32::MAX);
    assert!(TrainWeights::decode(&huge.finish()).is_err());
    let bad_shape = TrainWeights {
        run_id: 0,
        version: 0,
        manifest_json: String::new(),
        tensors: vec![NamedTensor {
            name: "w".into(),
            shape: vec![3],
            data: vec![0.0; 2],
        }],
    };
    assert!(bad_shape.encode().is_err());
}
