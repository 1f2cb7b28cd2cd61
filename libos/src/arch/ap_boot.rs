//! Bringing up the application processors (APs), and the per-CPU set-up every CPU runs.
//!
//! `init_platform` reads the MADT, brings up the boot CPU's local APIC and masks the I/O APICs.
//! `start_aps(entry)` then starts every other enabled processor at once:
//!
//! 1. The boot CPU allocates each AP's per-CPU block, entry stack (64 KiB) and IST stacks (guard
//!    pages below each; all in one allocation), copies the trampoline to the fixed page
//!    `TRAMPOLINE_PAGE` (0x8000, below 1 MiB, reserved by the frame allocator), patches in its
//!    physical base, the kernel's CR3, the table of APIC ids and the stack tops, and makes that
//!    page executable (it is RW + NX otherwise).
//! 2. INIT then SIPI (vector 0x08) go to all CPUs but the boot CPU at once; a second SIPI follows
//!    only if some AP has not reached long mode after a while.
//! 3. Each AP: real mode → 32-bit protected mode (a GDT inside the trampoline) → long mode with the
//!    kernel's page tables (CR4.PAE, EFER.LME|NXE|SCE, CR0.PG|WP; caches on) → looks its APIC id
//!    up in the table to learn its CPU index and stack → `ap_main` in Rust: reloads CR3 (so its TLB
//!    forgets the executable trampoline page), loads its GDT/TSS and IST stacks, per-CPU block
//!    (GS), the shared IDT, syscall MSRs, SSE/XSAVE/FSGSBASE, local APIC, and calls
//!    `entry(cpu_index)`.
//!    APs never wait for each other or for the boot CPU: a waiting vCPU would spin, and spinning
//!    vCPUs starve the others of host CPUs (8 CPUs on 2 host cores: 28 ms instead of 4 ms).
//! 4. The boot CPU waits until all APs are ready, with one overall timeout, and makes the
//!    trampoline page non-executable again. (Private page tables for the trampoline would keep the
//!    kernel's tables W^X even during bring-up, but copying four tables cost 9 ms of emulated
//!    instructions under the development hosts' KVM.)
//!
//! CPU indices follow the MADT's order of enabled processors, the boot CPU being 0.

/// The physical page the trampoline is copied to (SIPI vector `TRAMPOLINE_PAGE >> 12`).
pub const TRAMPOLINE_PAGE: u64 = 0x8000;

/// Bytes of an AP's entry stack (what `entry` runs on).
pub const AP_STACK_SIZE: u64 = 64 * 1024;

/// Offsets of the trampoline's parameter block (from its `ferrite_ap_data` label). The assembly
/// uses the same constants.
pub mod data {
    /// `lgdt` operand: limit u16, base u32 (linear).
    pub const GDTR: usize = 0;
    /// Far pointer (offset u32, selector u16) to the 32-bit code.
    pub const FAR32: usize = 8;
    /// Far pointer (offset u32, selector u16) to the 64-bit code.
    pub const FAR64: usize = 16;
    /// CR3 (below 4 GiB: loaded in 32-bit mode).
    pub const CR3: usize = 24;
    /// Address of `extern "C" fn(cpu_index: usize) -> !`.
    pub const ENTRY: usize = 32;
    /// Address of `[u32; COUNT]`: the APIC id of each CPU index.
    pub const APIC_IDS: usize = 40;
    /// Address of `[u64; COUNT]`: the initial stack top of each CPU index.
    pub const STACKS: usize = 48;
    /// u32: entries in the two tables.
    pub const COUNT: usize = 56;
    /// u32: bit 0 = read the APIC id from CPUID leaf 0xB (x2APIC ids), else leaf 1.
    pub const FLAGS: usize = 60;
    /// Address of a u32 counting the APs that reached long mode (kept outside the trampoline
    /// page: under TCG a store into a page holding translated code discards that code).
    pub const ARRIVED: usize = 64;
    pub const SIZE: usize = 72;
}

/// GDT selectors inside the trampoline.
const TRAMPOLINE_CODE32: u16 = 0x08;
const TRAMPOLINE_CODE64: u16 = 0x18;
/// Four descriptors: null, 32-bit code, data, 64-bit code.
const TRAMPOLINE_GDT_LIMIT: u16 = 4 * 8 - 1;

