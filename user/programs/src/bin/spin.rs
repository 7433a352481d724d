//! `spin [SECONDS]`: burn CPU. Without an argument it loops forever and never makes a
//! system call, so only a timer interrupt can take the CPU away from it (the proof of
//! preemption). With SECONDS it works until that much CLOCK_MONOTONIC time has passed,
//! prints `spin: done after SECONDS s` and exits 0. A bad argument: usage, exit 2.
#![no_std]
#![no_main]

use core::hint::black_box;
use rt::syscall::{Timespec, clock, clock_gettime};
use rt::{eprintln, println};

rt::entry!(main);

fn main(args: rt::Args) -> i32 {
    let seconds = match args.get_str(1) {
        None => loop {
            work();
        },
        Some(arg) => match arg.parse::<i64>() {
            Ok(n) if n >= 0 && args.len() == 2 => n,
            _ => {
                eprintln!("usage: spin [SECONDS]");
                return 2;
            }
        },
    };
    let start = now();
    let deadline = Timespec { tv_sec: start.tv_sec + seconds, ..start };
    while now() < deadline {
        work();
    }
    println!("spin: done after {seconds} s");
    0
}

/// A slice of pure computation (about a millisecond on a fast CPU), which the
/// optimizer cannot remove because `black_box` hides what becomes of the result.
fn work() {
    let mut x: u64 = black_box(1);
    for _ in 0..1_000_000 {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    }
    black_box(x);
}

/// The CLOCK_MONOTONIC time now.
fn now() -> Timespec {
    let mut ts = Timespec::default();
    clock_gettime(clock::MONOTONIC, &mut ts);
    ts
}
