//! The interrupt topology from ACPI's MADT, read through the `acpi` crate: the processors (local
//! APIC ids, enabled or not), the I/O APICs (id, address, first GSI) and the ISA interrupt source
//! overrides (ISA IRQ → GSI with polarity and trigger mode).
//!
//! The RSDP comes from the boot loader (`BootInfo::rsdp`: PVH `hvm_start_info.rsdp_paddr` or the
//! Multiboot2 ACPI tags). Tables outside usable RAM are mapped read-only (`mm::map_firmware`) as
//! they are read. The `acpi` crate is used without its `alloc`/`allocator_api` features (those
//! need nightly); its table walk, checksums and MADT entry types are what this module relies on.
//!
//! When there are no ACPI tables, `Platform::fallback` describes a lone boot CPU with the
//! standard I/O APIC at 0xFEC0_0000 and identity ISA routing.

use alloc::vec::Vec;
use core::ptr::NonNull;

use acpi::madt::{Madt, MadtEntry};
use acpi::{AcpiHandler, AcpiTables, PhysicalMapping};

/// Where the local APIC registers live unless the MADT says otherwise.
pub const DEFAULT_LOCAL_APIC_ADDRESS: u64 = 0xFEE0_0000;
/// Where the first I/O APIC lives on PC-compatible machines.
pub const DEFAULT_IO_APIC_ADDRESS: u64 = 0xFEC0_0000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Processor {
    /// Local APIC id (x2APIC id when the MADT gives one).
    pub apic_id: u32,
    /// ACPI processor UID.
    pub uid: u32,
    /// Usable now (MADT flags bit 0). Entries that are only "online capable" are hot-plug slots.
    pub enabled: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoApicInfo {
    pub id: u8,
    pub address: u64,
    /// First global system interrupt this I/O APIC serves.
    pub gsi_base: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Polarity {
    ActiveHigh,
    ActiveLow,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    Edge,
    Level,
}

/// Where an ISA IRQ arrives: its GSI and signalling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IsaRoute {
    pub isa_irq: u8,
    pub gsi: u32,
    pub polarity: Polarity,
    pub trigger: Trigger,
}

impl IsaRoute {
    /// ISA's default: the same GSI number, edge-triggered, active high.
    pub fn identity(isa_irq: u8) -> Self {
        IsaRoute {
            isa_irq,
            gsi: isa_irq as u32,
            polarity: Polarity::ActiveHigh,
            trigger: Trigger::Edge,
        }
    }
}

/// Decode MPS INTI flags (MADT interrupt source override, MP table): bits 0–1 polarity, 2–3
/// trigger mode; "conforms to the bus" (0) means ISA's active high, edge. Reserved values (2) are
/// treated as conforming.
pub fn decode_mps_inti_flags(flags: u16) -> (Polarity, Trigger) {
    let polarity = if flags & 0b11 == 0b11 {
        Polarity::ActiveLow
    } else {
        Polarity::ActiveHigh
    };
    let trigger = if (flags >> 2) & 0b11 == 0b11 {
        Trigger::Level
    } else {
        Trigger::Edge
    };
    (polarity, trigger)
}

/// What the kernel needs to know about CPUs and interrupt controllers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Platform {
    /// Physical address of the local APIC registers (xAPIC mode).
    pub local_apic_address: u64,
    /// Processors in MADT order (the boot CPU is usually first, but not necessarily).
    pub processors: Vec<Processor>,
    pub io_apics: Vec<IoApicInfo>,
    /// ISA interrupt source overrides (only the ISA IRQs that differ from identity routing).
    pub overrides: Vec<IsaRoute>,
    /// Whether dual 8259 PICs are present (MADT flags bit 0, PCAT_COMPAT).
    pub legacy_pics: bool,
    /// Where this came from: "acpi" or "none".
    pub source: &'static str,
}

