//! futex(2): the operation word decoded, FUTEX_WAKE_OP's encoded operation, the
//! robust-list constants, and the queue of waiters the kernel keeps per futex word.

use alloc::vec::Vec;

use super::errno::{EINVAL, ENOSYS};

pub const FUTEX_WAIT: u32 = 0;
pub const FUTEX_WAKE: u32 = 1;
pub const FUTEX_REQUEUE: u32 = 3;
pub const FUTEX_CMP_REQUEUE: u32 = 4;
pub const FUTEX_WAKE_OP: u32 = 5;
pub const FUTEX_WAIT_BITSET: u32 = 9;
pub const FUTEX_WAKE_BITSET: u32 = 10;
/// The word is private to the process: its waits and wakes meet only waits and
/// wakes with the flag (as Linux keys the two kinds apart, even on private memory).
pub const FUTEX_PRIVATE_FLAG: u32 = 128;
pub const FUTEX_CLOCK_REALTIME: u32 = 256;
/// The bitset of FUTEX_WAIT and FUTEX_WAKE: every waiter matches.
pub const FUTEX_BITSET_MATCH_ANY: u32 = u32::MAX;

/// Robust futexes: the owner died (set by the kernel at its death).
pub const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
/// Robust futexes: someone waits (the kernel wakes one at the owner's death).
pub const FUTEX_WAITERS: u32 = 0x8000_0000;
/// Robust futexes: the bits of the word that hold the owner's tid.
pub const FUTEX_TID_MASK: u32 = 0x3fff_ffff;
/// The size of `struct robust_list_head` (set_robust_list checks it).
pub const ROBUST_LIST_HEAD_SIZE: u64 = 24;
/// How many entries of a robust list the kernel walks at most (a list that loops
/// must not keep it walking), as Linux's ROBUST_LIST_LIMIT.
pub const ROBUST_LIST_LIMIT: usize = 2048;

/// A futex operation, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FutexOp {
    /// Sleep if the word holds `val`, until a wake whose bitset meets `bitset`. The
    /// timeout is relative (FUTEX_WAIT) or an absolute time (FUTEX_WAIT_BITSET),
    /// on CLOCK_REALTIME if `realtime`, else CLOCK_MONOTONIC.
    Wait { bitset: u32, absolute: bool, realtime: bool },
    /// Wake up to `val` waiters whose bitset meets `bitset`.
    Wake { bitset: u32 },
    /// Wake up to `val` waiters, move up to `val2` others to `uaddr2`; with
    /// `compare`, only if the word still holds `val3` (else EAGAIN).
    Requeue { compare: bool },
    /// FUTEX_WAKE_OP: change the word at `uaddr2` by `operation`, wake up to `val`
    /// waiters on `uaddr` and, if the old value passed the operation's test, up
    /// to `val2` on `uaddr2`.
    WakeOp(WakeOperation),
}

/// Decodes futex's `op` (and, for the bitset operations, `val3`) as Linux's
/// do_futex: a bitset of 0 is EINVAL; FUTEX_CLOCK_REALTIME with anything but a
/// bitset wait, an unknown operation, the priority-inheritance ones (timeshare has
/// none) and a WAKE_OP operation it does not know are ENOSYS.
#[inline]
pub fn decode_futex_op(op: u64, val3: u64) -> Result<FutexOp, i64> {
    let op = op as u32;
    let command = op & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    let realtime = op & FUTEX_CLOCK_REALTIME != 0;
    if realtime && command != FUTEX_WAIT_BITSET {
        return Err(ENOSYS);
    }
    let bitset = val3 as u32;
    let decoded = match command {
        FUTEX_WAIT => FutexOp::Wait { bitset: FUTEX_BITSET_MATCH_ANY, absolute: false, realtime: false },
        FUTEX_WAKE => FutexOp::Wake { bitset: FUTEX_BITSET_MATCH_ANY },
        FUTEX_WAIT_BITSET | FUTEX_WAKE_BITSET if bitset == 0 => return Err(EINVAL),
        FUTEX_WAIT_BITSET => FutexOp::Wait { bitset, absolute: true, realtime },
        FUTEX_WAKE_BITSET => FutexOp::Wake { bitset },
        FUTEX_REQUEUE => FutexOp::Requeue { compare: false },
        FUTEX_CMP_REQUEUE => FutexOp::Requeue { compare: true },
        FUTEX_WAKE_OP => FutexOp::WakeOp(WakeOperation::decode(val3 as u32)?),
        _ => return Err(ENOSYS),
    };
    Ok(decoded)
}

