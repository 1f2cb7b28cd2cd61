//! The boot sequence on the boot CPU, from the first Rust instruction to musl's `_start`.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use ferrite_libos::arch::{
    ap_boot, apic, boot, context, cpu, fpu, idt, percpu, port, syscall_entry,
};
use ferrite_libos::bootinfo::{self, BootInfo};
use ferrite_libos::console::{self, Mode};
use ferrite_libos::{cmdline, kprintln, mm, random, serial, time};

use crate::abi;
use crate::start::{self, AuxInfo};
use crate::syscalls::memory;

unsafe extern "C" {
    fn _start();
    static __ferrite_config_start: u8;
    static __ferrite_config_end: u8;
    static __ferrite_rootfs_start: u8;
    static __ferrite_rootfs_end: u8;
}

/// TSC at the hand-off to `_start` (for the boot log).
static HANDOFF_TSC: AtomicU64 = AtomicU64::new(0);
/// Address of the service's `main`, watched by a debug breakpoint when the boot log is on.
static MAIN_ADDRESS: AtomicU64 = AtomicU64::new(0);

/// Bytes at the top of the main stack given frames before the service starts (the initial
/// process stack lives there; the rest of the 8 MiB gets frames as the stack grows).
const MAIN_STACK_PREFAULT: u64 = 64 * 1024;

/// Longest command line read from the boot loader (it ends at its NUL, in low RAM).
const MAX_COMMAND_LINE: usize = 256 * 1024;

fn read_boot_info(protocol: u32, info: u32) -> BootInfo {
    let phys = |addr: u64, len: usize| -> &'static [u8] {
        // SAFETY: boot-loader structures lie in low RAM, identity-mapped by the boot page tables,
        // and nothing writes them before they are copied out here.
        unsafe { core::slice::from_raw_parts(addr as *const u8, len) }
    };
    match protocol {
        boot::PROTOCOL_PVH => {
            let start =
                bootinfo::parse_pvh_start_info(phys(info as u64, bootinfo::PVH_START_INFO_SIZE))
                    .unwrap_or_else(|e| early_fail(e));
            let memory = bootinfo::parse_pvh_memmap(phys(
                start.memmap_paddr,
                start.memmap_entries as usize * bootinfo::PVH_MEMMAP_ENTRY_SIZE,
            ));
            let cmdline = if start.cmdline_paddr != 0 {
                bootinfo::c_string(phys(start.cmdline_paddr, MAX_COMMAND_LINE))
            } else {
                String::new()
            };
            BootInfo {
                protocol: "pvh",
                memory,
                cmdline,
                rsdp: (start.rsdp_paddr != 0).then_some(start.rsdp_paddr),
            }
        }
        boot::PROTOCOL_MULTIBOOT2 => {
            let total = u32::from_le_bytes(phys(info as u64, 4).try_into().unwrap_or([0; 4]));
            bootinfo::parse_multiboot2(phys(info as u64, total as usize))
        }
        _ => early_fail("unknown boot protocol"),
    }
}

fn early_fail(reason: &str) -> ! {
    kprintln!("boot failed: {reason}");
    crate::shutdown(ferrite_libos::exit::Outcome::Panic)
}

/// The root file system archive (cpio) the link step put into the image; empty without one.
pub(crate) fn image_rootfs() -> &'static [u8] {
    let start = &raw const __ferrite_rootfs_start;
    let end = &raw const __ferrite_rootfs_end;
    // SAFETY: the linker script delimits the read-only root file system section with these
    // symbols; its pages stay mapped until fs::rootfs gives them back, after its last read.
    unsafe { core::slice::from_raw_parts(start, end as usize - start as usize) }
}

/// The image configuration added by the link step (`key=value` lines).
fn image_config(key: &str) -> Option<&'static str> {
    let start = &raw const __ferrite_config_start;
    let end = &raw const __ferrite_config_end;
    // SAFETY: the linker script delimits the read-only configuration section with these symbols.
    let bytes = unsafe { core::slice::from_raw_parts(start, end as usize - start as usize) };
    let text = core::str::from_utf8(bytes).ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
}

