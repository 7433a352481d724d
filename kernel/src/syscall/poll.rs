//! poll, ppoll, select and pselect6: waiting until one of several descriptors is
//! ready, a timeout passes or a signal arrives.
//!
//! Each pass asks every file what it is ready for (`File::poll`); when none is, the
//! caller blocks on the one poll channel that every pipe and console event also
//! wakes (see `sched::WaitChannel::Poll`), with its deadline if it has one, and
//! scans again when woken. The wait is prepared before each scan (`sched::prepare`),
//! so an event on another CPU between the scan and the block ends the block at once.
//!
//! A signal ends the wait with ERESTARTNOHAND, as on Linux: the program sees EINTR
//! if a handler runs, else the call starts again (ppoll, select and pselect6 have
//! then written the time left back into their timeout; poll starts over with its
//! whole timeout, where Linux would resume with what was left).

use super::time::read_timespec;
use super::Context;
use crate::fs::{FdTable, File};
use crate::sched::{self, WaitChannel};
use crate::signal::SignalSet;
use crate::time;
use core::mem::MaybeUninit;
use kernel_core::abi::errno::{EINVAL, ENOMEM};
use kernel_core::abi::signal::ERESTARTNOHAND;
use kernel_core::abi::{
    answer_entries, fd_set_bytes, poll_timeout_ns, reported, select_pass, unopened_revents, Pollfd, Timespec, Timeval,
    FD_SETSIZE,
};

/// The size of the signal set ppoll and pselect6 take (64 signals).
const SIGSET_SIZE: u64 = 8;

/// How long a poll or select may wait.
#[derive(Clone, Copy)]
enum Deadline {
    Never,
    /// A zero timeout: one scan, and no clock read to learn that it is over.
    Now,
    /// The monotonic time the wait ends at.
    At(u64),
}

impl Deadline {
    /// The deadline `timeout_ns` from now.
    fn after(timeout_ns: u64) -> Deadline {
        match timeout_ns {
            0 => Deadline::Now,
            _ => Deadline::At(time::monotonic_ns().saturating_add(timeout_ns)),
        }
    }

    /// The time left, in nanoseconds (0 once passed).
    fn remaining(self) -> u64 {
        match self {
            Deadline::Never | Deadline::Now => 0,
            Deadline::At(deadline) => deadline.saturating_sub(time::monotonic_ns()),
        }
    }
}

/// Scans with `scan` (which returns how many descriptors are ready) until one is,
/// the `deadline` passes or a signal arrives (ERESTARTNOHAND).
/// Returns the last scan's count: 0 means the time ran out.
///
/// `scan` is told whether the caller blocks if nothing is ready: only then must
/// it ask the files to wake it (`File::poll_to_block`); a zero timeout never blocks.
fn wait_until_ready(deadline: Deadline, mut scan: impl FnMut(bool) -> Result<usize, i64>) -> Result<usize, i64> {
    let blocks = !matches!(deadline, Deadline::Now);
    loop {
        let wait = sched::prepare(WaitChannel::Poll);
        let ready = scan(blocks)?;
        if ready > 0 {
            return Ok(ready);
        }
        let woken = match deadline {
            Deadline::Never => wait.block(),
            Deadline::Now => return Ok(0),
            Deadline::At(deadline) if time::monotonic_ns() >= deadline => return Ok(0),
            Deadline::At(deadline) => wait.block_until(deadline),
        };
        woken.map_err(|_| ERESTARTNOHAND)?;
    }
}

/// The signal mask ppoll or pselect6 asks to wait with: None for a NULL pointer,
/// EINVAL unless `size` is that of a 64-signal set.
fn read_signal_mask(context: &Context, address: u64, size: u64) -> Result<Option<SignalSet>, i64> {
    if address == 0 {
        return Ok(None);
    }
    if size != SIGSET_SIZE {
        return Err(EINVAL);
    }
    Ok(Some(SignalSet(context.read_u64(address)?)))
}

/// Runs `wait` with the caller's blocked signals replaced by `mask`, if given. If
/// a signal interrupts the wait, the mask stays until its handler has run (the
/// signal frame records the caller's own, as for rt_sigsuspend); otherwise the
/// caller's mask comes back at once.
fn with_signal_mask(
    context: &Context,
    mask: Option<SignalSet>,
    wait: impl FnOnce() -> Result<u64, i64>,
) -> Result<u64, i64> {
    let Some(mask) = mask else { return wait() };
    context.process.signals.lock().suspend_with(mask);
    let result = wait();
    if result != Err(ERESTARTNOHAND) {
        context.process.signals.lock().end_suspend();
    }
    result
}

/// poll: a timeout in milliseconds, negative for none.
pub fn poll(context: &mut Context) -> Result<u64, i64> {
    let [address, count, timeout, ..] = context.arguments();
    let deadline = poll_timeout_ns(timeout).map_or(Deadline::Never, Deadline::after);
    poll_files(context, address, count, deadline)
}