/// Where things are in the trampoline image (offsets from its first byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrampolineLayout {
    pub len: usize,
    pub data: usize,
    pub gdt: usize,
    pub protected_entry: usize,
    pub long_entry: usize,
}

/// What the boot CPU tells the APs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrampolineParams {
    pub cr3: u64,
    pub entry: u64,
    pub apic_ids: u64,
    pub stacks: u64,
    pub count: u32,
    pub x2apic_ids: bool,
    pub arrived: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchError {
    /// The page must be 4 KiB aligned and below 1 MiB (a SIPI vector is 8 bits of page number).
    BadBase,
    /// The trampoline does not fit the page, or its parameter block lies outside it.
    BadLayout,
    /// The page tables must be below 4 GiB (CR3 is loaded in 32-bit mode).
    Cr3Above4G,
}

/// Fill in the trampoline copied to `page` (the bytes at physical `base`): absolute addresses
/// (GDT pointer, far jumps) and the parameters. Pure, so it is tested on the host.
pub fn patch_trampoline(
    page: &mut [u8],
    layout: &TrampolineLayout,
    base: u64,
    p: &TrampolineParams,
) -> Result<(), PatchError> {
    if !base.is_multiple_of(4096) || base >= 0x10_0000 || base == 0 {
        return Err(PatchError::BadBase);
    }
    if layout.len > page.len()
        || layout.data + data::SIZE > layout.len
        || layout.gdt + TRAMPOLINE_GDT_LIMIT as usize + 1 > layout.len
        || layout.protected_entry >= layout.len
        || layout.long_entry >= layout.len
    {
        return Err(PatchError::BadLayout);
    }
    if p.cr3 >= 1 << 32 {
        return Err(PatchError::Cr3Above4G);
    }
    let d = &mut page[layout.data..layout.data + data::SIZE];
    let mut put =
        |offset: usize, bytes: &[u8]| d[offset..offset + bytes.len()].copy_from_slice(bytes);
    let base = base as u32;
    put(data::GDTR, &TRAMPOLINE_GDT_LIMIT.to_le_bytes());
    put(data::GDTR + 2, &(base + layout.gdt as u32).to_le_bytes());
    put(
        data::FAR32,
        &(base + layout.protected_entry as u32).to_le_bytes(),
    );
    put(data::FAR32 + 4, &TRAMPOLINE_CODE32.to_le_bytes());
    put(
        data::FAR64,
        &(base + layout.long_entry as u32).to_le_bytes(),
    );
    put(data::FAR64 + 4, &TRAMPOLINE_CODE64.to_le_bytes());
    put(data::CR3, &p.cr3.to_le_bytes());
    put(data::ENTRY, &p.entry.to_le_bytes());
    put(data::APIC_IDS, &p.apic_ids.to_le_bytes());
    put(data::STACKS, &p.stacks.to_le_bytes());
    put(data::COUNT, &p.count.to_le_bytes());
    put(data::FLAGS, &(p.x2apic_ids as u32).to_le_bytes());
    put(data::ARRIVED, &p.arrived.to_le_bytes());
    Ok(())
}

#[cfg(target_os = "none")]
pub use hw::*;

#[cfg(target_os = "none")]
mod hw {
    use alloc::vec::Vec;
    use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

    use super::{TRAMPOLINE_PAGE, TrampolineLayout, TrampolineParams, data, patch_trampoline};
    use crate::acpi::Platform;
    use crate::arch::{apic, cpu, gdt, idt, ioapic, percpu, syscall_entry};
    use crate::mm::paging::{NO_EXECUTE, WRITABLE};

