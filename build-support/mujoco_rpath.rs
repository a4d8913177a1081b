// Shared by the build scripts of crates whose binaries or tests link vigor-sim, and so libmujoco
// (`include!`d). mujoco-rs links the library from MUJOCO_DYNAMIC_LINK_DIR (.cargo/config.toml
// points it at .venv/mujoco-lib, made by scripts/setup.sh); an rpath to the folder the links
// resolve to lets binaries run in a fresh shell with nothing exported.
fn link_mujoco() {
    println!("cargo:rerun-if-env-changed=MUJOCO_DYNAMIC_LINK_DIR");
    if let Ok(dir) = std::env::var("MUJOCO_DYNAMIC_LINK_DIR") {
        let lib = std::path::Path::new(&dir).join("libmujoco.so");
        let resolved = std::fs::canonicalize(&lib)
            .ok()
            .and_then(|p| p.parent().map(std::path::Path::to_path_buf))
            .unwrap_or_else(|| std::path::PathBuf::from(&dir));
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", resolved.display());
    }
}
