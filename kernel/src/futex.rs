//! Futexes: threads sleeping on a word of their memory until another thread wakes
//! that word (the mechanism under every pthread mutex, condition variable, join
//! and semaphore). A word is keyed by its address space and address, and by
//! whether the operation was private, as Linux keys them (a shared wake, such as
//! CLONE_CHILD_CLEARTID's at a thread's exit, meets shared waits only).
//!
//! A waiting thread's one record is its entry in the queue of its word's bucket
//! (`kernel_core::abi::futex::FutexQueue`, hashed by key into `FUTEX_BUCKETS`,
//! each with its own lock, as Linux's futex hash): the scheduler keeps no blocked
//! entry for it (`sched::park`). Whoever takes the entry off under the bucket's
//! lock, a waker, a signal (`sched::interrupt`) or the wait's deadline, is the one
//! that makes the thread runnable, so a wake is never lost nor doubled: the waiter
//! checks the word, queues itself and checks for a signal under that same lock, and
//! a waker changes the word before it takes the lock. The waiter's
//! `Process::futex` (`Parking`) says which bucket it is in, for the signal and the
//! deadline, which know only the thread.
//!
//! With several CPUs a waiter's entry also holds the thread (`sched::WakeHome`), for
//! its waker to place it by without the process table.
//!
//! Lock order: a futex bucket (two, for a requeue: the lower index first), then an
//! address space, then the process table, then the run queue. A wake takes no lock
//! shared by all CPUs: its bucket's, the woken thread's settings, a run queue's.

use crate::sync::{class, OrderedMutex, OrderedMutexGuard};
use core::sync::atomic::{fence, AtomicU64, AtomicUsize, Ordering};

use crate::process::{self, Pid, Process};
use crate::sched;
use crate::time;
use kernel_core::abi::errno::{EAGAIN, EFAULT, EINTR, EINVAL, ETIMEDOUT};
use kernel_core::abi::futex::{
    bucket_of, waiter_mark, FutexKey, FutexQueue, FUTEX_BITSET_MATCH_ANY, FUTEX_BUCKETS, FUTEX_OWNER_DIED,
    FUTEX_TID_MASK, FUTEX_WAITERS, ROBUST_LIST_LIMIT,
};
use kernel_core::abi::signal::ERESTARTSYS;

/// A bucket's waiters, each with what its waker places it by (`sched::WakeHome`).
type Queue = FutexQueue<sched::WakeHome>;

static BUCKETS: [Bucket; FUTEX_BUCKETS] = [const { Bucket::new() }; FUTEX_BUCKETS];

/// One bucket: its queue behind its lock, and the `waiter_mark`s of the words its
/// threads wait on or are about to (`BucketGuard::expect_waiter`), for a wake to
/// read without the lock, as Linux's `futex_hb_waiters_pending` (a count there): a
/// wake of a word nobody waits on (a mutex released without contention by a
/// program that still calls FUTEX_WAKE) then takes no lock, even when another
/// word's waiter shares the bucket, unless that word shares the mark too. The
/// marks may hold more than the queue's words (a mark stays until the queue is
/// empty): a stale one costs a wake the lock, never a missed waiter.
///
/// No wake is lost by skipping the lock: a waiter marks its word before it reads
/// the word, a waker reads the marks after the word changed, each with a full
/// barrier between (as Dekker's): if the waker sees no mark, the waiter sees the
/// new word and does not sleep.
struct Bucket {
    queue: OrderedMutex<Queue>,
    waiter_marks: AtomicU64,
}

impl Bucket {
    const fn new() -> Bucket {
        Bucket { queue: OrderedMutex::new(class::FUTEX_BUCKET, FutexQueue::new()), waiter_marks: AtomicU64::new(0) }
    }

    fn lock(&self) -> BucketGuard<'_> {
        BucketGuard { queue: self.queue.lock(), waiter_marks: &self.waiter_marks }
    }

    /// Whether a thread may wait here on a word of `mark` (`waiter_mark`): false
    /// only when none waits nor is about to, as the caller's earlier change to a
    /// word is seen by any that comes.
    #[inline(always)]
    fn may_have_waiters(&self, mark: u64) -> bool {
        fence(Ordering::SeqCst);
        self.waiter_marks.load(Ordering::Relaxed) & mark != 0
    }
}

/// A bucket's queue, locked; clears its marks when it leaves the queue empty.
struct BucketGuard<'a> {
    queue: OrderedMutexGuard<'a, Queue>,
    waiter_marks: &'a AtomicU64,
}

