//! Pipes: a bounded byte queue between a read end and a write end. Readers block on
//! an empty pipe until data arrives or the last writer closes (end of file); writers
//! block on a full one until room appears, and get EPIPE (and SIGPIPE) once no
//! reader is left. A write of at most PIPE_BUF bytes goes in whole or waits (POSIX's
//! atomicity); under O_NONBLOCK, EAGAIN instead of waiting.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};
use spin::Mutex;

use super::File;
use crate::mm::address_space::AddressSpace;
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

struct State {
    bytes: VecDeque<u8>,
    reader_open: bool,
    writer_open: bool,
}

struct Pipe {
    id: u64,
    state: Mutex<State>,
}

struct ReadEnd(Arc<Pipe>);
struct WriteEnd(Arc<Pipe>);

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A new pipe: (read end, write end).
pub fn create() -> (Arc<dyn File>, Arc<dyn File>) {
    let pipe = Arc::new(Pipe {
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        state: Mutex::new(State { bytes: VecDeque::new(), reader_open: true, writer_open: true }),
    });
    (Arc::new(ReadEnd(pipe.clone())), Arc::new(WriteEnd(pipe)))
}

impl Pipe {
    /// What fstat reports for either end: a FIFO whose inode number is the pipe's.
    fn stat(&self) -> Stat {
        Stat { dev: PIPE_DEVICE, ino: self.id, nlink: 1, mode: S_IFIFO | 0o600, blksize: PIPE_BUF as i64, ..Stat::default() }
    }

    /// FIONREAD (on either end, as on Linux): the bytes waiting to be read.
    fn ioctl(&self, request: u64, argument: u64, memory: &mut AddressSpace) -> Result<u64, i64> {
        if request != FIONREAD {
            return Err(ENOTTY);
        }
        let unread = self.state.lock().bytes.len() as i32;
        memory.write(argument, &unread.to_le_bytes()).map_err(|_| EFAULT)?;
        Ok(0)
    }
}

impl File for ReadEnd {
    fn read(&self, buffer: &mut [u8]) -> Result<usize, i64> {
        let pipe = &self.0;
        loop {
            {
                let mut state = pipe.state.lock();
                if !state.bytes.is_empty() || buffer.is_empty() {
                    let count = buffer.len().min(state.bytes.len());
                    let (front, back) = state.bytes.as_slices();
                    let from_front = count.min(front.len());
                    buffer[..from_front].copy_from_slice(&front[..from_front]);
                    buffer[from_front..count].copy_from_slice(&back[..count - from_front]);
                    state.bytes.drain(..count);
                    drop(state);
                    sched::wake_all(WaitChannel::PipeWritable(pipe.id));
                    return Ok(count);
                }
                if !state.writer_open {
                    return Ok(0);
                }
            }
            sched::block(WaitChannel::PipeReadable(pipe.id)).map_err(|_| ERESTARTSYS)?;
        }
    }

    /// Readable with data; hung up once no writer is left.
    fn poll(&self) -> u16 {
        let state = self.0.state.lock();
        let mut events = 0;
        if !state.bytes.is_empty() {
            events |= POLLIN | POLLRDNORM;
        }
        if !state.writer_open {
            events |= POLLHUP;
        }
        events
    }

    fn ioctl(&self, request: u64, argument: u64, memory: &mut AddressSpace) -> Result<u64, i64> {
        self.0.ioctl(request, argument, memory)
    }

    fn stat(&self) -> Stat {
        self.0.stat()
    }

    fn release(&self) {
        self.0.state.lock().reader_open = false;
        sched::wake_all(WaitChannel::PipeWritable(self.0.id));
    }
}

impl WriteEnd {
    /// One attempt to write without waiting: EPIPE (and SIGPIPE) when no reader is
    /// left, else the bytes taken (0 when there is no room, or, if `whole`, not room
    /// for all of them).
    fn try_write(&self, bytes: &[u8], whole: bool) -> Result<usize, i64> {
        let pipe = &self.0;
        let mut state = pipe.state.lock();
        if !state.reader_open {
            drop(state);
            signal::send(&sched::current(), SIGPIPE);
            return Err(EPIPE);
        }
        let room = CAPACITY - state.bytes.len();
        if whole && room < bytes.len() {
            return Ok(0);
        }
        let mut count = room.min(bytes.len());
        // A buffer that must grow takes kernel heap: only what the heap can spare
        // (see `heap::spare`). Without it, what fits in the buffer as it is; and
        // if that is nothing on an empty pipe, ENOMEM, as Linux's pipe_write when
        // no page is left (waiting would not make room).
        let unused = state.bytes.capacity() - state.bytes.len();
        if count > unused {
            let grown = (state.bytes.capacity() * 2).max(state.bytes.len() + count);
            if crate::mm::heap::spare() < grown {
                count = unused;
                if count == 0 || (whole && count < bytes.len()) {
                    return if state.bytes.is_empty() { Err(ENOMEM) } else { Ok(0) };
                }
            }
        }
        state.bytes.extend(&bytes[..count]);
        drop(state);
        if count > 0 {
            sched::wake_all(WaitChannel::PipeReadable(pipe.id));
        }
        Ok(count)
    }
}

impl File for WriteEnd {
    /// Writes everything, waiting for room as often as needed; a signal or the
    /// last reader leaving ends the wait with the count so far (or the error).
    fn write(&self, bytes: &[u8]) -> Result<usize, i64> {
        let whole = bytes.len() <= PIPE_BUF;
        let mut written = 0;
        loop {
            match self.try_write(&bytes[written..], whole) {
                Ok(count) => written += count,
                Err(errno) => return if written > 0 { Ok(written) } else { Err(errno) },
            }
            if written == bytes.len() {
                return Ok(written);
            }
            if sched::block(WaitChannel::PipeWritable(self.0.id)).is_err() {
                return if written > 0 { Ok(written) } else { Err(ERESTARTSYS) };
            }
        }
    }

    /// Takes what fits now (all of it for a write of at most PIPE_BUF), or EAGAIN.
    fn write_nonblocking(&self, bytes: &[u8]) -> Result<usize, i64> {
        match self.try_write(bytes, bytes.len() <= PIPE_BUF)? {
            0 if !bytes.is_empty() => Err(EAGAIN),
            count => Ok(count),
        }
    }

    /// Writable while a PIPE_BUF write fits; in error once no reader is left.
    fn poll(&self) -> u16 {
        let state = self.0.state.lock();
        let mut events = 0;
        if CAPACITY - state.bytes.len() >= PIPE_BUF {
            events |= POLLOUT | POLLWRNORM;
        }
        if !state.reader_open {
            events |= POLLERR;
        }
        events
    }

    fn ioctl(&self, request: u64, argument: u64, memory: &mut AddressSpace) -> Result<u64, i64> {
        self.0.ioctl(request, argument, memory)
    }

    fn stat(&self) -> Stat {
        self.0.stat()
    }

    fn release(&self) {
        self.0.state.lock().writer_open = false;
        sched::wake_all(WaitChannel::PipeReadable(self.0.id));
    }
}
