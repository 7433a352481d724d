//! Pipes: a bounded byte queue between a read end and a write end. Readers block on
//! an empty pipe until data arrives or the last writer closes (end of file); writers
//! block on a full one until room appears, and get EPIPE (and SIGPIPE) once no
//! reader is left. A write of at most PIPE_BUF bytes goes in whole or waits (POSIX's
//! atomicity); under O_NONBLOCK, EAGAIN instead of waiting.
//!
//! read and write copy straight between the pipe's buffer and the caller's memory
//! (`File::read_to`, `File::write_from`), holding the pipe's lock: one copy, and a
//! bad buffer leaves the bytes where they were.

use crate::sync::{class, OrderedMutex, OrderedMutexGuard};
use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU16, AtomicU64, AtomicUsize, Ordering};

use super::{File, IoctlArgument, OpenFile, Sink, SizeLimit, Source};
use crate::mm::address_space::UserBuffer;
use crate::sched::{self, WaitChannel};
use crate::signal;
use kernel_core::abi::errno::{EAGAIN, EFAULT, ENOMEM, ENOTTY, EPIPE};
use kernel_core::abi::signal::{ERESTARTSYS, SIGPIPE};
use kernel_core::abi::{makedev, Stat, FIONREAD, POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM};
use kernel_core::cpio::S_IFIFO;

/// Bytes a pipe holds (Linux's default: 16 pages).
const CAPACITY: usize = 64 * 1024;
/// Writes up to this size are atomic (POSIX PIPE_BUF, Linux's value).
const PIPE_BUF: usize = 4096;
/// The device number pipes report (`st_dev`): Linux's pipefs is an anonymous
/// device too.
const PIPE_DEVICE: u64 = makedev(0, 12);

/// The pipe's bytes: a ring of `len` bytes from `head` on in `storage`, whose
/// length is zero or a power of two (at most CAPACITY), so positions wrap with a
/// mask. It grows on demand (see `WriteEnd::try_write`), never shrinks, and starts
/// over at 0 when emptied so that small transfers stay in one piece.
#[derive(Default)]
struct Ring {
    storage: Vec<u8>,
    head: usize,
    len: usize,
}

/// The smallest buffer a pipe allocates (most pipes carry a few bytes at a time).
const MINIMUM_STORAGE: usize = 64;

impl Ring {
    /// Bytes `storage` has room for without growing.
    fn unused(&self) -> usize {
        self.storage.len() - self.len
    }

    /// Moves up to `count` bytes (at most `len`) from the front into `out`, from
    /// its byte `offset` on; returns how many `out` took (fewer: it refused the
    /// rest, which stays). Inline: with a user buffer the copy is a few
    /// instructions (see `Sink`).
    #[inline(always)]
    fn take(&mut self, out: &mut (impl Sink + ?Sized), offset: usize, count: usize) -> usize {
        if count == 0 {
            return 0;
        }
        // Sliced from `head` first: the piece then needs no bounds check of its own.
        let front = &self.storage[self.head..];
        let first = count.min(front.len());
        let mut taken = out.put(offset, &front[..first]);
        if taken == first && first < count {
            taken += out.put(offset + first, &self.storage[..count - first]);
        }
        self.len -= taken;
        self.head = if self.len == 0 { 0 } else { (self.head + taken) & (self.storage.len() - 1) };
        taken
    }

    /// Appends `count` bytes (at least one, fitting in `storage`: see `unused`)
    /// of `from`, from its byte `offset` on; returns how many it gave (fewer: it
    /// refused the rest). Inline, as `take`.
    #[inline(always)]
    fn put(&mut self, from: &(impl Source + ?Sized), offset: usize, count: usize) -> usize {
        let size = self.storage.len();
        let tail = (self.head + self.len) & (size - 1);
        // As in `take`, one bounds check.
        let back = &mut self.storage[tail..];
        let first = count.min(back.len());
        let mut given = from.get(offset, &mut back[..first]);
        if given == first && first < count {
            given += from.get(offset + first, &mut self.storage[..count - first]);
        }
        self.len += given;
        given
    }

