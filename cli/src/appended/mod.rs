//! What the link step appends to an image: symbol table, configuration, root file system.
//!
//! They travel in one relocatable object linked in a second pass. The linker script places its
//! sections in the last segment (`.ferrite.appended`), so nothing linked in the first pass moves.

pub mod config;
pub mod cpio;
pub mod symtab;

use crate::error::{Error, Result};
use object::write::Object;
use object::{Architecture, BinaryFormat, Endianness, SectionKind};
use std::path::Path;

pub const SYMTAB: &str = ".ferrite.symtab";
pub const CONFIG: &str = ".ferrite.config";
pub const ROOTFS: &str = ".ferrite.rootfs";

pub struct Blobs {
    pub symtab: Vec<u8>,
    pub config: Vec<u8>,
    pub rootfs: Option<Vec<u8>>,
}

/// Builds the ELF relocatable object: each blob in its own read-only, allocated PROGBITS section.
pub fn object_bytes(blobs: &Blobs) -> Result<Vec<u8>> {
    let mut obj = Object::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little);
    let mut add = |name: &str, data: &[u8]| {
        // ReadOnlyData is SHT_PROGBITS with SHF_ALLOC only: loaded, not writable, not code.
        let id = obj.add_section(
            Vec::new(),
            name.as_bytes().to_vec(),
            SectionKind::ReadOnlyData,
        );
        obj.append_section_data(id, data, 8);
    };
    add(SYMTAB, &blobs.symtab);
    add(CONFIG, &blobs.config);
    if let Some(rootfs) = &blobs.rootfs {
        add(ROOTFS, rootfs);
    }
    // Without this note GNU ld warns that the object "implies executable stack".
    obj.add_section(Vec::new(), b".note.GNU-stack".to_vec(), SectionKind::Other);
    obj.write()
        .map_err(|e| Error::failed(format!("cannot build the appended object: {e}")))
}

pub fn write_object(path: &Path, blobs: &Blobs) -> Result<()> {
    let bytes = object_bytes(blobs)?;
    std::fs::write(path, bytes).map_err(|e| Error::io(e, "cannot write", path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use object::{Object as _, ObjectSection};

    #[test]
    fn sections_are_allocated_read_only_progbits() {
        let blobs = Blobs {
            symtab: symtab::encode(&[]),
            config: b"name=x\n".to_vec(),
            rootfs: Some(cpio::Writer::default().finish()),
        };
        let bytes = object_bytes(&blobs).unwrap();
        let file = object::File::parse(&*bytes).unwrap();
        for (name, data) in [
            (SYMTAB, &blobs.symtab),
            (CONFIG, &blobs.config),
            (ROOTFS, blobs.rootfs.as_ref().unwrap()),
        ] {
            let s = file.section_by_name(name).unwrap();
            assert_eq!(s.data().unwrap(), &data[..], "{name}");
            let object::SectionFlags::Elf { sh_type, sh_flags } = s.flags() else {
                panic!("not ELF flags");
            };
            assert_eq!(sh_type, object::elf::SHT_PROGBITS, "{name}");
            assert_eq!(sh_flags, object::elf::SHF_ALLOC, "{name}");
        }
        assert!(file.section_by_name(".note.GNU-stack").is_some());
    }
}
