//! One 512-byte tar header block and the extended headers that qualify the next member: ustar,
//! old GNU (base-256 numbers, long names, old sparse maps) and PAX records. Pure parsing of
//! bytes already read: never allocates more than the block or record it was given, never trusts
//! a number without checking it.

use std::fmt;

/// Size of a tar block.
pub(crate) const BLOCK: u64 = 512;

/// Why a header block cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HeaderError {
    /// The stored checksum does not match the block.
    Checksum,
    /// A numeric field is not octal or base-256, or does not fit.
    Number(&'static str),
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::Checksum => f.write_str("header checksum does not match"),
            HeaderError::Number(field) => write!(f, "header field `{field}` is not a number"),
        }
    }
}

/// The fields of a header block sporen uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) name: Vec<u8>,
    pub(crate) mode: u32,
    pub(crate) uid: u64,
    pub(crate) gid: u64,
    /// Bytes of data stored after the header (for old GNU sparse members: the stored bytes).
    pub(crate) size: u64,
    pub(crate) mtime: i64,
    /// Access and change times of the old GNU format (at 345 and 357), when set.
    pub(crate) atime: Option<i64>,
    pub(crate) ctime: Option<i64>,
    pub(crate) typeflag: u8,
    pub(crate) link: Vec<u8>,
    /// Old GNU format (`ustar  \0`): no name prefix; sparse fields at 386.
    pub(crate) gnu: bool,
}

/// True when every byte of the block is zero (the end-of-archive marker).
pub(crate) fn is_zero_block(b: &[u8]) -> bool {
    b.iter().all(|&x| x == 0)
}

/// True when the block's stored checksum matches (unsigned, or the signed sum old tars wrote).
pub(crate) fn checksum_ok(b: &[u8; 512]) -> bool {
    let Ok(stored) = octal(&b[148..156]) else {
        return false;
    };
    let mut unsigned: u64 = 0;
    let mut signed: i64 = 0;
    for (i, &x) in b.iter().enumerate() {
        let x = if (148..156).contains(&i) { b' ' } else { x };
        unsigned += u64::from(x);
        // The historic signed sum treats bytes as `char` (-128..=127).
        signed += i64::from(x as i8);
    }
    stored == unsigned || i64::try_from(stored).is_ok_and(|s| s == signed)
}

/// Bytes up to the first NUL.
fn cstr(b: &[u8]) -> &[u8] {
    let end = memchr::memchr(0, b).unwrap_or(b.len());
    &b[..end]
}

/// An octal field: optional leading spaces, digits, then NUL or space. Empty is 0.
fn octal(b: &[u8]) -> Result<u64, ()> {
    let mut n: u64 = 0;
    let mut digits = false;
    for &c in b {
        match c {
            b'0'..=b'7' => {
                n = n
                    .checked_mul(8)
                    .and_then(|n| n.checked_add(u64::from(c - b'0')))
                    .ok_or(())?;
                digits = true;
            }
            b' ' if !digits => {}
            0 | b' ' => break,
            _ => return Err(()),
        }
    }
    Ok(n)
}

/// A numeric field: octal, or GNU base-256 (high bit of the first byte set; the remaining
/// bits are a big-endian two's-complement number, so 0xff... is negative).
fn number(b: &[u8], field: &'static str) -> Result<i128, HeaderError> {
    match b.split_first() {
        Some((&first, rest)) if first & 0x80 != 0 => {
            // At most 12 bytes in a header: 95 bits always fit an i128.
            if b.len() > 15 {
                return Err(HeaderError::Number(field));
            }
            let mut u = i128::from(first & 0x7f);
            for &c in rest {
                u = (u << 8) | i128::from(c);
            }
            let bits = b.len() * 8 - 1;
            Ok(if u >> (bits - 1) & 1 == 1 {
                u - (1i128 << bits)
            } else {
                u
            })
        }
        _ => octal(b)
            .map(i128::from)
            .map_err(|()| HeaderError::Number(field)),
    }
}

fn unsigned(b: &[u8], field: &'static str) -> Result<u64, HeaderError> {
    u64::try_from(number(b, field)?).map_err(|_| HeaderError::Number(field))
}

impl Header {
    /// Parses a header block; the checksum must match.
    pub fn parse(b: &[u8; 512]) -> Result<Header, HeaderError> {
        if !checksum_ok(b) {
            return Err(HeaderError::Checksum);
        }
        let gnu = &b[257..265] == b"ustar  \0";
        let posix = &b[257..263] == b"ustar\0";
        let mut name = cstr(&b[0..100]).to_vec();
        let prefix = cstr(&b[345..500]);
        if posix && !prefix.is_empty() {
            name = [prefix, b"/", &name].concat();
        }
        let mtime = number(&b[136..148], "mtime")?;
        Ok(Header {
            name,
            mode: u32::try_from(unsigned(&b[100..108], "mode")? & 0o7777)
                .map_err(|_| HeaderError::Number("mode"))?,
            uid: unsigned(&b[108..116], "uid")?,
            gid: unsigned(&b[116..124], "gid")?,
            size: unsigned(&b[124..136], "size")?,
            mtime: i64::try_from(mtime).map_err(|_| HeaderError::Number("mtime"))?,
            atime: gnu_time(gnu, &b[345..357]),
            ctime: gnu_time(gnu, &b[357..369]),
            typeflag: b[156],
            link: cstr(&b[157..257]).to_vec(),
            gnu,
        })
    }
}

