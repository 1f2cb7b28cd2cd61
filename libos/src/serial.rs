//! The 16550 UART on COM1: the console of every QEMU machine type Ferrite boots on.

use crate::arch::port::{inb, outb};

const COM1: u16 = 0x3F8;
const DATA: u16 = COM1;
const INTERRUPT_ENABLE: u16 = COM1 + 1;
const FIFO_CONTROL: u16 = COM1 + 2;
const LINE_CONTROL: u16 = COM1 + 3;
const MODEM_CONTROL: u16 = COM1 + 4;
const LINE_STATUS: u16 = COM1 + 5;
const LSR_DATA_READY: u8 = 1;
const LSR_THR_EMPTY: u8 = 1 << 5;
/// The transmit FIFO of a 16550A holds 16 bytes: one status read per 16 bytes written.
const TX_FIFO: usize = 16;

pub fn init() {
    outb(INTERRUPT_ENABLE, 0x00);
    outb(LINE_CONTROL, 0x80); // divisor latch
    outb(DATA, 0x01); // 115200 baud
    outb(INTERRUPT_ENABLE, 0x00);
    outb(LINE_CONTROL, 0x03); // 8N1
    outb(FIFO_CONTROL, 0xC7); // enable and clear FIFOs
    outb(MODEM_CONTROL, 0x03); // DTR, RTS
}

/// Write bytes, waiting for the transmit FIFO to drain before each block of 16.
pub fn write(bytes: &[u8]) {
    for chunk in bytes.chunks(TX_FIFO) {
        while inb(LINE_STATUS) & LSR_THR_EMPTY == 0 {
            core::hint::spin_loop();
        }
        for &b in chunk {
            outb(DATA, b);
        }
    }
}

/// One received byte, if any is waiting.
pub fn try_read() -> Option<u8> {
    (inb(LINE_STATUS) & LSR_DATA_READY != 0).then(|| inb(DATA))
}
