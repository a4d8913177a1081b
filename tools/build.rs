//! Build script: rpaths to libtorch and libmujoco (see build-support/) and the git commit.
include!("../build-support/torch_rpath.rs");
include!("../build-support/mujoco_rpath.rs");

/// Embeds the git commit as `VIGOR_GIT_HASH` (recorded in policy manifests and reports).
fn main() {
    link_libtorch();
    link_mujoco();
    let hash = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=VIGOR_GIT_HASH={hash}");
    for path in ["../.git/HEAD", "../.git/refs/heads"] {
        if std::path::Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}
