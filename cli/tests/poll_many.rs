//! poll of more entries than the kernel keeps on its stack (they go to the heap,
//! copied in without being cleared first): each entry answered, the count of
//! ready ones, and EFAULT for an array running off its mapping, the same as on the
//! Linux host.

mod common;

use common::*;

#[test]
fn poll_answers_every_entry_of_a_long_array() {
    let (_, guest) = same_as_host(&[], &c_program("pollmany"), &[]);
    assert_status(&guest, 0);
    let out = stdout(&guest);
    for line in [
        "poll of 300: 180, mismatched 0, revents: [0]x120 [0x1]x60 [0x4]x60 [0x20]x60\n",
        "poll past the mapping: -1 EFAULT\n",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
}
