//! Wire messages through the tool (`vigor msgs`) and the zenoh key list (`vigor topic`).

use crate::{text, vigor};

#[test]
fn lowcmd_json_encodes_decodes_and_reencodes_to_the_same_bytes() {
    let bytes = vigor(
        &["msgs", "encode", "--type", "lowcmd"],
        br#"{"mode_machine":5,"motor_cmd":[{"mode":1,"kd":8}]}"#,
    );
    assert!(bytes.status.success(), "{}", text(&bytes.stderr));
    assert_eq!(bytes.stdout.len(), 1004);
    let json = vigor(&["msgs", "decode", "--type", "lowcmd"], &bytes.stdout);
    assert!(json.status.success(), "{}", text(&json.stderr));
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["motor_cmd"][0]["kd"], 8.0);
    assert_eq!(value["motor_cmd"].as_array().unwrap().len(), 35);
    let again = vigor(&["msgs", "encode", "--type", "lowcmd"], &json.stdout);
    assert_eq!(again.stdout, bytes.stdout);
}

#[test]
fn lowstate_and_project_messages_round_trip_through_the_tool() {
    let cases: [(&str, &str); 3] = [
        (
            "lowstate",
            r#"{"mode_machine":5,"tick":9,"imu_state":{"quaternion":[1,0,0,0]}}"#,
        ),
        ("command", r#"{"seq":1,"stamp_ns":2,"command":"e_stop"}"#),
        (
            "sim-request",
            r#"{"seq":1,"stamp_ns":2,"request":{"push":{"link":"torso_link","force_n":[80,0,0],"duration_s":0.2}}}"#,
        ),
    ];
    for (kind, json) in cases {
        let bytes = vigor(&["msgs", "encode", "--type", kind], json.as_bytes());
        assert!(bytes.status.success(), "{kind}: {}", text(&bytes.stderr));
        let back = vigor(&["msgs", "decode", "--type", kind], &bytes.stdout);
        assert!(back.status.success(), "{kind}: {}", text(&back.stderr));
        let again = vigor(&["msgs", "encode", "--type", kind], &back.stdout);
        assert_eq!(again.stdout, bytes.stdout, "{kind}");
    }
}

#[test]
fn bad_input_fails_with_a_clear_message() {
    let out = vigor(&["msgs", "decode", "--type", "lowcmd"], &[0u8; 10]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr).trim(),
        "error: stdin is not a valid frame: LowCmd: expected 1004 bytes, got 10"
    );
    let out = vigor(
        &["msgs", "encode", "--type", "lowcmd"],
        br#"{"mode_machine": 5, "motor": []}"#,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("not valid LowCmd JSON") && err.contains("motor"),
        "{err}"
    );
    let out = vigor(&["msgs", "decode", "--type", "nope"], b"");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn topic_list_shows_every_key_with_scope() {
    let out = vigor(&["topic", "list", "--scope", "g1"], b"");
    assert!(out.status.success());
    let s = text(&out.stdout);
    for t in vigor_msgs_keys() {
        assert!(s.contains(&format!("g1/{t}")), "{t} missing:\n{s}");
    }
}

fn vigor_msgs_keys() -> [&'static str; 3] {
    ["rt/lowcmd", "rt/lowstate", "vigor/controller/status"]
}