    core::arch::global_asm!(
        r#"
    .section .rodata.ferrite_ap_trampoline, "a"
    .balign 16
    .global ferrite_ap_trampoline
ferrite_ap_trampoline:
    .code16
    cli
    cld
    mov %cs, %ax
    mov %ax, %ds
    movzwl %ax, %ebx
    shl $4, %ebx
    lgdtl ferrite_ap_data - ferrite_ap_trampoline + {gdtr}
    mov %cr0, %eax
    or $1, %eax
    mov %eax, %cr0
    ljmpl *(ferrite_ap_data - ferrite_ap_trampoline + {far32})

    .code32
    .global ferrite_ap_protected
ferrite_ap_protected:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov %cr4, %eax
    or $0x20, %eax
    mov %eax, %cr4
    mov ferrite_ap_data - ferrite_ap_trampoline + {cr3}(%ebx), %eax
    mov %eax, %cr3
    mov $0xC0000080, %ecx
    rdmsr
    or $0x901, %eax
    wrmsr
    /* PG | WP | ET | PE, and CD/NW clear: caches on (INIT leaves them off). */
    mov $0x80010011, %eax
    mov %eax, %cr0
    ljmpl *(ferrite_ap_data - ferrite_ap_trampoline + {far64})(%ebx)

    .code64
    .global ferrite_ap_long
ferrite_ap_long:
    mov $0x10, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov %ebx, %r15d
    mov ferrite_ap_data - ferrite_ap_trampoline + {arrived}(%r15), %rax
    lock incl (%rax)
    testl $1, ferrite_ap_data - ferrite_ap_trampoline + {flags}(%r15)
    jz 1f
    mov $0xB, %eax
    xor %ecx, %ecx
    cpuid
    mov %edx, %edi
    jmp 2f
1:  mov $1, %eax
    cpuid
    shr $24, %ebx
    mov %ebx, %edi
2:  mov ferrite_ap_data - ferrite_ap_trampoline + {apic_ids}(%r15), %rsi
    mov ferrite_ap_data - ferrite_ap_trampoline + {count}(%r15), %ecx
    xor %eax, %eax
3:  cmp %ecx, %eax
    jae 5f
    cmp (%rsi,%rax,4), %edi
    je 4f
    inc %eax
    jmp 3b
4:  mov ferrite_ap_data - ferrite_ap_trampoline + {stacks}(%r15), %rsi
    mov (%rsi,%rax,8), %rsp
    mov %eax, %edi
    xor %ebp, %ebp
    call *ferrite_ap_data - ferrite_ap_trampoline + {entry}(%r15)
    /* Not in the table (or the entry returned): park. */
5:  cli
    hlt
    jmp 5b

    .balign 8
    .global ferrite_ap_gdt
ferrite_ap_gdt:
    .quad 0
    .quad 0x00cf9a000000ffff
    .quad 0x00cf92000000ffff
    .quad 0x00af9a000000ffff
    .global ferrite_ap_data
ferrite_ap_data:
    .skip {data_size}
    .global ferrite_ap_trampoline_end
ferrite_ap_trampoline_end:
    .code64
    .text
"#,
        gdtr = const data::GDTR,
        far32 = const data::FAR32,
        far64 = const data::FAR64,
        cr3 = const data::CR3,
        entry = const data::ENTRY,
        apic_ids = const data::APIC_IDS,
        stacks = const data::STACKS,
        count = const data::COUNT,
        flags = const data::FLAGS,
        arrived = const data::ARRIVED,
        data_size = const data::SIZE,
        options(att_syntax)
    );

    unsafe extern "C" {
        static ferrite_ap_trampoline: u8;
        static ferrite_ap_protected: u8;
        static ferrite_ap_long: u8;
        static ferrite_ap_gdt: u8;
        static ferrite_ap_data: u8;
        static ferrite_ap_trampoline_end: u8;
    }

    fn trampoline_image() -> (&'static [u8], TrampolineLayout) {
        let start = &raw const ferrite_ap_trampoline as usize;
        let offset = |p: *const u8| p as usize - start;
        let layout = TrampolineLayout {
            len: offset(&raw const ferrite_ap_trampoline_end),
            data: offset(&raw const ferrite_ap_data),
            gdt: offset(&raw const ferrite_ap_gdt),
            protected_entry: offset(&raw const ferrite_ap_protected),
            long_entry: offset(&raw const ferrite_ap_long),
        };
        // SAFETY: the trampoline is a read-only block of the image between the two labels.
        let bytes = unsafe { core::slice::from_raw_parts(start as *const u8, layout.len) };
        (bytes, layout)
    }

    static PLATFORM: spin::Once<Platform> = spin::Once::new();