fn wait_for_interrupt() {
    // SAFETY: `sti; hlt` halts with interrupts on (sti's shadow covers hlt, so no interrupt slips
    // in between); interrupts are off again afterwards, as the scheduler expects. The local APIC
    // timer, armed for the next timer, ends the halt.
    unsafe { core::arch::asm!("sti", "hlt", "cli", options(nomem, nostack)) };
}

fn save_user_state(t: &ferrite_smp::thread::Thread) {
    t.set_fs_base(cpu::fs_base());
    fpu::save(t.fpu_area().as_ptr());
}

fn load_user_state(t: &ferrite_smp::thread::Thread) {
    fpu::restore(t.fpu_area().as_ptr());
    cpu::set_fs_base(t.fs_base());
}

/// Hand the boot CPU to the scheduler: the main thread (tid 1) runs, the idle thread waits.
fn start_scheduler(cpus: usize) {
    use ferrite_smp::{sched, thread};
    sched::set_platform(sched::Platform {
        this_cpu: percpu::this_cpu_index,
        kick: |cpu| {
            apic::send_ipi_to_cpu(cpu, crate::faults::RESCHEDULE_VECTOR);
        },
        set_kernel_stack: percpu::set_kernel_stack,
        arm_timer: |tsc| {
            if tsc == 0 {
                apic::timer_cancel();
            } else {
                apic::timer_arm(tsc, crate::faults::TIMER_VECTOR);
            }
        },
        now_tsc: cpu::rdtsc,
        tsc_to_ns: |ticks| time::scale().ticks_to_ns(ticks),
        ns_to_tsc: |ns| time::scale().ns_to_ticks(ns),
        save_user_state,
        load_user_state,
        switch_stacks: context::switch_stacks,
        wait_for_interrupt,
    });
    let main = thread::create(thread::MAIN_TID, false)
        .unwrap_or_else(|| early_fail("no memory for the main thread"));
    let idle =
        thread::create(0, true).unwrap_or_else(|| early_fail("no memory for the idle thread"));
    // SAFETY: the idle thread's kernel stack is new and unused.
    idle.set_saved_rsp(unsafe {
        context::new_kernel_thread_stack(idle.kernel_stack.top, sched::idle_loop, 0)
    });
    thread::register(main.clone());
    sched::set_cpu_count(cpus);
    sched::init_cpu(main, idle);
    SCHEDULER_READY.store(true, Ordering::Release);
    route_console_interrupt();
}

/// Loopback and, when QEMU gives a virtio-net device, Ethernet (see net/stack.rs).
fn start_network(line: &cmdline::CommandLine, acpi: bool) {
    use ferrite_libos::arch::ioapic;
    let config =
        crate::net::stack::parse_config(line.option("ip"), line.option("gw"), line.option("dns"));
    let vector = crate::faults::NET_VECTOR;
    if let Some(gsi) =
        crate::net::stack::init(config, vector, apic::id(), acpi, line.flag("bootlog"))
    {
        let routed = ioapic::route(
            gsi,
            vector,
            apic::id(),
            ferrite_libos::acpi::Trigger::Level,
            ferrite_libos::acpi::Polarity::ActiveHigh,
        );
        if routed.is_err() || ioapic::unmask(gsi).is_err() {
            kprintln!("net: no route for the device's interrupt (GSI {gsi})");
        }
    }
    crate::net::stack::wait_for_address();
}

/// Route the UART's IRQ 4 to the boot CPU so console readers sleep instead of polling.
fn route_console_interrupt() {
    use ferrite_libos::arch::ioapic;
    let Ok(gsi) = ioapic::route_isa_irq(4, crate::faults::CONSOLE_VECTOR, apic::id()) else {
        return;
    };
    if ioapic::unmask(gsi).is_ok() {
        serial::enable_receive_interrupt();
        crate::fs::console::interrupt_ready();
    }
}

