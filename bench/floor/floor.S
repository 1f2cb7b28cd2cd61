/* floor: the smallest PVH kernel. QEMU enters it in 32-bit protected mode; it writes
 * "BENCH-READY\n" to COM1 and then 0 to QEMU's isa-debug-exit port (0xf4), which ends QEMU with
 * status 1. Booting it measures what QEMU itself costs: process start, machine set-up, loading
 * the ELF, and tear-down. */
    .section .note.Xen, "a"
    .p2align 2
    .long 4                 /* name size: "Xen\0" */
    .long 4                 /* descriptor size */
    .long 18                /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .long floor_start

    .section .text, "ax"
    .code32
    .globl floor_start
floor_start:
    cli
    mov $0x3f8, %dx
    mov $message, %esi
1:  movb (%esi), %al
    test %al, %al
    jz 2f
    outb %al, %dx
    inc %esi
    jmp 1b
2:  mov $0xf4, %dx
    xor %al, %al
    outb %al, %dx
3:  hlt
    jmp 3b

    .section .rodata, "a"
message:
    .asciz "BENCH-READY\n"
