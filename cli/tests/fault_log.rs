//! The kernel log of user faults: as Linux's show_unhandled_signals, a fault is
//! logged only when it ends the program, never when the program's handler takes it
//! (a prot-fault handler pays for its fault and delivery, not for a log line).
//! Guest-only: reading the kernel log on the host needs privileges.

mod common;

use common::*;

#[test]
fn only_faults_that_end_the_program_are_logged() {
    let guest = run(&c_program("faultlog"), &[]);
    assert_status(&guest, 0);
    assert_stdout(
        &guest,
        "the child took each fault in its handler: yes\n\
         no log line for a fault a handler takes: yes\n\
         a fault without a handler ends the child: yes\n\
         and is logged once: yes\n",
    );
}
