//! UFS directory records (`struct direct`). A directory is made of 512-byte chunks
//! (`DIRBLKSIZ`) that no record crosses; a damaged record is counted and described, and
//! listing goes on at the next chunk. Nothing after damage is ever dropped without a word.

/// FreeBSD's `DIRBLKSIZ`.
pub(crate) const DIRBLKSIZ: usize = 512;
/// Damage descriptions kept per directory (the count is always exact).
const KEPT: usize = 3;

/// A name in a directory.
pub(crate) struct Record {
    pub(crate) name: Vec<u8>,
    pub(crate) ino: u64,
}

/// What was wrong with one directory.
#[derive(Default)]
pub(crate) struct Damage {
    pub(crate) count: u64,
    first: Vec<String>,
}

impl Damage {
    pub(crate) fn add(&mut self, what: String) {
        self.count += 1;
        if self.first.len() < KEPT {
            self.first.push(what);
        }
    }

    /// `3 problems (byte 0: record length 0; ...)`.
    pub(crate) fn describe(&self) -> String {
        let more = if self.count > self.first.len() as u64 {
            "; ..."
        } else {
            ""
        };
        format!(
            "{} problem{} ({}{more}); names there are not listed",
            self.count,
            if self.count == 1 { "" } else { "s" },
            self.first.join("; ")
        )
    }
}

fn le16(b: &[u8], o: usize) -> usize {
    usize::from(u16::from_le_bytes([b[o], b[o + 1]]))
}

/// Parses one directory block whose first byte is byte `at` of directory inode `dir`.
pub fn parse(data: &[u8], at: u64, dir: u64, out: &mut Vec<Record>, damage: &mut Damage) {
    let mut off = 0;
    while off < data.len() {
        let here = at + off as u64;
        let rec = &data[off..];
        if rec.len() < 8 {
            damage.add(format!("byte {here}: a record cut short"));
            break;
        }
        let ino = u64::from(u32::from_le_bytes([rec[0], rec[1], rec[2], rec[3]]));
        let (reclen, namlen) = (le16(rec, 4), usize::from(rec[7]));
        let bad = if reclen < 8 || reclen % 4 != 0 {
            Some(format!("record length {reclen}"))
        } else if reclen > rec.len() {
            Some(format!("record length {reclen} runs past the block"))
        } else if ino != 0 && (namlen == 0 || 8 + namlen > reclen) {
            Some(format!("a name of {namlen} bytes in a record of {reclen}"))
        } else {
            None
        };
        if let Some(why) = bad {
            damage.add(format!("byte {here}: {why}"));
            // Records never cross a chunk: the next one starts a fresh record.
            off = (off / DIRBLKSIZ + 1) * DIRBLKSIZ;
            continue;
        }
        // A record with inode 0 is free space (a deleted name's room).
        if ino != 0 {
            name(&rec[8..8 + namlen], ino, here, dir, out, damage);
        }
        off += reclen;
    }
}

/// Checks one name: `.` and `..` only where FreeBSD puts them, no `/` or NUL in a name.
fn name(name: &[u8], ino: u64, here: u64, dir: u64, out: &mut Vec<Record>, damage: &mut Damage) {
    if name.contains(&b'/') || name.contains(&0) {
        damage.add(format!("byte {here}: a name with a '/' or NUL byte"));
    } else if name == b"." {
        if here != 0 || ino != dir {
            damage.add(format!("byte {here}: '.' names inode {ino}"));
        }
    } else if name == b".." {
        // A second `..` could name a directory nothing else reaches.
        if here >= DIRBLKSIZ as u64 {
            damage.add(format!("byte {here}: '..' names inode {ino}"));
        }
    } else {
        out.push(Record {
            name: name.to_vec(),
            ino,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(ino: u32, reclen: u16, name: &[u8]) -> Vec<u8> {
        let mut r = ino.to_le_bytes().to_vec();
        r.extend_from_slice(&reclen.to_le_bytes());
        r.push(8);
        r.push(name.len() as u8);
        r.extend_from_slice(name);
        r.resize(usize::from(reclen), 0);
        r
    }

    #[test]
    fn damage_resynchronises_at_the_next_chunk() {
        let mut block = rec(5, 12, b".");
        block.extend(rec(2, 12, b".."));
        block.extend(rec(7, 0, b"gone"));
        block.resize(DIRBLKSIZ, 0);
        block.extend(rec(9, 16, b"after"));
        block.extend(rec(0, 16, b"freed"));
        block.extend(rec(10, 480, b"last"));
        let (mut out, mut damage) = (Vec::new(), Damage::default());
        parse(&block, 0, 5, &mut out, &mut damage);
        let names: Vec<&[u8]> = out.iter().map(|r| &r.name[..]).collect();
        assert_eq!(names, [&b"after"[..], b"last"]);
        assert_eq!(damage.count, 1);
        assert!(damage.describe().contains("byte 24: record length 0"));
    }
}
