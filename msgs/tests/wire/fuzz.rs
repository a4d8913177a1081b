//! Bad input at scale: every decoder of vigor-msgs, binary and JSON, takes a large number of
//! mutated and random inputs, with no panic and a bound on what one call allocates.
//!
//! A stable-Rust stand-in for cargo-fuzz (which needs nightly): seeded, so every run feeds the same
//! inputs and a failure names the decoder, the input number and the input's bytes in hex. Inputs
//! per decoder: [`DEFAULT_INPUTS`], or what `VIGOR_FUZZ_ITERATIONS` says (a longer or a quicker
//! run; docs/wire-fuzzing.md). Per input:
//! - the decode call runs under `catch_unwind` and `alloc_count::measure`, and must stay within the
//!   decoder's [`AllocBound`];
//! - an accepted binary input must re-encode to the very same bytes (the decoders accept only
//!   canonical encodings), and an accepted JSON text must go through what `vigor msgs encode`
//!   does: encode (which may refuse, as the CLI does) and decode back.

mod bytes;
mod harness;
mod json;
mod regressions;
mod seeds;

use serde::Serialize;
use serde::de::DeserializeOwned;
use vigor_msgs::DecodeError;
use vigor_msgs::project::{
    ControllerCommand, ControllerStatus, DepthFrame, Kind, MAGIC, MAX_NAME_LEN, PolicyTrace,
    SCHEMA_VERSION, SimRequest, TrainChunk, TrainWeights, TrainWork,
};
use vigor_msgs::unitree_hg::{LowCmd, LowState};

use crate::rng::Rng;
use bytes::ByteCorpus;
use harness::{AllocBound, assert_clean, fuzz};
use json::TextCorpus;
use seeds::Seed;

/// Inputs per decoder in a plain `cargo test --release`: the million (all twelve decoders
/// take 35-45 s on two cores, the JSON ones nine tenths of it). Unoptimised builds take a fiftieth
/// of that, so a `cargo test` without `--release` stays quick.
const DEFAULT_INPUTS: usize = if cfg!(debug_assertions) {
    20_000
} else {
    1_000_000
};

/// Environment variable that sets the inputs per decoder, binary and JSON alike.
const INPUTS_VAR: &str = "VIGOR_FUZZ_ITERATIONS";

/// The XCDR1 little-endian encapsulation header of the Unitree frames.
const CDR_HEADER: [u8; 4] = [0x00, 0x01, 0x00, 0x00];

fn inputs_per_decoder() -> usize {
    match std::env::var(INPUTS_VAR) {
        Ok(text) => text
            .trim()
            .replace('_', "")
            .parse()
            .unwrap_or_else(|_| panic!("{INPUTS_VAR}={text:?} is not a count")),
        Err(_) => DEFAULT_INPUTS,
    }
}

/// One message type under test, with its codec seen through one signature.
trait Message: Sized + Serialize + DeserializeOwned {
    const TYPE_NAME: &'static str;
    fn decode_bytes(bytes: &[u8]) -> Result<Self, DecodeError>;
    fn encode_bytes(&self) -> Result<Vec<u8>, DecodeError>;
}

macro_rules! message {
    ($ty:ty, infallible) => {
        message!($ty, |m: &$ty| Ok(m.encode()));
    };
    ($ty:ty, fallible) => {
        message!($ty, |m: &$ty| m.encode());
    };
    ($ty:ty, $encode:expr) => {
        impl Message for $ty {
            const TYPE_NAME: &'static str = stringify!($ty);
            fn decode_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
                <$ty>::decode(bytes)
            }
            fn encode_bytes(&self) -> Result<Vec<u8>, DecodeError> {
                $encode(self)
            }
        }
    };
}

message!(LowCmd, infallible);
message!(LowState, infallible);
message!(ControllerStatus, infallible);
message!(ControllerCommand, infallible);
message!(DepthFrame, fallible);
message!(SimRequest, fallible);
message!(PolicyTrace, fallible);
message!(TrainWork, fallible);
message!(TrainWeights, fallible);
message!(TrainChunk, fallible);

/// Valid encodings of every message type, by type name.
fn every_seed() -> Vec<(&'static str, Vec<Seed>)> {
    let mut rng = Rng(0x5EED_0000_0000_0001);
    vec![
        (LowCmd::TYPE_NAME, seeds::lowcmd_seeds(&mut rng)),
        (LowState::TYPE_NAME, seeds::lowstate_seeds(&mut rng)),
        (ControllerStatus::TYPE_NAME, seeds::status_seeds()),
        (ControllerCommand::TYPE_NAME, seeds::command_seeds()),
        (DepthFrame::TYPE_NAME, seeds::depth_seeds()),
        (SimRequest::TYPE_NAME, seeds::sim_request_seeds()),
        (PolicyTrace::TYPE_NAME, seeds::policy_trace_seeds()),
        (TrainWork::TYPE_NAME, seeds::train_work_seeds()),
        (TrainWeights::TYPE_NAME, seeds::train_weights_seeds()),
        (TrainChunk::TYPE_NAME, seeds::train_chunk_seeds()),
    ]
}