    /// Read the MADT (or assume a lone CPU without ACPI), bring up the boot CPU's local APIC
    /// (needs the TSC calibrated) and map and mask the I/O APICs. Call once, on the boot CPU.
    pub fn init_platform(rsdp: Option<u64>) -> &'static Platform {
        PLATFORM.call_once(|| {
            // SAFETY: the boot loader's RSDP address, in memory nothing has reused yet.
            let found = rsdp.and_then(|a| unsafe { crate::acpi::read_madt(a) }.ok());
            let mut platform = found.unwrap_or_else(|| Platform::fallback(0));
            let boot_id = match apic::init_boot_cpu(platform.local_apic_address) {
                Ok(id) => id,
                Err(_) => panic!("cannot map the local APIC"),
            };
            if platform.source == "none" {
                platform.processors[0].apic_id = boot_id;
            }
            if ioapic::init(&platform).is_err() {
                panic!("cannot map the I/O APIC");
            }
            platform
        })
    }

    /// The platform `init_platform` found.
    pub fn platform() -> Option<&'static Platform> {
        PLATFORM.get()
    }

    /// Allocate the IST stacks of one CPU (guard page below each); their tops, in slot order.
    pub fn interrupt_stacks() -> Option<[u64; gdt::IST_SLOTS]> {
        let tops = crate::mm::alloc_kernel_stacks(&[gdt::IST_STACK_SIZE as u64; gdt::IST_SLOTS])?;
        tops.try_into().ok()
    }

    /// The calling CPU's descriptor tables and kernel registers: its GDT and TSS (with `ist_tops`),
    /// its per-CPU block as GS (CPU `index`; 0 = the boot CPU), the shared IDT (built by the boot
    /// CPU with `idt::build` first) and the `syscall` MSRs.
    pub fn init_this_cpu(
        index: usize,
        tables: &'static mut gdt::CpuTables,
        ist_tops: [u64; gdt::IST_SLOTS],
    ) {
        // Nothing here may allocate before percpu is set up (the kernel heap's per-CPU caches
        // need it): the tables come allocated.
        gdt::init_cpu(tables, ist_tops);
        if index == 0 {
            percpu::init_boot_cpu();
        } else if percpu::init_cpu(index).is_none() {
            cpu::halt_forever();
        }
        idt::load();
        syscall_entry::init_cpu();
    }

    /// What the APs read while starting.
    struct Bringup {
        entry: fn(usize) -> !,
        kernel_cr3: u64,
        apic_ids: Vec<u32>,
        stacks: Vec<u64>,
        ist: Vec<[u64; crate::arch::gdt::IST_SLOTS]>,
        /// Each AP's GDT and TSS, taken by that AP.
        tables: Vec<spin::Mutex<Option<&'static mut crate::arch::gdt::CpuTables>>>,
    }

    static BRINGUP: spin::Once<Bringup> = spin::Once::new();
    /// APs that finished their set-up.
    static READY: AtomicUsize = AtomicUsize::new(0);
    /// APs that reached long mode in the trampoline.
    static ARRIVED: AtomicU32 = AtomicU32::new(0);
    /// APs past their wake-up IPI to the boot CPU (sent after counting themselves ready, only
    /// while the boot CPU waits: a late AP after a timeout must not leave 0xFF in service there).
    static WOKE: AtomicUsize = AtomicUsize::new(0);
    static BOOT_CPU_WAITING: AtomicBool = AtomicBool::new(false);

    /// How the bring-up went.
    #[derive(Clone, Copy, Debug)]
    pub struct Started {
        /// CPUs running, the boot CPU included.
        pub cpus: usize,
        /// Enabled processors the MADT lists (what should be running).
        pub expected: usize,
        /// TSC ticks from the start of `start_aps` until every AP was ready (or the timeout).
        pub ticks: u64,
        /// Start-up IPIs sent (1 unless some AP missed the first).
        pub sipis: u32,
    }

    #[derive(Clone, Copy, Debug)]
    pub enum StartError {
        NotInitialised,
        AlreadyStarted,
        OutOfMemory,
        /// The trampoline page is not mapped in the kernel's tables.
        TrampolineNotMapped,
        Trampoline(super::PatchError),
    }

    /// Overall bring-up timeout: only spent when some AP does not start.
    const TIMEOUT_MS: u64 = 1000;
    /// While some AP has not reached long mode, the start-up IPI is repeated this often (a SIPI
    /// reaches only CPUs waiting for one, so a repeat is harmless).
    const SIPI_REPEAT_US: u64 = 2000;
    /// Between INIT and SIPI: QEMU's TCG drops a SIPI that lands while the AP still processes the
    /// INIT (`do_cpu_init` rewrites the pending-interrupt word); the repeat above catches the rest.
    const INIT_WAIT_US: u64 = 200;

    /// Start every enabled processor but this one; each calls `entry(cpu_index)` as soon as it is
    /// set up (possibly before this returns). Returns once every AP is ready, or after one
    /// overall timeout.
    pub fn start_aps(entry: fn(usize) -> !) -> Result<Started, StartError> {
        let start_tsc = cpu::rdtsc();
        let platform = PLATFORM.get().ok_or(StartError::NotInitialised)?;
        if BRINGUP.get().is_some() {
            return Err(StartError::AlreadyStarted);
        }
        let boot_id = apic::id();
        let mut apic_ids = alloc::vec![boot_id];
        apic_ids.extend(
            platform
                .enabled_processors()
                .map(|p| p.apic_id)
                .filter(|&id| id != boot_id)
                .take(percpu::MAX_CPUS - 1),
        );
        let aps = apic_ids.len() - 1;
        if aps == 0 {
            return Ok(Started {
                cpus: 1,
                expected: 1,
                ticks: cpu::rdtsc() - start_tsc,
                sipis: 0,
            });
        }
        // Every AP's stacks at once: its entry stack, then its IST stacks.
        const PER_AP: usize = 1 + gdt::IST_SLOTS;
        let mut sizes = Vec::with_capacity(aps * PER_AP);
        for _ in 0..aps {
            sizes.push(super::AP_STACK_SIZE);
            sizes.extend([gdt::IST_STACK_SIZE as u64; gdt::IST_SLOTS]);
        }
        let tops = crate::mm::alloc_kernel_stacks(&sizes).ok_or(StartError::OutOfMemory)?;
        let mut stacks = alloc::vec![0u64];
        let mut ist = alloc::vec![[0u64; gdt::IST_SLOTS]];
        if !percpu::allocate(1, &apic_ids[1..]) {
            return Err(StartError::OutOfMemory);
        }
        for chunk in tops.chunks_exact(PER_AP) {
            stacks.push(chunk[0]);
            let mut slots = [0u64; gdt::IST_SLOTS];
            slots.copy_from_slice(&chunk[1..]);
            ist.push(slots);
        }
        let ms = crate::time::tsc_hz().max(1000) / 1000;
        let kernel_cr3 = cpu::read_cr3();
        let tables = (0..=aps)
            .map(|i| spin::Mutex::new((i != 0).then(gdt::alloc_tables)))
            .collect();
        let bringup = BRINGUP.call_once(|| Bringup {
            entry,
            kernel_cr3,
            apic_ids,
            stacks,
            ist,
            tables,
        });

        let (image, layout) = trampoline_image();
        // SAFETY: the trampoline page is reserved low RAM (the frame allocator never hands out
        // frames below 1 MiB), identity-mapped and used by nothing else.
        let page = unsafe { core::slice::from_raw_parts_mut(TRAMPOLINE_PAGE as *mut u8, 4096) };
        page[..image.len()].copy_from_slice(image);
        patch_trampoline(
            page,
            &layout,
            TRAMPOLINE_PAGE,
            &TrampolineParams {
                cr3: kernel_cr3,
                entry: ap_main as *const () as u64,
                apic_ids: bringup.apic_ids.as_ptr() as u64,
                stacks: bringup.stacks.as_ptr() as u64,
                count: bringup.apic_ids.len() as u32,
                x2apic_ids: apic::is_x2apic(),
                arrived: &raw const ARRIVED as u64,
            },
        )
        .map_err(StartError::Trampoline)?;
        crate::mm::protect(TRAMPOLINE_PAGE, 4096, WRITABLE, true, false)
            .map_err(|_| StartError::TrampolineNotMapped)?;

        let interrupts_were_on = cpu::interrupts_enabled();
        cpu::disable_interrupts();
        BOOT_CPU_WAITING.store(true, Ordering::SeqCst);
        apic::send_init_all_but_self();
        nap(cpu::rdtsc() + INIT_WAIT_US * ms / 1000);
        apic::send_startup_all_but_self((TRAMPOLINE_PAGE >> 12) as u8);
        let mut sipi_tsc = cpu::rdtsc();
        let first_sipi_tsc = sipi_tsc;
        let mut sipis = 1;
        // One overall timeout for all APs.
        loop {
            if READY.load(Ordering::Acquire) >= aps {
                break;
            }
            let now = cpu::rdtsc();
            if now - first_sipi_tsc > TIMEOUT_MS * ms {
                break;
            }
            if now - sipi_tsc > SIPI_REPEAT_US * ms / 1000
                && (ARRIVED.load(Ordering::Acquire) as usize) < aps
            {
                apic::send_startup_all_but_self((TRAMPOLINE_PAGE >> 12) as u8);
                sipi_tsc = now;
                sipis += 1;
            }
            nap(now + NAP_US * ms / 1000);
        }
        BOOT_CPU_WAITING.store(false, Ordering::SeqCst);
        end_naps(ms);
        if interrupts_were_on {
            cpu::enable_interrupts();
        }
        let ready = READY.load(Ordering::Acquire);
        if ready == aps {
            // Every AP has left the trampoline and reloaded CR3. (After a timeout a late AP might
            // still come: then the page stays executable rather than fault under it.)
            let _ = crate::mm::protect(TRAMPOLINE_PAGE, 4096, WRITABLE | NO_EXECUTE, true, false);
        }
        Ok(Started {
            cpus: 1 + ready,
            expected: 1 + aps,
            ticks: cpu::rdtsc() - start_tsc,
            sipis,
        })
    }

    /// The boot CPU sleeps while the APs start (a spinning vCPU takes a host CPU from the APs: the
    /// development hosts have two); each AP wakes it with an IPI once ready. The APIC timer is
    /// only a backstop (under TCG a timer asked for 50 us away may come 10 ms late).
    const NAP_US: u64 = 200;

    /// Sleep until `deadline_tsc` or an interrupt, with the local APIC timer on the spurious
    /// vector 0xFF, which the APs' wake-up IPIs use too. The interrupt dispatcher ignores that
    /// vector (it sends no EOI, as for a real spurious interrupt), so the EOI is sent here.
    fn nap(deadline_tsc: u64) {
        apic::timer_arm(deadline_tsc, apic::SPURIOUS_VECTOR);
        // SAFETY: `sti; hlt` is atomic (sti's interrupt shadow covers hlt), so the wake-up cannot
        // be missed; every vector has a handler on an IST stack.
        unsafe { core::arch::asm!("sti; hlt; cli", options(nomem, nostack)) }
        apic::eoi();
    }

    /// After the last nap: no timer left armed, and every wake-up interrupt that is still
    /// pending is taken and acknowledged now, so none reaches the dispatcher un-acknowledged later
    /// (an in-service 0xFF would block every interrupt on this CPU).
    fn end_naps(ms: u64) {
        apic::timer_cancel();
        // Every ready AP sends its IPI right after counting itself ready: wait for those sends.
        let deadline = cpu::rdtsc() + ms;
        while WOKE.load(Ordering::SeqCst) < READY.load(Ordering::SeqCst) && cpu::rdtsc() < deadline
        {
            core::hint::spin_loop();
        }
        for _ in 0..4 {
            // SAFETY: a one-instruction window for a pending interrupt, as in `nap`.
            unsafe { core::arch::asm!("sti; nop; cli", options(nomem, nostack)) }
            apic::eoi();
            if !apic::is_pending(apic::SPURIOUS_VECTOR) {
                break;
            }
        }
    }

    /// Where each AP enters Rust, on its own stack, from the trampoline.
    extern "C" fn ap_main(index: usize) -> ! {
        let Some(b) = BRINGUP.get() else {
            cpu::halt_forever()
        };
        // SAFETY: reloading the same page tables: this CPU's TLB forgets the trampoline page,
        // which becomes non-executable once every AP is up.
        unsafe { cpu::write_cr3(b.kernel_cr3) };
        let Some(tables) = b.tables.get(index).and_then(|t| t.lock().take()) else {
            cpu::halt_forever()
        };
        init_this_cpu(index, tables, b.ist[index]);
        cpu::enable_user_features(cpu::detect_features(), cpu::ring0_emulated());
        apic::init_cpu();
        READY.fetch_add(1, Ordering::SeqCst);
        if BOOT_CPU_WAITING.load(Ordering::SeqCst) {
            apic::send_ipi(b.apic_ids[0], apic::SPURIOUS_VECTOR);
        }
        WOKE.fetch_add(1, Ordering::SeqCst);
        (b.entry)(index)
    }

    /// CPUs running kernel code, the boot CPU included (grows while `start_aps` runs).
    pub fn cpu_count() -> usize {
        1 + READY.load(Ordering::Acquire)
    }

    /// The calling CPU's index (0 = the boot CPU).
    #[inline]
    pub fn this_cpu_index() -> usize {
        percpu::this_cpu_index()
    }

    /// An entry for APs with nothing to do yet: wait for interrupts for ever.
    pub fn park(_cpu_index: usize) -> ! {
        loop {
            // SAFETY: sti; hlt waits for the next interrupt (IPI or timer) with the IDT loaded.
            unsafe { core::arch::asm!("sti; hlt", options(nomem, nostack)) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> TrampolineLayout {
        TrampolineLayout {
            len: 0x100,
            data: 0xB0,
            gdt: 0x90,
            protected_entry: 0x20,
            long_entry: 0x50,
        }
    }

    fn params() -> TrampolineParams {
        TrampolineParams {
            cr3: 0x20_3000,
            entry: 0xFFFF_8000_0010_2030,
            apic_ids: 0x40_0000,
            stacks: 0x40_1000,
            count: 4,
            x2apic_ids: true,
            arrived: 0x40_2000,
        }
    }

    fn u32_at(b: &[u8], o: usize) -> u32 {
        u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
    }
    fn u16_at(b: &[u8], o: usize) -> u16 {
        u16::from_le_bytes(b[o..o + 2].try_into().unwrap())
    }
    fn u64_at(b: &[u8], o: usize) -> u64 {
        u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
    }

    #[test]
    fn patches_addresses_and_parameters() {
        let mut page = [0xAAu8; 4096];
        let l = layout();
        patch_trampoline(&mut page, &l, 0x8000, &params()).unwrap();
        let d = &page[l.data..];
        assert_eq!(u16_at(d, data::GDTR), 31);
        assert_eq!(u32_at(d, data::GDTR + 2), 0x8090);
        assert_eq!(u32_at(d, data::FAR32), 0x8020);
        assert_eq!(u16_at(d, data::FAR32 + 4), 0x08);
        assert_eq!(u32_at(d, data::FAR64), 0x8050);
        assert_eq!(u16_at(d, data::FAR64 + 4), 0x18);
        assert_eq!(u64_at(d, data::CR3), 0x20_3000);
        assert_eq!(u64_at(d, data::ENTRY), 0xFFFF_8000_0010_2030);
        assert_eq!(u64_at(d, data::APIC_IDS), 0x40_0000);
        assert_eq!(u64_at(d, data::STACKS), 0x40_1000);
        assert_eq!(u32_at(d, data::COUNT), 4);
        assert_eq!(u32_at(d, data::FLAGS), 1);
        assert_eq!(u64_at(d, data::ARRIVED), 0x40_2000);
        // Nothing outside the parameter block changes.
        assert!(page[..l.data].iter().all(|&b| b == 0xAA));
        assert!(page[l.data + data::SIZE..].iter().all(|&b| b == 0xAA));
    }

    #[test]
    fn refuses_what_cannot_work() {
        let mut page = [0u8; 4096];
        let l = layout();
        let p = params();
        assert_eq!(
            patch_trampoline(&mut page, &l, 0x8800, &p),
            Err(PatchError::BadBase)
        );
        assert_eq!(
            patch_trampoline(&mut page, &l, 0x10_0000, &p),
            Err(PatchError::BadBase)
        );
        let high = TrampolineParams { cr3: 1 << 32, ..p };
        assert_eq!(
            patch_trampoline(&mut page, &l, 0x8000, &high),
            Err(PatchError::Cr3Above4G)
        );
        let big = TrampolineLayout { len: 5000, ..l };
        assert_eq!(
            patch_trampoline(&mut page, &big, 0x8000, &p),
            Err(PatchError::BadLayout)
        );
        let data_outside = TrampolineLayout { data: 0xF0, ..l };
        assert_eq!(
            patch_trampoline(&mut page, &data_outside, 0x8000, &p),
            Err(PatchError::BadLayout)
        );
    }
}
