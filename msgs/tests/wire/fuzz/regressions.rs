//! Regression tests for what the fuzzing found, each named after what it guards.

use vigor_msgs::unitree_hg::{LowCmd, LowState};

use crate::alloc_count::measure;

/// `"0,"` repeated: the shortest JSON array item, so the most items per byte of text.
fn zeros(count: usize) -> String {
    let mut items = "0,".repeat(count);
    items.pop();
    items
}

/// Most bytes the two tests below allow, whatever the text's length: serde_json's error and
/// nothing that grows with the text.
const SMALL: usize = 4096;

#[test]
fn json_float_given_a_long_array_is_rejected_without_buffering_it() {
    // A float field holding a 200 kB array: parsing once buffered the whole array before saying
    // it was not a float (6.3 MB, 31 bytes per byte of text).
    let text = format!(r#"{{"motor_cmd":[{{"q":[{}]}}]}}"#, zeros(100_000));
    let (parsed, allocated) = measure(|| serde_json::from_str::<LowCmd>(&text));
    assert!(
        allocated <= SMALL,
        "{allocated} bytes allocated for a {}-byte text",
        text.len()
    );
    let err = parsed.expect_err("an array is not a float");
    assert!(
        err.to_string().starts_with("invalid type: sequence"),
        "{err}"
    );
}

#[test]
fn json_float_array_too_long_is_rejected_without_collecting_it() {
    // A 4-float quaternion given 100 000 items: parsing once collected them all before counting
    // them (4.7 MB, 24 bytes per byte of text).
    let text = format!(r#"{{"imu_state":{{"quaternion":[{}]}}}}"#, zeros(100_000));
    let (parsed, allocated) = measure(|| serde_json::from_str::<LowState>(&text));
    assert!(
        allocated <= SMALL,
        "{allocated} bytes allocated for a {}-byte text",
        text.len()
    );
    let err = parsed.expect_err("too many items");
    assert!(
        err.to_string()
            .starts_with("invalid length 100000, expected 4 numbers"),
        "{err}"
    );
}

#[test]
fn json_float_arrays_keep_their_messages_and_spellings() {
    let short = serde_json::from_str::<LowState>(r#"{"imu_state":{"gyroscope":[1,2]}}"#);
    let err = short.expect_err("two of three");
    assert!(
        err.to_string()
            .starts_with("invalid length 2, expected 3 numbers"),
        "{err}"
    );
    let s: LowState = serde_json::from_str(
        r#"{"imu_state":{"rpy":["NaN",-1e3,"-Infinity"],"gyroscope":[1,18446744073709551615,-7]}}"#,
    )
    .expect("numbers and non-finite strings");
    assert!(s.imu_state.rpy[0].is_nan());
    assert_eq!(s.imu_state.rpy[1..], [-1000.0, f32::NEG_INFINITY]);
    assert_eq!(s.imu_state.gyroscope, [1.0, 1.8446744e19, -7.0]);
    let bad = serde_json::from_str::<LowCmd>(r#"{"motor_cmd":[{"kd":"eight"}]}"#);
    let err = bad.expect_err("not a float spelling");
    assert!(
        err.to_string()
            .contains(r#"expected a number, "NaN", "inf" or "-inf", got "eight""#),
        "{err}"
    );
}