impl BucketGuard<'_> {
    /// Marks the word of `mark` (`waiter_mark`) for a thread about to read it and
    /// queue itself, or moved onto it by a requeue: from now on a wake of the word
    /// takes the lock.
    fn expect_waiter(&self, mark: u64) {
        self.waiter_marks.fetch_or(mark, Ordering::SeqCst);
    }
}

impl core::ops::Deref for BucketGuard<'_> {
    type Target = Queue;
    fn deref(&self) -> &Queue {
        &self.queue
    }
}

impl core::ops::DerefMut for BucketGuard<'_> {
    fn deref_mut(&mut self) -> &mut Queue {
        &mut self.queue
    }
}

impl Drop for BucketGuard<'_> {
    fn drop(&mut self) {
        if self.queue.is_empty() {
            self.waiter_marks.store(0, Ordering::Release);
        }
    }
}

/// Where a thread's futex wait stands (`Process::futex`): which bucket holds its
/// entry, or that a signal or its deadline took the entry off. Written under the
/// bucket's lock, but for the waiter's own reset when it runs again.
pub struct Parking(AtomicUsize);

/// `Parking`: the thread waits on no futex.
const NOT_WAITING: usize = 0;
/// `Parking`: a signal or the wait's deadline took the entry off (a waker leaves
/// the bucket's number: the waiter tells the two apart by it).
const CANCELLED: usize = usize::MAX;

impl Parking {
    pub const fn new() -> Parking {
        Parking(AtomicUsize::new(NOT_WAITING))
    }

    /// The bucket holding the thread's entry, if it may still be waiting.
    fn bucket(&self) -> Option<usize> {
        match self.0.load(Ordering::Acquire) {
            NOT_WAITING | CANCELLED => None,
            parked => Some(parked - 1),
        }
    }

    fn park_in(&self, bucket: usize) {
        self.0.store(bucket + 1, Ordering::Release);
    }

    /// The waiter, running again: whether a signal or its deadline ended the wait
    /// (else a waker did); resets the record.
    fn was_cancelled(&self) -> bool {
        self.0.swap(NOT_WAITING, Ordering::Acquire) == CANCELLED
    }

    /// The waiter took its own entry off (under the bucket's lock).
    fn clear(&self) {
        self.0.store(NOT_WAITING, Ordering::Release);
    }
}

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

/// Reads the word at `address` if it is resident, without faulting it in (the
/// caller holds a bucket lock, under which the OOM policy cannot give up the CPU).
fn read_resident_word(process: &Process, address: u64) -> Option<u32> {
    let mut bytes = [0u8; 4];
    let read = process.group.memory.lock().as_mut().map(|memory| memory.read(address, &mut bytes));
    matches!(read, Some(Ok(_))).then(|| u32::from_le_bytes(bytes))
}

/// A contended lock word that holds its owner's tid in its low 30 bits and the
/// waiters bit (robust and PI mutexes, musl's recursive and error-checking ones)
/// names the thread a waiter waits for: the scheduling policy may lend it the
/// waiter's share. Only a thread of the waiter's own process counts. Words
/// without the waiters bit (counters, sequence numbers, join's plain tid) cost
/// no lookup, nor does any word when the policy lends nothing.
#[inline(always)]
fn lend_to_owner(waiter: &Process, word: u32) {
    if word & FUTEX_WAITERS != 0 && sched::lends_shares() {
        lend_to_named_thread(waiter, word & FUTEX_TID_MASK);
    }
}

