//! Build script: rpath to libtorch for the policy the daemon runs (see build-support/).
include!("../build-support/torch_rpath.rs");

fn main() {
    link_libtorch();
}