/// An optional time field of an old GNU header: `None` when the format is another, the field
/// is empty or zero (GNU tar writes them only when asked to), or it is not a number (the field
/// is optional: it never costs the member).
fn gnu_time(gnu: bool, b: &[u8]) -> Option<i64> {
    if !gnu {
        return None;
    }
    number(b, "time")
        .ok()
        .and_then(|t| i64::try_from(t).ok())
        .filter(|&t| t != 0)
}

/// One stretch of data in a sparse file: `len` bytes at `offset` of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SparseRun {
    pub(crate) offset: u64,
    pub(crate) len: u64,
}

/// The sparse runs of an old GNU header block (`S`, four at 386) or of an extension block
/// (21 at 0); and whether another extension block follows.
pub(crate) fn gnu_sparse_runs(
    b: &[u8; 512],
    extension: bool,
) -> Result<(Vec<SparseRun>, bool), HeaderError> {
    let (at, count, flag) = if extension {
        (0, 21, 504)
    } else {
        (386, 4, 482)
    };
    let mut runs = Vec::new();
    for i in 0..count {
        let o = at + i * 24;
        let offset = &b[o..o + 12];
        if offset[0] == 0 {
            break;
        }
        runs.push(SparseRun {
            offset: unsigned(offset, "sparse offset")?,
            len: unsigned(&b[o + 12..o + 24], "sparse numbytes")?,
        });
    }
    Ok((runs, b[flag] != 0))
}

/// The real size of an old GNU sparse member (`realsize` at 483).
pub(crate) fn gnu_sparse_real_size(b: &[u8; 512]) -> Result<u64, HeaderError> {
    unsigned(&b[483..495], "realsize")
}

/// One `length key=value\n` PAX record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PaxRecord<'a> {
    pub(crate) key: &'a [u8],
    pub(crate) value: &'a [u8],
}

/// Splits a PAX extended header into records, in order (GNU sparse 0.0 repeats keys).
pub(crate) fn pax_records(mut b: &[u8]) -> Result<Vec<PaxRecord<'_>>, String> {
    let mut out = Vec::new();
    while !b.is_empty() && b[0] != 0 {
        let sp = memchr::memchr(b' ', b).ok_or("PAX record without a length")?;
        let len: usize = std::str::from_utf8(&b[..sp])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or("PAX record length is not a number")?;
        if len <= sp + 1 || len > b.len() || b[len - 1] != b'\n' {
            return Err(format!("PAX record length {len} does not fit the header"));
        }
        let rec = &b[sp + 1..len - 1];
        let eq = memchr::memchr(b'=', rec).ok_or("PAX record without `=`")?;
        out.push(PaxRecord {
            key: &rec[..eq],
            value: &rec[eq + 1..],
        });
        b = &b[len..];
    }
    Ok(out)
}

/// A decimal PAX number; a fraction (`mtime=1578786067.5`) is cut off.
pub(crate) fn pax_number(v: &[u8]) -> Option<i128> {
    let s = std::str::from_utf8(v).ok()?;
    let int = s.split('.').next()?;
    if int.is_empty() || int.len() > 30 {
        return None;
    }
    int.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_octal_and_base_256() {
        assert_eq!(number(b"0000644\0", "m"), Ok(0o644));
        assert_eq!(number(b"  1234 \0", "m"), Ok(0o1234));
        assert_eq!(number(b"\0\0\0\0", "m"), Ok(0));
        let mut big = [0u8; 12];
        big[0] = 0x80;
        big[4..].copy_from_slice(&(1u64 << 40).to_be_bytes());
        assert_eq!(number(&big, "size"), Ok(1 << 40));
        let neg = [0xffu8; 12];
        assert_eq!(number(&neg, "mtime"), Ok(-1));
        assert!(number(b"12x4", "m").is_err());
        assert!(number(b"77777777777777777777777", "m").is_err());
    }

    #[test]
    fn pax_records_keep_order_and_refuse_bad_lengths() {
        let r = pax_records(b"11 path=ab\n30 GNU.sparse.offset=12345678\n").unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].key, b"path");
        assert_eq!(r[0].value, b"ab");
        assert!(pax_records(b"99 path=ab\n").is_err());
        assert!(pax_records(b"5 p\n").is_err());
        assert_eq!(pax_number(b"1578786067.25"), Some(1_578_786_067));
        assert_eq!(pax_number(b"-5"), Some(-5));
    }
}
