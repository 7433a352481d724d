//! Pipes: a bounded byte queue between a read end and a write end. Readers block on
//! an empty pipe until data arrives or the last writer closes (end of file); writers
//! block on a full one until room appears, and get EPIPE (and SIGPIPE) once no
//! reader is left.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};
use spin::Mutex;

use super::File;
use crate::sched::{self, WaitChannel};
use crate::signal;
use kernel_core::abi::errno::{EINTR, EPIPE};
use kernel_core::abi::signal::SIGPIPE;

/// Bytes a pipe holds (Linux's default: 16 pages).
const CAPACITY: usize = 64 * 1024;

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
            sched::block(WaitChannel::PipeReadable(pipe.id)).map_err(|_| EINTR)?;
        }
    }

    fn release(&self) {
        self.0.state.lock().reader_open = false;
        sched::wake_all(WaitChannel::PipeWritable(self.0.id));
    }
}

impl File for WriteEnd {
    fn write(&self, bytes: &[u8]) -> Result<usize, i64> {
        let pipe = &self.0;
        let mut written = 0;
        loop {
            {
                let mut state = pipe.state.lock();
                if !state.reader_open {
                    drop(state);
                    signal::send(&sched::current(), SIGPIPE);
                    return if written > 0 { Ok(written) } else { Err(EPIPE) };
                }
                let room = CAPACITY - state.bytes.len();
                let count = room.min(bytes.len() - written);
                state.bytes.extend(&bytes[written..written + count]);
                written += count;
                drop(state);
                if count > 0 {
                    sched::wake_all(WaitChannel::PipeReadable(pipe.id));
                }
                if written == bytes.len() {
                    return Ok(written);
                }
            }
            if sched::block(WaitChannel::PipeWritable(pipe.id)).is_err() {
                return if written > 0 { Ok(written) } else { Err(EINTR) };
            }
        }
    }

    fn release(&self) {
        self.0.state.lock().writer_open = false;
        sched::wake_all(WaitChannel::PipeReadable(self.0.id));
    }
}
