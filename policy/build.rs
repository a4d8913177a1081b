//! Build script: rpath to libtorch (see build-support/torch_rpath.rs).
include!("../build-support/torch_rpath.rs");

fn main() {
    link_libtorch();
}