/// FUTEX_WAKE_OP's `val3`: an operation on the second word and a comparison of
/// its old value, both with 12-bit signed arguments (Linux's FUTEX_OP encoding).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WakeOperation {
    operation: u32,
    operand: i32,
    comparison: u32,
    comparand: i32,
}

const FUTEX_OP_SET: u32 = 0;
const FUTEX_OP_ADD: u32 = 1;
const FUTEX_OP_OR: u32 = 2;
const FUTEX_OP_ANDN: u32 = 3;
const FUTEX_OP_XOR: u32 = 4;
/// In the operation: the operand is a shift count (1 << operand).
const FUTEX_OP_OPARG_SHIFT: u32 = 8;
const FUTEX_OP_CMP_EQ: u32 = 0;
const FUTEX_OP_CMP_NE: u32 = 1;
const FUTEX_OP_CMP_LT: u32 = 2;
const FUTEX_OP_CMP_LE: u32 = 3;
const FUTEX_OP_CMP_GT: u32 = 4;
const FUTEX_OP_CMP_GE: u32 = 5;

/// The 12-bit field at `shift`, sign-extended.
fn signed_field(encoded: u32, shift: u32) -> i32 {
    (((encoded >> shift) & 0xfff) as i32) << 20 >> 20
}

impl WakeOperation {
    /// ENOSYS for an operation or comparison Linux does not know.
    fn decode(encoded: u32) -> Result<WakeOperation, i64> {
        let operation = (encoded >> 28) & 0xf;
        let comparison = (encoded >> 24) & 0xf;
        let mut operand = signed_field(encoded, 12);
        if operation & FUTEX_OP_OPARG_SHIFT != 0 {
            // As Linux: a shift out of range is taken modulo 32.
            operand = 1i32.wrapping_shl(operand as u32 & 31);
        }
        let operation = operation & !FUTEX_OP_OPARG_SHIFT;
        if operation > FUTEX_OP_XOR || comparison > FUTEX_OP_CMP_GE {
            return Err(ENOSYS);
        }
        Ok(WakeOperation { operation, operand, comparison, comparand: signed_field(encoded, 0) })
    }

    /// The second word's new value, from its old one.
    pub fn apply(&self, old: u32) -> u32 {
        let operand = self.operand as u32;
        match self.operation {
            FUTEX_OP_SET => operand,
            FUTEX_OP_ADD => old.wrapping_add(operand),
            FUTEX_OP_OR => old | operand,
            FUTEX_OP_ANDN => old & !operand,
            _ => old ^ operand,
        }
    }

    /// Whether the old value passes the test (signed, as Linux compares).
    pub fn test(&self, old: u32) -> bool {
        let (old, comparand) = (old as i32, self.comparand);
        match self.comparison {
            FUTEX_OP_CMP_EQ => old == comparand,
            FUTEX_OP_CMP_NE => old != comparand,
            FUTEX_OP_CMP_LT => old < comparand,
            FUTEX_OP_CMP_LE => old <= comparand,
            FUTEX_OP_CMP_GT => old > comparand,
            _ => old >= comparand,
        }
    }
}

/// Which futex word: its address space (an identity the kernel picks), its
/// address, and whether the operation was private (FUTEX_PRIVATE_FLAG): Linux
/// keys a shared operation on private memory apart from a private one, so they
/// do not meet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FutexKey {
    pub space: u64,
    pub address: u64,
    pub private: bool,
}

/// Whether futex's `op` has FUTEX_PRIVATE_FLAG.
pub fn is_private(op: u64) -> bool {
    op as u32 & FUTEX_PRIVATE_FLAG != 0
}

