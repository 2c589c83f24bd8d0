//! The `sporen` binary: parse, run, exit. Everything else lives in the library.

fn main() -> std::process::ExitCode {
    let code = std::panic::catch_unwind(|| sporen::app::run(std::env::args_os()))
        .unwrap_or(sporen::exit::ExitCode::Error);
    std::process::ExitCode::from(code.code())
}
