//! `vigor eval`'s flags that take a range, and the words its reports use for what they set.

use anyhow::Result;
use vigor_training::student::config::CameraTiming;

/// A `LOW,HIGH` flag (one value: fixed) checked against `0 ..= max`, low first; `None` when the
/// flag was not given.
fn low_high(flag: &str, values: &[f32], max: f32) -> Result<Option<[f32; 2]>> {
    let (low, high) = match *values {
        [] => return Ok(None),
        [fixed] => (fixed, fixed),
        [low, high] => (low, high),
        _ => anyhow::bail!("{flag} takes LOW,HIGH or one value"),
    };
    anyhow::ensure!(
        (0.0..=max).contains(&low) && (low..=max).contains(&high),
        "{flag} {low},{high}: allowed 0 ..= {max}, low first"
    );
    Ok(Some([low, high]))
}

/// `--camera-latency-ms` as a camera timing (milliseconds to seconds), or `None` when not given.
pub(super) fn camera_timing(ms: &[f32]) -> Result<Option<CameraTiming>> {
    Ok(
        low_high("--camera-latency-ms", ms, 200.0)?.map(|[low, high]| CameraTiming {
            random_phase: true,
            latency_s: [low / 1000.0, high / 1000.0],
        }),
    )
}

/// `--lying-offset-m` (metres), or the default: the protocol's range with `--protocol`, the
/// centre without.
pub(super) fn lying_offset(m: &[f32], protocol: bool) -> Result<[f32; 2]> {
    Ok(
        low_high("--lying-offset-m", m, 1.8)?.unwrap_or(if protocol {
            vigor_sim::scenario::PROTOCOL_LYING_OFFSET_M
        } else {
            [0.0, 0.0]
        }),
    )
}

/// The words a report uses for where the lying starts lie.
pub(super) fn lying_words(range_m: [f32; 2]) -> String {
    let [low, high] = range_m;
    if high <= 0.0 {
        ", lying starts at the tile centre".to_owned()
    } else if low == high {
        format!(", lying starts {low:.2} m from the tile centre")
    } else {
        format!(", lying starts {low:.2}-{high:.2} m from the tile centre")
    }
}

/// The words a report uses for `camera`.
pub(super) fn camera_words(camera: Option<&CameraTiming>) -> String {
    camera.map_or_else(String::new, |c| {
        format!(
            ", camera latency {:.0}-{:.0} ms and random frame phase",
            c.latency_s[0] * 1000.0,
            c.latency_s[1] * 1000.0
        )
    })
}

/// The words a report uses for `--flat-scan`.
pub(super) fn scan_words(flat_scan: bool) -> &'static str {
    if flat_scan {
        ", height scan flattened (diagnostic)"
    } else {
        ""
    }
}