/// `lend_to_owner`'s lookup, out of line: a wait blocks anyway.
#[inline(never)]
fn lend_to_named_thread(waiter: &Process, owner: u32) {
    if owner == 0 || owner == waiter.tid() {
        return;
    }
    if let Some(owner) =
        crate::process::find(owner).filter(|owner| alloc::sync::Arc::ptr_eq(&owner.group, &waiter.group))
    {
        sched::waiting_for(&owner);
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
    let (bucket, mark) = (bucket_of(&key), waiter_mark(&key));
    loop {
        let mut queue = BUCKETS[bucket].lock();
        queue.expect_waiter(mark);
        let Some(word) = read_resident_word(process, key.address) else {
            // Not resident (or no frame to fault it in with): fault it in without
            // the lock, then check again.
            drop(queue);
            read_word(process, key.address)?;
            continue;
        };
        if word != expected {
            return Err(EAGAIN);
        }
        let tid = process.tid();
        queue.wait(key, tid, bitset, sched::wake_home(process));
        process.futex.park_in(bucket);
        // A signal (or an exit) that came before the entry was queued found none to
        // take off: it is seen here, under the lock a later one would need.
        let expired = deadline_ns.is_some_and(|deadline| time::monotonic_ns() >= deadline);
        if process.signals.needs_attention() || expired {
            queue.cancel(tid);
            process.futex.clear();
            return Err(if expired { ETIMEDOUT } else { interrupted_error(deadline_ns) });
        }
        break;
    }
    lend_to_owner(process, expected);
    let interrupted = match deadline_ns {
        Some(deadline) => sched::park_until(process, deadline),
        None => sched::park(process),
    };
    if !process.futex.was_cancelled() {
        return Ok(0);
    }
    Err(if interrupted { interrupted_error(deadline_ns) } else { ETIMEDOUT })
}

/// The error of a wait a signal ended: restarted without a deadline, as Linux.
fn interrupted_error(deadline_ns: Option<u64>) -> i64 {
    if deadline_ns.is_some() {
        EINTR
    } else {
        ERESTARTSYS
    }
}

/// Takes `thread` off the futex queue it waits on, if it does, and makes it
/// runnable: a signal (`interrupted`) or its deadline ended its wait. False if it
/// was not waiting, or a waker took it first (and made it runnable).
///
/// Inlined test, out-of-line work: every signal comes here, mostly for a thread
/// that waits on no futex.
#[inline]
pub fn cancel_wait(thread: &Process, interrupted: bool) -> bool {
    thread.futex.bucket().is_some() && cancel_queued_wait(thread, interrupted)
}

/// `cancel_wait`'s work, for a thread that may wait on a futex.
#[inline(never)]
fn cancel_queued_wait(thread: &Process, interrupted: bool) -> bool {
    while let Some(bucket) = thread.futex.bucket() {
        let mut queue = BUCKETS[bucket].lock();
        if thread.futex.bucket() != Some(bucket) {
            // A requeue moved it meanwhile: look again.
            continue;
        }
        if !queue.cancel(thread.tid()) {
            return false;
        }
        thread.futex.0.store(CANCELLED, Ordering::Release);
        sched::unpark(thread, interrupted);
        return true;
    }
    false
}

/// Whether `thread` waits on a futex (for /proc's state).
pub fn is_waiting(thread: &Process) -> bool {
    thread.futex.bucket().is_some_and(|bucket| BUCKETS[bucket].lock().contains(thread.tid()))
}

/// FUTEX_WAKE: wakes up to `count` waiters of the word whose bitset meets
/// `bitset`; returns how many.
///
/// Inlined: in futex's handler, where every lock hand-off's wake comes, a call's
/// frame would cost a sixth of the wake.
#[inline(always)]
pub fn wake(key: FutexKey, count: u32, bitset: u32) -> u32 {
    let bucket = &BUCKETS[bucket_of(&key)];
    if !bucket.may_have_waiters(waiter_mark(&key)) {
        return 0;
    }
    bucket.lock().wake(key, count, bitset, sched::unpark_woken)
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
    let (from_bucket, to_bucket) = (bucket_of(&from), bucket_of(&to));
    let (mut first, mut second) = if from_bucket == to_bucket {
        (BUCKETS[from_bucket].lock(), None)
    } else {
        // Two buckets, locked in index order (as every requeue does): two
        // requeues between the same pair in opposite directions cannot deadlock.
        let lower = BUCKETS[from_bucket.min(to_bucket)].lock();
        let higher = BUCKETS[from_bucket.max(to_bucket)].lock();
        if from_bucket < to_bucket {
            (lower, Some(higher))
        } else {
            (higher, Some(lower))
        }
    };
    if let Some(expected) = expected {
        let Some(word) = read_resident_word(process, from_address) else {
            drop((first, second));
            read_word(process, from_address)?;
            return self::requeue(process, (from, from_address), to, count, requeue, Some(expected));
        };
        if word != expected {
            return Err(EAGAIN);
        }
    }
    // Before any waiter moves: a wake of `to` from now on finds them.
    second.as_ref().unwrap_or(&first).expect_waiter(waiter_mark(&to));
    let moved_to = |tid: Pid| {
        if let Some(thread) = process::find(tid) {
            thread.futex.park_in(to_bucket);
        }
    };
    let counted = first.requeue(second.as_deref_mut(), (from, to), (count, requeue), sched::unpark_woken, moved_to);
    Ok(u64::from(counted))
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
