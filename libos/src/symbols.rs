//! The image's own symbol table (`.ferrite.symtab`, added by the link step) for fault reports.
//!
//! Format (little endian): `FSYM`, u32 version (1), u32 count, u32 offset of the string table;
//! then `count` entries {u64 address, u32 size, u32 name offset}, sorted by address; then
//! NUL-terminated names.

pub struct SymbolTable<'a> {
    blob: &'a [u8],
    count: usize,
    strings: usize,
}

const HEADER: usize = 16;
const ENTRY: usize = 16;

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

impl<'a> SymbolTable<'a> {
    pub fn parse(blob: &'a [u8]) -> Option<Self> {
        if blob.get(0..4)? != b"FSYM" || u32_at(blob, 4)? != 1 {
            return None;
        }
        let count = u32_at(blob, 8)? as usize;
        let strings = u32_at(blob, 12)? as usize;
        if HEADER + count * ENTRY > blob.len() || strings > blob.len() {
            return None;
        }
        Some(SymbolTable {
            blob,
            count,
            strings,
        })
    }

    fn entry(&self, i: usize) -> (u64, u32, u32) {
        let at = HEADER + i * ENTRY;
        (
            u64_at(self.blob, at).unwrap_or(0),
            u32_at(self.blob, at + 8).unwrap_or(0),
            u32_at(self.blob, at + 12).unwrap_or(0),
        )
    }

    fn name(&self, offset: u32) -> &'a str {
        let start = self.strings + offset as usize;
        let bytes = self.blob.get(start..).unwrap_or(&[]);
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        core::str::from_utf8(&bytes[..end]).unwrap_or("?")
    }

    /// The address of the symbol called `name` (a linear search: used once, for the boot log).
    pub fn find(&self, name: &str) -> Option<u64> {
        (0..self.count)
            .map(|i| self.entry(i))
            .find(|&(_, _, n)| self.name(n) == name)
            .map(|(addr, _, _)| addr)
    }

    /// The function containing `addr`: (name, offset into it).
    pub fn lookup(&self, addr: u64) -> Option<(&'a str, u64)> {
        // Last entry with address <= addr.
        let (mut lo, mut hi) = (0, self.count);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.entry(mid).0 <= addr {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let (start, size, name) = self.entry(lo.checked_sub(1)?);
        let offset = addr - start;
        // Size 0 (assembly labels) matches loosely; otherwise the address must be inside.
        (size == 0 && offset < 0x1_0000 || offset < size as u64).then(|| (self.name(name), offset))
    }
}

#[cfg(target_os = "none")]
pub fn image_symbols() -> Option<SymbolTable<'static>> {
    unsafe extern "C" {
        static __ferrite_symtab_start: u8;
        static __ferrite_symtab_end: u8;
    }
    let start = &raw const __ferrite_symtab_start;
    let end = &raw const __ferrite_symtab_end;
    // SAFETY: the linker script delimits the read-only symbol table section with these symbols.
    let blob = unsafe { core::slice::from_raw_parts(start, end as usize - start as usize) };
    SymbolTable::parse(blob)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(symbols: &[(u64, u32, &str)]) -> alloc::vec::Vec<u8> {
        let mut strings = alloc::vec::Vec::new();
        let mut entries = alloc::vec::Vec::new();
        for (addr, size, name) in symbols {
            entries.extend_from_slice(&addr.to_le_bytes());
            entries.extend_from_slice(&size.to_le_bytes());
            entries.extend_from_slice(&(strings.len() as u32).to_le_bytes());
            strings.extend_from_slice(name.as_bytes());
            strings.push(0);
        }
        let mut b = alloc::vec::Vec::new();
        b.extend_from_slice(b"FSYM");
        b.extend_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&(symbols.len() as u32).to_le_bytes());
        b.extend_from_slice(&((HEADER + entries.len()) as u32).to_le_bytes());
        b.extend(entries);
        b.extend(strings);
        b
    }

    #[test]
    fn finds_containing_function() {
        let b = blob(&[
            (0x1000, 0x20, "main"),
            (0x1020, 0x10, "helper"),
            (0x2000, 0, "asm_label"),
        ]);
        let t = SymbolTable::parse(&b).unwrap();
        assert_eq!(t.lookup(0x1000), Some(("main", 0)));
        assert_eq!(t.lookup(0x101f), Some(("main", 0x1f)));
        assert_eq!(t.lookup(0x1025), Some(("helper", 5)));
        assert_eq!(t.lookup(0x1030), None);
        assert_eq!(t.lookup(0x2004), Some(("asm_label", 4)));
        assert_eq!(t.lookup(0xfff), None);
        assert_eq!(t.find("helper"), Some(0x1020));
        assert_eq!(t.find("nothing"), None);
    }

    #[test]
    fn rejects_garbage() {
        assert!(SymbolTable::parse(b"nope").is_none());
        assert!(SymbolTable::parse(&[]).is_none());
    }
}
