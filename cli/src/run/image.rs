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
/// into `.ferrite.appended`, so the symbols are the way in; a stripped image has none, and then
/// the config is found by walking the section (see `config_after_symtab`).
fn config_bytes<'a>(elf: &ElfFile64<'a, Endianness>) -> Option<&'a [u8]> {
    let addr = |name: &str| {
        elf.symbols()
            .find(|s| s.name() == Ok(name))
            .map(|s| s.address())
    };
    let Some((start, end)) = addr("__ferrite_config_start").zip(addr("__ferrite_config_end"))
    else {
        let appended = elf.section_by_name(".ferrite.appended")?.data().ok()?;
        return config_after_symtab(appended);
    };
    let len = end.checked_sub(start)?;
    elf.sections()
        .find(|s| s.address() <= start && end <= s.address() + s.size())
        .and_then(|s| s.data_range(start, len).ok().flatten())
}

/// `.ferrite.appended` starts with the symbol table blob, whose string table holds only names
/// its entries point at, so it ends after the last of them; the config follows at the next
/// 8-byte boundary and ends at the padding's first NUL.
fn config_after_symtab(appended: &[u8]) -> Option<&[u8]> {
    let u32_at = |o: usize| Some(u32::from_le_bytes(appended.get(o..o + 4)?.try_into().ok()?));
    if appended.get(..4)? != crate::appended::symtab::MAGIC {
        return None;
    }
    let count = u32_at(8)? as usize;
    let strtab = u32_at(12)? as usize;
    let mut end = strtab;
    for i in 0..count {
        let name = strtab + u32_at(16 + 16 * i + 12)? as usize;
        let len = appended.get(name..)?.iter().position(|&b| b == 0)?;
        end = end.max(name + len + 1);
    }
    let config = appended.get(end.next_multiple_of(8)..)?;
    let len = config.iter().position(|&b| b == 0).unwrap_or(config.len());
    Some(&config[..len])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::appended::symtab::{Entry, encode};

    #[test]
    fn config_found_without_symbols() {
        let entries = [
            Entry {
                addr: 1,
                size: 1,
                name: "a_long_name".into(),
            },
            Entry {
                addr: 2,
                size: 1,
                name: "b".into(),
            },
        ];
        let mut section = encode(&entries);
        section.resize(section.len().next_multiple_of(8), 0);
        section.extend_from_slice(b"name=x\ncpus=2\n");
        section.resize(section.len().next_multiple_of(8), 0);
        section.extend_from_slice(b"070701...");
        assert_eq!(
            config_after_symtab(&section),
            Some(&b"name=x\ncpus=2\n"[..])
        );
        assert_eq!(config_after_symtab(b"garbage"), None);
    }
}