/// Set once the scheduler can take the application processors.
static SCHEDULER_READY: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Where each application processor goes once it is up: wait for the scheduler, then become
/// that CPU's idle thread (its start-up stack is the idle thread's stack from now on).
fn ap_scheduler_main(_cpu_index: usize) -> ! {
    use ferrite_smp::{sched, thread};
    while !SCHEDULER_READY.load(Ordering::Acquire) {
        // Interrupts are off here: answer TLB shootdowns (the boot CPU re-protects the start-up
        // trampoline page once every CPU is up) from this loop.
        mm::tlb::service_requests();
        core::hint::spin_loop();
    }
    let Some(idle) = thread::create(0, true) else {
        cpu::halt_forever()
    };
    sched::init_cpu(idle.clone(), idle);
    sched::idle_loop(0)
}

/// Remap the legacy PICs above the exception vectors and mask them (firmware on `pc`/`q35` leaves
/// them delivering the PIT's IRQ 0 on vector 8). Skipped when there is no PIC (microvm pic=off).
fn quiet_legacy_pic() {
    if port::inb(0x21) == 0xFF {
        return;
    }
    for (port_number, value) in [
        (0x20, 0x11),
        (0xA0, 0x11),
        (0x21, 0x20),
        (0xA1, 0x28),
        (0x21, 4),
        (0xA1, 2),
        (0x21, 1),
        (0xA1, 1),
        (0x21, 0xFF),
        (0xA1, 0xFF),
    ] {
        port::outb(port_number, value);
    }
}

fn elf_program_headers() -> (u64, u64, u64) {
    let image = mm::image_layout().start;
    // SAFETY: the linker script loads the ELF header at the image start (FILEHDR in the text segment).
    let header = unsafe { &*(image as *const abi::Elf64_Ehdr) };
    (
        image + header.e_phoff,
        header.e_phentsize as u64,
        header.e_phnum as u64,
    )
}

fn micros(ticks: u64) -> u64 {
    time::scale().ticks_to_ns(ticks) / 1000
}

/// The first byte of `main`, replaced by a breakpoint while the boot log waits for `main`.
static MAIN_FIRST_BYTE: AtomicU64 = AtomicU64::new(0);

/// Write `byte` into the (read-only) text at `addr`.
fn patch_text(addr: u64, byte: u8) {
    // SAFETY: CR0.WP is cleared only around one byte write to the image's own text, with
    // interrupts off, on the only running CPU; the byte replaces or restores an instruction byte.
    unsafe {
        core::arch::asm!(
            "pushfq", "cli",
            "mov {tmp}, cr0", "btr {tmp}, 16", "mov cr0, {tmp}",
            "mov byte ptr [{addr}], {byte}",
            "bts {tmp}, 16", "mov cr0, {tmp}",
            "popfq",
            addr = in(reg) addr, byte = in(reg_byte) byte, tmp = out(reg) _,
        )
    }
}

/// Put a breakpoint on the first instruction of `main`, so the boot log can give the time from
/// the first boot instruction to `main` exactly (debug registers would be neater, but the
/// instruction emulator of the development hosts' KVM ignores them).
fn watch_main() {
    let Some(symbols) = ferrite_libos::symbols::image_symbols() else {
        return;
    };
    let Some(main) = symbols.find("main") else {
        return;
    };
    // SAFETY: `main` is in the image's text, mapped readable.
    let original = unsafe { core::ptr::read_volatile(main as *const u8) };
    MAIN_FIRST_BYTE.store(original as u64, Ordering::Relaxed);
    MAIN_ADDRESS.store(main, Ordering::Relaxed);
    patch_text(main, 0xCC);
}

/// The #BP handler's part: if this is the breakpoint on `main`, restore the instruction, point
/// `rip` back at it, log the boot time and return true.
pub fn main_reached(rip: &mut u64) -> bool {
    let main = MAIN_ADDRESS.load(Ordering::Relaxed);
    if main == 0 || *rip != main + 1 {
        return false;
    }
    let now = cpu::rdtsc();
    MAIN_ADDRESS.store(0, Ordering::Relaxed);
    patch_text(main, MAIN_FIRST_BYTE.load(Ordering::Relaxed) as u8);
    *rip = main;
    let entry = boot::boot_tsc();
    kprintln!(
        "boot: {} us from the first instruction to main ({} us in the kernel, {} us in libc start-up)",
        micros(now - entry),
        micros(HANDOFF_TSC.load(Ordering::Relaxed) - entry),
        micros(now - HANDOFF_TSC.load(Ordering::Relaxed))
    );
    true
}