impl Platform {
    /// No firmware tables: the boot CPU alone, the standard I/O APIC, identity ISA routing.
    pub fn fallback(boot_apic_id: u32) -> Self {
        Platform {
            local_apic_address: DEFAULT_LOCAL_APIC_ADDRESS,
            processors: alloc::vec![Processor {
                apic_id: boot_apic_id,
                uid: 0,
                enabled: true,
            }],
            io_apics: alloc::vec![IoApicInfo {
                id: 0,
                address: DEFAULT_IO_APIC_ADDRESS,
                gsi_base: 0,
            }],
            overrides: Vec::new(),
            legacy_pics: true,
            source: "none",
        }
    }

    /// The GSI, polarity and trigger mode of ISA IRQ `irq`, after overrides.
    pub fn isa_route(&self, irq: u8) -> IsaRoute {
        self.overrides
            .iter()
            .find(|o| o.isa_irq == irq)
            .copied()
            .unwrap_or_else(|| IsaRoute::identity(irq))
    }

    /// Processors that can be started now.
    pub fn enabled_processors(&self) -> impl Iterator<Item = &Processor> {
        self.processors.iter().filter(|p| p.enabled)
    }

    /// Build from the MADT's header fields and entries. Entries this kernel does not use (NMI
    /// sources, SAPIC, GIC) are skipped; an xAPIC entry with id 0xFF is a placeholder and dropped;
    /// a processor listed twice (xAPIC and x2APIC entries for one id) is kept once.
    pub fn from_madt<'a>(
        local_apic_address: u32,
        flags: u32,
        entries: impl Iterator<Item = MadtEntry<'a>>,
    ) -> Self {
        let mut p = Platform {
            local_apic_address: local_apic_address as u64,
            legacy_pics: flags & 1 != 0,
            source: "acpi",
            ..Platform::default()
        };
        let add_processor = |list: &mut Vec<Processor>, cpu: Processor| {
            if !list.iter().any(|q| q.apic_id == cpu.apic_id) {
                list.push(cpu);
            }
        };
        for entry in entries {
            match entry {
                MadtEntry::LocalApic(e) => {
                    let (apic_id, uid, flags) = (e.apic_id, e.processor_id, e.flags);
                    if apic_id != 0xFF {
                        add_processor(
                            &mut p.processors,
                            Processor {
                                apic_id: apic_id as u32,
                                uid: uid as u32,
                                enabled: flags & 1 != 0,
                            },
                        );
                    }
                }
                MadtEntry::LocalX2Apic(e) => {
                    let (apic_id, uid, flags) = (e.x2apic_id, e.processor_uid, e.flags);
                    if apic_id != u32::MAX {
                        add_processor(
                            &mut p.processors,
                            Processor {
                                apic_id,
                                uid,
                                enabled: flags & 1 != 0,
                            },
                        );
                    }
                }
                MadtEntry::IoApic(e) => p.io_apics.push(IoApicInfo {
                    id: e.io_apic_id,
                    address: e.io_apic_address as u64,
                    gsi_base: e.global_system_interrupt_base,
                }),
                MadtEntry::InterruptSourceOverride(e) => {
                    let (bus, irq, gsi, flags) = (e.bus, e.irq, e.global_system_interrupt, e.flags);
                    if bus == 0 {
                        let (polarity, trigger) = decode_mps_inti_flags(flags);
                        p.overrides.retain(|o| o.isa_irq != irq);
                        p.overrides.push(IsaRoute {
                            isa_irq: irq,
                            gsi,
                            polarity,
                            trigger,
                        });
                    }
                }
                MadtEntry::LocalApicAddressOverride(e) => {
                    p.local_apic_address = e.local_apic_address;
                }
                _ => {}
            }
        }
        p
    }
}

/// Whether the MADT entry area (the bytes after the 44-byte MADT header) is well formed: every
/// entry at least 2 bytes long and inside the table. The `acpi` crate's entry iterator trusts the
/// lengths (a zero length would never advance), so this is checked first.
pub fn madt_entries_well_formed(entries: &[u8]) -> bool {
    let mut offset = 0;
    // Each step advances by at least 2 bytes, so this ends.
    while offset < entries.len() {
        let Some(&len) = entries.get(offset + 1) else {
            return false;
        };
        if len < 2 || offset + len as usize > entries.len() {
            return false;
        }
        offset += len as usize;
    }
    true
}

