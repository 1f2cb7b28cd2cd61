//! Checking that a file is a bootable Ferrite image, and reading its embedded configuration.

use crate::appended::config::Config;
use crate::error::{Error, Result};
use object::elf::{NoteType, PT_NOTE};
use object::read::elf::{ElfFile64, ProgramHeader};
use object::{Endianness, Object, ObjectSection, ObjectSymbol};
use std::path::Path;

/// XEN_ELFNOTE_PHYS32_ENTRY: the PVH entry point QEMU's `-kernel` loader looks for.
const XEN_ELFNOTE_PHYS32_ENTRY: u32 = 18;

/// Validates `path` and returns its `.ferrite.config` (empty when the image carries none).
pub fn inspect(path: &Path) -> Result<Config> {
    let data = std::fs::read(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::usage(format!("{}: no such image", path.display()))
        } else {
            Error::usage(format!("cannot read the image {}: {e}", path.display()))
        }
    })?;
    if !data.starts_with(b"\x7fELF") {
        return Err(Error::usage(format!(
            "{} is not an ELF file: give an image linked by ferrite cc / ferrite c++",
            path.display()
        )));
    }
    let elf = ElfFile64::<Endianness>::parse(&*data).map_err(|e| {
        Error::usage(format!(
            "{} is not a 64-bit x86 ELF file ({e}): not a Ferrite image",
            path.display()
        ))
    })?;
    if !has_pvh_note(&elf, &data) {
        return Err(Error::usage(format!(
            "{} is not a Ferrite image: it has no PVH entry note (type 18, owner \"Xen\"); link it with ferrite cc / ferrite c++",
            path.display()
        )));
    }
    let text = config_bytes(&elf).unwrap_or_default();
    let text = std::str::from_utf8(text).map_err(|_| {
        Error::usage(format!(
            "{}: the image configuration is not UTF-8 text",
            path.display()
        ))
    })?;
    Config::parse(text)
}

fn has_pvh_note(elf: &ElfFile64<'_, Endianness>, data: &[u8]) -> bool {
    let endian = elf.endian();
    elf.elf_program_headers()
        .iter()
        .filter(|ph| ph.p_type(endian) == PT_NOTE)
        .filter_map(|ph| ph.notes(endian, data).ok().flatten())
        .any(|mut notes| {
            while let Ok(Some(note)) = notes.next() {
                if note.n_type(endian) == NoteType(XEN_ELFNOTE_PHYS32_ENTRY)
                    && note.name() == b"Xen"
                {
                    return true;
                }
            }
            false
        })
}

/// The bytes between `__ferrite_config_start` and `_end`. The linker script merges the config
/// into `.ferrite.appended`, so the symbols are the way in (a stripped image has none).
fn config_bytes<'a>(elf: &ElfFile64<'a, Endianness>) -> Option<&'a [u8]> {
    let addr = |name: &str| {
        elf.symbols()
            .find(|s| s.name() == Ok(name))
            .map(|s| s.address())
    };
    let (start, end) = (
        addr("__ferrite_config_start")?,
        addr("__ferrite_config_end")?,
    );
    let len = end.checked_sub(start)?;
    elf.sections()
        .find(|s| s.address() <= start && end <= s.address() + s.size())
        .and_then(|s| s.data_range(start, len).ok().flatten())
}
