//! The parts every sporen HTML page shares: escaping, the inline style sheet, the page frame.
//!
//! A page must stand alone (no script, no external resource: it is read offline and printed)
//! and nothing attacker-chosen may become markup: every text goes through `esc` or
//! `esc_bytes`, which first make control and hidden characters visible as the terminal
//! report does, then escape the five characters HTML gives a meaning.

use crate::report::sanitize::{escape_bytes, escape_text};

/// Escapes text sporen or a rule wrote, or any string that may carry evidence, for HTML text
/// and attribute values (quoted with `"`).
pub(crate) fn esc(s: &str) -> String {
    html_chars(&escape_text(s))
}

/// Escapes bytes from the evidence (paths, excerpts) for HTML.
pub(crate) fn esc_bytes(b: &[u8]) -> String {
    html_chars(&escape_bytes(b))
}

fn html_chars(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The inline style sheet: readable on screen, one column on paper, colours that survive a
/// black-and-white printer through their words.
const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2em auto;max-width:72em;padding:0 1em;color:#1b1b1b;line-height:1.4}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%;margin:.5em 0;font-size:.92em}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f2f2f2}
code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em;word-break:break-all}
.verdict{display:inline-block;padding:.15em .6em;border-radius:.3em;font-weight:bold;color:#fff}
.compromised{background:#b00020}.review{background:#b26a00}.inconclusive{background:#6a3d9a}
.clean{background:#2e7d32}.failed{background:#444}
.sev-critical,.sev-high{color:#b00020;font-weight:bold}.sev-medium{color:#b26a00;font-weight:bold}
.sev-low,.sev-info{color:#555}
.vulnerable{color:#b00020;font-weight:bold}.fixed,.not_affected{color:#2e7d32}.unknown{color:#6a3d9a}
.muted{color:#666;font-size:.9em}.nowrap{white-space:nowrap}
.reasons li{margin:.2em 0}
svg{max-width:100%;height:auto;font-family:system-ui,sans-serif}
section{page-break-inside:avoid}
@media print{body{margin:0;max-width:none}a{color:inherit;text-decoration:none}.verdict{border:1px solid #000}}
";

/// The start of a page: doctype, title, style sheet and the opening `<body>`.
pub(crate) fn start(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n\
<title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n",
        esc(title)
    )
}

/// The end of a page.
pub(crate) const END: &str = "</body>\n</html>\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_controls_are_escaped() {
        assert_eq!(
            esc("<script>alert(\"1\")</script> & 'x'"),
            "&lt;script&gt;alert(&quot;1&quot;)&lt;/script&gt; &amp; &#39;x&#39;"
        );
        assert_eq!(
            esc_bytes(b"</svg>\x1b[31m\xff"),
            "&lt;/svg&gt;\\x1b[31m\\xff"
        );
        assert!(!start("<b>").contains("<b>"));
    }
}