/// ppoll: poll with a timespec timeout (NULL: none), updated with the time left,
/// and a signal mask for the wait (see `with_signal_mask`).
pub fn ppoll(context: &mut Context) -> Result<u64, i64> {
    let [address, count, timeout_address, mask_address, mask_size, _] = context.arguments();
    let deadline = match timeout_address {
        0 => Deadline::Never,
        _ => Deadline::after(read_timespec(context, timeout_address)?),
    };
    let mask = read_signal_mask(context, mask_address, mask_size)?;
    let result = with_signal_mask(context, mask, || poll_files(context, address, count, deadline));
    if timeout_address != 0 {
        write_remaining_timespec(context, timeout_address, deadline, &result)?;
    }
    result
}

/// After a wait that ended normally or by a signal, tells the caller the time
/// left, as Linux does for ppoll and pselect6.
fn write_remaining_timespec(
    context: &Context,
    address: u64,
    deadline: Deadline,
    result: &Result<u64, i64>,
) -> Result<(), i64> {
    if matches!(result, Ok(_) | Err(ERESTARTNOHAND)) {
        context.copy_out(address, &Timespec::from_nanos(deadline.remaining()).to_bytes())?;
    }
    Ok(())
}

/// The core of poll and ppoll: EINVAL for more entries than descriptors a process
/// may have (RLIMIT_NOFILE), ENOMEM when the kernel heap cannot spare them; a
/// negative fd is skipped (revents 0), a closed (or O_PATH) one gets
/// POLLNVAL; otherwise revents are the events asked for plus POLLERR and POLLHUP.
/// Returns how many entries have revents, after writing them back.
///
/// Each pass looks the descriptors up again under one lock of the table, as Linux's
/// `do_poll` does per pass: no file is held between passes, and one closed during
/// the wait reads POLLNVAL.
fn poll_files(context: &Context, address: u64, count: u64, deadline: Deadline) -> Result<u64, i64> {
    let count = count as u32 as usize;
    if count > context.group.files.lock().limit() {
        return Err(EINVAL);
    }
    // The entries, answered in place in their copy (on the stack up to
    // POLL_STACK_BYTES, as Linux's first POLL_STACK_ALLOC bytes, else on the heap).
    let bytes = count * Pollfd::SIZE;
    if bytes > POLL_STACK_BYTES && crate::mm::heap::spare() < bytes {
        return Err(ENOMEM);
    }
    // Not cleared first: the copy fills every byte.
    with_bytes::<POLL_STACK_BYTES, _>(
        bytes,
        |raw| context.copy_in_uninit(address, raw),
        |entries| {
            let ready = wait_until_ready(deadline, |blocks| {
                let table = context.group.files.lock();
                // One loop for each kind of look, not a choice per descriptor.
                Ok(match blocks {
                    true => answer_with(&table, entries, |file| file.poll_to_block()),
                    false => answer_with(&table, entries, |file| file.poll()),
                })
            })?;
            context.copy_out(address, entries)?;
            Ok(ready as u64)
        },
    )
}

/// One pass of poll over `entries`, each file asked with `poll`. Out of line, so
/// that the loop has every callee-saved register for itself (the table's lock,
/// held by the caller, would take one).
#[inline(never)]
fn answer_with(table: &FdTable, entries: &mut [u8], poll: impl Fn(&dyn File) -> u16) -> usize {
    answer_entries(entries, |fd, events| match table.borrow(u64::from(fd)) {
        Ok(file) => reported(events, poll(&*file.file)),
        Err(_) => unopened_revents(fd),
    })
}

/// The poll entries kept on the kernel stack: 128, enough for most callers, in
/// a quarter of the stack's 16 KiB.
const POLL_STACK_BYTES: usize = 128 * Pollfd::SIZE;

/// select: waits on three `fd_set`s; the timeout (a timeval, NULL: none) is
/// updated with the time left.
pub fn select(context: &mut Context) -> Result<u64, i64> {
    let [count, read, write, except, timeout_address, _] = context.arguments();
    let deadline = match timeout_address {
        0 => Deadline::Never,
        _ => {
            let mut raw = [0u8; 16];
            context.copy_in(timeout_address, &mut raw)?;
            Deadline::after(Timeval::from_bytes(raw)?.as_nanos())
        }
    };
    let result = select_files(context, count, [read, write, except], deadline);
    if timeout_address != 0 && matches!(result, Ok(_) | Err(ERESTARTNOHAND)) {
        context.copy_out(timeout_address, &Timeval::from_nanos(deadline.remaining()).to_bytes())?;
    }
    result
}

