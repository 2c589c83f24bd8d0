//! Escaping of evidence bytes for text and CSV output.
//!
//! Paths and excerpts are chosen by whoever controlled the appliance. This module must never let
//! a control character, an escape sequence, a bidi override or an invalid UTF-8 byte through
//! raw: everything it returns is printable and can be turned back into the original bytes.
//!
//! The escapes are unambiguous: `\\` is a backslash, `\n` `\r` `\t` are those characters,
//! `\xNN` with NN < 0x80 is an ASCII control character (C0 or DEL), `\xNN` with NN >= 0x80 is a
//! byte that was not valid UTF-8, and `\u{...}` is a Unicode character that is invisible or
//! changes how text around it is shown (C1 controls, bidi controls, zero-width and other format
//! characters, line and paragraph separators).

/// Escapes bytes from the evidence so they can be printed on a terminal, in a text report or in
/// a CSV cell. Printable ASCII and printable UTF-8 are kept; see the module documentation for
/// the escapes.
pub(crate) fn escape_bytes(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len() + b.len() / 8);
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_char(&mut out, c);
        }
        for &byte in chunk.invalid() {
            push_hex_byte(&mut out, byte);
        }
    }
    out
}

/// [`escape_bytes`] for a string (reasons, details and other text that may carry evidence).
pub(crate) fn escape_str(s: &str) -> String {
    escape_bytes(s.as_bytes())
}

/// Escapes text that sporen or a rule author wrote (verdict reasons, finding reasons that quote
/// rule patterns): controls and hidden characters are escaped as in [`escape_bytes`], but a
/// backslash stays a single backslash so that quoted regexes read as written. Never use this for
/// bytes taken from the evidence.
pub(crate) fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '\\' {
            out.push(c);
        } else {
            push_char(&mut out, c);
        }
    }
    out
}

/// True for the Unicode characters that are valid UTF-8 but must not reach a terminal raw
/// because they are invisible or change how the text around them is shown.
pub fn is_hidden_char(c: char) -> bool {
    matches!(
        c as u32,
        // C1 controls (CSI is U+009B: an escape sequence on some terminals).
        0x80..=0x9F
        // Soft hyphen, Arabic letter mark, Mongolian vowel separator.
        | 0xAD | 0x061C | 0x180E
        // Zero-width space/joiners, left-to-right and right-to-left marks.
        | 0x200B..=0x200F
        // Line and paragraph separators.
        | 0x2028 | 0x2029
        // Bidi embeddings and overrides (LRE, RLE, PDF, LRO, RLO).
        | 0x202A..=0x202E
        // Word joiner and invisible operators.
        | 0x2060..=0x2064
        // Bidi isolates (LRI, RLI, FSI, PDI) and deprecated format characters.
        | 0x2066..=0x206F
        // Byte order mark / zero-width no-break space.
        | 0xFEFF
        // Interlinear annotation controls.
        | 0xFFF9..=0xFFFB
        // Tag characters (invisible text).
        | 0xE0000..=0xE007F
    )
}

fn push_char(out: &mut String, c: char) {
    match c {
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        // C0 controls and DEL: single bytes below 0x80.
        '\0'..='\x1f' | '\x7f' => push_hex_byte(out, c as u8),
        c if is_hidden_char(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        c => out.push(c),
    }
}

fn push_hex_byte(out: &mut String, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('\\');
    out.push('x');
    out.push(char::from(HEX[usize::from(byte >> 4)]));
    out.push(char::from(HEX[usize::from(byte & 0x0f)]));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_text_keeps_backslashes_but_not_controls() {
        assert_eq!(escape_text(r"`\S*\.xml`"), r"`\S*\.xml`");
        assert_eq!(escape_text("a\x1b[31mb\u{202e}"), "a\\x1b[31mb\\u{202e}");
    }

    #[test]
    fn printable_text_is_kept() {
        assert_eq!(escape_str("/var/log/ns.log"), "/var/log/ns.log");
        assert_eq!(
            escape_str("Grüße, 日本語 ~!@#$%^&*()"),
            "Grüße, 日本語 ~!@#$%^&*()"
        );
        assert_eq!(escape_str(""), "");
    }

    #[test]
    fn newline_tab_cr_and_backslash() {
        assert_eq!(escape_str("a\nb\rc\td"), "a\\nb\\rc\\td");
        assert_eq!(escape_str("C:\\x41"), "C:\\\\x41");
        // A literal `\n` in the evidence cannot be confused with an escaped newline.
        assert_ne!(escape_str("\\n"), escape_str("\n"));
    }

    #[test]
    fn escape_sequences_are_defused() {
        let s = escape_bytes(b"\x1b[31mred\x1b[0m \x1b]0;title\x07 \x00\x7f\x08");
        assert_eq!(s, "\\x1b[31mred\\x1b[0m \\x1b]0;title\\x07 \\x00\\x7f\\x08");
        assert!(!s.chars().any(|c| c.is_control()));
    }

    #[test]
    fn c1_controls_are_escaped() {
        // U+009B is CSI, U+0085 is NEL.
        assert_eq!(escape_str("a\u{9b}31mb\u{85}"), "a\\u{9b}31mb\\u{85}");
    }

    #[test]
    fn invalid_utf8_becomes_hex() {
        assert_eq!(escape_bytes(b"/tmp/\xff\xfeok"), "/tmp/\\xff\\xfeok");
        // A truncated multi-byte sequence, then a valid one.
        assert_eq!(escape_bytes(b"\xe2\x82x\xe2\x82\xac"), "\\xe2\\x82x€");
        // A C1 control encoded as a raw byte is invalid UTF-8, and stays distinct from U+0085.
        assert_eq!(escape_bytes(b"\x85"), "\\x85");
        assert_ne!(escape_bytes(b"\x85"), escape_str("\u{85}"));
    }

    #[test]
    fn bidi_and_invisible_characters_are_escaped() {
        assert_eq!(escape_str("a\u{202e}gnp.php"), "a\\u{202e}gnp.php");
        for c in ['\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}'] {
            assert!(is_hidden_char(c));
        }
        for c in ['\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}'] {
            assert!(is_hidden_char(c));
        }
        assert_eq!(
            escape_str("x\u{200b}\u{2028}\u{feff}\u{e0041}"),
            "x\\u{200b}\\u{2028}\\u{feff}\\u{e0041}"
        );
        assert!(!is_hidden_char('é'));
        assert!(!is_hidden_char('\u{2065}'));
    }

    #[test]
    fn output_never_holds_control_or_hidden_characters() {
        let all: Vec<u8> = (0u8..=255).collect();
        let mut input = all.clone();
        input.extend_from_slice("\u{85}\u{9b}\u{202e}\u{2066}\u{2069}\u{200f}".as_bytes());
        let s = escape_bytes(&input);
        assert!(
            !s.chars().any(|c| c.is_control() || is_hidden_char(c)),
            "{s}"
        );
    }
}
