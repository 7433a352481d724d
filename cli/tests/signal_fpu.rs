//! A handler's vector registers and the code it interrupted: the frame's XSAVE image
//! and the handler's fresh FPU state (the save area's header reset, no copy of the
//! initial state), with two frames built at once, against the Linux host.

mod common;

use common::*;

#[test]
fn handlers_start_with_fresh_ymm_registers_and_leave_the_interrupted_ones_intact() {
    let (_, guest) = same_as_host(&[], &c_program("sigymm"), &[]);
    assert_status(&guest, 0);
    let output = stdout(&guest);
    for line in [
        "handlers ran: 2, first SIGUSR2, then SIGUSR1",
        "handler 1 started with every ymm register zero",
        "handler 2 started with every ymm register zero",
        "interrupted code's ymm0-15 intact after both handlers",
    ] {
        assert!(output.lines().any(|l| l == line), "no line {line:?} in:\n{output}");
    }
}
