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

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::time::read_timespec;
use super::Context;
use crate::fs::OpenFile;
use crate::sched::{self, WaitChannel};
use crate::signal::SignalSet;
use crate::time;
use kernel_core::abi::errno::{EINVAL, ENOMEM};
use kernel_core::abi::signal::ERESTARTNOHAND;
use kernel_core::abi::{
    poll_timeout_ns, reported, FdSet, Pollfd, Timespec, Timeval, POLLNVAL, SELECT_EXCEPT, SELECT_READ, SELECT_WRITE,
};

/// The size of the signal set ppoll and pselect6 take (64 signals).
const SIGSET_SIZE: u64 = 8;

/// Scans with `scan` (which returns how many descriptors are ready) until one is,
/// the monotonic `deadline` passes (None: never) or a signal arrives
/// (ERESTARTNOHAND).
/// Returns the last scan's count: 0 means the time ran out.
fn wait_until_ready(deadline: Option<u64>, mut scan: impl FnMut() -> usize) -> Result<usize, i64> {
    loop {
        let wait = sched::prepare(WaitChannel::Poll);
        let ready = scan();
        if ready > 0 {
            return Ok(ready);
        }
        let woken = match deadline {
            None => wait.block(),
            Some(deadline) if time::monotonic_ns() >= deadline => return Ok(0),
            Some(deadline) => wait.block_until(deadline),
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

/// The monotonic deadline `timeout_ns` from now.
fn deadline_after(timeout_ns: u64) -> u64 {
    time::monotonic_ns().saturating_add(timeout_ns)
}

/// The time left until `deadline`, in nanoseconds (0 once passed).
fn remaining(deadline: u64) -> u64 {
    deadline.saturating_sub(time::monotonic_ns())
}

/// poll: a timeout in milliseconds, negative for none.
pub fn poll(context: &mut Context, &[address, count, timeout, ..]: &[u64; 6]) -> Result<u64, i64> {
    let deadline = poll_timeout_ns(timeout).map(deadline_after);
    poll_files(context, address, count, deadline)
}

/// ppoll: poll with a timespec timeout (NULL: none), updated with the time left,
/// and a signal mask for the wait (see `with_signal_mask`).
pub fn ppoll(
    context: &mut Context,
    &[address, count, timeout_address, mask_address, mask_size, _]: &[u64; 6],
) -> Result<u64, i64> {
    let deadline = match timeout_address {
        0 => None,
        _ => Some(deadline_after(read_timespec(context, timeout_address)?)),
    };
    let mask = read_signal_mask(context, mask_address, mask_size)?;
    let result = with_signal_mask(context, mask, || poll_files(context, address, count, deadline));
    if let Some(deadline) = deadline {
        write_remaining_timespec(context, timeout_address, deadline, &result)?;
    }
    result
}

/// After a wait that ended normally or by a signal, tells the caller the time
/// left, as Linux does for ppoll and pselect6.
fn write_remaining_timespec(
    context: &Context,
    address: u64,
    deadline: u64,
    result: &Result<u64, i64>,
) -> Result<(), i64> {
    if matches!(result, Ok(_) | Err(ERESTARTNOHAND)) {
        context.copy_out(address, &Timespec::from_nanos(remaining(deadline)).to_bytes())?;
    }
    Ok(())
}

/// The core of poll and ppoll: EINVAL for more entries than descriptors a process
/// may have (RLIMIT_NOFILE), ENOMEM when the kernel heap cannot spare them; a
/// negative fd is skipped (revents 0), a closed (or O_PATH) one gets
/// POLLNVAL; otherwise revents are the events asked for plus POLLERR and POLLHUP.
/// Returns how many entries have revents, after writing them back.
fn poll_files(context: &Context, address: u64, count: u64, deadline: Option<u64>) -> Result<u64, i64> {
    let count = count as u32 as usize;
    if count > context.group.files.lock().limit() {
        return Err(EINVAL);
    }
    // The entries, their copy and their files, on the kernel heap.
    let bytes = count.saturating_mul(Pollfd::SIZE + core::mem::size_of::<Pollfd>() + core::mem::size_of::<usize>());
    if crate::mm::heap::spare() < bytes {
        return Err(ENOMEM);
    }
    let mut raw = alloc::vec![0u8; count * Pollfd::SIZE];
    context.copy_in(address, &mut raw)?;
    let mut entries: Vec<Pollfd> = raw
        .chunks_exact(Pollfd::SIZE)
        .map(|bytes| Pollfd::from_bytes(bytes.try_into().expect("chunk of Pollfd::SIZE")))
        .collect();
    let files: Vec<Option<Arc<OpenFile>>> = {
        let table = context.group.files.lock();
        entries.iter().map(|entry| u64::try_from(entry.fd).ok().and_then(|fd| table.get(fd).ok())).collect()
    };
    let ready = wait_until_ready(deadline, || {
        let mut ready = 0;
        for (entry, file) in entries.iter_mut().zip(&files) {
            entry.revents = match file {
                _ if entry.fd < 0 => 0,
                None => POLLNVAL,
                Some(file) => reported(entry.events, file.file.poll()),
            };
            ready += usize::from(entry.revents != 0);
        }
        ready
    })?;
    let raw: Vec<u8> = entries.iter().flat_map(Pollfd::to_bytes).collect();
    context.copy_out(address, &raw)?;
    Ok(ready as u64)
}

/// select: waits on three `fd_set`s; the timeout (a timeval, NULL: none) is
/// updated with the time left.
pub fn select(context: &mut Context, &[count, read, write, except, timeout_address, _]: &[u64; 6]) -> Result<u64, i64> {
    let deadline = match timeout_address {
        0 => None,
        _ => {
            let mut raw = [0u8; 16];
            context.copy_in(timeout_address, &mut raw)?;
            Some(deadline_after(Timeval::from_bytes(raw)?.as_nanos()))
        }
    };
    let result = select_files(context, count, [read, write, except], deadline);
    if let Some(deadline) = deadline {
        if matches!(result, Ok(_) | Err(ERESTARTNOHAND)) {
            context.copy_out(timeout_address, &Timeval::from_nanos(remaining(deadline)).to_bytes())?;
        }
    }
    result
}

/// pselect6: select with a timespec timeout (updated with the time left) and a
/// signal mask for the wait, passed as a pointer to {mask pointer, mask size}.
pub fn pselect6(
    context: &mut Context,
    &[count, read, write, except, timeout_address, mask_argument]: &[u64; 6],
) -> Result<u64, i64> {
    let deadline = match timeout_address {
        0 => None,
        _ => Some(deadline_after(read_timespec(context, timeout_address)?)),
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
    if let Some(deadline) = deadline {
        write_remaining_timespec(context, timeout_address, deadline, &result)?;
    }
    result
}

/// The core of select and pselect6. `count` (a C `int`) below 0 is EINVAL; it is
/// capped at the descriptors a process may have (or has, if more); ENOMEM when the
/// kernel heap cannot spare the sets. A set at address 0 is empty. A
/// descriptor in a set that is not open is EBADF. On success the sets are
/// rewritten with the ready descriptors, and the number of bits set is returned.
fn select_files(context: &Context, count: u64, addresses: [u64; 3], deadline: Option<u64>) -> Result<u64, i64> {
    let most = {
        let files = context.group.files.lock();
        files.limit().max(files.size())
    };
    let count = usize::try_from(count as i32).map_err(|_| EINVAL)?.min(most);
    // The three sets, their copies in and the results, on the kernel heap.
    if crate::mm::heap::spare() < FdSet::byte_len(count).saturating_mul(9) {
        return Err(ENOMEM);
    }
    let mut sets: [FdSet; 3] = Default::default();
    for (set, &address) in sets.iter_mut().zip(&addresses) {
        *set = match address {
            0 => FdSet::empty(count),
            _ => {
                let mut raw = alloc::vec![0u8; FdSet::byte_len(count)];
                context.copy_in(address, &mut raw)?;
                FdSet::from_bytes(&raw)
            }
        };
    }
    // Each watched descriptor with its file and which sets hold it (bit i: sets[i]).
    let mut watched: Vec<(usize, Arc<OpenFile>, u8)> = Vec::with_capacity(FdSet::members(&sets, count).count());
    {
        let table = context.group.files.lock();
        for (fd, holders) in FdSet::members(&sets, count) {
            watched.push((fd, table.get_path(fd as u64)?, holders));
        }
    }
    let wanted = [SELECT_READ, SELECT_WRITE, SELECT_EXCEPT];
    let mut results: [FdSet; 3] = Default::default();
    let ready = wait_until_ready(deadline, || {
        results = [FdSet::empty(count), FdSet::empty(count), FdSet::empty(count)];
        let mut ready = 0;
        for (fd, file, holders) in &watched {
            // An O_PATH descriptor is in the table but has nothing to poll.
            let events = if file.is_path_only() { 0 } else { file.file.poll() };
            for (set, (result, mask)) in results.iter_mut().zip(wanted).enumerate() {
                if holders & (1 << set) != 0 && events & mask != 0 {
                    result.insert(*fd);
                    ready += 1;
                }
            }
        }
        ready
    })?;
    for (result, &address) in results.iter().zip(&addresses) {
        if address != 0 {
            context.copy_out(address, &result.to_bytes())?;
        }
    }
    Ok(ready as u64)
}
