//! The `kudo-diag` binary: parse the command line, hand it to the library, turn the outcome
//! into an exit code. Everything else lives in the `kudo_diag` library.

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    kudo_diag::cli::main()
}
