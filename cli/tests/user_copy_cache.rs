//! The kernel's user copies keep the translations of the pages they used last;
//! a change to a page's mapping (mprotect, munmap) must reach them at once, and a
//! change to its neighbour must not take the page's own rights away. Against the
//! Linux host.

mod common;

use common::*;

#[test]
fn kernel_copies_see_each_page_s_mapping_change_at_once() {
    copies_see_each_page_s_mapping_change_at_once(&[]);
}

/// A one-byte read of /dev/zero takes the kernel's short way (inline, into the
/// page whose translation it keeps), which must see the same changes.
#[test]
fn kernel_copies_of_one_byte_see_each_page_s_mapping_change_at_once() {
    copies_see_each_page_s_mapping_change_at_once(&["1"]);
}

fn copies_see_each_page_s_mapping_change_at_once(args: &[&str]) {
    let (_, guest) = same_as_host(&[], &c_program("copycache"), args);
    assert_status(&guest, 0);
    let output = stdout(&guest);
    for line in [
        "fill it made read-only: EFAULT",
        "fill it right after a write from it: EFAULT",
        "fill it made writable again: ok",
        "fill it beside a PROT_NONE neighbour: ok",
        "drain the PROT_NONE neighbour: EFAULT",
        "fill it unmapped: EFAULT",
    ] {
        assert!(output.lines().any(|l| l == line), "no line {line:?} in:\n{output}");
    }
}
