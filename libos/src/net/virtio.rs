//! virtio-net through the `virtio-drivers` crate: found over MMIO (microvm's transports at
//! 0xFEB0_0000) or PCI (q35/pc, configuration space through ports 0xCF8/0xCFC), with its
//! interrupt routed to one vector (I/O APIC for MMIO, MSI-X for PCI).
//!
//! Receive buffers are posted to the device once and handed back after smoltcp has read the
//! frame in place; transmit buffers come from a small pool and return to it when the device
//! reports them used. The driver never waits for the device.

use alloc::alloc::{alloc_zeroed, dealloc};
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::alloc::Layout;
use core::ptr::NonNull;

use virtio_drivers::device::net::VirtIONetRaw;
use virtio_drivers::transport::mmio::{MmioTransport, VirtIOHeader};
use virtio_drivers::transport::pci::PciTransport;
use virtio_drivers::transport::pci::bus::{Command, ConfigurationAccess, DeviceFunction, PciRoot};
use virtio_drivers::transport::{DeviceType, SomeTransport};
use virtio_drivers::{BufferDirection, Hal, PhysAddr};

use crate::arch::port;

/// Descriptors per queue.
const QUEUE_SIZE: usize = 256;
/// Receive buffers kept posted (each takes one descriptor).
const RX_BUFFERS: usize = 128;
/// Transmit buffers (header + one Ethernet frame each).
const TX_BUFFERS: usize = 128;
/// A frame of 1514 bytes plus the virtio-net header (12 bytes), rounded up.
pub const BUFFER_SIZE: usize = 1536;
/// The largest Ethernet frame (without FCS) the device carries (MTU 1500).
pub const MAX_FRAME: usize = 1514;

const PAGE: usize = 4096;

/// DMA through the identity map: every kernel heap address is its physical address.
pub struct KernelHal;

// SAFETY: allocations are page-aligned, zeroed heap memory that stays allocated until
// `dma_dealloc`; the kernel identity-maps RAM, so the virtual address is the physical one, and
// device memory is mapped uncached at its own address.
unsafe impl Hal for KernelHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        let layout = Layout::from_size_align(pages * PAGE, PAGE).expect("DMA layout");
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { alloc_zeroed(layout) };
        let ptr = NonNull::new(ptr).expect("no memory for virtio queues");
        (ptr.as_ptr() as PhysAddr, ptr)
    }

    unsafe fn dma_dealloc(_paddr: PhysAddr, vaddr: NonNull<u8>, pages: usize) -> i32 {
        let layout = Layout::from_size_align(pages * PAGE, PAGE).expect("DMA layout");
        // SAFETY: `vaddr` came from `dma_alloc` with this layout.
        unsafe { dealloc(vaddr.as_ptr(), layout) };
        0
    }

    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, size: usize) -> NonNull<u8> {
        let start = paddr & !(PAGE as u64 - 1);
        let end = (paddr + size as u64).next_multiple_of(PAGE as u64);
        let _ = crate::mm::map_device(start, end - start);
        NonNull::new(paddr as *mut u8).expect("device memory at address 0")
    }

    unsafe fn share(buffer: NonNull<[u8]>, _direction: BufferDirection) -> PhysAddr {
        buffer.as_ptr() as *mut u8 as PhysAddr
    }

    unsafe fn unshare(_paddr: PhysAddr, _buffer: NonNull<[u8]>, _direction: BufferDirection) {}
}

/// PCI configuration space through the legacy I/O ports (mechanism #1).
pub struct PortCam;

fn config_address(f: DeviceFunction, offset: u8) -> u32 {
    0x8000_0000
        | (f.bus as u32) << 16
        | (f.device as u32) << 11
        | (f.function as u32) << 8
        | (offset as u32 & 0xFC)
}

impl ConfigurationAccess for PortCam {
    fn read_word(&self, f: DeviceFunction, offset: u8) -> u32 {
        port::outl(0xCF8, config_address(f, offset));
        port::inl(0xCFC)
    }

    fn write_word(&mut self, f: DeviceFunction, offset: u8, data: u32) {
        port::outl(0xCF8, config_address(f, offset));
        port::outl(0xCFC, data);
    }