/// Why the ACPI tables could not be used.
#[derive(Debug)]
pub enum Error {
    /// The `acpi` crate rejected the RSDP, the root table or the MADT.
    Acpi(acpi::AcpiError),
    /// The MADT's entries overrun the table or have a zero length.
    MalformedMadt,
}

/// Maps physical ranges for the `acpi` crate. Physical memory is identity-mapped, so the virtual
/// address is the physical one; ranges outside RAM are mapped read-only first (on the host, in
/// tests, "physical" addresses are ordinary pointers).
#[derive(Clone, Copy, Debug)]
pub struct IdentityHandler;

impl AcpiHandler for IdentityHandler {
    unsafe fn map_physical_region<T>(&self, phys: usize, size: usize) -> PhysicalMapping<Self, T> {
        #[cfg(target_os = "none")]
        if crate::mm::map_firmware(phys as u64, size as u64).is_err() {
            panic!("cannot map ACPI table at {phys:#x}");
        }
        let Some(pointer) = NonNull::new(phys as *mut T) else {
            panic!("ACPI table at address 0");
        };
        // SAFETY: the range is mapped at its physical address (identity map, or mapped just above)
        // and stays mapped: nothing is ever unmapped.
        unsafe { PhysicalMapping::new(phys, pointer, size, size, *self) }
    }

    fn unmap_physical_region<T>(_region: &PhysicalMapping<Self, T>) {}
}