/// Writes the CRC the content calls for (the decoder names it when it rejects a CRC).
fn fix_crc<M: Message>(frame: &mut [u8]) {
    if let Err(DecodeError::Crc { computed, .. }) = M::decode_bytes(frame)
        && let Some(at) = frame.len().checked_sub(4)
    {
        frame[at..].copy_from_slice(&computed.to_le_bytes());
    }
}

/// The binary decoder of `M` against its own mutated frames, the other messages and random bytes.
fn fuzz_binary<M: Message>(seed: u64, header: &[u8], crc: bool, bound: AllocBound) {
    let (own, others): (Vec<_>, Vec<_>) = every_seed()
        .into_iter()
        .partition(|(name, _)| *name == M::TYPE_NAME);
    let corpus = ByteCorpus {
        seeds: own.into_iter().flat_map(|(_, s)| s).collect(),
        others: others
            .into_iter()
            .flat_map(|(_, s)| s)
            .map(|s| s.bytes)
            .collect(),
        header: header.to_vec(),
        fix_crc: crc.then_some(fix_crc::<M> as fn(&mut [u8])),
    };
    let count = inputs_per_decoder();
    let report = fuzz(
        &format!("{}::decode", M::TYPE_NAME),
        seed,
        count,
        bound,
        |rng, out| corpus.generate(rng, out),
        M::decode_bytes,
        |input, value: &M| match value.encode_bytes() {
            Ok(again) if again == input => Ok(()),
            Ok(_) => Err("its value re-encodes to other bytes".into()),
            Err(e) => Err(format!("its value does not encode: {e}")),
        },
    );
    assert_clean(&report, count);
}

fn project_header(kind: Kind) -> [u8; 4] {
    [MAGIC[0], MAGIC[1], kind as u8, SCHEMA_VERSION]
}

#[test]
fn lowcmd_decode() {
    fuzz_binary::<LowCmd>(0xF0_01, &CDR_HEADER, true, AllocBound::NONE);
}

#[test]
fn lowstate_decode() {
    fuzz_binary::<LowState>(0xF0_02, &CDR_HEADER, true, AllocBound::NONE);
}

#[test]
fn controller_status_decode() {
    fuzz_binary::<ControllerStatus>(
        0xF0_03,
        &project_header(Kind::ControllerStatus),
        false,
        AllocBound::NONE,
    );
}

#[test]
fn controller_command_decode() {
    fuzz_binary::<ControllerCommand>(
        0xF0_04,
        &project_header(Kind::ControllerCommand),
        false,
        AllocBound::NONE,
    );
}

#[test]
fn depth_frame_decode() {
    // The depth values, never more than the bytes that carry them.
    let bound = AllocBound {
        per_input_byte: 1,
        fixed: 0,
    };
    fuzz_binary::<DepthFrame>(0xF0_05, &project_header(Kind::DepthFrame), false, bound);
}

#[test]
fn sim_request_decode() {
    // At most two name strings (an episode reset's scenario and terrain).
    let bound = AllocBound {
        per_input_byte: 0,
        fixed: 2 * MAX_NAME_LEN,
    };
    fuzz_binary::<SimRequest>(0xF0_06, &project_header(Kind::SimRequest), false, bound);
}

#[test]
fn policy_trace_decode() {
    // The latent, never more than the bytes that carry it.
    let bound = AllocBound {
        per_input_byte: 1,
        fixed: 0,
    };
    fuzz_binary::<PolicyTrace>(0xF0_07, &project_header(Kind::PolicyTrace), false, bound);
}

#[test]
fn train_work_decode() {
    // Names and episodes: each episode takes at least 20 payload bytes and holds 64 (two
    // strings, a float, a seed), reserved only for a count the payload can hold.
    let bound = AllocBound {
        per_input_byte: 5,
        fixed: 0,
    };
    fuzz_binary::<TrainWork>(0xF0_08, &project_header(Kind::TrainWork), false, bound);
}

#[test]
fn train_weights_decode() {
    // Tensor data one float per four payload bytes; each tensor entry takes at least 9 payload
    // bytes and holds 72 (name, shape, data), reserved only for a count the payload can hold.
    let bound = AllocBound {
        per_input_byte: 10,
        fixed: 0,
    };
    fuzz_binary::<TrainWeights>(0xF0_09, &project_header(Kind::TrainWeights), false, bound);
}

