//! The process exit codes, one meaning each (documented in `--help` and the README).

use crate::model::Verdict;

/// What `sporen` exits with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitCode {
    /// `scan`: verdict `clean`. Other commands: success.
    Clean = 0,
    /// `scan`: traces found (verdict `compromised` or `review`). `rules test`: an example failed.
    Traces = 1,
    /// Bad arguments, invalid rules, unreadable target, a report that could not be written
    /// (never a verdict: a report nobody received proves nothing), or an internal error.
    Error = 2,
    /// `scan`: verdict `inconclusive` (no traces, but not enough evidence to say clean).
    Inconclusive = 3,
}

impl ExitCode {
    /// The code for a scan verdict.
    pub fn for_verdict(v: Verdict) -> ExitCode {
        match v {
            Verdict::Clean => ExitCode::Clean,
            Verdict::Review | Verdict::Compromised => ExitCode::Traces,
            Verdict::Inconclusive => ExitCode::Inconclusive,
        }
    }

    /// The numeric value passed to the operating system.
    pub fn code(self) -> u8 {
        self as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_map_to_documented_codes() {
        assert_eq!(ExitCode::for_verdict(Verdict::Clean).code(), 0);
        assert_eq!(ExitCode::for_verdict(Verdict::Review).code(), 1);
        assert_eq!(ExitCode::for_verdict(Verdict::Compromised).code(), 1);
        assert_eq!(ExitCode::for_verdict(Verdict::Inconclusive).code(), 3);
        assert_eq!(ExitCode::Error.code(), 2);
    }
}
