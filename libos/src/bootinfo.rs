//! What the boot loader tells us: memory map, command line, ACPI RSDP. Read from PVH's
//! `hvm_start_info` or from the Multiboot2 information structure.

use alloc::string::String;
use alloc::vec::Vec;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryRegion {
    pub start: u64,
    pub len: u64,
    pub usable: bool,
}

#[derive(Debug, Default)]
pub struct BootInfo {
    pub protocol: &'static str,
    pub memory: Vec<MemoryRegion>,
    pub cmdline: String,
    pub rsdp: Option<u64>,
}

pub const PVH_MAGIC: u32 = 0x336e_c578;

fn u32_at(bytes: &[u8], offset: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        bytes.get(offset..offset + 4)?.try_into().ok()?,
    ))
}

fn u64_at(bytes: &[u8], offset: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        bytes.get(offset..offset + 8)?.try_into().ok()?,
    ))
}

/// Fields of `hvm_start_info` (version 1) that locate everything else.
#[derive(Debug, PartialEq, Eq)]
pub struct PvhStartInfo {
    pub cmdline_paddr: u64,
    pub rsdp_paddr: u64,
    pub memmap_paddr: u64,
    pub memmap_entries: u32,
}

pub fn parse_pvh_start_info(bytes: &[u8]) -> Result<PvhStartInfo, &'static str> {
    if u32_at(bytes, 0) != Some(PVH_MAGIC) {
        return Err("bad hvm_start_info magic");
    }
    let version = u32_at(bytes, 4).ok_or("short hvm_start_info")?;
    let (memmap_paddr, memmap_entries) = if version >= 1 {
        (
            u64_at(bytes, 40).ok_or("short hvm_start_info")?,
            u32_at(bytes, 48).ok_or("short hvm_start_info")?,
        )
    } else {
        (0, 0)
    };
    Ok(PvhStartInfo {
        cmdline_paddr: u64_at(bytes, 24).ok_or("short hvm_start_info")?,
        rsdp_paddr: u64_at(bytes, 32).ok_or("short hvm_start_info")?,
        memmap_paddr,
        memmap_entries,
    })
}

/// Size of `hvm_start_info` version 1.
pub const PVH_START_INFO_SIZE: usize = 56;
/// Size of one `hvm_memmap_table_entry`.
pub const PVH_MEMMAP_ENTRY_SIZE: usize = 24;

/// PVH memory map entries: addr u64, size u64, type u32 (1 = RAM), reserved u32.
pub fn parse_pvh_memmap(bytes: &[u8]) -> Vec<MemoryRegion> {
    bytes
        .chunks_exact(PVH_MEMMAP_ENTRY_SIZE)
        .map(|e| MemoryRegion {
            start: u64_at(e, 0).unwrap_or(0),
            len: u64_at(e, 8).unwrap_or(0),
            usable: u32_at(e, 16) == Some(1),
        })
        .collect()
}

/// Multiboot2 information: `total_size` u32, reserved u32, then 8-aligned tags (type u32, size u32).
pub fn parse_multiboot2(bytes: &[u8]) -> BootInfo {
    let mut info = BootInfo {
        protocol: "multiboot2",
        ..BootInfo::default()
    };
    let total = (u32_at(bytes, 0).unwrap_or(0) as usize).min(bytes.len());
    let mut offset = 8;
    while offset + 8 <= total {
        let kind = u32_at(bytes, offset).unwrap_or(0);
        let size = u32_at(bytes, offset + 4).unwrap_or(0) as usize;
        if kind == 0 || size < 8 || offset + size > total {
            break;
        }
        let body = &bytes[offset + 8..offset + size];
        match kind {
            1 => info.cmdline = c_string(body),
            6 => {
                let entry_size = u32_at(body, 0).unwrap_or(24) as usize;
                if entry_size >= 24 {
                    for e in body[8..].chunks_exact(entry_size) {
                        info.memory.push(MemoryRegion {
                            start: u64_at(e, 0).unwrap_or(0),
                            len: u64_at(e, 8).unwrap_or(0),
                            usable: u32_at(e, 16) == Some(1),
                        });
                    }
                }
            }
            // The tags hold a copy of the RSDP; its physical address is where the copy lives.
            14 | 15 if info.rsdp.is_none() || kind == 15 => {
                info.rsdp = Some(body.as_ptr() as u64);
            }
            _ => {}
        }
        offset += (size + 7) & !7;
    }
    info
}

/// The bytes up to the first NUL, as text (invalid UTF-8 replaced).
pub fn c_string(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push_u32(v: &mut Vec<u8>, x: u32) {
        v.extend_from_slice(&x.to_le_bytes());
    }
    fn push_u64(v: &mut Vec<u8>, x: u64) {
        v.extend_from_slice(&x.to_le_bytes());
    }

    #[test]
    fn pvh_start_info_and_memmap() {
        let mut s = Vec::new();
        push_u32(&mut s, PVH_MAGIC);
        push_u32(&mut s, 1);
        push_u32(&mut s, 0);
        push_u32(&mut s, 0);
        push_u64(&mut s, 0);
        push_u64(&mut s, 0x1234);
        push_u64(&mut s, 0x5678);
        push_u64(&mut s, 0x9000);
        push_u32(&mut s, 2);
        push_u32(&mut s, 0);
        assert_eq!(s.len(), PVH_START_INFO_SIZE);
        let info = parse_pvh_start_info(&s).unwrap();
        assert_eq!(
            info,
            PvhStartInfo {
                cmdline_paddr: 0x1234,
                rsdp_paddr: 0x5678,
                memmap_paddr: 0x9000,
                memmap_entries: 2
            }
        );
        s[0] = 0;
        assert!(parse_pvh_start_info(&s).is_err());

        let mut m = Vec::new();
        for (a, l, t) in [(0u64, 0x9fc00u64, 1u32), (0xf0000, 0x10000, 2)] {
            push_u64(&mut m, a);
            push_u64(&mut m, l);
            push_u32(&mut m, t);
            push_u32(&mut m, 0);
        }
        let map = parse_pvh_memmap(&m);
        assert_eq!(
            map[0],
            MemoryRegion {
                start: 0,
                len: 0x9fc00,
                usable: true
            }
        );
        assert!(!map[1].usable);
    }

    #[test]
    fn multiboot2_tags() {
        let mut b = Vec::new();
        push_u32(&mut b, 0);
        push_u32(&mut b, 0);
        // cmdline tag
        push_u32(&mut b, 1);
        push_u32(&mut b, 8 + 6);
        b.extend_from_slice(b"a b=c\0");
        while b.len() % 8 != 0 {
            b.push(0);
        }
        // mmap tag with one entry
        push_u32(&mut b, 6);
        push_u32(&mut b, 16 + 24);
        push_u32(&mut b, 24);
        push_u32(&mut b, 0);
        push_u64(&mut b, 0x100000);
        push_u64(&mut b, 0x7f00000);
        push_u32(&mut b, 1);
        push_u32(&mut b, 0);
        // end tag
        push_u32(&mut b, 0);
        push_u32(&mut b, 8);
        let total = b.len() as u32;
        b[0..4].copy_from_slice(&total.to_le_bytes());
        let info = parse_multiboot2(&b);
        assert_eq!(info.cmdline, "a b=c");
        assert_eq!(
            info.memory,
            [MemoryRegion {
                start: 0x100000,
                len: 0x7f00000,
                usable: true
            }]
        );
    }
}
