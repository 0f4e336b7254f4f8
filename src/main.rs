//! The `eddy` command: a thin wrapper around [`eddy::cli`].

fn main() -> std::process::ExitCode {
    eddy::cli::main()
}
