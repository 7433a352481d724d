//! The kernel's ordered locks: a spin lock with a place in the lock order, checked
//! with debug assertions on (`--kernel-profile dev`).
//!
//! The lock order, outermost first (a CPU holding one of these takes only locks
//! further down the list; see docs/locks.md for why each pair nests):
//!
//! | rank | lock | where |
//! |---|---|---|
//! | 10 | a pipe | kernel/src/fs/pipe.rs `Pipe::state` |
//! | 20 | a futex bucket (two: the lower index first) | kernel/src/futex.rs `BUCKETS` |
//! | 30 | an address space | kernel/src/process `ThreadGroup::memory` |
//! | 40 | the process table | kernel/src/process `TABLE` |
//! | 45 | a blocked list (one at a time) | kernel/src/sched.rs `BLOCKED` |
//! | 47 | the sleepers | kernel/src/sched.rs `SLEEPERS` |
//! | 50 | a run queue (one per CPU; two: the lower CPU first) | kernel/src/sched.rs `QUEUES` |
//! | 60 | the trace ring's writer | kernel/src/trace.rs `Ring::writer` |
//! | 70 | the kernel log | kernel/base/src/log.rs `RECENT` |
//!
//! With debug assertions, each CPU keeps the ranks it holds; taking a lock whose
//! rank is below one held, or equal to it (a lock of the same class at the same or
//! a lower address: two futex buckets are taken in index order, which is address
//! order), is a kernel panic naming both. Without them an `OrderedMutex` is a
//! `spin::Mutex` and costs nothing more.
//!
//! Waiting: the kernel runs with interrupts off, so a CPU spinning for a lock
//! serves the TLB shootdowns sent to it meanwhile (`tlb::service`): the lock's
//! holder may be waiting for exactly that answer.

use core::ops::{Deref, DerefMut};

use crate::arch::x86_64::tlb;

/// A lock's place in the order, and its name for the checker's report.
#[derive(Clone, Copy, Debug)]
pub struct LockClass {
    pub rank: u8,
    pub name: &'static str,
}

/// The classes of the order above.
pub mod class {
    use super::LockClass;

    pub const PIPE: LockClass = LockClass { rank: 10, name: "a pipe" };
    pub const FUTEX_BUCKET: LockClass = LockClass { rank: 20, name: "a futex bucket" };
    pub const ADDRESS_SPACE: LockClass = LockClass { rank: 30, name: "an address space" };
    pub const PROCESS_TABLE: LockClass = LockClass { rank: 40, name: "the process table" };
    pub const BLOCKED_LIST: LockClass = LockClass { rank: 45, name: "a blocked list" };
    pub const SLEEPERS: LockClass = LockClass { rank: 47, name: "the sleepers" };
    pub const RUN_QUEUE: LockClass = LockClass { rank: 50, name: "the run queue" };
    pub const TRACE_WRITER: LockClass = LockClass { rank: 60, name: "the trace writer" };
    pub const KERNEL_LOG: LockClass = LockClass { rank: 70, name: "the kernel log" };
}

/// A spin lock with a place in the lock order (see the module's doc).
pub struct OrderedMutex<T: ?Sized> {
    /// Only the checker reads it: a release kernel keeps no class in its locks.
    #[cfg(debug_assertions)]
    class: LockClass,
    inner: spin::Mutex<T>,
}

impl<T> OrderedMutex<T> {
    pub const fn new(class: LockClass, value: T) -> OrderedMutex<T> {
        #[cfg(not(debug_assertions))]
        let _ = class;
        OrderedMutex {
            #[cfg(debug_assertions)]
            class,
            inner: spin::Mutex::new(value),
        }
    }
}