    unsafe fn unsafe_clone(&self) -> Self {
        PortCam
    }
}

type Raw = VirtIONetRaw<KernelHal, SomeTransport<'static>, QUEUE_SIZE>;

/// How the device interrupts.
#[derive(Clone, Copy, Debug)]
pub enum Interrupt {
    /// An I/O APIC input (virtio-mmio on microvm), level-triggered.
    Gsi(u32),
    /// MSI-X entry 0, already programmed for the vector given to `probe`.
    Msix,
}

/// A receive buffer the device filled, until it is handed back.
pub struct RxFrame {
    buffer: Box<[u8; BUFFER_SIZE]>,
    start: usize,
    len: usize,
}

impl RxFrame {
    pub fn frame(&self) -> &[u8] {
        &self.buffer[self.start..self.start + self.len]
    }

    pub fn frame_mut(&mut self) -> &mut [u8] {
        &mut self.buffer[self.start..self.start + self.len]
    }
}

pub struct NetDevice {
    raw: Raw,
    mac: [u8; 6],
    /// Posted receive buffers by token.
    rx_posted: Vec<Option<Box<[u8; BUFFER_SIZE]>>>,
    /// Transmit buffers in flight by token.
    tx_in_flight: Vec<Option<(Box<[u8; BUFFER_SIZE]>, usize)>>,
    // Boxed: a buffer keeps its address while the device reads it.
    #[allow(clippy::vec_box)]
    tx_free: Vec<Box<[u8; BUFFER_SIZE]>>,
    header_len: usize,
    pub transport: &'static str,
    pub interrupt: Interrupt,
}

impl NetDevice {
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    fn new(raw: Raw, transport: &'static str, interrupt: Interrupt) -> Option<NetDevice> {
        let mac = raw.mac_address();
        let mut probe = [0u8; 64];
        let header_len = raw.fill_buffer_header(&mut probe).ok()?;
        let mut dev = NetDevice {
            raw,
            mac,
            rx_posted: (0..QUEUE_SIZE).map(|_| None).collect(),
            tx_in_flight: (0..QUEUE_SIZE).map(|_| None).collect(),
            tx_free: (0..TX_BUFFERS)
                .map(|_| Box::new([0u8; BUFFER_SIZE]))
                .collect(),
            header_len,
            transport,
            interrupt,
        };
        for _ in 0..RX_BUFFERS {
            dev.post(Box::new([0u8; BUFFER_SIZE]));
        }
        dev.raw.enable_interrupts();
        Some(dev)
    }

    fn post(&mut self, mut buffer: Box<[u8; BUFFER_SIZE]>) {
        // SAFETY: the buffer stays in `rx_posted` (untouched) until the device returns it.
        if let Ok(token) = unsafe { self.raw.receive_begin(&mut buffer[..]) } {
            self.rx_posted[token as usize] = Some(buffer);
        }
    }

    /// Acknowledge the device's interrupt (before the end of interrupt: the MMIO line is level).
    pub fn ack_interrupt(&mut self) {
        self.raw.ack_interrupt();
    }

    /// The next received frame, if any.
    pub fn receive(&mut self) -> Option<RxFrame> {
        let token = self.raw.poll_receive()?;
        let mut buffer = self.rx_posted.get_mut(token as usize)?.take()?;
        // SAFETY: the buffer is the one posted with this token.
        match unsafe { self.raw.receive_complete(token, &mut buffer[..]) } {
            Ok((start, len)) => Some(RxFrame { buffer, start, len }),
            Err(_) => {
                self.post(buffer);
                None
            }
        }
    }

    /// Give a consumed receive buffer back to the device.
    pub fn recycle(&mut self, frame: RxFrame) {
        self.post(frame.buffer);
    }

    /// Reclaim transmit buffers the device has sent.
    pub fn reclaim_transmitted(&mut self) {
        while let Some(token) = self.raw.poll_transmit() {
            let Some((buffer, len)) = self
                .tx_in_flight
                .get_mut(token as usize)
                .and_then(Option::take)
            else {
                break;
            };
            // SAFETY: the same buffer and length were given to `transmit_begin` for this token.
            let _ = unsafe { self.raw.transmit_complete(token, &buffer[..len]) };
            self.tx_free.push(buffer);
        }
    }

