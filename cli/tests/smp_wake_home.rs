//! A blocked thread's wake places it by what it is when woken, not when it
//! blocked: a nice value set while it waited goes with it to another CPU's policy
//! (`user/c/blocked_nice.c`, against the host).

mod common;

use common::*;

/// The sleeper, niced to 19 and moved to CPU 1 while blocked on a pipe, gets
/// CFS's and EEVDF's share of nice 19 beside a hog of nice 0 there; with the nice
/// value it had when it blocked (0), it would get half.
#[test]
fn a_nice_value_set_while_blocked_counts_on_the_cpu_the_wake_moves_it_to() {
    for policy in ["fair", "eevdf"] {
        let (_, guest) = same_as_host(&["--cpus", "2", "--sched", policy], &c_program("blocked_nice"), &[]);
        assert_eq!(stdout(&guest), "niced sleeper under a fifth of the hog: yes\n", "--sched {policy}");
    }
}
