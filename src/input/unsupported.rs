//! Inputs sporen does not read, recognised by their first (or, for a fixed VHD, last) bytes:
//! other compressors, other archive formats, forensic and virtual-machine disk formats. Each is
//! named with the command that turns it into something sporen reads (a raw image, a folder or
//! a tar), instead of a vague "not a tar archive, not a disk image".
//!
//! Only looks at bytes it is given; never opens, writes or converts anything.

/// A format sporen does not read, and how to convert it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Unsupported {
    /// What the file is, in words (`an xz-compressed file`).
    pub(crate) what: &'static str,
    /// The command that converts `FILE`, and what to scan then.
    pub(crate) convert: &'static str,
}

impl Unsupported {
    /// The sentence for an error about `name` (already escaped for the terminal).
    pub(crate) fn message(&self, name: &str) -> String {
        format!(
            "cannot scan {name}: it is {}, which sporen does not read; {}",
            self.what,
            self.convert.replace("FILE", name)
        )
    }

    /// The sentence for a stream (standard input, `--ssh`) named `name`: the command is
    /// given for the file the stream came from.
    pub(crate) fn message_stream(&self, name: &str) -> String {
        let name = if name == "-" { "standard input" } else { name };
        format!(
            "cannot scan {name}: the stream is {}, which sporen does not read; {}",
            self.what, self.convert
        )
    }
}

const RAW_FROM_QEMU: &str =
    "convert it to a raw image with `qemu-img convert -O raw FILE da0.img` and scan da0.img";

/// Magic bytes at the start of a file, what they are and how to convert them.
const AT_START: &[(&[u8], Unsupported)] = &[
    (
        b"\xfd7zXZ\x00",
        Unsupported {
            what: "an xz-compressed file",
            convert: "decompress it first (`xz -dk FILE`), or stream a compressed tar with `xz -dc FILE | sporen scan -`",
        },
    ),
    (
        b"\x28\xb5\x2f\xfd",
        Unsupported {
            what: "a Zstandard-compressed file",
            convert: "decompress it first (`zstd -dk FILE`), or stream a compressed tar with `zstd -dc FILE | sporen scan -`",
        },
    ),
    (
        b"PK\x03\x04",
        Unsupported {
            what: "a ZIP archive",
            convert: "extract it (`unzip FILE -d DIR`) and scan DIR",
        },
    ),
    (
        b"PK\x05\x06",
        Unsupported {
            what: "an empty ZIP archive",
            convert: "it holds no files to scan",
        },
    ),
    (
        b"7z\xbc\xaf\x27\x1c",
        Unsupported {
            what: "a 7-Zip archive",
            convert: "extract it (`7z x FILE -oDIR`) and scan DIR",
        },
    ),
    (
        b"EVF\x09\x0d\x0a\xff\x00",
        Unsupported {
            what: "an Expert Witness (EWF, E01) image",
            convert: "convert it to a raw image with `ewfexport -t da0 -f raw FILE` (libewf) and scan da0.raw",
        },
    ),
    (
        b"EVF2\x0d\x0a\x81\x00",
        Unsupported {
            what: "an Expert Witness 2 (EWF2, Ex01) image",
            convert: "convert it to a raw image with `ewfexport -t da0 -f raw FILE` (libewf) and scan da0.raw",
        },
    ),
    (
        b"KDMV",
        Unsupported {
            what: "a VMware disk (VMDK)",
            convert: RAW_FROM_QEMU,
        },
    ),
    (
        b"# Disk DescriptorFile",
        Unsupported {
            what: "a VMware disk descriptor (VMDK)",
            convert: "convert the disk it describes with `qemu-img convert -O raw FILE da0.img` (the extents beside it) and scan da0.img",
        },
    ),
    (
        b"vhdxfile",
        Unsupported {
            what: "a Hyper-V disk (VHDX)",
            convert: RAW_FROM_QEMU,
        },
    ),
    (
        b"conectix",
        Unsupported {
            what: "a Hyper-V / Virtual PC disk (VHD)",
            convert: RAW_FROM_QEMU,
        },
    ),
    (
        b"QFI\xfb",
        Unsupported {
            what: "a QEMU disk (QCOW)",
            convert: RAW_FROM_QEMU,
        },
    ),
    (
        b"<<< Oracle VM VirtualBox Disk Image >>>",
        Unsupported {
            what: "a VirtualBox disk (VDI)",
            convert: RAW_FROM_QEMU,
        },
    ),
];