/// How many buckets the waiters are hashed into by their word's key (`bucket_of`),
/// each with its own lock in the kernel, as Linux's futex hash: waits and wakes on
/// different words meet on a shared lock only when their keys collide. 256, as
/// Linux has per CPU (with 32 threads asleep, 12 % of words share a bucket with
/// one of them; with 64 buckets it was 40 %).
pub const FUTEX_BUCKETS: usize = 256;

/// The multiplicative (Fibonacci) hash of a key's address and address space, whose
/// top bits spread the words of one structure (a mutex and the condition variable
/// next to it) over the buckets, and whose next bits pick the key's `waiter_mark`.
/// (A private and a shared key of one word hash alike: they differ only in what
/// they meet.)
#[inline(always)]
fn hash(key: &FutexKey) -> u64 {
    const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;
    ((key.address ^ key.space) >> 2).wrapping_mul(GOLDEN)
}

const BUCKET_BITS: u32 = FUTEX_BUCKETS.trailing_zeros();

/// The bucket of `key`'s waiters.
#[inline(always)]
pub fn bucket_of(key: &FutexKey) -> usize {
    (hash(key) >> (64 - BUCKET_BITS)) as usize
}

/// `key`'s bit in its bucket's summary of the words its waiters wait on (the
/// kernel's, beside the bucket's queue): one of 64, picked by the hash's six bits below
/// the bucket's, so that the words sharing a bucket mostly differ in it too. A
/// wake of a word whose bit is clear has no waiter to find (a word nobody waits on
/// beside a crowd of waiters then takes no lock unless 1 in 64 of its bucket's
/// words shares its bit as well).
#[inline(always)]
pub fn waiter_mark(key: &FutexKey) -> u64 {
    // The shift takes its count modulo 64: the six bits below the bucket's.
    1u64.wrapping_shl((hash(key) >> (64 - BUCKET_BITS - 6)) as u32)
}

/// One thread waiting on a futex word, with what its waker needs of it (`P`: the
/// kernel keeps what places the thread once woken, so that the waker need not look
/// the thread up).
#[derive(Debug)]
struct Waiter<P> {
    key: FutexKey,
    tid: u32,
    bitset: u32,
    payload: P,
}

/// The waiting threads of one bucket (`bucket_of`), in the order they started to
/// wait (wakes are FIFO per word). A thread is on at most one queue while it
/// waits, and a waker that takes it off is the one that makes it runnable: the
/// entry is the thread's whole record of its wait. A plain list: few threads wait
/// at once, and waiting then never allocates beyond the list's high-water mark.
#[derive(Debug)]
pub struct FutexQueue<P = ()> {
    waiters: Vec<Waiter<P>>,
}

impl<P> Default for FutexQueue<P> {
    fn default() -> Self {
        FutexQueue::new()
    }
}

impl<P> FutexQueue<P> {
    pub const fn new() -> FutexQueue<P> {
        FutexQueue { waiters: Vec::new() }
    }

    /// Thread `tid` waits on `key` for a wake whose bitset meets `bitset`; its
    /// waker gets `payload` with it.
    #[inline]
    pub fn wait(&mut self, key: FutexKey, tid: u32, bitset: u32, payload: P) {
        self.waiters.push(Waiter { key, tid, bitset, payload });
    }

    /// Takes `tid` off the queue; false if it was not on it (a wake took it).
    pub fn cancel(&mut self, tid: u32) -> bool {
        let Some(index) = self.waiters.iter().position(|waiter| waiter.tid == tid) else { return false };
        self.waiters.remove(index);
        true
    }

    pub fn is_empty(&self) -> bool {
        self.waiters.is_empty()
    }

    /// Whether `tid` waits on this queue.
    pub fn contains(&self, tid: u32) -> bool {
        self.waiters.iter().any(|waiter| waiter.tid == tid)
    }

