//! The `kudo-diag` binary: parse the command line, hand it to the library, turn the outcome
//! into an exit code. Everything else lives in the `kudo_diag` library.

/// jemalloc, not the C library's allocator: a collection frees large transient buffers (list
/// pages, response bodies, command output) between many small long-lived ones (plan nodes,
/// ids), and glibc kept the freed pages: 167 against 135 MiB peak RSS at 5,000 pods, with
/// less CPU (docs/PERFORMANCE.md, "Memory at 5,000 and 20,000 pods"). Its settings are
/// compiled in from `.cargo/config.toml` (freed pages go back after about a second).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    kudo_diag::cli::main()
}
