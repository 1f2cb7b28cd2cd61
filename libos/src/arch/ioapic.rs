//! I/O APICs: route a global system interrupt (GSI) to a vector on one CPU, mask and unmask it.
//!
//! `init` maps every I/O APIC the MADT lists; it touches no register, because every register access
//! is a VM exit to the device model, and under the development hosts' KVM each costs ~0.1–0.3 ms
//! (masking 24 inputs took 5–20 ms of boot). The machines Ferrite boots on hand the I/O APIC over
//! in its reset state, every input masked (QEMU's reset; qboot, SeaBIOS and GRUB do not program
//! it); `mask_all` is there for a platform that does not. `route` programs an entry and leaves it
//! masked; `unmask` lets it through. ISA IRQs go through `route_isa_irq`, which applies the MADT's
//! interrupt source overrides (IRQ → GSI, polarity, trigger mode).

use crate::acpi::{Polarity, Trigger};

/// A 64-bit redirection-table entry: fixed delivery, physical destination mode.
pub fn redirection_entry(
    vector: u8,
    apic_id: u32,
    trigger: Trigger,
    polarity: Polarity,
    masked: bool,
) -> u64 {
    let mut e = vector as u64;
    if polarity == Polarity::ActiveLow {
        e |= 1 << 13;
    }
    if trigger == Trigger::Level {
        e |= 1 << 15;
    }
    if masked {
        e |= 1 << 16;
    }
    e | ((apic_id as u64 & 0xFF) << 56)
}

/// Why a route could not be set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// No I/O APIC serves this GSI.
    NoSuchGsi(u32),
    /// The destination APIC id does not fit the 8-bit physical destination field.
    DestinationTooLarge(u32),
    /// Vectors below 0x20 are exceptions.
    BadVector(u8),
}

#[cfg(target_os = "none")]
pub use hw::*;

#[cfg(target_os = "none")]
mod hw {
    use alloc::vec::Vec;

    use super::{Error, redirection_entry};
    use crate::acpi::Platform;
    use crate::sync::IrqMutex;

    /// Bit 16 of a redirection entry's low half.
    const MASK_BIT: u32 = 1 << 16;

    struct IoApic {
        base: u64,
        gsi_base: u32,
        /// Number of inputs, read from the version register on first use (0 = not yet).
        inputs: u32,
    }

    impl IoApic {
        fn read(&self, reg: u32) -> u32 {
            // SAFETY: the register window (IOREGSEL at +0, IOWIN at +0x10) is mapped uncached by
            // `init`; the caller holds the lock, so select and access are not interleaved.
            unsafe {
                core::ptr::write_volatile(self.base as *mut u32, reg);
                core::ptr::read_volatile((self.base + 0x10) as *const u32)
            }
        }

        fn inputs(&mut self) -> u32 {
            if self.inputs == 0 {
                self.inputs = ((self.read(1) >> 16) & 0xFF) + 1;
            }
            self.inputs
        }

        fn write(&self, reg: u32, value: u32) {
            // SAFETY: as in `read`.
            unsafe {
                core::ptr::write_volatile(self.base as *mut u32, reg);
                core::ptr::write_volatile((self.base + 0x10) as *mut u32, value);
            }
        }
    }

    static IO_APICS: IrqMutex<Vec<IoApic>> = IrqMutex::new(Vec::new());
    /// The platform's ISA overrides, kept for `route_isa_irq`.
    static ISA: IrqMutex<Option<Platform>> = IrqMutex::new(None);

    /// Map the I/O APICs of `platform` and remember its ISA overrides. No register is touched.
    pub fn init(platform: &Platform) -> Result<(), crate::mm::MapError> {
        let mut list = IO_APICS.lock();
        list.clear();
        for info in &platform.io_apics {
            crate::mm::map_device(info.address, 4096)?;
            list.push(IoApic {
                base: info.address,
                gsi_base: info.gsi_base,
                inputs: 0,
            });
        }
        *ISA.lock() = Some(Platform {
            processors: Vec::new(),
            ..platform.clone()
        });
        Ok(())
    }

    /// Mask every input of every I/O APIC (two register accesses per input).
    pub fn mask_all() {
        for chip in IO_APICS.lock().iter_mut() {
            for input in 0..chip.inputs() {
                chip.write(0x10 + 2 * input, MASK_BIT);
            }
        }
    }

    /// Run `f` on the I/O APIC serving `gsi` and the input number there.
    fn with_input<R>(gsi: u32, f: impl FnOnce(&IoApic, u32) -> R) -> Result<R, Error> {
        let mut list = IO_APICS.lock();
        let chip = list
            .iter_mut()
            .filter(|c| c.gsi_base <= gsi)
            .max_by_key(|c| c.gsi_base)
            .ok_or(Error::NoSuchGsi(gsi))?;
        if gsi - chip.gsi_base >= chip.inputs() {
            return Err(Error::NoSuchGsi(gsi));
        }
        Ok(f(chip, gsi - chip.gsi_base))
    }

    /// Deliver `gsi` as `vector` to the CPU with APIC id `apic_id`. The entry is left masked.
    pub fn route(
        gsi: u32,
        vector: u8,
        apic_id: u32,
        trigger: crate::acpi::Trigger,
        polarity: crate::acpi::Polarity,
    ) -> Result<(), Error> {
        if vector < 0x20 {
            return Err(Error::BadVector(vector));
        }
        if apic_id > 0xFF {
            return Err(Error::DestinationTooLarge(apic_id));
        }
        let e = redirection_entry(vector, apic_id, trigger, polarity, true);
        with_input(gsi, |chip, input| {
            // Masked low half first, so the entry is never live half-written.
            chip.write(0x10 + 2 * input, MASK_BIT);
            chip.write(0x11 + 2 * input, (e >> 32) as u32);
            chip.write(0x10 + 2 * input, e as u32);
        })
    }

    /// Route ISA IRQ `irq` (after the MADT's overrides) to `vector` on APIC `apic_id`, masked.
    /// Returns the GSI to unmask.
    pub fn route_isa_irq(irq: u8, vector: u8, apic_id: u32) -> Result<u32, Error> {
        let r = match ISA.lock().as_ref() {
            Some(p) => p.isa_route(irq),
            None => crate::acpi::IsaRoute::identity(irq),
        };
        route(r.gsi, vector, apic_id, r.trigger, r.polarity)?;
        Ok(r.gsi)
    }

    /// Whether some I/O APIC serves `gsi`.
    pub fn has_gsi(gsi: u32) -> bool {
        with_input(gsi, |_, _| ()).is_ok()
    }

    fn set_mask(gsi: u32, masked: bool) -> Result<(), Error> {
        with_input(gsi, |chip, input| {
            let low = chip.read(0x10 + 2 * input);
            let low = if masked {
                low | MASK_BIT
            } else {
                low & !MASK_BIT
            };
            chip.write(0x10 + 2 * input, low);
        })
    }

    pub fn mask(gsi: u32) -> Result<(), Error> {
        set_mask(gsi, true)
    }

    pub fn unmask(gsi: u32) -> Result<(), Error> {
        set_mask(gsi, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries() {
        // COM1 on IRQ 4: edge, active high, vector 0x24 to APIC 0, unmasked.
        assert_eq!(
            redirection_entry(0x24, 0, Trigger::Edge, Polarity::ActiveHigh, false),
            0x24
        );
        // A PCI line: level, active low, masked, to APIC 3.
        assert_eq!(
            redirection_entry(0x30, 3, Trigger::Level, Polarity::ActiveLow, true),
            (3 << 56) | (1 << 16) | (1 << 15) | (1 << 13) | 0x30
        );
    }
}
