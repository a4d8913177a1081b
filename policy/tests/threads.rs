//! `run_single_threaded` keeps libtorch on the calling thread: after it, operators large enough
//! for libtorch to split across its intra-op pool start no worker threads. Its own test binary,
//! so no other test starts threads while this one counts them.

/// The process's thread count (`/proc/self/status`).
fn threads() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .expect("a Threads: line")
        .trim()
        .parse()
        .expect("a thread count")
}

#[test]
#[cfg(target_os = "linux")]
fn large_operators_start_no_worker_threads_after_run_single_threaded() {
    vigor_policy::run_single_threaded();
    assert_eq!(tch::get_num_threads(), 1);
    let before = threads();
    let a = tch::Tensor::ones([512, 512], (tch::Kind::Float, tch::Device::Cpu));
    for _ in 0..20 {
        // Element-wise over 262 144 values and a product: both above libtorch's grain size for
        // splitting work across its pool.
        let b = (&a * 1.5 + 0.5).tanh();
        let c = b.matmul(&a);
        assert!(c.isfinite().all().int64_value(&[]) == 1);
    }
    assert_eq!(
        threads(),
        before,
        "libtorch started worker threads after run_single_threaded"
    );
}
