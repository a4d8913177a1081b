// Shared by the build scripts of crates whose binaries or tests link libtorch (`include!`d).
// torch-sys reports the libtorch directory as DEP_TCH_LIBTORCH_LIB; an rpath to it lets binaries
// run in a fresh shell with nothing exported. With a CUDA libtorch, libtorch_cuda is linked even
// though no symbol of it is referenced, or tch never sees the GPU.
fn link_libtorch() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
        if std::path::Path::new(&lib).join("libtorch_cuda.so").exists() {
            println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
        }
    }
}
