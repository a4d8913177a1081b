//! The deployment files themselves: the robot's access control against the topic registry, the
//! files that must agree with each other, and what `deploy/make-certs.sh` issues and keeps.

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::Value;
use vigor_msgs::topics::{self, Topic};
use zenoh::key_expr::KeyExpr;

use super::site::repo;

/// For each key, the common name of the certificate its publisher holds (the registry's
/// `publisher`, msgs/src/topics.rs): the only identity the robot may let put on it.
const PUBLISHERS: [(Topic, &str); 7] = [
    (topics::LOWSTATE, "vigor-robot"),
    (topics::LOWCMD, "vigor-controller"),
    (topics::DEPTH, "vigor-perception"),
    (topics::CONTROLLER_STATUS, "vigor-controller"),
    (topics::CONTROLLER_POLICY, "vigor-controller"),
    (topics::CONTROLLER_COMMAND, "vigor-operator"),
    (topics::SIM_REQUEST, "vigor-operator"),
];

/// Every identity make-certs.sh issues, and one from the same CA that it does not.
const IDENTITIES: [&str; 5] = [
    "vigor-robot",
    "vigor-controller",
    "vigor-operator",
    "vigor-perception",
    "intruder",
];

fn config(file: &str) -> zenoh::Config {
    let path = repo().join("deploy/zenoh").join(file);
    zenoh::Config::from_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json(c: &zenoh::Config, key: &str) -> Value {
    serde_json::from_str(&c.get_json(key).unwrap()).unwrap()
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Whether the access control `acl` lets a peer on a mutual-TLS link whose certificate is named
/// `cn` do `message` on `key` in `flow`. A model of zenoh's decision for the shape that
/// [`assert_model_fits`] checks: deny by default, allow rules only, subjects by common name or
/// by the TLS link.
fn allows(acl: &Value, cn: &str, message: &str, flow: &str, key: &str) -> bool {
    let key = KeyExpr::try_from(key).unwrap();
    let subjects: Vec<&str> = acl["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| {
            s.get("cert_common_names")
                .filter(|names| !names.is_null())
                .is_none_or(|names| strings(names).contains(&cn))
        })
        .filter_map(|s| s["id"].as_str())
        .collect();
    let rules: Vec<&str> = acl["policies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| strings(&p["subjects"]).iter().any(|s| subjects.contains(s)))
        .flat_map(|p| strings(&p["rules"]))
        .collect();
    acl["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| rules.contains(&r["id"].as_str().unwrap_or_default()))
        .any(|r| {
            strings(&r["messages"]).contains(&message)
                && strings(&r["flows"]).contains(&flow)
                && strings(&r["key_exprs"])
                    .iter()
                    .any(|k| KeyExpr::try_from(*k).unwrap().includes(&key))
        })
}

fn assert_model_fits(acl: &Value) {
    assert_eq!(acl["enabled"], true);
    assert_eq!(acl["default_permission"], "deny");
    for rule in acl["rules"].as_array().unwrap() {
        assert_eq!(
            rule["permission"], "allow",
            "the model knows allow rules only: {rule}"
        );
    }
    for subject in acl["subjects"].as_array().unwrap() {
        let by_name = !subject["cert_common_names"].is_null();
        let by_tls = strings(&subject["link_protocols"]) == ["tls"];
        let properties = subject
            .as_object()
            .unwrap()
            .values()
            .filter(|v| !v.is_null())
            .count();
        assert!(
            properties == 2 && (by_name || by_tls),
            "the model knows subjects by common name or by the TLS link only: {subject}"
        );
    }
}

#[test]
fn each_key_may_be_put_only_by_its_publisher() {
    let robot = config("robot.json5");
    let acl = json(&robot, "access_control");
    assert_model_fits(&acl);
    for endpoint in strings(&json(&robot, "listen/endpoints")) {
        assert!(
            endpoint.starts_with("tls/"),
            "the robot listens on {endpoint}"
        );
    }
    for t in &topics::ALL {
        assert!(
            PUBLISHERS.iter().any(|(p, _)| p.key == t.key),
            "{} has no publisher identity in this test nor, probably, a rule in robot.json5",
            t.key
        );
    }
    for (topic, owner) in &PUBLISHERS {
        let key = topic.key;
        for id in IDENTITIES {
            assert_eq!(
                allows(&acl, id, "put", "ingress", key),
                id == *owner,
                "{id} putting {key}: only {owner} may"
            );
            assert!(
                allows(&acl, id, "declare_subscriber", "ingress", key)
                    && allows(&acl, id, "put", "egress", key),
                "{id} may not subscribe to {key}"
            );
            for message in ["delete", "query", "declare_queryable", "liveliness_token"] {
                assert!(
                    !allows(&acl, id, message, "ingress", key),
                    "{id} may {message} on {key}"
                );
            }
        }
    }
}

#[test]
fn the_bridge_runs_the_robots_settings_and_the_clients_differ_only_in_certificate() {
    let robot = config("robot.json5");
    let bridge = config("bridge-dds.json5");
    let sections = [
        "mode",
        "listen",
        "connect",
        "scouting",
        "transport",
        "access_control",
    ];
    for key in sections {
        assert_eq!(
            json(&robot, key),
            json(&bridge, key),
            "deploy/zenoh/robot.json5 and bridge-dds.json5 differ in `{key}`"
        );
    }
    assert_eq!(json(&robot, "mode"), "router");

    // A client (which takes no part in gossip) that listens nowhere and scouts nothing.
    let controller = config("controller.json5");
    assert_eq!(json(&controller, "mode"), "client");
    assert_eq!(json(&controller, "listen/endpoints"), serde_json::json!([]));
    assert_eq!(json(&controller, "scouting/multicast/enabled"), false);
    for name in ["operator", "perception"] {
        let client = config(&format!("{name}.json5"));
        for key in sections {
            let expected = controller
                .get_json(key)
                .unwrap()
                .replace("certs/controller.", &format!("certs/{name}."));
            assert_eq!(
                client.get_json(key).unwrap(),
                expected,
                "{name}.json5 differs from controller.json5 in `{key}`"
            );
        }
    }
}

#[test]
fn make_certs_names_the_robot_and_keeps_what_still_fits() {
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    let make = |address: &str| {
        let out = Command::new(repo().join("deploy/make-certs.sh"))
            .arg(&certs)
            .arg(address)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "deploy/make-certs.sh certs {address}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let x509 = |pem: &str, args: &[&str]| {
        let out = Command::new("openssl")
            .args(["x509", "-noout", "-in"])
            .arg(certs.join(pem))
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let robot_names =
        |check: &str, name: &str| x509("robot.pem", &[check, name]).contains(" does match ");
    let files = || -> BTreeMap<String, Vec<u8>> {
        std::fs::read_dir(&certs)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "pem" || x == "key"))
            .map(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read(&p).unwrap())
            })
            .collect()
    };

    make("127.0.0.2");
    assert!(
        robot_names("-checkip", "127.0.0.2")
            && robot_names("-checkip", "127.0.0.1")
            && robot_names("-checkhost", "localhost"),
        "{}",
        x509("robot.pem", &["-ext", "subjectAltName"])
    );
    let names = [
        ("robot", "vigor-robot"),
        ("controller", "vigor-controller"),
        ("operator", "vigor-operator"),
        ("perception", "vigor-perception"),
    ];
    for (file, cn) in names {
        let subject = x509(&format!("{file}.pem"), &["-subject", "-nameopt", "RFC2253"]);
        assert_eq!(subject, format!("subject=CN={cn}"));
    }
    let first = files();
    assert_eq!(first.len(), 10, "{:?}", first.keys());

    // The same address again changes nothing.
    let again = make("127.0.0.2");
    assert!(!again.contains("issued"), "{again}");
    assert!(files() == first, "a second run changed the certificates");

    // A new address re-issues the robot's certificate only, under the same CA.
    make("robot.local");
    assert!(
        robot_names("-checkhost", "robot.local")
            && !robot_names("-checkip", "127.0.0.2")
            && robot_names("-checkip", "127.0.0.1"),
        "{}",
        x509("robot.pem", &["-ext", "subjectAltName"])
    );
    let after = files();
    let changed: Vec<&String> = first.keys().filter(|k| first[*k] != after[*k]).collect();
    assert_eq!(changed, ["robot.key", "robot.pem"]);
}
