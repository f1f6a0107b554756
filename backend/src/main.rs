//! The `yunyin` binary. Everything lives in the library; see `cli.rs`.

fn main() -> std::process::ExitCode {
    yunyin_server::cli::main()
}