impl<T: ?Sized> OrderedMutex<T> {
    /// Takes the lock, spinning (and answering TLB shootdowns) while another CPU
    /// holds it. With debug assertions, a kernel panic if the lock order forbids
    /// taking it now.
    #[inline]
    pub fn lock(&self) -> OrderedMutexGuard<'_, T> {
        #[cfg(debug_assertions)]
        held::acquire(self.class, self.address());
        let guard = loop {
            if let Some(guard) = self.inner.try_lock() {
                break guard;
            }
            tlb::service();
            core::hint::spin_loop();
        };
        OrderedMutexGuard {
            guard,
            #[cfg(debug_assertions)]
            address: self.address(),
        }
    }

    /// Takes the lock if it is free. Never waits, so never out of order: only
    /// recorded, for the locks taken under it.
    #[inline]
    pub fn try_lock(&self) -> Option<OrderedMutexGuard<'_, T>> {
        let guard = self.inner.try_lock()?;
        #[cfg(debug_assertions)]
        held::record(self.class, self.address());
        Some(OrderedMutexGuard {
            guard,
            #[cfg(debug_assertions)]
            address: self.address(),
        })
    }

    /// The lock's identity for the checker: its address.
    #[cfg(debug_assertions)]
    fn address(&self) -> usize {
        core::ptr::from_ref(self).cast::<u8>() as usize
    }
}

/// The lock, held; released when dropped.
pub struct OrderedMutexGuard<'a, T: ?Sized> {
    guard: spin::MutexGuard<'a, T>,
    #[cfg(debug_assertions)]
    address: usize,
}

impl<T: ?Sized> Deref for OrderedMutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T: ?Sized> DerefMut for OrderedMutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

#[cfg(debug_assertions)]
impl<T: ?Sized> Drop for OrderedMutexGuard<'_, T> {
    fn drop(&mut self) {
        held::release(self.address);
    }
}

/// The locks each CPU holds (debug builds only).
#[cfg(debug_assertions)]
mod held {
    use core::cell::UnsafeCell;

    use super::LockClass;
    use crate::arch::x86_64::percpu;
    use kernel_core::acpi::MAX_CPUS;

    /// The most ordered locks a CPU holds at once (the order has seven classes,
    /// and two futex buckets).
    const MOST_HELD: usize = 8;

    /// One CPU's held locks: (class, address), in the order taken.
    struct Held(UnsafeCell<([Option<(LockClass, usize)>; MOST_HELD], usize)>);

    // SAFETY: each CPU touches only its own entry, with interrupts off (the kernel's
    // rule), and no interrupt handler takes an ordered lock while the code it
    // interrupted is inside `acquire` or `release` (they take none).
    unsafe impl Sync for Held {}

    static HELD: [Held; MAX_CPUS] = [const { Held(UnsafeCell::new(([None; MOST_HELD], 0))) }; MAX_CPUS];

    fn this_cpu() -> &'static Held {
        // Before its per-CPU data is loaded, only the boot CPU runs.
        &HELD[percpu::current_id().unwrap_or(0)]
    }

    /// Records that this CPU takes the lock of `class` at `address`, after
    /// checking the order against every lock it holds.
    pub(super) fn acquire(class: LockClass, address: usize) {
        // SAFETY: this CPU's entry, see `Held`.
        let (locks, count) = unsafe { &mut *this_cpu().0.get() };
        for (held, held_address) in locks[..*count].iter().flatten() {
            let out_of_order = held.rank > class.rank || (held.rank == class.rank && *held_address >= address);
            if out_of_order {
                panic!(
                    "lock order: taking {} (rank {}) while holding {} (rank {})",
                    class.name, class.rank, held.name, held.rank
                );
            }
        }
        record(class, address);
    }

    /// Records that this CPU holds the lock of `class` at `address`.
    pub(super) fn record(class: LockClass, address: usize) {
        // SAFETY: this CPU's entry, see `Held`.
        let (locks, count) = unsafe { &mut *this_cpu().0.get() };
        if *count == MOST_HELD {
            panic!("lock order: more than {MOST_HELD} locks held, taking {}", class.name);
        }
        locks[*count] = Some((class, address));
        *count += 1;
    }

    /// Forgets the lock at `address` (released, in any order).
    pub(super) fn release(address: usize) {
        // SAFETY: this CPU's entry, see `Held`.
        let (locks, count) = unsafe { &mut *this_cpu().0.get() };
        if let Some(index) = locks[..*count].iter().rposition(|held| held.is_some_and(|(_, at)| at == address)) {
            locks.copy_within(index + 1..*count, index);
            *count -= 1;
            locks[*count] = None;
        }
    }
}
