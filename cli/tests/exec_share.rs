//! exec maps a program's read-only pages from its file's frames, copy-on-write
//! (`user/c/execshare.c`): every process running the program sees its bytes, a
//! process writing its own copy changes no other's nor the file, as on this host;
//! and the copies share the frames, so each running copy costs far less free
//! memory than its read-only data.

mod common;

use common::*;

const EXPECTED: &str = "copies that saw the program's bytes and wrote their own page: 6 of 6\n\
                        the parent's bytes after the copies wrote theirs: as built\n\
                        copies that kept their own page to the end: 6 of 6\n\
                        a later exec of the file: exited 0\n";

#[test]
fn read_only_pages_after_exec_as_on_linux() {
    let host = host_run(&c_program("execshare"), &[]);
    assert_status(&host, 0);
    assert_stdout(&host, EXPECTED);
    let guest = run(&c_program("execshare"), &[]);
    assert_stdout(&guest, EXPECTED);
    assert_status(&guest, 0);
}

/// Six copies of a program with 1 MiB of read-only data running at once: each
/// takes its page tables, stack and writable data, not a copy of that megabyte.
#[test]
fn running_copies_share_the_program_files_frames() {
    let guest = run(&c_program("execshare"), &["--memory"]);
    assert_status(&guest, 0);
    let text = stdout(&guest);
    assert!(text.starts_with(EXPECTED), "{text}");
    let taken: i64 = text
        .lines()
        .find_map(|line| line.strip_prefix("free memory each running copy took: "))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or_else(|| panic!("no memory line in {text}"));
    assert!(taken < 256, "each running copy took {taken} KiB of free memory: its read-only table was copied\n{text}");
}

/// A mapping keeps the open file description it was made from: one made through
/// a descriptor open for writing keeps the file open for writing after the
/// descriptor is closed, so exec of the file is ETXTBSY until the mapping is
/// gone (munmap of all of it, the exit or exec of every process holding a copy:
/// a forked child's counts); and while the file runs, nothing can open it for
/// writing (ETXTBSY) nor map it writable through a read-only descriptor
/// (EACCES), as on this host (`user/c/execwriter.c`).
#[test]
fn a_mapping_through_a_writable_descriptor_keeps_exec_out_as_on_linux() {
    let out = compare_with_host(&[], "execwriter", &[], &[], |_| true);
    assert!(out.contains("exec with a shared writable mapping: ETXTBSY\n"), "{out}");
    assert!(out.contains("exec after unmapping all of it: exits 0\n"), "{out}");
}
