//! A change to the mappings of many pages (mprotect, munmap) leaves no stale
//! translation behind in the process that makes it, whether the kernel flushes
//! the TLB page by page (a few pages) or whole (many).

mod common;

use common::*;

#[test]
fn pages_made_read_only_or_unmapped_take_effect_at_once_same_as_host() {
    let out = compare_with_host(&[], "mm_flush", &[], &[], |line| !line.contains("= -1") && !line.contains("failed"));
    for pages in [4, 200] {
        assert!(out.contains(&format!("{pages} pages made read-only, pages still taking a write: 0\n")), "{out}");
        assert!(
            out.contains(&format!("{pages} pages unmapped and mapped again, pages reading what was there: 0\n")),
            "{out}"
        );
    }
}
