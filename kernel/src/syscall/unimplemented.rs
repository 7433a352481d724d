//! Telling the host about system calls timeshare does not implement (those that
//! return ENOSYS), so that the user learns why a program failed instead of
//! guessing: each process's first call of each number, as it happens, and how
//! many such calls were made in all, at power-off. Only numbers Linux has count:
//! for any other number Linux's answer is ENOSYS too.
//!
//! Off every fast path: a call gets here only after it failed with ENOSYS.

use core::sync::atomic::{AtomicU32, Ordering};

use super::TABLE_SIZE;
use crate::arch::x86_64::debugcon::{self, Channel};
use crate::process::Process;
use kernel_core::abi::sysno;
use kernel_core::record::Record;

/// How many ENOSYS calls each number got, from every process (lock-free: any CPU
/// may add).
static CALLS: [AtomicU32; TABLE_SIZE] = [const { AtomicU32::new(0) }; TABLE_SIZE];

/// `process` called `number` and got ENOSYS: counted, and reported to the host
/// (`unimplemented pid=.. number=.. name=..`) the first time this process does.
pub fn called(process: &Process, number: u64) {
    // As on Linux, the number is the int in eax.
    let number = number as u32 as usize;
    if sysno::name(number).is_none() {
        return;
    }
    let Some(count) = CALLS.get(number) else { return };
    count.fetch_add(1, Ordering::Relaxed);
    if process.group.unimplemented_reported.insert(number) {
        let mut record = Record::new("unimplemented");
        record
            .number("pid", u64::from(process.pid()))
            .number("number", number as u64)
            .text("name", process.name().as_bytes());
        debugcon::write(Channel::Control, record.line());
    }
}

/// At power-off: one `unimplemented-total number=.. calls=..` record per number
/// that got any ENOSYS call.
pub fn report_totals() {
    for (number, count) in CALLS.iter().enumerate() {
        let calls = count.load(Ordering::Relaxed);
        if calls > 0 {
            let mut record = Record::new("unimplemented-total");
            record.number("number", number as u64).number("calls", u64::from(calls));
            debugcon::write(Channel::Control, record.line());
        }
    }
}