    pub fn can_transmit(&mut self) -> bool {
        if self.tx_free.is_empty() {
            self.reclaim_transmitted();
        }
        !self.tx_free.is_empty() && self.raw.can_send()
    }

    /// Send a frame of `len` bytes that `fill` writes. False when the device has no room.
    pub fn transmit(&mut self, len: usize, fill: impl FnOnce(&mut [u8])) -> bool {
        if len > MAX_FRAME || !self.can_transmit() {
            return false;
        }
        let Some(mut buffer) = self.tx_free.pop() else {
            return false;
        };
        let total = self.header_len + len;
        if self.raw.fill_buffer_header(&mut buffer[..]).is_err() {
            self.tx_free.push(buffer);
            return false;
        }
        fill(&mut buffer[self.header_len..total]);
        // SAFETY: the buffer stays in `tx_in_flight` (untouched) until the device returns it.
        match unsafe { self.raw.transmit_begin(&buffer[..total]) } {
            Ok(token) => {
                self.tx_in_flight[token as usize] = Some((buffer, total));
                true
            }
            Err(_) => {
                self.tx_free.push(buffer);
                false
            }
        }
    }
}

/// microvm's virtio-mmio transports: 512 bytes each from here.
const MICROVM_MMIO_BASE: u64 = 0xFEB0_0000;
const MICROVM_MMIO_SLOTS: u64 = 24;
const MMIO_SLOT_SIZE: u64 = 512;
const MMIO_MAGIC: u32 = 0x7472_6976;

/// Find the first virtio-net device. `vector` is the interrupt vector it should raise on the CPU
/// with `apic_id`; for MMIO the caller routes the returned GSI, for PCI MSI-X is set up here.
/// `acpi` says whether the machine has ACPI tables (microvm numbers its lines differently then).
pub fn probe(vector: u8, apic_id: u32, acpi: bool) -> Option<NetDevice> {
    if pci_present() {
        probe_pci(vector, apic_id)
    } else {
        probe_mmio(acpi)
    }
}

fn pci_present() -> bool {
    let host = DeviceFunction {
        bus: 0,
        device: 0,
        function: 0,
    };
    PortCam.read_word(host, 0) & 0xFFFF != 0xFFFF
}

fn probe_mmio(acpi: bool) -> Option<NetDevice> {
    let len = MICROVM_MMIO_SLOTS * MMIO_SLOT_SIZE;
    crate::mm::map_device(MICROVM_MMIO_BASE, len.next_multiple_of(PAGE as u64)).ok()?;
    let second_ioapic = crate::arch::ioapic::has_gsi(24 + 23);
    for slot in 0..MICROVM_MMIO_SLOTS {
        let addr = MICROVM_MMIO_BASE + slot * MMIO_SLOT_SIZE;
        // SAFETY: the transports' registers were just mapped uncached.
        let (magic, device_id) = unsafe {
            (
                core::ptr::read_volatile(addr as *const u32),
                core::ptr::read_volatile((addr + 8) as *const u32),
            )
        };
        if magic != MMIO_MAGIC || device_id != DeviceType::Network as u32 {
            continue;
        }
        // QEMU's microvm: lines 24.. on a second I/O APIC, else 16.. with ACPI, else 5...
        let gsi = if second_ioapic {
            24 + slot as u32
        } else if acpi {
            16 + slot as u32
        } else {
            5 + slot as u32
        };
        // SAFETY: a virtio-mmio header lives at `addr`, mapped for the whole slot.
        let transport =
            unsafe { MmioTransport::new(NonNull::new(addr as *mut VirtIOHeader)?, 512) }.ok()?;
        let raw = Raw::new(SomeTransport::Mmio(transport)).ok()?;
        return NetDevice::new(raw, "virtio-mmio", Interrupt::Gsi(gsi));
    }
    None
}

const PCI_CAP_MSIX: u8 = 0x11;
const PCI_CAP_VENDOR: u8 = 0x09;
const VIRTIO_PCI_CAP_COMMON_CFG: u8 = 1;
const VIRTIO_NO_VECTOR: u16 = 0xFFFF;

