//! The fuzzing loop: feeds inputs to a decoder one by one under `catch_unwind` and the
//! allocation counter, judges what it accepts, counts, and keeps the first failures with their
//! bytes in hex.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use crate::alloc_count::measure;
use crate::rng::Rng;

/// Failing inputs printed per decoder; the run stops early after this many failures.
const MAX_FAILURES: usize = 8;

/// The most bytes one decode call may allocate for an input of `len` bytes:
/// `per_input_byte * len + fixed`.
#[derive(Debug, Clone, Copy)]
pub(super) struct AllocBound {
    pub(super) per_input_byte: usize,
    pub(super) fixed: usize,
}

impl AllocBound {
    /// Fixed-size binary messages decode into the stack: nothing at all.
    pub(super) const NONE: Self = Self {
        per_input_byte: 0,
        fixed: 0,
    };

    fn limit(self, len: usize) -> usize {
        self.per_input_byte * len + self.fixed
    }
}

/// What one decoder went through.
#[derive(Debug, Default)]
pub(super) struct Report {
    inputs: usize,
    accepted: usize,
    panics: usize,
    over_bound: usize,
    bad_accepts: usize,
    /// Most bytes one call allocated, and the length of that input.
    peak_bytes: usize,
    peak_input_len: usize,
    longest_input: usize,
    input_bytes: usize,
    /// The smallest `per_input_byte` that, with the bound's `fixed`, covers every call.
    needed_per_input_byte: usize,
    failures: Vec<String>,
}

/// The input in hex, its first 4 KiB (rerunning the test regenerates all of it).
fn hex(input: &[u8]) -> String {
    let shown: String = input
        .iter()
        .take(4096)
        .map(|b| format!("{b:02x}"))
        .collect();
    if input.len() > 4096 {
        format!("{shown}... ({} bytes in all)", input.len())
    } else {
        shown
    }
}

/// Feeds `count` inputs from `generate` to `decode`; `check` judges each accepted value.
pub(super) fn fuzz<T, E>(
    decoder: &str,
    seed: u64,
    count: usize,
    bound: AllocBound,
    mut generate: impl FnMut(&mut Rng, &mut Vec<u8>),
    decode: impl Fn(&[u8]) -> Result<T, E>,
    check: impl Fn(&[u8], &T) -> Result<(), String>,
) -> Report {
    let mut rng = Rng(seed);
    let mut input = Vec::with_capacity(2 * super::bytes::MAX_RANDOM_LEN);
    let mut report = Report::default();
    let started = Instant::now();
    for i in 0..count {
        generate(&mut rng, &mut input);
        report.inputs += 1;
        report.longest_input = report.longest_input.max(input.len());
        report.input_bytes += input.len();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let (decoded, allocated) = measure(|| decode(&input));
            let verdict = decoded.as_ref().ok().map(|v| check(&input, v));
            (verdict, allocated)
        }));
        let failure = match outcome {
            Err(payload) => {
                report.panics += 1;
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                Some(format!("panicked ({message})"))
            }
            Ok((verdict, allocated)) => {
                if allocated > report.peak_bytes {
                    report.peak_bytes = allocated;
                    report.peak_input_len = input.len();
                }
                let beyond_fixed = allocated.saturating_sub(bound.fixed);
                report.needed_per_input_byte = report
                    .needed_per_input_byte
                    .max(beyond_fixed.div_ceil(input.len().max(1)));
                report.accepted += usize::from(verdict.is_some());
                if allocated > bound.limit(input.len()) {
                    report.over_bound += 1;
                    Some(format!("allocated {allocated} bytes, over {bound:?}"))
                } else if let Some(Err(why)) = verdict {
                    report.bad_accepts += 1;
                    Some(format!("accepted, but {why}"))
                } else {
                    None
                }
            }
        };
        if let Some(what) = failure {
            report.failures.push(format!(
                "{decoder}: input #{i} (seed {seed:#x}, {} bytes) {what}: {}",
                input.len(),
                hex(&input)
            ));
            if report.failures.len() >= MAX_FAILURES {
                break;
            }
        }
    }
    println!(
        "fuzz {decoder}: {} inputs in {:.1} s, {} accepted, {} rejected, {} panics, {} over the \
         allocation bound, {} bad accepts; peak allocation per call {} bytes (input of {} bytes), \
         bound {} per input byte + {} (needed: {} per input byte); inputs up to {} bytes, mean {}",
        report.inputs,
        started.elapsed().as_secs_f64(),
        report.accepted,
        report.inputs - report.accepted - report.panics,
        report.panics,
        report.over_bound,
        report.bad_accepts,
        report.peak_bytes,
        report.peak_input_len,
        bound.per_input_byte,
        bound.fixed,
        report.needed_per_input_byte,
        report.longest_input,
        report.input_bytes / report.inputs.max(1),
    );
    report
}

pub(super) fn assert_clean(report: &Report, wanted: usize) {
    assert!(
        report.failures.is_empty(),
        "{} panics, {} over the allocation bound, {} bad accepts; first failures:\n{}",
        report.panics,
        report.over_bound,
        report.bad_accepts,
        report.failures.join("\n")
    );
    assert_eq!(report.inputs, wanted, "inputs fed");
}

#[test]
fn harness_reports_panics_and_over_allocation() {
    // A decoder that panics on one byte value and allocates on another, fed bytes 0, 1, 2, ...:
    // the harness must catch and name both, and stop after MAX_FAILURES.
    let mut next = 0u8;
    let report = fuzz(
        "harness self-test (its failures are deliberate)",
        1,
        1000,
        AllocBound::NONE,
        |_, out| {
            out.clear();
            out.push(next);
            next = next.wrapping_add(1);
        },
        |input: &[u8]| match input[0] {
            7 => panic!("deliberate panic of the harness self-test"),
            9 => Ok(vec![0u8; 100]),
            _ => Err(()),
        },
        |_, _| Ok(()),
    );
    assert_eq!((report.panics, report.over_bound), (4, 4));
    assert_eq!(report.inputs, 256 * 3 + 10, "stops at the 8th failure");
    assert!(
        report.failures[0].contains("#7 (seed 0x1, 1 bytes) panicked (deliberate panic"),
        "{}",
        report.failures[0]
    );
    assert!(
        report.failures[1]
            .ends_with("allocated 100 bytes, over AllocBound { per_input_byte: 0, fixed: 0 }: 09"),
        "{}",
        report.failures[1]
    );
}
