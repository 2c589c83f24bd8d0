//! `--format html`: attacker-chosen names and lines cannot become markup or script, and the page
//! of a compromised and of a clean appliance renders in a real browser (headless Chromium) to a
//! picture with the verdict on it.
//!
//! The browser test needs `chromium`. Without it, it skips with a note, unless
//! SPOREN_REQUIRE_BROWSER is set (CI sets it): then it fails.

mod common;

use common::hostile::Tree;
use common::run::{finish_within, run};
use common::tools::require;
use common::tree::put;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const REQUIRE: &str = "SPOREN_REQUIRE_BROWSER";

/// A file name an attacker chose: quotes, an element with an event handler, a script element.
/// (A name cannot hold `/`, so `</svg>` and `</script>` go into the file's content and a log
/// line instead.)
const HOSTILE_NAME: &str = "var/vpn/bookmark/\"'><svg onload=alert(1)><script>alert(2)<.xml";

/// The healthy appliance with a marked bookmark under [`HOSTILE_NAME`] and a marked log line,
/// both full of markup.
fn hostile_tree() -> Tree {
    let t = Tree::appliance();
    put(
        &t.root,
        HOSTILE_NAME,
        "HOSTILE-FILE-MARKER </svg></table><script>alert(3)</script>",
    );
    let log = t.root.join("var/log/ns.log");
    let mut text = std::fs::read(&log).unwrap();
    text.extend_from_slice(
        b"Jan 27 10:00:00 <local0.info> ns HOSTILE-LOG-MARKER </svg><img src=x onerror=alert(4)>\n",
    );
    std::fs::write(&log, text).unwrap();
    t
}

#[test]
fn a_hostile_file_name_and_log_line_cannot_inject_markup_or_script() {
    let t = hostile_tree();
    let out = t.scan("html", &[]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let page = out.stdout_str();
    for bad in [
        "<script",
        "<img",
        "<svg onload",
        "onload=alert(1)>",
        "\"'><",
        "</svg></table>",
    ] {
        assert!(!page.contains(bad), "`{bad}` reached the page");
    }
    assert_eq!(
        page.matches("<svg ").count(),
        1,
        "one picture, no injected svg"
    );
    assert_eq!(page.matches("</svg>").count(), 1);
    assert!(page.contains(
        "/var/vpn/bookmark/&quot;&#39;&gt;&lt;svg onload=alert(1)&gt;&lt;script&gt;alert(2)&lt;.xml"
    ));
    assert!(page.contains("&lt;/svg&gt;&lt;img src=x onerror=alert(4)&gt;"));
    assert!(page.contains("class=\"verdict compromised\""));

    // In a browser, the page has no script element and shows the name as text.
    let Some(found) = require("html hostile DOM", &["chromium"], &[], REQUIRE) else {
        return;
    };
    let file = t.out.join("hostile.html");
    std::fs::write(&file, &page).unwrap();
    let dom = dump_dom(&found[0], &file, &t.out);
    assert!(!dom.contains("<script"), "a script element in the DOM");
    assert!(!dom.contains("<img"), "an img element in the DOM");
    assert_eq!(dom.matches("<svg").count(), 1, "an injected svg in the DOM");
}

/// `chromium --headless --dump-dom` of `file`, its profile in `work`.
fn dump_dom(chromium: &Path, file: &Path, work: &Path) -> String {
    let out = finish_within(
        headless(chromium, work, &["--dump-dom".to_owned(), url(file)]),
        Duration::from_secs(120),
    );
    assert_eq!(out.code, Some(0), "chromium --dump-dom: {}", out.stderr);
    String::from_utf8(out.stdout).expect("DOM as UTF-8")
}

fn url(file: &Path) -> String {
    format!("file://{}", file.display())
}

/// Chromium, headless, with its own profile in `work` and nothing fetched from the network,
/// then `args`.
fn headless(chromium: &Path, work: &Path, args: &[String]) -> Command {
    let mut cmd = Command::new(chromium);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
    ])
    .arg(format!(
        "--user-data-dir={}",
        work.join("chromium-profile").display()
    ))
    .args(args)
    .env("HOME", work)
    .stdout(Stdio::piped());
    cmd
}

/// Scans fixture `case` to an HTML file in `dir`.
fn html_of(case: &str, dir: &Path) -> PathBuf {
    let (_tmp, root) = common::fixture(case);
    let file = dir.join(format!("{case}.html"));
    let out = run(&[
        OsStr::new("scan"),
        root.as_os_str(),
        OsStr::new("--format"),
        OsStr::new("html"),
        OsStr::new("-o"),
        file.as_os_str(),
    ]);
    assert!(matches!(out.code, Some(0 | 1)), "{case}: {}", out.stderr);
    file
}

#[test]
fn the_page_of_a_compromised_and_a_clean_appliance_renders_in_chromium() {
    let Some(found) = require("html in chromium", &["chromium"], &[], REQUIRE) else {
        return;
    };
    let chromium = &found[0];
    let tmp = tempfile::tempdir().unwrap();
    for (case, verdict, words) in [
        (
            "cve-2019-19781-citrixmash",
            "compromised",
            "Traces of an attack were found on this appliance.",
        ),
        (
            "clean-14.1-66.59-2026",
            "clean",
            "holds no traces of attack",
        ),
    ] {
        let file = html_of(case, tmp.path());
        let png = tmp.path().join(format!("{case}.png"));
        let shot = finish_within(
            headless(
                chromium,
                tmp.path(),
                &[
                    format!("--screenshot={}", png.display()),
                    "--window-size=1100,1600".to_owned(),
                    url(&file),
                ],
            ),
            Duration::from_secs(120),
        );
        assert_eq!(
            shot.code,
            Some(0),
            "{case}: chromium --screenshot: {}",
            shot.stderr
        );
        let bytes = std::fs::read(&png).unwrap_or_else(|e| panic!("{case}: no PNG: {e}"));
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{case}: not a PNG");
        assert!(
            bytes.len() > 20_000,
            "{case}: a PNG of {} bytes is blank",
            bytes.len()
        );

        let dom = dump_dom(chromium, &file, tmp.path());
        assert!(
            dom.contains(&format!(
                "<span class=\"verdict {verdict}\">{verdict}</span>"
            )),
            "{case}: the verdict is not on the page"
        );
        assert!(
            dom.contains(words),
            "{case}: the plain words are not on the page"
        );
        assert!(
            dom.contains("<svg") && dom.contains("Record of the run"),
            "{case}"
        );
        assert!(
            dom.trim_end().ends_with("</html>"),
            "{case}: the page did not load whole"
        );
    }
}
