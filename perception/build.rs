//! Build script: rpath to libmujoco for this crate's tests, which run the simulator with the
//! default `sim` feature (see build-support/mujoco_rpath.rs).
include!("../build-support/mujoco_rpath.rs");

fn main() {
    link_mujoco();
}
