//! Firmware version numbers: a branch and a build, each a `major.minor` pair
//! (`13.0-47.24` → branch `(13, 0)`, build `(47, 24)`).

/// A branch or build number: `13.0` → `(13, 0)`, `47.24` → `(47, 24)`.
pub(crate) type Build = (u32, u32);

/// `"13.0"` or `"47.24"` → `(13, 0)`; `None` for anything else.
pub(crate) fn parse_build(s: &str) -> Option<Build> {
    let (a, b) = s.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// `13.0-47.24` → branch and build.
pub(crate) fn split_version(v: &str) -> Option<(Build, Build)> {
    let (b, n) = v.split_once('-')?;
    Some((parse_build(b)?, parse_build(n)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(parse_build("13.0"), Some((13, 0)));
        assert_eq!(parse_build("47.24"), Some((47, 24)));
        assert_eq!(parse_build("13"), None);
        assert_eq!(parse_build("x.1"), None);
        assert_eq!(split_version("13.0-47.24"), Some(((13, 0), (47, 24))));
        assert_eq!(split_version("13.0"), None);
    }
}
