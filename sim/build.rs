//! Build script: rpath to libmujoco (see build-support/mujoco_rpath.rs).
include!("../build-support/mujoco_rpath.rs");

fn main() {
    link_mujoco();
}
