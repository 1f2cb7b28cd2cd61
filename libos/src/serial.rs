//! The 16550 UART on COM1: the console of every QEMU machine type Ferrite boots on.

use crate::arch::port::{inb, outb};

const COM1: u16 = 0x3F8;
const DATA: u16 = COM1;
const INTERRUPT_ENABLE: u16 = COM1 + 1;
const LINE_CONTROL: u16 = COM1 + 3;
const MODEM_CONTROL: u16 = COM1 + 4;
const LINE_STATUS: u16 = COM1 + 5;
const LSR_DATA_READY: u8 = 1;
const LSR_THR_EMPTY: u8 = 1 << 5;

/// Initialise the UART: 115200 8N1, no interrupts. The FIFOs stay off: switching them on flushes
/// the receiver, which would drop input the runner sent before the kernel got here, while without
/// them QEMU holds further input back until the one received byte is read.
pub fn init() {
    outb(INTERRUPT_ENABLE, 0x00);
    outb(LINE_CONTROL, 0x80); // divisor latch
    outb(DATA, 0x01); // 115200 baud
    outb(INTERRUPT_ENABLE, 0x00);
    outb(LINE_CONTROL, 0x03); // 8N1
    outb(MODEM_CONTROL, 0x03); // DTR, RTS
}

/// Write bytes, each once the transmitter holding register is free.
pub fn write(bytes: &[u8]) {
    for &b in bytes {
        while inb(LINE_STATUS) & LSR_THR_EMPTY == 0 {
            core::hint::spin_loop();
        }
        outb(DATA, b);
    }
}

/// Interrupt when a byte arrives (the console's reader then sleeps instead of polling).
pub fn enable_receive_interrupt() {
    outb(INTERRUPT_ENABLE, 0x01);
    // OUT2 gates the UART's interrupt line on PC-compatible boards.
    outb(MODEM_CONTROL, 0x0B);
}

/// One received byte, if any is waiting.
pub fn try_read() -> Option<u8> {
    (inb(LINE_STATUS) & LSR_DATA_READY != 0).then(|| inb(DATA))
}
