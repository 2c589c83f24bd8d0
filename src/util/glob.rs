//! Path globs as rules write them: relative to the appliance root, `*` stays inside one
//! component, `**` crosses components, `{a,b}` alternates. Paths are matched as bytes.

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Compiles one glob in sporen's dialect.
pub fn compile(glob: &str) -> Result<Glob, globset::Error> {
    GlobBuilder::new(glob)
        .literal_separator(true)
        .backslash_escape(true)
        .empty_alternates(true)
        .build()
}

/// Builds a set from globs that were already validated by the rule loader.
pub(crate) fn set<'a>(
    globs: impl IntoIterator<Item = &'a String>,
) -> Result<GlobSet, globset::Error> {
    let mut b = GlobSetBuilder::new();
    for g in globs {
        b.add(compile(g)?);
    }
    b.build()
}

/// Views path bytes as a `Path` for globset (lossless on Unix).
pub(crate) fn as_path(bytes: &[u8]) -> &Path {
    Path::new(OsStr::from_bytes(bytes))
}

/// The log a rotated file belongs to: strips `.gz`, then a numeric `.N` suffix
/// (`var/log/bash.log.3.gz` → `var/log/bash.log`). Other names are returned unchanged.
pub(crate) fn log_family(rel: &[u8]) -> &[u8] {
    let mut p = rel;
    if let Some(s) = p.strip_suffix(b".gz") {
        p = s;
    }
    if let Some(dot) = p.iter().rposition(|&b| b == b'.') {
        let digits = &p[dot + 1..];
        if !digits.is_empty() && digits.len() <= 4 && digits.iter().all(u8::is_ascii_digit) {
            p = &p[..dot];
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialect() {
        let g = compile("var/vpn/theme{,s}/*.php")
            .unwrap()
            .compile_matcher();
        assert!(g.is_match("var/vpn/theme/x.php"));
        assert!(g.is_match("var/vpn/themes/x.php"));
        assert!(!g.is_match("var/vpn/themes/imgs/x.php"));
        let g = compile("netscaler/portal/templates/**")
            .unwrap()
            .compile_matcher();
        assert!(g.is_match("netscaler/portal/templates/a/b.xml"));
        let bytes = b"var/vpn/bookmark/\xff\n.xml";
        let g = compile("var/vpn/bookmark/*.xml").unwrap().compile_matcher();
        assert!(g.is_match(as_path(bytes)));
    }

    #[test]
    fn families() {
        assert_eq!(log_family(b"var/log/bash.log.3.gz"), b"var/log/bash.log");
        assert_eq!(
            log_family(b"var/log/httpaccess.log.4"),
            b"var/log/httpaccess.log"
        );
        assert_eq!(log_family(b"var/log/cron.0.gz"), b"var/log/cron");
        assert_eq!(log_family(b"var/log/ns.log"), b"var/log/ns.log");
        assert_eq!(log_family(b"var/log/ns.log.gz"), b"var/log/ns.log");
        assert_eq!(log_family(b"var/tmp/test.tar.gz"), b"var/tmp/test.tar");
    }
}