fn probe_pci(vector: u8, apic_id: u32) -> Option<NetDevice> {
    let mut root = PciRoot::new(PortCam);
    for bus in 0..=255u8 {
        let functions: Vec<_> = root
            .enumerate_bus(bus)
            .filter(|(_, info)| {
                info.vendor_id == 0x1AF4 && matches!(info.device_id, 0x1000 | 0x1041)
            })
            .map(|(f, _)| f)
            .collect();
        for function in functions {
            let (_, command) = root.get_status_command(function);
            root.set_command(
                function,
                command | Command::MEMORY_SPACE | Command::IO_SPACE | Command::BUS_MASTER,
            );
            let Ok(transport) = PciTransport::new::<KernelHal, _>(&mut root, function) else {
                continue;
            };
            let Ok(raw) = Raw::new(SomeTransport::Pci(transport)) else {
                continue;
            };
            if !setup_msix(&mut root, function, vector, apic_id) {
                continue;
            }
            return NetDevice::new(raw, "virtio-pci", Interrupt::Msix);
        }
        if bus == 0 {
            // QEMU's machines put devices on bus 0 unless told otherwise (bridges are not walked).
            break;
        }
    }
    None
}

fn bar_address(root: &mut PciRoot<PortCam>, f: DeviceFunction, bar: u8) -> Option<u64> {
    match root.bar_info(f, bar).ok()?? {
        virtio_drivers::transport::pci::bus::BarInfo::Memory { address, .. } => Some(address),
        _ => None,
    }
}

/// Point MSI-X entry 0 at `vector` on `apic_id`, enable MSI-X, and have both queues (and
/// configuration changes) use entry 0.
fn setup_msix(root: &mut PciRoot<PortCam>, f: DeviceFunction, vector: u8, apic_id: u32) -> bool {
    let caps: Vec<_> = root.capabilities(f).collect();
    let Some(msix) = caps.iter().find(|c| c.id == PCI_CAP_MSIX) else {
        return false;
    };
    let table = PortCam.read_word(f, msix.offset + 4);
    let Some(table_bar) = bar_address(root, f, (table & 7) as u8) else {
        return false;
    };
    let entry = table_bar + (table & !7) as u64;
    if crate::mm::map_device(entry & !(PAGE as u64 - 1), PAGE as u64).is_err() {
        return false;
    }
    // SAFETY: MSI-X table entry 0 (16 bytes) in the BAR just mapped uncached.
    unsafe {
        let e = entry as *mut u32;
        e.write_volatile(0xFEE0_0000 | (apic_id << 12));
        e.add(1).write_volatile(0);
        e.add(2).write_volatile(vector as u32);
        e.add(3).write_volatile(0); // unmasked
    }
    let control = PortCam.read_word(f, msix.offset);
    PortCam.write_word(f, msix.offset, control | (1 << 31));
    // The common configuration structure: which queue uses which MSI-X entry.
    let Some(common) = caps.iter().find(|c| {
        c.id == PCI_CAP_VENDOR && (c.private_header >> 8) as u8 == VIRTIO_PCI_CAP_COMMON_CFG
    }) else {
        return false;
    };
    let bar = PortCam.read_word(f, common.offset + 4) as u8;
    let offset = PortCam.read_word(f, common.offset + 8) as u64;
    let Some(base) = bar_address(root, f, bar) else {
        return false;
    };
    let cfg = base + offset;
    if crate::mm::map_device(cfg & !(PAGE as u64 - 1), 2 * PAGE as u64).is_err() {
        return false;
    }
    // SAFETY: virtio_pci_common_cfg lies at `cfg`, mapped uncached: msix_config at 0x10,
    // queue_select at 0x16, queue_msix_vector at 0x1A.
    unsafe {
        let reg = |off: u64| (cfg + off) as *mut u16;
        reg(0x10).write_volatile(VIRTIO_NO_VECTOR);
        for queue in 0..2u16 {
            reg(0x16).write_volatile(queue);
            reg(0x1A).write_volatile(0);
            if reg(0x1A).read_volatile() != 0 {
                return false;
            }
        }
    }
    true
}