/// TSC marks of the boot phases, printed with the boot log.
#[derive(Default)]
struct Phases {
    marks: [(&'static str, u64); 8],
    count: usize,
}

impl Phases {
    fn mark(&mut self, name: &'static str) {
        if self.count < self.marks.len() {
            self.marks[self.count] = (name, cpu::rdtsc());
            self.count += 1;
        }
    }

    fn print(&self) {
        let mut previous = boot::boot_tsc();
        for &(name, tsc) in &self.marks[..self.count] {
            kprintln!("boot: {name:<10} {:>7} us", micros(tsc - previous));
            previous = tsc;
        }
    }
}

#[unsafe(no_mangle)]
extern "C" fn ferrite_kernel_main(protocol: u32, info: u32) -> ! {
    let mut phases = Phases::default();
    serial::init();
    let boot_info = read_boot_info(protocol, info);
    phases.mark("boot info");
    let features = cpu::detect_features();
    mm::init(
        &boot_info.memory,
        protocol == boot::PROTOCOL_PVH,
        features.pdpe1gb,
    );
    phases.mark("memory");
    idt::build();
    let ist =
        ap_boot::interrupt_stacks().unwrap_or_else(|| early_fail("no memory for interrupt stacks"));
    ap_boot::init_this_cpu(0, ferrite_libos::arch::gdt::alloc_tables(), ist);
    quiet_legacy_pic();
    let ring0_emulated = cpu::ring0_is_emulated();
    let features = cpu::enable_user_features(features, ring0_emulated);
    // The kernel's own FS-base accesses use the MSR where instructions would go to the emulator.
    cpu::set_fsgsbase_enabled(features.fsgsbase && !ring0_emulated);
    let fpu_mask = if features.xsave && !ring0_emulated {
        features.xcr0
    } else {
        0
    };
    fpu::configure(
        fpu_mask,
        if fpu_mask != 0 {
            features.xsave_size
        } else {
            512
        },
    );
    fpu::capture_initial();
    phases.mark("cpu tables");

    let clock_source = time::init(boot::boot_tsc());
    random::init(features.rdrand, features.rdseed);
    phases.mark("clock");

    // CPUs: MADT, local APIC, I/O APIC, then the other CPUs (parked until the scheduler exists).
    ap_boot::init_platform(boot_info.rsdp);
    phases.mark("apic");
    let cpus = ap_boot::start_aps(ap_scheduler_main);
    phases.mark("cpus");

    let command_line = if boot_info.cmdline.trim().is_empty() {
        image_config("cmdline").unwrap_or("").to_string()
    } else {
        boot_info.cmdline.clone()
    };
    let line = cmdline::parse(&command_line);
    let mode = if line.option("console") == Some("tty") {
        Mode::Tty
    } else {
        Mode::Pipe
    };
    let winsize = line.option("winsize").and_then(|w| {
        let (c, r) = w.split_once('x')?;
        Some((c.parse().ok()?, r.parse().ok()?))
    });
    console::configure(mode, winsize);
    crate::fs::install_stdio();
    crate::fs::tmpfs::init_root();
    crate::syscalls::set_trace(line.option("trace") == Some("syscalls"));
    crate::MEMORY_REPORT.store(line.flag("memreport"), Ordering::Relaxed);
    if let Some(h) = line.option("hostname") {
        crate::syscalls::info::set_hostname(h);
    }
    // The image's root file system, /etc defaults, /dev, /proc, /sys (after the host name,
    // which /etc/hosts names).
    crate::fs::rootfs::populate();
    phases.mark("files");

    let name = image_config("name").unwrap_or("service");
    let mut args: Vec<String> = Vec::with_capacity(line.args.len() + 1);
    args.push(name.to_string());
    args.extend(line.args.iter().cloned());

    // The main thread's stack, 2 MiB-aligned so it maps with huge pages, with an inaccessible
    // guard page below it.
    let stack_base = memory::reserve_aligned(start::MAIN_STACK_SIZE + 4096, 2 << 20, 4096)
        .unwrap_or_else(|| early_fail("no address space for the main stack"));
    let rw = abi::PROT_READ | abi::PROT_WRITE;
    // Lazy: frames as the stack grows, except the top, which the start-up frame needs now.
    if memory::map_anonymous(stack_base - 4096, 4096, 0, true, false, false).is_err()
        || memory::map_anonymous(stack_base, start::MAIN_STACK_SIZE, rw, true, false, true).is_err()
    {
        early_fail("no memory for the main stack");
    }
    let top = stack_base + start::MAIN_STACK_SIZE;
    // The initial stack holds every argument and variable, their pointers and the auxv.
    let strings: u64 = args
        .iter()
        .chain(line.env.iter())
        .map(|w| w.len() as u64 + 9)
        .sum();
    let prefault = (strings + 16 * 1024)
        .next_multiple_of(4096)
        .clamp(MAIN_STACK_PREFAULT, start::MAIN_STACK_SIZE);
    for page in (top - prefault..top).step_by(4096) {
        if memory::resolve_fault(page, true, false) != memory::FaultResolution::Resolved {
            early_fail("no memory for the main stack");
        }
    }
    // SAFETY: the top of the stack was just given frames, read-write; nothing else uses it.
    let stack =
        unsafe { core::slice::from_raw_parts_mut((top - prefault) as *mut u8, prefault as usize) };
    let (phdr, phent, phnum) = elf_program_headers();
    let mut random_bytes = [0u8; 16];
    random::fill(&mut random_bytes);
    let aux = AuxInfo {
        phdr,
        phent,
        phnum,
        entry: _start as *const () as u64,
        hwcap: cpu::cpuid(1, 0)[3] as u64,
        hwcap2: if features.fsgsbase { 2 } else { 0 },
        clock_ticks: crate::syscalls::time::CLOCK_TICKS_PER_SEC,
    };
    let sp = start::build_stack(stack, top, &args, &line.env, &aux, random_bytes)
        .unwrap_or_else(|| early_fail("arguments and environment do not fit on the stack"));
    phases.mark("process");

    if line.flag("bootlog") {
        kprintln!(
            "boot: {} via {}, {} MiB RAM, TSC {} MHz ({clock_source}), console {}",
            boot_info.protocol,
            if boot_info.protocol == "pvh" {
                "PVH"
            } else {
                "Multiboot2"
            },
            boot_info
                .memory
                .iter()
                .filter(|r| r.usable)
                .map(|r| r.len)
                .sum::<u64>()
                >> 20,
            time::tsc_hz() / 1_000_000,
            if mode == Mode::Tty { "tty" } else { "pipe" }
        );
        phases.print();
        match cpus {
            Ok(s) if s.cpus == s.expected && s.sipis <= 1 => {
                kprintln!("boot: {} CPUs up in {} us", s.cpus, micros(s.ticks))
            }
            Ok(s) if s.cpus == s.expected => kprintln!(
                "boot: {} CPUs up in {} us ({} start-up IPIs)",
                s.cpus,
                micros(s.ticks),
                s.sipis
            ),
            Ok(s) => kprintln!(
                "boot: {} of {} CPUs up in {} us",
                s.cpus,
                s.expected,
                micros(s.ticks)
            ),
            Err(e) => kprintln!("boot: CPU bring-up failed: {e:?}"),
        }
        watch_main();
    }
    start_scheduler(cpus.as_ref().map(|s| s.cpus).unwrap_or(1));
    start_network(&line, boot_info.rsdp.is_some());
    crate::fs::procfs::record_process(crate::fs::procfs::ProcessFacts {
        name: name.to_string(),
        args,
        env: line.env.clone(),
        stack: (stack_base, top),
        ram_bytes: boot_info
            .memory
            .iter()
            .filter(|r| r.usable)
            .map(|r| r.len)
            .sum(),
    });
    HANDOFF_TSC.store(cpu::rdtsc(), Ordering::Relaxed);
    syscall_entry::enter_service(_start as *const () as u64, sp)
}
