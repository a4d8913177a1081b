use super::*;
use crate::net::Activation;

fn manifest(seed: u64) -> Manifest {
    let observation = ObservationLayout::g1_proprioception();
    let n = observation.len();
    Manifest {
        schema_version: SCHEMA_VERSION,
        kind: PolicyKind::Mlp,
        name: "test".into(),
        robot: "g1_29dof".into(),
        joints: (0..29).map(|i| format!("j{i}")).collect(),
        normaliser: Normaliser::identity(n),
        network: Network::Mlp(MlpNetwork {
            action: ActionSpec {
                dim: 29,
                mode: ActionMode::DefaultOffset,
                scale: 0.25,
            },
            actor: MlpSpec {
                input: n,
                hidden: vec![32, 16],
                output: 29,
                activation: Activation::Elu,
            },
            observation,
        }),
        weights_sha256: String::new(),
        git_hash: "unknown".into(),
        seed,
    }
}

fn probe() -> Vec<f32> {
    (0..93).map(|i| (i as f32 * 0.37).sin()).collect()
}

#[test]
fn save_then_load_reproduces_actions() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = Policy::init(manifest(7)).unwrap();
    let before = p.act(&probe()).unwrap();
    assert_eq!(before.len(), 29);
    p.save(dir.path()).unwrap();
    let q = Policy::load(dir.path()).unwrap();
    assert_eq!(q.act(&probe()).unwrap(), before);
    assert_eq!(q.manifest().weights_sha256.len(), 64);
    assert_eq!(
        q.var_store()
            .variables()
            .keys()
            .filter(|k| k.starts_with("actor.l"))
            .count(),
        6
    );
}

#[test]
fn same_seed_same_weights_other_seed_differs() {
    let a = Policy::init(manifest(1)).unwrap().act(&probe()).unwrap();
    let b = Policy::init(manifest(1)).unwrap().act(&probe()).unwrap();
    let c = Policy::init(manifest(2)).unwrap().act(&probe()).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn tampered_weights_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    Policy::init(manifest(3)).unwrap().save(dir.path()).unwrap();
    let w = dir.path().join(WEIGHTS_FILE);
    let mut bytes = std::fs::read(&w).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&w, bytes).unwrap();
    let err = Policy::load(dir.path()).unwrap_err();
    assert!(matches!(err, ArtifactError::Digest { .. }), "{err}");
}

#[test]
fn inconsistent_and_wrong_size_inputs_are_refused() {
    let mut m = manifest(0);
    if let Network::Mlp(n) = &mut m.network {
        n.actor.output = 23;
    }
    let err = Policy::init(m).unwrap_err().to_string();
    assert!(err.contains("`network.mlp`: actor.output 23"), "{err}");
    let p = Policy::init(manifest(0)).unwrap();
    let err = p.act(&[0.0; 10]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "observation has 10 values, the policy expects 93"
    );
}

#[test]
fn a_kind_that_disagrees_with_its_network_is_named() {
    let mut m = manifest(0);
    m.kind = PolicyKind::DepthStudent;
    let err = m
        .check(Path::new("x/manifest.json"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "x/manifest.json: `network`: a `mlp` network for a policy of kind `depth_student`"
    );
    let mut m = manifest(0);
    m.joints[3] = "j1".into();
    let err = m.check(Path::new("m.json")).unwrap_err().to_string();
    assert!(
        err.contains("`joints[3]`: `j1` is empty or repeated"),
        "{err}"
    );
    let mut m = manifest(0);
    m.normaliser.mean[5] = f64::INFINITY;
    let err = m.check(Path::new("m.json")).unwrap_err().to_string();
    assert!(
        err.contains("`normaliser`: normaliser.mean[5] is inf"),
        "{err}"
    );
}

#[test]
fn old_and_foreign_manifests_are_refused_with_the_file_and_the_way_out() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("student.json"), "{}").unwrap();
    let err = read_manifest(dir.path()).unwrap_err().to_string();
    assert!(err.contains("student.json: a schema-1 artifact"), "{err}");
    assert!(err.contains("vigor policy migrate"), "{err}");
    let m = dir.path().join(MANIFEST_FILE);
    std::fs::write(&m, r#"{"schema_version": 1, "name": "old"}"#).unwrap();
    let err = read_manifest(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("manifest.json: `schema_version` is 1; this build reads 2"),
        "{err}"
    );
    std::fs::write(&m, r#"{"model": "resnet"}"#).unwrap();
    let err = read_manifest(dir.path()).unwrap_err().to_string();
    assert!(err.contains("no `schema_version`"), "{err}");
    let mut json = serde_json::to_value(manifest(0)).unwrap();
    json["kind"] = "critic".into();
    std::fs::write(&m, json.to_string()).unwrap();
    let err = read_manifest(dir.path()).unwrap_err().to_string();
    assert!(err.contains("unknown variant `critic`"), "{err}");
}