#[test]
fn train_chunk_decode() {
    // Eight float arrays and two strings, never more than the bytes that carry them.
    let bound = AllocBound {
        per_input_byte: 1,
        fixed: 0,
    };
    fuzz_binary::<TrainChunk>(0xF0_0A, &project_header(Kind::TrainChunk), false, bound);
}

/// Compact JSON of each value, and pretty JSON of the first (whitespace the CLI may be given).
fn json_texts<M: Serialize>(values: &[M]) -> Vec<Vec<u8>> {
    let mut texts: Vec<Vec<u8>> = values
        .iter()
        .map(|v| serde_json::to_vec(v).expect("messages serialise"))
        .collect();
    if let Some(first) = values.first() {
        texts.push(serde_json::to_vec_pretty(first).expect("messages serialise"));
    }
    texts
}

/// JSON of every message type, by type name, including hand-written partial texts.
fn every_json() -> Vec<(&'static str, Vec<Vec<u8>>)> {
    let mut rng = Rng(0x5EED_0000_0000_0002);
    let mut lowcmd = json_texts(&seeds::lowcmds(&mut rng));
    lowcmd.extend(seeds::LOWCMD_JSON.iter().map(|t| t.as_bytes().to_vec()));
    let mut lowstate = json_texts(&seeds::lowstates(&mut rng));
    lowstate.extend(seeds::LOWSTATE_JSON.iter().map(|t| t.as_bytes().to_vec()));
    // Small images only: a JSON number per pixel makes big ones slow to parse, and the mutations
    // grow arrays anyway.
    let small_depth: Vec<DepthFrame> = seeds::depth_frames()
        .into_iter()
        .filter(|f| usize::from(f.width) * usize::from(f.height) <= 64)
        .collect();
    vec![
        (LowCmd::TYPE_NAME, lowcmd),
        (LowState::TYPE_NAME, lowstate),
        (ControllerStatus::TYPE_NAME, json_texts(&seeds::statuses())),
        (ControllerCommand::TYPE_NAME, json_texts(&seeds::commands())),
        (DepthFrame::TYPE_NAME, json_texts(&small_depth)),
        (SimRequest::TYPE_NAME, json_texts(&seeds::sim_requests())),
    ]
}

/// What `vigor msgs encode --type M` parses, against mutated JSON, other messages' JSON and
/// random text.
fn fuzz_json<M: Message>(seed: u64, bound: AllocBound) {
    let (own, others): (Vec<_>, Vec<_>) = every_json()
        .into_iter()
        .partition(|(name, _)| *name == M::TYPE_NAME);
    let corpus = TextCorpus::new(
        own.into_iter().flat_map(|(_, t)| t).collect(),
        others.into_iter().flat_map(|(_, t)| t).collect(),
    );
    let count = inputs_per_decoder();
    let report = fuzz(
        &format!("serde_json::from_slice::<{}>", M::TYPE_NAME),
        seed,
        count,
        bound,
        |rng, out| corpus.generate(rng, out),
        |text| serde_json::from_slice::<M>(text),
        |_, value: &M| {
            // What the CLI does next: encode, which may refuse (the CLI then reports the error)...
            let Ok(wire) = value.encode_bytes() else {
                return Ok(());
            };
            // ...and the bytes it writes must decode to a value that encodes the same.
            match M::decode_bytes(&wire) {
                Ok(back) if back.encode_bytes().ok().as_ref() == Some(&wire) => Ok(()),
                Ok(_) => Err("its encoding decodes to a value that encodes differently".into()),
                Err(e) => Err(format!("its encoding does not decode: {e}")),
            }
        },
    );
    assert_clean(&report, count);
}

/// JSON parsing allocates in proportion to the text (serde_json's string scratch and error
/// messages, a depth image's values as its array grows); the worst seen is about 4 bytes per byte
/// of text (docs/wire-fuzzing.md).
const JSON_BOUND: AllocBound = AllocBound {
    per_input_byte: 8,
    fixed: 16 * 1024,
};

#[test]
fn lowcmd_json() {
    fuzz_json::<LowCmd>(0xF1_01, JSON_BOUND);
}

#[test]
fn lowstate_json() {
    fuzz_json::<LowState>(0xF1_02, JSON_BOUND);
}

#[test]
fn controller_status_json() {
    fuzz_json::<ControllerStatus>(0xF1_03, JSON_BOUND);
}

#[test]
fn controller_command_json() {
    fuzz_json::<ControllerCommand>(0xF1_04, JSON_BOUND);
}

#[test]
fn depth_frame_json() {
    fuzz_json::<DepthFrame>(0xF1_05, JSON_BOUND);
}

#[test]
fn sim_request_json() {
    fuzz_json::<SimRequest>(0xF1_06, JSON_BOUND);
}
