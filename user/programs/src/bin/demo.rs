//! `demo`: time sharing, made visible (what `cargo run` shows).
//!
//! Three CPU-bound workers, A, B and C, each print a line whenever they have used
//! another 20 ms of CPU. None of them ever waits or yields, yet their lines
//! interleave: the timer interrupt takes the CPU from each in turn and the scheduler
//! hands it to the next. A fourth child, `spin`, loops forever without a single
//! system call; it cannot keep the CPU either, so the parent still gets to run after
//! its sleep, and kills it.
#![no_std]
#![no_main]

use rt::println;
use rt::syscall::{self as sys, Timespec, clock, signal};

rt::entry!(main);

/// CPU time each worker uses before it exits, and between its reports.
const WORK_MS: u64 = 200;
const REPORT_EVERY_MS: u64 = 20;

fn main(_args: rt::Args) -> i32 {
    println!("timeshare demo: three CPU-bound workers and one infinite loop share one CPU.");
    println!("Each worker reports every {REPORT_EVERY_MS} ms of CPU time it gets; none of them ever gives the CPU up.");
    let start = now(clock::MONOTONIC);

    let spinner = sys::fork();
    if spinner == 0 {
        let path = c"/bin/spin";
        let argv = [path.as_ptr().cast::<u8>(), core::ptr::null()];
        let envp = [core::ptr::null()];
        // SAFETY: NUL-terminated path and NULL-terminated argv/envp arrays.
        unsafe { sys::execve(path.as_ptr().cast(), argv.as_ptr(), envp.as_ptr()) };
        sys::exit(127);
    }
    println!("[{:5} ms] started spin (pid {spinner}): for(;;) with no system calls", elapsed_ms(start));

    let mut workers = [0isize; 3];
    for (slot, name) in workers.iter_mut().zip(['A', 'B', 'C']) {
        let pid = sys::fork();
        if pid == 0 {
            work(name, start);
            sys::exit(0);
        }
        *slot = pid;
    }

    for pid in workers {
        let mut status = 0;
        sys::wait4(pid, &mut status, 0);
    }
    println!("[{:5} ms] all workers done; spin is still looping, and yet this parent runs:", elapsed_ms(start));
    println!("[{:5} ms] the timer preempts spin at every tick. Killing it with SIGKILL.", elapsed_ms(start));
    sys::kill(spinner, signal::SIGKILL);
    let mut status = 0;
    sys::wait4(spinner, &mut status, 0);
    println!("[{:5} ms] spin (pid {spinner}) ended by signal {}", elapsed_ms(start), status & 0x7f);
    0
}

/// Burns CPU until this process has used WORK_MS of it, reporting every
/// REPORT_EVERY_MS.
fn work(name: char, start: Timespec) {
    let pid = sys::getpid();
    let mut next_report = REPORT_EVERY_MS;
    loop {
        burn();
        let used = millis(now(clock::PROCESS_CPUTIME_ID));
        if used >= next_report {
            println!("[{:5} ms] worker {name} (pid {pid}) has had {:3} ms of CPU", elapsed_ms(start), next_report);
            if next_report >= WORK_MS {
                return;
            }
            next_report += REPORT_EVERY_MS;
        }
    }
}

/// A short stretch of pure computation the optimizer cannot remove.
fn burn() {
    let mut x: u64 = core::hint::black_box(1);
    for _ in 0..20_000 {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    }
    core::hint::black_box(x);
}

fn now(clock_id: usize) -> Timespec {
    let mut time = Timespec::default();
    sys::clock_gettime(clock_id, &mut time);
    time
}

fn millis(time: Timespec) -> u64 {
    time.tv_sec as u64 * 1000 + time.tv_nsec as u64 / 1_000_000
}

fn elapsed_ms(start: Timespec) -> u64 {
    millis(now(clock::MONOTONIC)) - millis(start)
}
