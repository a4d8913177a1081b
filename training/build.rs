//! Build script: rpaths to libtorch and libmujoco (see build-support/).
include!("../build-support/torch_rpath.rs");
include!("../build-support/mujoco_rpath.rs");

fn main() {
    link_libtorch();
    link_mujoco();
}
