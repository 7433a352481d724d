//! Futexes: threads sleeping on a word of their memory until another thread wakes
//! that word (the mechanism under every pthread mutex, condition variable, join
//! and semaphore). A word is keyed by its address space and address, and by
//! whether the operation was private, as Linux keys them (a shared wake, such as
//! CLONE_CHILD_CLEARTID's at a thread's exit, meets shared waits only). The waiter list and its
//! policy are `kernel_core::abi::futex::FutexQueue`; each waiter blocks on its own
//! wait channel, which its waker wakes.
//!
//! Lock order: the futex queue, then an address space, then the run queue.

use spin::Mutex;

use crate::process::Process;
use crate::sched::{self, WaitChannel};
use crate::time;
use kernel_core::abi::errno::{EAGAIN, EFAULT, EINTR, EINVAL, ETIMEDOUT};
use kernel_core::abi::futex::{
    FutexKey, FutexQueue, FUTEX_BITSET_MATCH_ANY, FUTEX_OWNER_DIED, FUTEX_TID_MASK, FUTEX_WAITERS, ROBUST_LIST_LIMIT,
};
use kernel_core::abi::signal::ERESTARTSYS;

static QUEUE: Mutex<FutexQueue> = Mutex::new(FutexQueue::new());

/// The key of the word at `address` in `process`'s memory, for a private
/// operation or not: EINVAL unless it is 4-byte aligned, as Linux.
pub fn key(process: &Process, address: u64, private: bool) -> Result<FutexKey, i64> {
    if address % 4 != 0 {
        return Err(EINVAL);
    }
    // The identity of the shared address space: every thread of the process holds
    // the same one, which outlives all of them.
    let space = core::ptr::from_ref(&process.group.memory) as u64;
    Ok(FutexKey { space, address, private })
}

/// Reads the word at `address`; EFAULT if it is not readable.
pub fn read_word(process: &Process, address: u64) -> Result<u32, i64> {
    let mut bytes = [0u8; 4];
    crate::oom::retrying(process, || {
        process.group.memory.lock().as_mut().expect("a running thread has an address space").read(address, &mut bytes)
    })
    .map_err(|_| EFAULT)?;
    Ok(u32::from_le_bytes(bytes))
}

/// A contended lock word that holds its owner's tid in its low 30 bits and the
/// waiters bit (robust and PI mutexes, musl's recursive and error-checking ones)
/// names the thread a waiter waits for: the scheduling policy may lend it the
/// waiter's share. Only a thread of the waiter's own process counts. Words
/// without the waiters bit (counters, sequence numbers, join's plain tid) cost
/// no lookup.
#[inline(always)]
fn lend_to_owner(waiter: &Process, word: u32) {
    if word & FUTEX_WAITERS != 0 {
        lend_to_named_thread(waiter, word & FUTEX_TID_MASK);
    }
}

/// `lend_to_owner`'s lookup, out of line: a wait blocks anyway.
#[inline(never)]
fn lend_to_named_thread(waiter: &Process, owner: u32) {
    if owner == 0 || owner == waiter.tid() {
        return;
    }
    if crate::process::find(owner).is_some_and(|owner| alloc::sync::Arc::ptr_eq(&owner.group, &waiter.group)) {
        sched::waiting_for(owner);
    }
}

/// FUTEX_WAIT: if the word at `address` holds `expected`, sleeps until a wake whose
/// bitset meets `bitset`, a signal (ERESTARTSYS without a deadline, as Linux; EINTR
/// with one) or monotonic time `deadline_ns` (ETIMEDOUT); EAGAIN at once if the
/// word holds something else.
///
/// Inlined into futex's handler: every contended lock comes here, and a frame less
/// is a dozen instructions a wait.
#[inline]
pub fn wait(
    process: &Process,
    key: FutexKey,
    expected: u32,
    bitset: u32,
    deadline_ns: Option<u64>,
) -> Result<u64, i64> {
    let address = key.address;
    loop {
        // The value check and the queueing under one hold of the queue lock: a
        // waker changes the word first and takes the lock to wake, so it cannot
        // slip in between.
        let mut queue = QUEUE.lock();
        let mut bytes = [0u8; 4];
        let read = process.group.memory.lock().as_mut().map(|memory| memory.read(address, &mut bytes));
        if !matches!(read, Some(Ok(_))) {
            // Not resident (or no frame to fault it in with): fault it in without
            // the lock, which the OOM policy may need to give up the CPU; then
            // check again.
            drop(queue);
            read_word(process, address)?;
            continue;
        }
        if u32::from_le_bytes(bytes) != expected {
            return Err(EAGAIN);
        }
        queue.wait(key, process.tid(), bitset);
        break;
    }
    lend_to_owner(process, expected);
    loop {
        let channel = WaitChannel::Futex(process.tid());
        let woke = match deadline_ns {
            Some(deadline) => sched::block_until(channel, deadline),
            None => sched::block(channel),
        };
        // Only a waker wakes this channel, after taking the waiter off the queue:
        // without a deadline, an uninterrupted wait was a wake.
        if woke.is_ok() && deadline_ns.is_none() {
            return Ok(0);
        }
        let still_waiting = QUEUE.lock().cancel(process.tid());
        if !still_waiting {
            return Ok(0);
        }
        match (woke, deadline_ns) {
            (Err(_), None) => return Err(ERESTARTSYS),
            (Err(_), Some(_)) => return Err(EINTR),
            (Ok(()), Some(deadline)) if time::monotonic_ns() >= deadline => return Err(ETIMEDOUT),
            // Woken for something else: wait on.
            (Ok(()), _) => QUEUE.lock().wait(key, process.tid(), bitset),
        }
    }
}

