//! The profile of an appliance family, as data: the paths that identify it, the evidence
//! sources a `clean` verdict depends on, its RAM-disk locations and the records it writes when
//! it starts and stops. Each family ships one (`src/appliance/<family>/profile.toml`).

use super::data::{self, context, count, flag, present, table, text};
use crate::rules::Diagnostic;
use crate::rules::load::{Ctx, Tbl};

/// The shape of an appliance and the evidence sources a `clean` verdict depends on.
#[derive(Clone, Debug)]
pub struct Profile {
    pub profile: ProfileInfo,
    pub markers: Markers,
    /// `[[source]]`
    pub sources: Vec<SourceDef>,
    pub volatile: Volatile,
    pub continuity: ContinuityDef,
}

/// `[continuity]`: when a stretch without log lines is a hole, and the records an appliance
/// writes when it starts and when it stops.
#[derive(Clone, Debug)]
pub struct ContinuityDef {
    /// A stretch shorter than this is never a hole.
    pub min_hours: u64,
    /// ... and it must be longer than this many times the source's usual silence.
    pub usual_factor: u64,
    /// Regexes of boot records (one log line each).
    pub boot: Vec<String>,
    /// Regexes of shutdown records.
    pub shutdown: Vec<String>,
    /// Globs of the files firmware installation writes (kernel images, version files): their
    /// modification times date an upgrade around a downtime.
    pub firmware_files: Vec<String>,
    /// Globs of other files whose modification time is the appliance's own doing (saved
    /// configurations): with the firmware files, the signs of life read during a silence.
    pub saved_files: Vec<String>,
}

/// `[profile]`
#[derive(Clone, Debug)]
pub struct ProfileInfo {
    pub id: String,
    pub title: String,
}

/// `[markers]`: paths whose presence identifies the appliance.
#[derive(Clone, Debug)]
pub struct Markers {
    pub min: usize,
    pub paths: Vec<String>,
}

/// `[[source]]`: one kind of evidence.
#[derive(Clone, Debug)]
pub struct SourceDef {
    pub id: String,
    pub title: String,
    pub required: bool,
    pub logs: Vec<String>,
    pub files: Vec<String>,
}

/// `[volatile]`: RAM-disk locations.
#[derive(Clone, Debug)]
pub struct Volatile {
    pub paths: Vec<String>,
    /// The persistent filesystems, named when the RAM disk is missing.
    pub persistent: Vec<String>,
    pub note: String,
}

const ROOT_KEYS: &[&str] = &["profile", "markers", "source", "volatile", "continuity"];
const SOURCE_KEYS: &[&str] = &["id", "title", "required", "logs", "files"];

impl Profile {
    /// Parses and checks a profile file: every problem, located. `name` is the name used in
    /// diagnostics.
    pub fn parse(name: &str, src: &str) -> Result<Profile, Vec<Diagnostic>> {
        let mut ctx = context(name, src);
        let Some(doc) = data::document(&mut ctx, src) else {
            return Err(ctx.diags);
        };
        let root = Tbl::new(&mut ctx, &doc, 0..src.len().min(1), ROOT_KEYS, "a profile");
        let what = "a profile";
        let profile = match table(&mut ctx, &root, "profile", &["id", "title"], what) {
            Some(t) => ProfileInfo {
                id: text(&mut ctx, &t, "id", "[profile]"),
                title: text(&mut ctx, &t, "title", "[profile]"),
            },
            None => ProfileInfo {
                id: String::new(),
                title: String::new(),
            },
        };
        let markers = match table(&mut ctx, &root, "markers", &["min", "paths"], what) {
            Some(t) => Markers {
                min: usize::try_from(count(&mut ctx, &t, "min", "[markers]")).unwrap_or(usize::MAX),
                paths: strings(&mut ctx, &t, "paths", "[markers]"),
            },
            None => Markers {
                min: 0,
                paths: Vec::new(),
            },
        };
        let sources = if present(&mut ctx, &root, "source", what) {
            root.tables(&mut ctx, "source")
                .into_iter()
                .map(|(t, sp)| {
                    let t = Tbl::new(&mut ctx, t, sp, SOURCE_KEYS, "a [[source]]");
                    parse_source(&mut ctx, &t)
                })
                .collect()
        } else {
            Vec::new()
        };
        let volatile = parse_volatile(&mut ctx, &root);
        let continuity = parse_continuity(&mut ctx, &root);
        data::finish(
            ctx,
            Profile {
                profile,
                markers,
                sources,
                volatile,
                continuity,
            },
        )
    }
}

/// A required array of strings.
fn strings(ctx: &mut Ctx<'_>, tbl: &Tbl<'_, '_>, key: &str, what: &str) -> Vec<String> {
    if !present(ctx, tbl, key, what) {
        return Vec::new();
    }
    tbl.strs(ctx, key).into_iter().map(|s| s.0).collect()
}

/// One `[[source]]`; its globs compiled.
fn parse_source(ctx: &mut Ctx<'_>, t: &Tbl<'_, '_>) -> SourceDef {
    let what = "[[source]]";
    let (id, title) = (text(ctx, t, "id", what), text(ctx, t, "title", what));
    let required = flag(ctx, t, "required", what);
    let (logs, files) = (t.strs(ctx, "logs"), t.strs(ctx, "files"));
    data::globs(ctx, &logs);
    data::globs(ctx, &files);
    SourceDef {
        id,
        title,
        required,
        logs: logs.into_iter().map(|s| s.0).collect(),
        files: files.into_iter().map(|s| s.0).collect(),
    }
}

/// `[volatile]`
fn parse_volatile(ctx: &mut Ctx<'_>, root: &Tbl<'_, '_>) -> Volatile {
    let keys = &["paths", "persistent", "note"];
    let Some(t) = table(ctx, root, "volatile", keys, "a profile") else {
        return Volatile {
            paths: Vec::new(),
            persistent: Vec::new(),
            note: String::new(),
        };
    };
    Volatile {
        paths: strings(ctx, &t, "paths", "[volatile]"),
        persistent: strings(ctx, &t, "persistent", "[volatile]"),
        note: text(ctx, &t, "note", "[volatile]"),
    }
}

/// `[continuity]`; its record patterns compiled.
fn parse_continuity(ctx: &mut Ctx<'_>, root: &Tbl<'_, '_>) -> ContinuityDef {
    let keys = &[
        "min_hours",
        "usual_factor",
        "boot",
        "shutdown",
        "firmware_files",
        "saved_files",
    ];
    let mut c = ContinuityDef {
        min_hours: 0,
        usual_factor: 0,
        boot: Vec::new(),
        shutdown: Vec::new(),
        firmware_files: Vec::new(),
        saved_files: Vec::new(),
    };
    let Some(t) = table(ctx, root, "continuity", keys, "a profile") else {
        return c;
    };
    let what = "[continuity]";
    c.min_hours = count(ctx, &t, "min_hours", what);
    c.usual_factor = count(ctx, &t, "usual_factor", what);
    for (key, list) in [("boot", &mut c.boot), ("shutdown", &mut c.shutdown)] {
        if present(ctx, &t, key, what) {
            let found = t.strs(ctx, key);
            data::regexes(ctx, &found);
            *list = found.into_iter().map(|s| s.0).collect();
        }
    }
    for (key, list) in [
        ("firmware_files", &mut c.firmware_files),
        ("saved_files", &mut c.saved_files),
    ] {
        if present(ctx, &t, key, what) {
            let found = t.strs(ctx, key);
            data::globs(ctx, &found);
            *list = found.into_iter().map(|s| s.0).collect();
        }
    }
    c
}
