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

/// A frame whose fpstate the handler set to NULL: sigreturn gives the interrupted
/// code the initial FPU state (xmm/ymm zero, default MXCSR and x87 control word),
/// as Linux does; with the fpstate kept, the code's own values come back.
#[test]
fn sigreturn_without_fpstate_resumes_with_the_initial_fpu_state() {
    let (_, guest) = same_as_host(&[], &c_program("signofp"), &[]);
    assert_status(&guest, 0);
    let output = stdout(&guest);
    for line in [
        "with fpstate: xmm0 kept, ymm1 kept, mxcsr 0x7f80, fcw 0x7f",
        "fpstate NULL: xmm0 zero, ymm1 zero, mxcsr 0x1f80, fcw 0x37f",
    ] {
        assert!(output.lines().any(|l| l == line), "no line {line:?} in:\n{output}");
    }
}

/// The frame's XSAVE image holds the interrupted code's own x87, SSE and MXCSR
/// values (the image straight from XSAVE, its legacy region taken as XSAVE wrote
/// it), and a handler interrupted in its fresh state gives the initial values, not
/// the stale ones of the code before it; x87 and SSE are always marked present.
#[test]
fn handlers_see_the_interrupted_fpu_registers_in_their_fpstate() {
    let (_, guest) = same_as_host(&[], &c_program("sigfpimage"), &[]);
    assert_status(&guest, 0);
    let output = stdout(&guest);
    for line in [
        "interrupted code: fcw 0x7f fsw 0x3800 ftw 0x80 mxcsr 0x7f80 st0 1.0 xmm0 pattern magic1 0x46505853 x87+sse present yes",
        "fresh handler: fcw 0x37f fsw 0 ftw 0 mxcsr 0x1f80 st0 zero xmm0 zero magic1 0x46505853 x87+sse present yes",
    ] {
        assert!(output.lines().any(|l| l == line), "no line {line:?} in:\n{output}");
    }
}
