//! The CMOS real-time clock, read once at boot to anchor CLOCK_REALTIME.

use super::port;

fn read_register(register: u8) -> u8 {
    port::outb(0x70, register);
    port::inb(0x71)
}

/// Seconds since the Unix epoch, from the RTC (which QEMU sets to the host's UTC).
pub fn read_epoch_seconds() -> u64 {
    // Wait out an update in progress, so the fields belong to one second.
    while read_register(0x0a) & 0x80 != 0 {}
    let status_b = read_register(0x0b);
    let decode =
        |value: u8| if status_b & 0x04 != 0 { u64::from(value) } else { u64::from((value >> 4) * 10 + (value & 0x0f)) };
    let second = decode(read_register(0x00));
    let minute = decode(read_register(0x02));
    let hour = decode(read_register(0x04) & 0x7f);
    let day = decode(read_register(0x07));
    let month = decode(read_register(0x08));
    let year = 2000 + decode(read_register(0x09));
    days_since_epoch(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
}

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian calendar).
fn days_since_epoch(year: u64, month: u64, day: u64) -> u64 {
    let (year, month) = if month <= 2 { (year - 1, month + 12) } else { (year, month) };
    let era_days = 365 * year + year / 4 - year / 100 + year / 400;
    era_days + (153 * (month - 3) + 2) / 5 + day - 719_469
}