/// A fixed-size VHD has its only header, the footer, in its last 512 bytes.
const VHD_FOOTER: Unsupported = Unsupported {
    what: "a Hyper-V / Virtual PC disk (fixed VHD)",
    convert: "scan it as it is after removing its 512-byte footer (`head -c -512 FILE > da0.img`), or convert it with `qemu-img convert -O raw FILE da0.img`; then scan da0.img",
};

/// How many bytes of a file's start [`recognise`] needs.
pub(crate) const HEAD_LEN: usize = 64;

/// The format of a file whose first bytes are `head` and whose last 512 bytes are `tail`
/// (empty when unknown or shorter), when it is one sporen does not read.
pub(crate) fn recognise(head: &[u8], tail: &[u8]) -> Option<Unsupported> {
    if let Some((_, u)) = AT_START.iter().find(|(magic, _)| head.starts_with(magic)) {
        return Some(*u);
    }
    if is_bzip2(head) {
        return Some(Unsupported {
            what: "a bzip2-compressed file",
            convert: "decompress it first (`bzip2 -dk FILE`), or stream a compressed tar with `bzip2 -dc FILE | sporen scan -`",
        });
    }
    (tail.len() == 512 && tail.starts_with(b"conectix")).then_some(VHD_FOOTER)
}

/// `BZh` and a block size digit, then the block magic (pi in BCD) or the end-of-stream magic.
fn is_bzip2(head: &[u8]) -> bool {
    head.len() >= 10
        && head.starts_with(b"BZh")
        && (b'1'..=b'9').contains(&head[3])
        && (head[4..10] == *b"\x31\x41\x59\x26\x53\x59"
            || head[4..10] == *b"\x17\x72\x45\x38\x50\x90")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_magic_is_named() {
        for (magic, u) in AT_START {
            let mut head = magic.to_vec();
            head.resize(HEAD_LEN, 0);
            assert_eq!(recognise(&head, &[]), Some(*u));
        }
        let bz = b"BZh91AY&SY\x00\x00";
        assert_eq!(
            recognise(bz, &[]).map(|u| u.what),
            Some("a bzip2-compressed file")
        );
        let mut footer = b"conectix".to_vec();
        footer.resize(512, 0);
        assert_eq!(recognise(&[0; HEAD_LEN], &footer), Some(VHD_FOOTER));
    }

    #[test]
    fn what_sporen_reads_is_not_refused() {
        let gzip = b"\x1f\x8b\x08\x00\x00\x00\x00\x00";
        let tar_name = b"var/log/ns.log\x00\x00";
        let zeros = [0u8; HEAD_LEN];
        for head in [&gzip[..], &tar_name[..], &zeros[..], b"BZh9 not bzip2"] {
            assert_eq!(recognise(head, &[0; 512]), None, "{head:?}");
        }
    }

    #[test]
    fn the_message_names_the_file_and_the_command() {
        let u = recognise(b"QFI\xfb\x00\x00\x00\x03", &[]).expect("qcow");
        assert_eq!(
            u.message("disk.qcow2"),
            "cannot scan disk.qcow2: it is a QEMU disk (QCOW), which sporen does not read; convert it \
to a raw image with `qemu-img convert -O raw disk.qcow2 da0.img` and scan da0.img"
        );
    }
}
