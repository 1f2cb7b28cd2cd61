//! `.ferrite.symtab`: the image's functions, demangled and sorted, for the kernel's fault reports.
//!
//! Format (little endian): `b"FSYM"`, u32 version (1), u32 count, u32 strtab offset from the blob
//! start; `count` entries of {u64 addr, u32 size, u32 name offset into the strtab}, sorted by
//! address; then the NUL-terminated names. One entry per address (aliases folded). A symbol the
//! object gives no size (assembly labels) gets the distance to the next entry in its section.

use object::elf;
use object::{Object, ObjectSection, ObjectSymbol, SectionIndex, SymbolFlags, SymbolSection};
use std::collections::HashMap;

pub const MAGIC: &[u8; 4] = b"FSYM";
pub const VERSION: u32 = 1;
const HEADER: usize = 16;
const ENTRY: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub addr: u64,
    pub size: u32,
    pub name: String,
}

/// A candidate before aliases are folded; lower `rank` wins at one address.
struct Candidate {
    addr: u64,
    size: u64,
    rank: (u8, u8, usize, usize),
    name: String,
    section: SectionIndex,
}

/// Functions (and untyped labels in executable sections) of a linked ELF file.
pub fn collect(file: &object::File<'_>) -> Vec<Entry> {
    let mut exec_sections: HashMap<SectionIndex, (u64, u64)> = HashMap::new();
    for s in file.sections() {
        if let object::SectionFlags::Elf { sh_flags, .. } = s.flags()
            && sh_flags.contains(elf::SHF_EXECINSTR)
        {
            exec_sections.insert(s.index(), (s.address(), s.address() + s.size()));
        }
    }
    let mut candidates = Vec::new();
    for sym in file.symbols() {
        let SymbolSection::Section(section) = sym.section() else {
            continue;
        };
        let SymbolFlags::Elf { st_info, .. } = sym.flags() else {
            continue;
        };
        let Ok(raw) = sym.name() else { continue };
        let ty = st_info.st_type();
        let in_text = exec_sections.contains_key(&section);
        let wanted = ty == elf::STT_FUNC
            || ty == elf::STT_GNU_IFUNC
            || (ty == elf::STT_NOTYPE && in_text && is_label_name(raw));
        if !wanted {
            continue;
        }
        let bind = st_info.st_bind();
        let bind_rank = if bind == elf::STB_GLOBAL {
            0
        } else if bind == elf::STB_WEAK {
            1
        } else {
            2
        };
        let type_rank = u8::from(ty == elf::STT_NOTYPE);
        let underscores = raw.len() - raw.trim_start_matches('_').len();
        candidates.push(Candidate {
            addr: sym.address(),
            size: sym.size(),
            rank: (type_rank, bind_rank, underscores, raw.len()),
            name: demangle(raw),
            section,
        });
    }
    candidates.sort_by(|a, b| (a.addr, a.rank, &a.name).cmp(&(b.addr, b.rank, &b.name)));
    // Fold aliases: the first (best ranked) name at an address, the largest size seen there.
    let mut folded: Vec<Candidate> = Vec::with_capacity(candidates.len());
    for c in candidates {
        match folded.last_mut() {
            Some(last) if last.addr == c.addr => last.size = last.size.max(c.size),
            _ => folded.push(c),
        }
    }
    let mut entries = Vec::with_capacity(folded.len());
    for (i, c) in folded.iter().enumerate() {
        let mut size = c.size;
        if size == 0 {
            let section_end = exec_sections.get(&c.section).map_or(c.addr, |r| r.1);
            let next = folded
                .get(i + 1)
                .map_or(section_end, |n| n.addr)
                .min(section_end.max(c.addr));
            size = next.saturating_sub(c.addr);
        }
        entries.push(Entry {
            addr: c.addr,
            size: u32::try_from(size).unwrap_or(u32::MAX),
            name: c.name.clone(),
        });
    }
    entries
}

/// Untyped symbols worth naming: not assembler-local labels, not linker-script markers.
fn is_label_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(".L")
        && !name.starts_with('$')
        && !name.starts_with("__ferrite_")
}

/// Rust names first (legacy Rust mangling is also valid Itanium C++), then C++.
pub fn demangle(name: &str) -> String {
    if let Ok(d) = rustc_demangle::try_demangle(name) {
        return format!("{d:#}"); // `#` drops the hash suffix
    }
    if name.starts_with("_Z")
        && let Ok(sym) = cpp_demangle::Symbol::new(name)
        && let Ok(d) = sym.demangle()
    {
        return d;
    }
    name.to_string()
}