    /// The storage size that holds `needed` bytes (at most CAPACITY).
    fn grown_size(needed: usize) -> usize {
        needed.next_power_of_two().clamp(MINIMUM_STORAGE, CAPACITY)
    }

    /// Replaces `storage` by one of `size` bytes (a power of two, holding `len`),
    /// the bytes moved to its start.
    fn grow(&mut self, size: usize) {
        let mut storage = vec![0u8; size];
        let count = self.take(storage.as_mut_slice(), 0, self.len);
        self.storage = storage;
        self.len = count;
    }
}

struct State {
    bytes: Ring,
    /// Someone may wait for data or end of file: a reader blocked, or a poller
    /// asked (pollers block on `WaitChannel::Poll`, which the pipe's wake also
    /// wakes). Without it, new data wakes no one: most writes find no reader
    /// waiting, and `wake_all` has to scan every blocked process to see that.
    readers_wait: bool,
    /// The same for room or the last reader leaving: a writer blocked, or a poller.
    writers_wait: bool,
}

impl State {
    /// Appends `count` bytes of `from` from its byte `offset` on (they fit: see
    /// `Ring::put`) and wakes the readers of pipe `id` if any went in; returns
    /// how many did.
    #[inline(always)]
    fn append(&mut self, from: &(impl Source + ?Sized), offset: usize, count: usize, pipe: &Pipe) -> usize {
        let taken = self.bytes.put(from, offset, count);
        if taken > 0 {
            pipe.unread.store(self.bytes.len, Ordering::Relaxed);
            self.wake_readers(pipe.id);
        }
        taken
    }

    /// Wakes the readers and pollers if any may wait (see `readers_wait`).
    #[inline(always)]
    fn wake_readers(&mut self, id: u64) {
        if core::mem::take(&mut self.readers_wait) {
            sched::wake_all(WaitChannel::PipeReadable(id));
        }
    }

    /// Makes room in the buffer for `count` bytes (more than it has unused) if
    /// the kernel heap can spare what a larger buffer takes (see `heap::spare`);
    /// if not, the writer is to wait, and only what fits as it is goes in. Returns
    /// how many bytes to write now. Out of line: most writes fit.
    #[cold]
    #[inline(never)]
    fn make_room(&mut self, count: usize) -> usize {
        let size = Ring::grown_size(self.bytes.len + count);
        if crate::mm::heap::spare() < size {
            self.writers_wait = true;
            self.bytes.unused()
        } else {
            self.bytes.grow(size);
            count
        }
    }

    /// Wakes the writers and pollers if any may wait (see `writers_wait`).
    #[inline(always)]
    fn wake_writers(&mut self, id: u64) {
        if core::mem::take(&mut self.writers_wait) {
            sched::wake_all(WaitChannel::PipeWritable(id));
        }
    }
}

/// A pipe: its bytes and waiters under `state`'s lock, and what a poll that will
/// not block reads without that lock (as Linux's `pipe_poll` reads the ring's
/// head and tail): the count of unread bytes and what each end reports once the
/// other has closed, stored under the lock whenever they change.
struct Pipe {
    id: u64,
    state: OrderedMutex<State>,
    unread: AtomicUsize,
    /// POLLHUP once the last writer has left, else 0: the bit itself, which a
    /// poll ORs in.
    read_end_hangup: AtomicU16,
    /// POLLERR once the last reader has left, else 0.
    write_end_error: AtomicU16,
}

struct ReadEnd(Arc<Pipe>);
struct WriteEnd(Arc<Pipe>);

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A new pipe: (read end, write end).
pub fn create() -> (Box<dyn File>, Box<dyn File>) {
    let pipe = Arc::new(Pipe {
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        state: OrderedMutex::new(
            class::PIPE,
            State { bytes: Ring::default(), readers_wait: false, writers_wait: false },
        ),
        unread: AtomicUsize::new(0),
        read_end_hangup: AtomicU16::new(0),
        write_end_error: AtomicU16::new(0),
    });
    (Box::new(ReadEnd(pipe.clone())), Box::new(WriteEnd(pipe)))
}

