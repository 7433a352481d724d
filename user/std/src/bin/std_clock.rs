//! std_clock: Rust's `std::time` as a program uses it (`Instant`, `SystemTime`),
//! which reaches the vDSO through the C library's clock_gettime. The output is
//! the same whatever the machine's speed; compared with the Linux host by
//! cli/tests/vdso.rs, which also counts the system calls it makes.

use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn main() {
    let start = Instant::now();
    let mut last = start;
    let mut went_back = false;
    for _ in 0..100_000 {
        let now = Instant::now();
        went_back |= now < last;
        last = now;
    }
    println!("Instant never goes back over 100000 readings: {}", !went_back);

    let before_sleep = Instant::now();
    thread::sleep(Duration::from_millis(20));
    let slept = before_sleep.elapsed();
    println!(
        "a 20 ms sleep takes 20 ms to 5 s by Instant: {}",
        slept >= Duration::from_millis(20) && slept < Duration::from_secs(5)
    );

    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970");
    // 2020-01-01 to 2100-01-01.
    println!(
        "SystemTime is in this century: {}",
        since_epoch > Duration::from_secs(1_577_836_800) && since_epoch < Duration::from_secs(4_102_444_800)
    );
    let wall = SystemTime::now();
    let monotonic = Instant::now();
    thread::sleep(Duration::from_millis(10));
    let wall_step = wall.elapsed().expect("the wall clock went on");
    let monotonic_step = monotonic.elapsed();
    let difference = wall_step.abs_diff(monotonic_step);
    println!("SystemTime and Instant advance together: {}", difference < Duration::from_millis(5));
}