    /// Takes up to `count` waiters of `key` whose bitset meets `bitset` off the
    /// queue, oldest first, calling `woken` with each and its payload; returns how
    /// many.
    ///
    /// The scan stops at the `count`th: a wake of one waiter (every mutex unlock,
    /// every hand-off) ends where it finds it instead of passing over every waiter.
    /// Inlined: the kernel's futex handler calls it on every lock hand-off.
    #[inline(always)]
    pub fn wake(&mut self, key: FutexKey, count: u32, bitset: u32, mut woken: impl FnMut(u32, P)) -> u32 {
        let mut done = 0;
        let mut index = 0;
        while done < count && index < self.waiters.len() {
            let waiter = &self.waiters[index];
            if waiter.key == key && waiter.bitset & bitset != 0 {
                // The newest waiter (a hand-off's partner) comes off without the
                // call that moves the ones after it.
                let waiter =
                    if index + 1 == self.waiters.len() { self.waiters.pop() } else { Some(self.waiters.remove(index)) };
                let Some(waiter) = waiter else { break };
                done += 1;
                woken(waiter.tid, waiter.payload);
            } else {
                index += 1;
            }
        }
        done
    }

    /// FUTEX_REQUEUE from this queue, `from`'s bucket: wakes up to `wake` waiters
    /// of `from` (as `wake`), then moves up to `requeue` of the others to `to`, in
    /// their order, onto `to`'s bucket `elsewhere` (None: `to`'s bucket is this
    /// one), calling `moved` with each moved waiter; returns how many it woke plus
    /// how many it moved, as Linux.
    pub fn requeue(
        &mut self,
        elsewhere: Option<&mut FutexQueue<P>>,
        (from, to): (FutexKey, FutexKey),
        (wake, requeue): (u32, u32),
        woken: impl FnMut(u32, P),
        mut moved: impl FnMut(u32),
    ) -> u32 {
        let woke = self.wake(from, wake, FUTEX_BITSET_MATCH_ANY, woken);
        let mut count = 0;
        match elsewhere {
            None => {
                for waiter in self.waiters.iter_mut().filter(|waiter| waiter.key == from) {
                    if count == requeue {
                        break;
                    }
                    waiter.key = to;
                    moved(waiter.tid);
                    count += 1;
                }
            }
            Some(other) => {
                // One removal a moved waiter: few wait, and a requeue is rare.
                let mut index = 0;
                while count < requeue && index < self.waiters.len() {
                    if self.waiters[index].key == from {
                        let waiter = self.waiters.remove(index);
                        moved(waiter.tid);
                        other.waiters.push(Waiter { key: to, ..waiter });
                        count += 1;
                    } else {
                        index += 1;
                    }
                }
            }
        }
        woke + count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    const A: FutexKey = FutexKey { space: 1, address: 0x1000, private: true };
    const B: FutexKey = FutexKey { space: 1, address: 0x2000, private: true };
    const OTHER_SPACE: FutexKey = FutexKey { space: 2, address: 0x1000, private: true };
    const A_SHARED: FutexKey = FutexKey { private: false, ..A };

    #[test]
    fn operations_as_musl_and_glibc_issue_them() {
        let any = FUTEX_BITSET_MATCH_ANY;
        assert_eq!(decode_futex_op(0, 0), Ok(FutexOp::Wait { bitset: any, absolute: false, realtime: false }));
        assert_eq!(decode_futex_op(128, 0), decode_futex_op(0, 0));
        assert_eq!(decode_futex_op(129, 0), Ok(FutexOp::Wake { bitset: any }));
        assert_eq!(
            decode_futex_op(u64::from(FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME), 0xffff_ffff),
            Ok(FutexOp::Wait { bitset: any, absolute: true, realtime: true })
        );
        assert_eq!(decode_futex_op(10, 4), Ok(FutexOp::Wake { bitset: 4 }));
        assert_eq!(decode_futex_op(3, 0), Ok(FutexOp::Requeue { compare: false }));
        assert_eq!(decode_futex_op(4 | 128, 7), Ok(FutexOp::Requeue { compare: true }));
    }

    #[test]
    fn what_linux_refuses() {
        // A zero bitset matches nobody: EINVAL.
        assert_eq!(decode_futex_op(9, 0), Err(EINVAL));
        assert_eq!(decode_futex_op(10, 0), Err(EINVAL));
        // The realtime clock is only for the bitset wait.
        assert_eq!(decode_futex_op(u64::from(FUTEX_WAIT | FUTEX_CLOCK_REALTIME), 0), Err(ENOSYS));
        assert_eq!(decode_futex_op(u64::from(FUTEX_WAKE | FUTEX_CLOCK_REALTIME), 0), Err(ENOSYS));
        // Priority inheritance (6, 7, 8, 11, 12, 13) and unknown operations.
        for op in [2, 6, 7, 8, 11, 12, 13, 14, 99] {
            assert_eq!(decode_futex_op(op, 1), Err(ENOSYS), "op {op}");
        }
    }

    /// Linux's FUTEX_OP(op, oparg, cmp, cmparg).
    fn encode(op: u32, oparg: i32, cmp: u32, cmparg: i32) -> u64 {
        u64::from((op & 0xf) << 28 | (cmp & 0xf) << 24 | (oparg as u32 & 0xfff) << 12 | (cmparg as u32 & 0xfff))
    }

    fn wake_op(encoded: u64) -> WakeOperation {
        match decode_futex_op(u64::from(FUTEX_WAKE_OP), encoded) {
            Ok(FutexOp::WakeOp(operation)) => operation,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn wake_op_arithmetic() {
        // glibc's condvar of old: FUTEX_OP(FUTEX_OP_SET, 0, FUTEX_OP_CMP_GT, 1).
        let set = wake_op(encode(FUTEX_OP_SET, 0, FUTEX_OP_CMP_GT, 1));
        assert_eq!(set.apply(5), 0);
        assert!(set.test(2) && !set.test(1));
        assert_eq!(wake_op(encode(FUTEX_OP_ADD, -1, FUTEX_OP_CMP_EQ, 0)).apply(1), 0);
        assert_eq!(wake_op(encode(FUTEX_OP_OR, 0x30, FUTEX_OP_CMP_EQ, 0)).apply(0x3), 0x33);
        assert_eq!(wake_op(encode(FUTEX_OP_ANDN, 1, FUTEX_OP_CMP_EQ, 0)).apply(3), 2);
        assert_eq!(wake_op(encode(FUTEX_OP_XOR, 0xff, FUTEX_OP_CMP_EQ, 0)).apply(0xf0), 0x0f);
        // The operand as a shift count.
        assert_eq!(wake_op(encode(FUTEX_OP_OR | FUTEX_OP_OPARG_SHIFT, 4, FUTEX_OP_CMP_EQ, 0)).apply(0), 16);
        // Signed comparisons with a sign-extended 12-bit argument.
        let below = wake_op(encode(FUTEX_OP_SET, 0, FUTEX_OP_CMP_LT, -1));
        assert!(below.test(-2i32 as u32) && !below.test(0) && !below.test(u32::MAX));
        let at_least = wake_op(encode(FUTEX_OP_SET, 0, FUTEX_OP_CMP_GE, 0));
        assert!(at_least.test(0) && !at_least.test(u32::MAX));
        assert!(wake_op(encode(FUTEX_OP_SET, 0, FUTEX_OP_CMP_NE, 3)).test(4));
        assert!(wake_op(encode(FUTEX_OP_SET, 0, FUTEX_OP_CMP_LE, 3)).test(3));
    }

    #[test]
    fn unknown_wake_operations_are_enosys() {
        assert_eq!(decode_futex_op(u64::from(FUTEX_WAKE_OP), encode(5, 0, 0, 0)), Err(ENOSYS));
        assert_eq!(decode_futex_op(u64::from(FUTEX_WAKE_OP), encode(0, 0, 6, 0)), Err(ENOSYS));
    }

    #[test]
    fn wakes_are_fifo_per_word_and_counted() {
        let mut queue = FutexQueue::new();
        queue.wait(A, 10, FUTEX_BITSET_MATCH_ANY, ());
        queue.wait(B, 11, FUTEX_BITSET_MATCH_ANY, ());
        queue.wait(A, 12, FUTEX_BITSET_MATCH_ANY, ());
        queue.wait(OTHER_SPACE, 13, FUTEX_BITSET_MATCH_ANY, ());
        queue.wait(A, 14, FUTEX_BITSET_MATCH_ANY, ());
        let mut woken = vec![];
        assert_eq!(queue.wake(A, 2, FUTEX_BITSET_MATCH_ANY, |tid, ()| woken.push(tid)), 2);
        assert_eq!(woken, [10, 12]);
        assert_eq!(queue.wake(A, u32::MAX, FUTEX_BITSET_MATCH_ANY, |tid, ()| woken.push(tid)), 1);
        assert_eq!(woken, [10, 12, 14]);
        assert_eq!(queue.wake(A, 1, FUTEX_BITSET_MATCH_ANY, |_, ()| ()), 0);
        // The same address in another address space is another word, and a shared
        // wake does not meet a private wait.
        queue.wait(A, 15, FUTEX_BITSET_MATCH_ANY, ());
        assert_eq!(queue.wake(A_SHARED, 1, FUTEX_BITSET_MATCH_ANY, |_, ()| ()), 0);
        assert!(is_private(128) && !is_private(0));
        assert!(queue.cancel(15));
        assert!(queue.cancel(13) && !queue.cancel(13));
        assert_eq!(queue.wake(B, 0, FUTEX_BITSET_MATCH_ANY, |_, ()| ()), 0);
        assert!(queue.cancel(11));
    }

    #[test]
    fn bitsets_select_waiters() {
        let mut queue = FutexQueue::new();
        queue.wait(A, 1, 0b01, ());
        queue.wait(A, 2, 0b10, ());
        let mut woken = vec![];
        assert_eq!(queue.wake(A, 5, 0b10, |tid, ()| woken.push(tid)), 1);
        assert_eq!(woken, [2]);
        assert!(queue.cancel(1));
    }

    #[test]
    fn requeue_wakes_then_moves() {
        let mut queue = FutexQueue::new();
        for tid in 1..=5 {
            queue.wait(A, tid, FUTEX_BITSET_MATCH_ANY, ());
        }
        let (mut woken, mut moved) = (vec![], vec![]);
        assert_eq!(queue.requeue(None, (A, B), (1, 2), |tid, ()| woken.push(tid), |tid| moved.push(tid)), 3);
        assert_eq!((&woken[..], &moved[..]), (&[1][..], &[2, 3][..]));
        assert_eq!(queue.wake(B, 10, FUTEX_BITSET_MATCH_ANY, |tid, ()| woken.push(tid)), 2);
        assert_eq!(woken, [1, 2, 3]);
        assert_eq!(queue.wake(A, 10, FUTEX_BITSET_MATCH_ANY, |tid, ()| woken.push(tid)), 2);
        assert_eq!(woken, [1, 2, 3, 4, 5]);
    }

    #[test]
    fn requeue_to_another_bucket_keeps_the_order_and_the_rest() {
        let (mut from_bucket, mut to_bucket) = (FutexQueue::new(), FutexQueue::new());
        for tid in 1..=4 {
            from_bucket.wait(A, tid, FUTEX_BITSET_MATCH_ANY, ());
        }
        from_bucket.wait(OTHER_SPACE, 9, FUTEX_BITSET_MATCH_ANY, ());
        from_bucket.wait(A, 5, FUTEX_BITSET_MATCH_ANY, ());
        to_bucket.wait(B, 20, FUTEX_BITSET_MATCH_ANY, ());
        let (mut woken, mut moved) = (vec![], vec![]);
        let counted =
            from_bucket.requeue(Some(&mut to_bucket), (A, B), (1, 3), |tid, ()| woken.push(tid), |tid| moved.push(tid));
        assert_eq!(counted, 4);
        assert_eq!((&woken[..], &moved[..]), (&[1][..], &[2, 3, 4][..]));
        // The moved waiters queue behind the word's own, in their order; the rest
        // stay where they were.
        let mut order = vec![];
        assert_eq!(to_bucket.wake(B, 10, FUTEX_BITSET_MATCH_ANY, |tid, ()| order.push(tid)), 4);
        assert_eq!(order, [20, 2, 3, 4]);
        assert!(from_bucket.contains(9) && from_bucket.contains(5) && !from_bucket.contains(2));
        assert_eq!(from_bucket.wake(A, 10, FUTEX_BITSET_MATCH_ANY, |_, ()| ()), 1);
    }

    #[test]
    fn each_waiter_reaches_its_waker_with_its_payload_even_requeued() {
        let (mut from_bucket, mut to_bucket) = (FutexQueue::new(), FutexQueue::new());
        for tid in 1..=3 {
            from_bucket.wait(A, tid, FUTEX_BITSET_MATCH_ANY, alloc::format!("waiter {tid}"));
        }
        let mut woken = vec![];
        let counted = from_bucket.requeue(
            Some(&mut to_bucket),
            (A, B),
            (1, 1),
            |tid, payload| woken.push((tid, payload)),
            |_| (),
        );
        assert_eq!(counted, 2);
        to_bucket.wake(B, 1, FUTEX_BITSET_MATCH_ANY, |tid, payload| woken.push((tid, payload)));
        from_bucket.wake(A, 1, FUTEX_BITSET_MATCH_ANY, |tid, payload| woken.push((tid, payload)));
        let names = |tid: u32| alloc::format!("waiter {tid}");
        assert_eq!(woken, [(1, names(1)), (2, names(2)), (3, names(3))]);
    }

    #[test]
    fn a_wait_is_one_record_that_one_party_takes() {
        let mut queue = FutexQueue::new();
        queue.wait(A, 7, FUTEX_BITSET_MATCH_ANY, ());
        assert!(queue.contains(7));
        // The waker takes it; a signal or timeout that comes after finds nothing,
        // so the thread is made runnable once and its wait reads as a wake.
        assert_eq!(queue.wake(A, 1, FUTEX_BITSET_MATCH_ANY, |_, ()| ()), 1);
        assert!(!queue.cancel(7) && !queue.contains(7));
        // And the other way round.
        queue.wait(A, 7, FUTEX_BITSET_MATCH_ANY, ());
        assert!(queue.cancel(7));
        assert_eq!(queue.wake(A, 1, FUTEX_BITSET_MATCH_ANY, |_, ()| ()), 0);
    }

    #[test]
    fn buckets_spread_words_and_keep_keys_apart() {
        use alloc::collections::BTreeSet;
        // The words of one structure and of neighbouring ones spread over most
        // buckets, so unrelated locks rarely share a bucket's lock.
        let words: BTreeSet<usize> =
            (0..64).map(|word| bucket_of(&FutexKey { address: 0x40_1000 + 4 * word, ..A })).collect();
        assert!(words.len() >= 40, "64 consecutive words in {} buckets", words.len());
        // As do the same address in different address spaces.
        let spaces: BTreeSet<usize> =
            (0..64).map(|space| bucket_of(&FutexKey { space: 0xffff_8000_0010_0000 + 0x200 * space, ..A })).collect();
        assert!(spaces.len() >= 40, "64 address spaces in {} buckets", spaces.len());
        assert!((0..4096).all(|word| bucket_of(&FutexKey { address: 4 * word, ..A_SHARED }) < FUTEX_BUCKETS));
    }

    #[test]
    fn words_sharing_a_bucket_mostly_differ_in_their_waiter_mark() {
        // Every pair of 4096 consecutive words that share a bucket.
        let keys: Vec<FutexKey> = (0..4096).map(|word| FutexKey { address: 0x40_1000 + 4 * word, ..A }).collect();
        let (mut sharing, mut same_mark) = (0, 0);
        for (i, one) in keys.iter().enumerate() {
            for other in keys[i + 1..].iter().filter(|other| bucket_of(other) == bucket_of(one)) {
                sharing += 1;
                same_mark += usize::from(waiter_mark(one) == waiter_mark(other));
            }
        }
        assert!(
            sharing > 0 && same_mark * 16 < sharing,
            "{same_mark} of {sharing} pairs sharing a bucket share a mark"
        );
        assert!(keys.iter().all(|key| waiter_mark(key).count_ones() == 1));
    }
}