impl Pipe {
    /// What a poll of the read end reports: readable with data; hung up once no
    /// writer is left.
    #[inline(always)]
    fn read_end_events(&self) -> u16 {
        let readable = if self.unread.load(Ordering::Relaxed) > 0 { POLLIN | POLLRDNORM } else { 0 };
        readable | self.read_end_hangup.load(Ordering::Relaxed)
    }

    /// What a poll of the write end reports: writable while a PIPE_BUF write
    /// fits; in error once no reader is left.
    #[inline(always)]
    fn write_end_events(&self) -> u16 {
        let writable =
            if CAPACITY - self.unread.load(Ordering::Relaxed) >= PIPE_BUF { POLLOUT | POLLWRNORM } else { 0 };
        writable | self.write_end_error.load(Ordering::Relaxed)
    }

    fn writer_open(&self) -> bool {
        self.read_end_hangup.load(Ordering::Relaxed) == 0
    }

    fn reader_open(&self) -> bool {
        self.write_end_error.load(Ordering::Relaxed) == 0
    }

    /// The state, for a poll: a free lock is one compare-exchange, and the wait for
    /// a held one is out of line, so that a poll (one per descriptor per pass of
    /// poll or select) keeps no registers for the wait's calls.
    #[inline(always)]
    fn state_for_poll(&self) -> OrderedMutexGuard<'_, State> {
        match self.state.try_lock() {
            Some(state) => state,
            None => self.wait_for_state(),
        }
    }

    #[cold]
    #[inline(never)]
    fn wait_for_state(&self) -> OrderedMutexGuard<'_, State> {
        self.state.lock()
    }

    /// What fstat reports for either end: a FIFO whose inode number is the pipe's.
    fn stat(&self) -> Stat {
        Stat {
            dev: PIPE_DEVICE,
            ino: self.id,
            nlink: 1,
            mode: S_IFIFO | 0o600,
            blksize: PIPE_BUF as i64,
            ..Stat::default()
        }
    }

    /// What /proc/PID/fd/N names either end as, Linux's `pipe:[INODE]`.
    fn link_name(&self) -> alloc::string::String {
        alloc::format!("pipe:[{}]", self.id)
    }

    /// FIONREAD (on either end, as on Linux): the bytes waiting to be read,
    /// counted under the pipe's lock and copied out after it (the address space's
    /// lock comes after a pipe's, never before).
    fn ioctl(&self, request: u64, argument: &IoctlArgument) -> Result<u64, i64> {
        if request != FIONREAD {
            return Err(ENOTTY);
        }
        let unread = self.state.lock().bytes.len as i32;
        argument.write(&unread.to_le_bytes())?;
        Ok(0)
    }
}

impl ReadEnd {
    /// Reads into `out` what the pipe holds (at most `out.len()`), waiting for a
    /// first byte unless `nonblocking` (EAGAIN) or end of file (0); an empty read
    /// returns 0 at once, as Linux's pipe_read. Bytes `out` refuses stay in the
    /// pipe; EFAULT if it took none. A refusal for want of memory is the program's
    /// page fault, which the OOM policy resolves: then the read goes on (with what
    /// is there by then).
    fn read_into(&self, out: &mut (impl Sink + ?Sized), nonblocking: bool) -> Result<usize, i64> {
        let pipe = &self.0;
        let length = out.len();
        let mut done = 0;
        loop {
            let wait = {
                let mut state = pipe.state.lock();
                if state.bytes.len > 0 || length == 0 {
                    let count = (length - done).min(state.bytes.len);
                    let taken = state.bytes.take(out, done, count);
                    if taken > 0 {
                        pipe.unread.store(state.bytes.len, Ordering::Relaxed);
                        state.wake_writers(pipe.id);
                    }
                    done += taken;
                    if taken < count {
                        drop(state);
                        if out.reclaimed_memory() {
                            continue;
                        }
                        return if done == 0 { Err(EFAULT) } else { Ok(done) };
                    }
                    return Ok(done);
                }
                if !pipe.writer_open() || done > 0 {
                    return Ok(done);
                }
                if nonblocking {
                    return Err(EAGAIN);
                }
                state.readers_wait = true;
                // Under the pipe's lock: a writer's wake comes after it.
                sched::prepare(WaitChannel::PipeReadable(pipe.id))
            };
            wait.block().map_err(|_| ERESTARTSYS)?;
        }
    }
}

