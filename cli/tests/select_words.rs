//! select over fd_sets that span several words: each descriptor found once whichever
//! sets hold it, the words' edges, and nothing looked at or written back at or past
//! nfds (a closed descriptor there is no EBADF), the same as on the Linux host.

mod common;

use common::*;

#[test]
fn select_reads_only_the_bits_below_nfds_word_by_word() {
    let (_, guest) = same_as_host(&[], &c_program("selectwords"), &[]);
    assert_status(&guest, 0);
    assert!(stdout(&guest).contains("all of them: 6 read: 63 127 write: 6 62 65 128\n"), "{}", stdout(&guest));
}