pub fn encode(entries: &[Entry]) -> Vec<u8> {
    let mut strtab = Vec::new();
    let mut offsets: HashMap<&str, u32> = HashMap::new();
    let mut table = Vec::with_capacity(entries.len() * ENTRY);
    for e in entries {
        let off = *offsets.entry(&e.name).or_insert_with(|| {
            let off = strtab.len() as u32;
            strtab.extend_from_slice(e.name.as_bytes());
            strtab.push(0);
            off
        });
        table.extend_from_slice(&e.addr.to_le_bytes());
        table.extend_from_slice(&e.size.to_le_bytes());
        table.extend_from_slice(&off.to_le_bytes());
    }
    let strtab_offset = (HEADER + table.len()) as u32;
    let mut blob = Vec::with_capacity(strtab_offset as usize + strtab.len());
    blob.extend_from_slice(MAGIC);
    blob.extend_from_slice(&VERSION.to_le_bytes());
    blob.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    blob.extend_from_slice(&strtab_offset.to_le_bytes());
    blob.extend_from_slice(&table);
    blob.extend_from_slice(&strtab);
    blob
}

/// Reads a blob back: the kernel's side of the format, for the tests.
#[cfg(test)]
pub fn decode(blob: &[u8]) -> Result<Vec<Entry>, String> {
    let u32_at = |o: usize| -> Result<u32, String> {
        blob.get(o..o + 4)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
            .ok_or_else(|| format!("symbol table truncated at byte {o}"))
    };
    if blob.get(..4) != Some(MAGIC) {
        return Err("symbol table does not start with FSYM".into());
    }
    let version = u32_at(4)?;
    if version != VERSION {
        return Err(format!(
            "symbol table version {version}, expected {VERSION}"
        ));
    }
    let count = u32_at(8)? as usize;
    let strtab = u32_at(12)? as usize;
    let strings = blob
        .get(strtab..)
        .ok_or("string table offset past the end")?;
    let mut entries = Vec::with_capacity(count);
    for i in 0..count {
        let o = HEADER + i * ENTRY;
        let addr = blob
            .get(o..o + 8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
            .ok_or("symbol table truncated")?;
        let size = u32_at(o + 8)?;
        let name_off = u32_at(o + 12)? as usize;
        let rest = strings.get(name_off..).ok_or("name offset past the end")?;
        let end = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or("name not terminated")?;
        let name = String::from_utf8_lossy(&rest[..end]).into_owned();
        entries.push(Entry { addr, size, name });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let entries = vec![
            Entry {
                addr: 0x100000,
                size: 16,
                name: "_start".into(),
            },
            Entry {
                addr: 0x100010,
                size: 32,
                name: "main".into(),
            },
            Entry {
                addr: 0x100040,
                size: 8,
                name: "main".into(),
            }, // shared name
            Entry {
                addr: 0x100048,
                size: 0,
                name: String::new(),
            },
        ];
        let blob = encode(&entries);
        assert_eq!(&blob[..4], b"FSYM");
        assert_eq!(u32::from_le_bytes(blob[8..12].try_into().unwrap()), 4);
        let strtab = u32::from_le_bytes(blob[12..16].try_into().unwrap()) as usize;
        assert_eq!(strtab, 16 + 4 * 16);
        assert_eq!(&blob[strtab..], b"_start\0main\0\0");
        assert_eq!(decode(&blob).unwrap(), entries);
    }

    #[test]
    fn empty_table() {
        let blob = encode(&[]);
        assert_eq!(blob.len(), 16);
        assert_eq!(decode(&blob).unwrap(), vec![]);
    }

    #[test]
    fn rejects_garbage() {
        assert!(decode(b"NOPE").is_err());
        let mut blob = encode(&[Entry {
            addr: 1,
            size: 1,
            name: "x".into(),
        }]);
        blob.truncate(20);
        assert!(decode(&blob).is_err());
    }

    #[test]
    fn demangles_cpp_and_rust() {
        assert_eq!(demangle("_ZN3foo3barEv"), "foo::bar()");
        assert_eq!(
            demangle("_ZN4core3fmt5write17h0123456789abcdefE"),
            "core::fmt::write"
        );
        assert_eq!(demangle("_RNvCs1234_7mycrate4main"), "mycrate::main");
        assert_eq!(demangle("memcpy"), "memcpy");
        assert_eq!(demangle("_Zbogus"), "_Zbogus");
    }
}