impl File for ReadEnd {
    fn read(&self, buffer: &mut [u8]) -> Result<usize, i64> {
        self.read_into(buffer, false)
    }

    fn read_to(&self, out: &mut UserBuffer, open: &OpenFile) -> Option<Result<usize, i64>> {
        Some(self.read_into(out, open.nonblocking()))
    }

    /// Without the lock (see `Pipe`).
    fn poll(&self) -> u16 {
        self.0.read_end_events()
    }

    /// `poll`, leaving the caller registered: new data or the last writer leaving
    /// must wake it. Under the lock, so that no such event falls between the look
    /// and the registration.
    fn poll_to_block(&self) -> u16 {
        let mut state = self.0.state_for_poll();
        state.readers_wait = true;
        self.0.read_end_events()
    }

    fn ioctl(&self, request: u64, argument: &IoctlArgument) -> Result<u64, i64> {
        self.0.ioctl(request, argument)
    }

    fn stat(&self) -> Stat {
        self.0.stat()
    }

    fn link_name(&self) -> alloc::string::String {
        self.0.link_name()
    }

    fn release(&self) {
        let mut state = self.0.state.lock();
        self.0.write_end_error.store(POLLERR, Ordering::Relaxed);
        state.wake_writers(self.0.id);
    }
}

/// What one attempt at a write took.
struct Attempt {
    taken: usize,
    /// The source refused a byte (a bad user buffer): the write ends there.
    fault: bool,
}

impl WriteEnd {
    /// One attempt to write the `wanted` bytes of `from` from its byte `offset` on
    /// (the rest of it) without waiting: EPIPE (and SIGPIPE) when no reader is
    /// left, else what it took (nothing when there is no room, or, if `whole`, not
    /// room for all of it).
    fn try_write(
        &self,
        from: &(impl Source + ?Sized),
        offset: usize,
        wanted: usize,
        whole: bool,
    ) -> Result<Attempt, i64> {
        let pipe = &self.0;
        let mut state = pipe.state.lock();
        if !pipe.reader_open() {
            drop(state);
            return Err(broken_pipe());
        }
        let nothing = Attempt { taken: 0, fault: false };
        let room = CAPACITY - state.bytes.len;
        if room < wanted {
            // Not all of it fits: unless under O_NONBLOCK, the caller waits for room.
            state.writers_wait = true;
            if whole {
                return Ok(nothing);
            }
        }
        let mut count = room.min(wanted);
        if count > state.bytes.unused() {
            count = state.make_room(count);
            if count == 0 || (whole && count < wanted) {
                // Nothing fits in an empty pipe: ENOMEM, as Linux's pipe_write
                // when no page is left (waiting would not make room).
                return if state.bytes.len == 0 { Err(ENOMEM) } else { Ok(nothing) };
            }
        }
        if count == 0 {
            return Ok(nothing);
        }
        let taken = state.append(from, offset, count, pipe);
        Ok(Attempt { taken, fault: taken < count })
    }