/// FUTEX_WAKE: wakes up to `count` waiters of the word whose bitset meets
/// `bitset`; returns how many.
pub fn wake(key: FutexKey, count: u32, bitset: u32) -> u32 {
    QUEUE.lock().wake(key, count, bitset, wake_waiter)
}

/// FUTEX_REQUEUE: wakes up to `count` waiters of `from` and moves up to `requeue`
/// others to `to`; with `expected`, only if the word at `from` still holds it
/// (EAGAIN otherwise).
pub fn requeue(
    process: &Process,
    (from, from_address): (FutexKey, u64),
    to: FutexKey,
    count: u32,
    requeue: u32,
    expected: Option<u32>,
) -> Result<u64, i64> {
    let mut queue = QUEUE.lock();
    if let Some(expected) = expected {
        let mut bytes = [0u8; 4];
        let read = process.group.memory.lock().as_mut().map(|memory| memory.read(from_address, &mut bytes));
        if !matches!(read, Some(Ok(_))) {
            drop(queue);
            read_word(process, from_address)?;
            return self::requeue(process, (from, from_address), to, count, requeue, Some(expected));
        }
        if u32::from_le_bytes(bytes) != expected {
            return Err(EAGAIN);
        }
    }
    Ok(u64::from(queue.requeue(from, to, count, requeue, wake_waiter)))
}

fn wake_waiter(tid: u32) {
    sched::wake_blocked(tid, WaitChannel::Futex(tid));
}

/// A thread's exit with CLONE_CHILD_CLEARTID or set_tid_address: zero the word,
/// then wake one waiter (pthread_join; musl's thread-list lock), in that order. A
/// bad address is ignored, as Linux (a detached thread may have unmapped it).
pub fn clear_child_tid(process: &Process, address: u64) {
    let written =
        process.group.memory.lock().as_mut().is_some_and(|memory| memory.write(address, &0u32.to_le_bytes()).is_ok());
    if written {
        if let Ok(key) = key(process, address, false) {
            wake(key, 1, FUTEX_BITSET_MATCH_ANY);
        }
    }
}

/// The robust-futex walk at a thread's death (set_robust_list): every futex word
/// on its list, and the one it was taking or releasing (`list_op_pending`), that
/// still names the dying thread as owner gets FUTEX_OWNER_DIED, and one waiter is
/// woken if the word says there are waiters, so the next locker learns the owner
/// died (EOWNERDEAD). The list is the program's: an unreadable entry ends the walk,
/// and at most ROBUST_LIST_LIMIT entries are walked (a list may loop).
pub fn release_robust_list(process: &Process, head: u64) {
    let read_u64 = |address: u64| {
        let mut bytes = [0u8; 8];
        let read = process.group.memory.lock().as_mut().map(|memory| memory.read(address, &mut bytes));
        matches!(read, Some(Ok(_))).then(|| u64::from_le_bytes(bytes))
    };
    // struct robust_list_head { next; long futex_offset; list_op_pending; }
    let (Some(mut entry), Some(offset), Some(pending)) = (read_u64(head), read_u64(head + 8), read_u64(head + 16))
    else {
        return;
    };
    // Bit 0 of an entry marks a priority-inheritance futex; the address is the rest.
    let word_of = |entry: u64| (entry & !1).wrapping_add(offset);
    let mut walked = 0;
    while entry != head && walked < ROBUST_LIST_LIMIT {
        let Some(next) = read_u64(entry & !1) else { break };
        if entry != pending {
            owner_died(process, word_of(entry));
        }
        entry = next;
        walked += 1;
    }
    if pending != 0 {
        owner_died(process, word_of(pending));
    }
}

/// Marks the robust futex word at `address` owner-died if `process` owns it, and
/// wakes one waiter if it has any.
fn owner_died(process: &Process, address: u64) {
    let Ok(key) = key(process, address, false) else { return };
    let mut bytes = [0u8; 4];
    let waiters = {
        let mut memory = process.group.memory.lock();
        let Some(memory) = memory.as_mut() else { return };
        if memory.read(address, &mut bytes).is_err() {
            return;
        }
        let word = u32::from_le_bytes(bytes);
        if word & FUTEX_TID_MASK != process.tid() {
            return;
        }
        let marked = (word & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
        if memory.write(address, &marked.to_le_bytes()).is_err() {
            return;
        }
        word & FUTEX_WAITERS != 0
    };
    if waiters {
        wake(key, 1, FUTEX_BITSET_MATCH_ANY);
    }
}