/// pselect6: select with a timespec timeout (updated with the time left) and a
/// signal mask for the wait, passed as a pointer to {mask pointer, mask size}.
pub fn pselect6(context: &mut Context) -> Result<u64, i64> {
    let [count, read, write, except, timeout_address, mask_argument] = context.arguments();
    let deadline = match timeout_address {
        0 => Deadline::Never,
        _ => Deadline::after(read_timespec(context, timeout_address)?),
    };
    let mask = match mask_argument {
        0 => None,
        _ => {
            let mut raw = [0u8; 16];
            context.copy_in(mask_argument, &mut raw)?;
            let [address, size] =
                [&raw[..8], &raw[8..]].map(|half| u64::from_le_bytes(half.try_into().expect("8 bytes")));
            read_signal_mask(context, address, size)?
        }
    };
    let result = with_signal_mask(context, mask, || select_files(context, count, [read, write, except], deadline));
    if timeout_address != 0 {
        write_remaining_timespec(context, timeout_address, deadline, &result)?;
    }
    result
}

/// The core of select and pselect6. `count` (a C `int`) below 0 is EINVAL; it is
/// capped at the descriptors a process may have (or has, if more); ENOMEM when the
/// kernel heap cannot spare the sets. A set at address 0 is empty. A
/// descriptor in a set that is not open is EBADF. On success the sets are
/// rewritten with the ready descriptors, and the number of bits set is returned.
fn select_files(context: &Context, count: u64, addresses: [u64; 3], deadline: Deadline) -> Result<u64, i64> {
    let most = {
        let files = context.group.files.lock();
        files.limit().max(files.size())
    };
    let count = usize::try_from(count as i32).map_err(|_| EINVAL)?.min(most);
    // The six bitmaps of `select_pass` (the sets, then their results), in one
    // buffer: on the stack for a C program's `fd_set`, on the heap past it.
    let set_bytes = fd_set_bytes(count);
    if count > FD_SETSIZE && crate::mm::heap::spare() < set_bytes.saturating_mul(6) {
        return Err(ENOMEM);
    }
    with_bytes::<{ 6 * SET_STACK_BYTES }, _>(
        6 * set_bytes,
        |raw| Ok(crate::mm::zeroed(raw)),
        |bitmaps| {
            for (set, &address) in addresses.iter().enumerate() {
                if address != 0 {
                    context.copy_in(address, &mut bitmaps[set * set_bytes..(set + 1) * set_bytes])?;
                }
            }
            // Each pass looks the descriptors up again under one lock of the table, as
            // Linux's `do_select`: a descriptor not open is EBADF on the first pass, and
            // has no events on a later one (it was closed during the wait).
            let mut first_pass = true;
            let ready = wait_until_ready(deadline, |blocks| {
                let table = context.group.files.lock();
                let ready = match blocks {
                    true => pass_with(&table, bitmaps, count, first_pass, |file| file.poll_to_block()),
                    false => pass_with(&table, bitmaps, count, first_pass, |file| file.poll()),
                };
                first_pass = false;
                ready
            })?;
            for (set, &address) in addresses.iter().enumerate() {
                if address != 0 {
                    context.copy_out(address, &bitmaps[(3 + set) * set_bytes..(4 + set) * set_bytes])?;
                }
            }
            Ok(ready as u64)
        },
    )
}

/// One pass of select over `bitmaps` (see `select_pass`), each file asked with
/// `poll`: a descriptor not open is EBADF on the `first_pass`, and has no events
/// on a later one.
fn pass_with(
    table: &FdTable,
    bitmaps: &mut [u8],
    count: usize,
    first_pass: bool,
    poll: impl Fn(&dyn File) -> u16,
) -> Result<usize, i64> {
    // `move`: the closure keeps `first_pass` itself, not a register holding its
    // address across every file's poll.
    select_pass(bitmaps, count, move |fd| match table.borrow_path(fd as u64) {
        // An O_PATH descriptor is in the table but has nothing to poll.
        Ok(file) if file.is_path_only() => Ok(0),
        Ok(file) => Ok(poll(&*file.file)),
        Err(errno) if first_pass => Err(errno),
        Err(_) => Ok(0),
    })
}

/// The bytes of a C program's `fd_set` (`FD_SETSIZE` descriptors).
const SET_STACK_BYTES: usize = fd_set_bytes(FD_SETSIZE);

/// `f` with a buffer of `len` bytes as `fill` initialized it: on the stack up to
/// `STACK` bytes, on the heap past it. Only those `len` bytes are written.
fn with_bytes<const STACK: usize, T>(
    len: usize,
    fill: impl FnOnce(&mut [MaybeUninit<u8>]) -> Result<&mut [u8], i64>,
    f: impl FnOnce(&mut [u8]) -> Result<T, i64>,
) -> Result<T, i64> {
    let mut in_place = [const { MaybeUninit::uninit() }; STACK];
    match in_place.get_mut(..len) {
        Some(raw) => f(fill(raw)?),
        None => {
            let mut on_heap = alloc::vec::Vec::with_capacity(len);
            f(fill(&mut on_heap.spare_capacity_mut()[..len])?)
        }
    }
}
