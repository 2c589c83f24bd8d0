//! Prints the ns.log rotations a `correlate` fuzz input stands for (`tail` form), the form
//! kept under `tests/fuzz-regressions/correlate/`. Reads the input file named on the command
//! line; writes only to standard output.

use arbitrary::{Arbitrary, Unstructured};
use sporen_fuzz::sessions::Sessions;

fn main() -> std::process::ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: sessions-log FUZZ-INPUT > LOG");
        return std::process::ExitCode::from(2);
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("sessions-log: {}: {e}", path.to_string_lossy());
            return std::process::ExitCode::from(2);
        }
    };
    match Sessions::arbitrary_take_rest(Unstructured::new(&bytes)) {
        Ok(s) => {
            print!("{}", s.render());
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sessions-log: not a correlate input: {e}");
            std::process::ExitCode::from(1)
        }
    }
}
