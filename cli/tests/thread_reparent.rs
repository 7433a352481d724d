//! getppid in every thread of a process whose parent exits: each of its threads
//! keeps its own copy of the parent's pid for the fast path, so re-parenting must
//! reach all of them, also a thread that outlived the process's first. Against
//! Linux, on the fast path and on the general path (`--trace`).

mod common;

use common::{compare_with_host, scratch_dir};

fn ends_well(line: &str) -> bool {
    !line.ends_with(": no")
}

#[test]
fn every_thread_of_an_orphan_sees_its_new_parent() {
    compare_with_host(&[], "threadreparent", &[], &[], ends_well);
}

#[test]
fn every_thread_of_an_orphan_sees_its_new_parent_on_the_general_path() {
    let trace = scratch_dir("thread_reparent_general_path").join("trace.json");
    compare_with_host(&["--trace", trace.to_str().unwrap()], "threadreparent", &[], &[], ends_well);
}