    /// Writes all of `from`, waiting for room as often as needed unless
    /// `nonblocking` (then what fits now, all of it for a write of at most
    /// PIPE_BUF, or EAGAIN). A signal, the last reader leaving or a fault in
    /// `from` ends it with the count so far (or the error). A write that fits in
    /// the buffer as it is (most: a reader keeps up) goes in here, in one piece;
    /// the others in `write_in_attempts`, out of line, so that this one keeps
    /// nothing in registers across a call it does not make.
    fn write_from_source(&self, from: &(impl Source + ?Sized), nonblocking: bool) -> Result<usize, i64> {
        let length = from.len();
        let pipe = &self.0;
        let mut state = pipe.state.lock();
        if pipe.reader_open() && length > 0 && length <= state.bytes.unused() {
            // As `write_in_attempts` would end: all of it, or a fault part-way.
            let taken = state.append(from, 0, length, pipe);
            if taken == length {
                return Ok(taken);
            }
            drop(state);
            if from.reclaimed_memory() {
                return self.write_in_attempts(from, taken, nonblocking);
            }
            return if taken == 0 { Err(EFAULT) } else { Ok(taken) };
        }
        drop(state);
        self.write_in_attempts(from, 0, nonblocking)
    }

    /// `write_from_source` in general: attempt after attempt, from byte `written`
    /// on. A refusal of `from` for want of memory is the program's page fault,
    /// which the OOM policy resolves: the write goes on (the rest of a write of at
    /// most PIPE_BUF then lands apart from its start if another writer came in
    /// meanwhile, the one case where such a write is not atomic).
    #[inline(never)]
    fn write_in_attempts(
        &self,
        from: &(impl Source + ?Sized),
        mut written: usize,
        nonblocking: bool,
    ) -> Result<usize, i64> {
        let length = from.len();
        let whole = length <= PIPE_BUF;
        loop {
            let wait = sched::prepare(WaitChannel::PipeWritable(self.0.id));
            let ended = match self.try_write(from, written, length - written, whole) {
                Ok(attempt) => {
                    written += attempt.taken;
                    if written == length {
                        return Ok(written);
                    }
                    match (attempt.fault, nonblocking) {
                        (true, _) if from.reclaimed_memory() => None,
                        (true, _) => Some(EFAULT),
                        (false, true) => Some(EAGAIN),
                        (false, false) => wait.block().err().map(|_| ERESTARTSYS),
                    }
                }
                Err(errno) => Some(errno),
            };
            if let Some(errno) = ended {
                return if written > 0 { Ok(written) } else { Err(errno) };
            }
        }
    }
}

/// A write found no reader left: SIGPIPE for the writer, and the write's EPIPE.
#[cold]
#[inline(never)]
fn broken_pipe() -> i64 {
    signal::send_to_caller(&sched::current(), SIGPIPE);
    EPIPE
}

impl File for WriteEnd {
    fn write(&self, bytes: &[u8]) -> Result<usize, i64> {
        self.write_from_source(bytes, false)
    }

    fn write_nonblocking(&self, bytes: &[u8]) -> Result<usize, i64> {
        self.write_from_source(bytes, true)
    }

    fn write_from(&self, from: &UserBuffer, open: &OpenFile, _limit: &dyn SizeLimit) -> Option<Result<usize, i64>> {
        Some(self.write_from_source(from, open.nonblocking()))
    }

    /// Without the lock (see `Pipe`).
    fn poll(&self) -> u16 {
        self.0.write_end_events()
    }

    /// `poll`, leaving the caller registered for room or the last reader leaving.
    fn poll_to_block(&self) -> u16 {
        let mut state = self.0.state_for_poll();
        state.writers_wait = true;
        self.0.write_end_events()
    }

    fn ioctl(&self, request: u64, argument: &IoctlArgument) -> Result<u64, i64> {
        self.0.ioctl(request, argument)
    }

    fn stat(&self) -> Stat {
        self.0.stat()
    }

    fn link_name(&self) -> alloc::string::String {
        self.0.link_name()
    }

    fn release(&self) {
        let mut state = self.0.state.lock();
        self.0.read_end_hangup.store(POLLHUP, Ordering::Relaxed);
        state.wake_readers(self.0.id);
    }
}