/// Read the MADT from the tables under the RSDP at `rsdp`.
///
/// # Safety
/// `rsdp` must be the address of an RSDP (as given by the boot loader) in memory that holds it
/// and the tables it points to unchanged.
pub unsafe fn read_madt(rsdp: u64) -> Result<Platform, Error> {
    // SAFETY: delegated to the caller.
    let tables =
        unsafe { AcpiTables::from_rsdp(IdentityHandler, rsdp as usize) }.map_err(Error::Acpi)?;
    let madt = tables.find_table::<Madt>().map_err(Error::Acpi)?;
    let header_len = core::mem::size_of::<Madt>();
    let table_len = madt.get().header.length as usize;
    if table_len < header_len {
        return Err(Error::MalformedMadt);
    }
    // SAFETY: the whole table (`length` bytes, checksummed by `find_table`) is mapped.
    let entry_bytes = unsafe {
        core::slice::from_raw_parts(
            (madt.virtual_start().as_ptr() as *const u8).add(header_len),
            table_len - header_len,
        )
    };
    if !madt_entries_well_formed(entry_bytes) {
        return Err(Error::MalformedMadt);
    }
    let m = madt.get();
    Ok(Platform::from_madt(
        m.local_apic_address,
        m.flags,
        m.entries(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table: SDT header (signature, length, revision, checksum, OEM ids...) then `body`.
    fn sdt(signature: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut t = Vec::new();
        t.extend_from_slice(signature);
        t.extend_from_slice(&((36 + body.len()) as u32).to_le_bytes());
        t.push(1); // revision
        t.push(0); // checksum, fixed below
        t.extend_from_slice(b"FERRIT");
        t.extend_from_slice(b"TESTTABL");
        t.extend_from_slice(&1u32.to_le_bytes());
        t.extend_from_slice(&0u32.to_le_bytes());
        t.extend_from_slice(&1u32.to_le_bytes());
        t.extend_from_slice(body);
        let sum = t.iter().fold(0u8, |s, b| s.wrapping_add(*b));
        t[9] = 0u8.wrapping_sub(sum);
        t
    }

    fn local_apic(uid: u8, id: u8, flags: u32) -> Vec<u8> {
        let mut e = vec![0, 8, uid, id];
        e.extend_from_slice(&flags.to_le_bytes());
        e
    }

    fn x2apic(id: u32, flags: u32, uid: u32) -> Vec<u8> {
        let mut e = vec![9, 16, 0, 0];
        e.extend_from_slice(&id.to_le_bytes());
        e.extend_from_slice(&flags.to_le_bytes());
        e.extend_from_slice(&uid.to_le_bytes());
        e
    }

    fn io_apic(id: u8, address: u32, gsi_base: u32) -> Vec<u8> {
        let mut e = vec![1, 12, id, 0];
        e.extend_from_slice(&address.to_le_bytes());
        e.extend_from_slice(&gsi_base.to_le_bytes());
        e
    }

    fn iso(irq: u8, gsi: u32, flags: u16) -> Vec<u8> {
        let mut e = vec![2, 10, 0, irq];
        e.extend_from_slice(&gsi.to_le_bytes());
        e.extend_from_slice(&flags.to_le_bytes());
        e
    }

    /// QEMU q35-like MADT: 3 CPUs (one a disabled hot-plug slot), one I/O APIC, the usual overrides.
    fn qemu_madt() -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&0xFEE0_0000u32.to_le_bytes());
        body.extend_from_slice(&1u32.to_le_bytes()); // PCAT_COMPAT
        for e in [
            local_apic(0, 0, 1),
            local_apic(1, 1, 1),
            local_apic(2, 2, 0),
            local_apic(3, 0xFF, 1),
            io_apic(0, 0xFEC0_0000, 0),
            iso(0, 2, 0),
            iso(5, 5, 0xD),
            iso(9, 9, 0xD),
            iso(10, 10, 0xD),
            iso(11, 11, 0xD),
            vec![4, 6, 0xFF, 0, 0, 1], // local APIC NMI on LINT1: ignored
        ] {
            body.extend_from_slice(&e);
        }
        sdt(b"APIC", &body)
    }

    /// Lay tables out as they would be in memory: an RSDP (revision 2) → XSDT → the tables, with
    /// real host addresses standing in for physical ones.
    struct Firmware {
        rsdp: Vec<u8>,
        _xsdt: Vec<u8>,
        _tables: Vec<Vec<u8>>,
    }

    fn firmware(tables: Vec<Vec<u8>>) -> Firmware {
        let mut body = Vec::new();
        for t in &tables {
            body.extend_from_slice(&(t.as_ptr() as u64).to_le_bytes());
        }
        let xsdt = sdt(b"XSDT", &body);
        let mut rsdp = Vec::new();
        rsdp.extend_from_slice(b"RSD PTR ");
        rsdp.push(0); // checksum of the first 20 bytes
        rsdp.extend_from_slice(b"FERRIT");
        rsdp.push(2);
        rsdp.extend_from_slice(&0u32.to_le_bytes());
        rsdp.extend_from_slice(&36u32.to_le_bytes());
        rsdp.extend_from_slice(&(xsdt.as_ptr() as u64).to_le_bytes());
        rsdp.push(0); // extended checksum
        rsdp.extend_from_slice(&[0; 3]);
        let sum = rsdp[..20].iter().fold(0u8, |s, b| s.wrapping_add(*b));
        rsdp[8] = 0u8.wrapping_sub(sum);
        let sum = rsdp.iter().fold(0u8, |s, b| s.wrapping_add(*b));
        rsdp[32] = 0u8.wrapping_sub(sum);
        Firmware {
            rsdp,
            _xsdt: xsdt,
            _tables: tables,
        }
    }

    #[test]
    fn inti_flags() {
        use Polarity::*;
        use Trigger::*;
        assert_eq!(decode_mps_inti_flags(0), (ActiveHigh, Edge));
        assert_eq!(decode_mps_inti_flags(0b0101), (ActiveHigh, Edge));
        assert_eq!(decode_mps_inti_flags(0b1101), (ActiveHigh, Level));
        assert_eq!(decode_mps_inti_flags(0b1111), (ActiveLow, Level));
        assert_eq!(decode_mps_inti_flags(0b0111), (ActiveLow, Edge));
    }

    #[test]
    fn madt_through_the_acpi_crate() {
        let fw = firmware(vec![sdt(b"FACP", &[0; 8]), qemu_madt()]);
        // SAFETY: the RSDP and its tables are live host memory laid out as firmware would.
        let p = unsafe { read_madt(fw.rsdp.as_ptr() as u64) }.unwrap();
        assert_eq!(p.source, "acpi");
        assert_eq!(p.local_apic_address, 0xFEE0_0000);
        assert!(p.legacy_pics);
        assert_eq!(
            p.processors,
            [
                Processor {
                    apic_id: 0,
                    uid: 0,
                    enabled: true
                },
                Processor {
                    apic_id: 1,
                    uid: 1,
                    enabled: true
                },
                Processor {
                    apic_id: 2,
                    uid: 2,
                    enabled: false
                },
            ]
        );
        assert_eq!(p.enabled_processors().count(), 2);
        assert_eq!(
            p.io_apics,
            [IoApicInfo {
                id: 0,
                address: 0xFEC0_0000,
                gsi_base: 0
            }]
        );
        // IRQ 0 (PIT) arrives on GSI 2; 9 is level, active high; 4 (COM1) is untouched.
        assert_eq!(p.isa_route(0).gsi, 2);
        assert_eq!(p.isa_route(0).trigger, Trigger::Edge);
        assert_eq!(
            p.isa_route(9),
            IsaRoute {
                isa_irq: 9,
                gsi: 9,
                polarity: Polarity::ActiveHigh,
                trigger: Trigger::Level
            }
        );
        assert_eq!(p.isa_route(4), IsaRoute::identity(4));
    }

    #[test]
    fn x2apic_entries_and_address_override() {
        let mut body = Vec::new();
        body.extend_from_slice(&0xFEE0_0000u32.to_le_bytes());
        body.extend_from_slice(&0u32.to_le_bytes());
        body.extend_from_slice(&local_apic(0, 0, 1));
        body.extend_from_slice(&x2apic(0, 1, 0)); // same CPU again: kept once
        body.extend_from_slice(&x2apic(300, 1, 1));
        let mut over = vec![5, 12, 0, 0];
        over.extend_from_slice(&0xFED0_0000u64.to_le_bytes());
        body.extend_from_slice(&over);
        let fw = firmware(vec![sdt(b"APIC", &body)]);
        // SAFETY: as above.
        let p = unsafe { read_madt(fw.rsdp.as_ptr() as u64) }.unwrap();
        assert_eq!(
            p.processors.iter().map(|c| c.apic_id).collect::<Vec<_>>(),
            [0, 300]
        );
        assert_eq!(p.local_apic_address, 0xFED0_0000);
        assert!(!p.legacy_pics);
    }

    #[test]
    fn bad_tables_are_refused() {
        // A zero-length entry would stall the crate's iterator: refused up front.
        let mut body = Vec::new();
        body.extend_from_slice(&0xFEE0_0000u32.to_le_bytes());
        body.extend_from_slice(&0u32.to_le_bytes());
        body.extend_from_slice(&[0x20, 0, 0, 0]);
        let fw = firmware(vec![sdt(b"APIC", &body)]);
        // SAFETY: as above.
        assert!(matches!(
            unsafe { read_madt(fw.rsdp.as_ptr() as u64) },
            Err(Error::MalformedMadt)
        ));
        // A broken checksum: the crate does not accept the table.
        let mut madt = qemu_madt();
        madt[40] ^= 1;
        let fw = firmware(vec![madt]);
        // SAFETY: as above.
        assert!(matches!(
            unsafe { read_madt(fw.rsdp.as_ptr() as u64) },
            Err(Error::Acpi(_))
        ));
        // No MADT at all.
        let fw = firmware(vec![sdt(b"FACP", &[0; 8])]);
        // SAFETY: as above.
        assert!(unsafe { read_madt(fw.rsdp.as_ptr() as u64) }.is_err());
    }

    #[test]
    fn entry_walk() {
        assert!(madt_entries_well_formed(&[]));
        assert!(madt_entries_well_formed(&local_apic(0, 0, 1)));
        assert!(!madt_entries_well_formed(&[0, 8, 0]));
        assert!(!madt_entries_well_formed(&[0]));
        assert!(!madt_entries_well_formed(&[7, 1, 0, 0]));
    }

    #[test]
    fn fallback_platform() {
        let p = Platform::fallback(3);
        assert_eq!(p.processors.len(), 1);
        assert_eq!(p.processors[0].apic_id, 3);
        assert_eq!(p.isa_route(4).gsi, 4);
    }
}
