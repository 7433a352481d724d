//! The writable root file system: the calls that create, change and remove files
//! (C programs run on this host in a scratch directory and under timeshare in
//! /tmp, printing the same), BusyBox's file applets in a shell script compared
//! with the host's BusyBox, a file that fills memory, a sparse file, names that
//! fill the kernel's heap, and what only timeshare's root file system answers.

mod common;

use common::*;

#[test]
fn file_calls_as_on_linux() {
    let dir = scratch_dir("files_calls");
    let host = host_run(&c_program("files_calls"), &[dir.to_str().unwrap()]);
    let guest = run(&c_program("files_calls"), &["/tmp"]);
    assert_status(&host, 0);
    assert_eq!(
        stdout(&guest),
        stdout(&host),
        "files_calls: stdout under timeshare (left) differs from the host's (right)\n--- stderr ---\n{}",
        stderr(&guest)
    );
    assert_status(&guest, 0);
}

/// A shell session with BusyBox's file applets, run by the host's BusyBox in a
/// scratch directory and under timeshare in /tmp (paths relative, so both print
/// the same).
const APPLETS_SCRIPT: &str = r#"
set -e
cd "$1"; mkdir work; cd work
touch empty; echo one > f; echo two >> f; cat f
printf 'x\nrest\n' > rw; exec 3<>rw; echo Y >&3; exec 3>&-; cat rw
set -C; if (echo no > f) 2>/dev/null; then echo clobbered; else echo noclobber; fi; set +C
mkdir -p a/b/c; echo deep > a/b/c/file; cp -r a a2; cat a2/b/c/file
mv a2 a3; ls; mv f a3/moved; cat a3/moved
ln -s a3/moved sl; cat sl; readlink sl; ln a3/moved hl
stat -c '%n %h %s %F %a' hl a3/moved sl a3 a3/b empty
find . | sort
seq 10 -1 1 > nums; sort -n -o nums nums; head -n 3 nums; tail -n 2 nums; wc -l nums
md5sum nums
dd if=/dev/zero of=zeros bs=512 count=9 2>/dev/null; wc -c zeros; du -k zeros a3/moved; du -sk a3
cp -p nums kept; touch -d '2001-02-03 04:05:06' kept; stat -c '%n %Y %a' kept
chmod 640 kept; stat -c '%a' kept
if rmdir a3 2>/dev/null; then echo removed; else echo notempty; fi
rm -r a3 a; ls
rm hl sl; if rmdir nonexist 2>/dev/null; then echo huh; else echo nodir; fi
mkdir -p x/y; mv x/y z; ls -d z x/y 2>/dev/null || true
cat nums | sort -r | head -n 1 > top; cat top
cd ..; rm -r work; ls work 2>/dev/null || echo gone
"#;

#[test]
fn busybox_file_applets_as_on_linux() {
    let dir = scratch_dir("files_applets");
    let busybox = std::path::Path::new("/bin/busybox");
    let host = host_run(busybox, &["sh", "-c", APPLETS_SCRIPT, "sh", dir.to_str().unwrap()]);
    let guest = run(busybox, &["sh", "-c", APPLETS_SCRIPT, "sh", "/tmp"]);
    assert_eq!(shell_status(host.status), 0, "on the host: {}", stderr(&host));
    assert_eq!(stdout(&guest), stdout(&host), "timeshare (left), host (right)\n--- stderr ---\n{}", stderr(&guest));
    assert_status(&guest, 0);
}

#[test]
fn df_names_the_root_file_system() {
    let output = run(std::path::Path::new("/bin/busybox"), &["df", "/"]);
    assert_status(&output, 0);
    let out = stdout(&output);
    assert!(out.lines().nth(1).is_some_and(|line| line.starts_with("tmpfs") && line.ends_with(" /")), "{out}");
}

#[test]
fn a_file_filling_memory_gets_enospc_and_gives_it_back() {
    let output = run_with(&["--memory", "64"], &c_program("files_fill"), &[]);
    assert_status(&output, 0);
    assert_stdout(
        &output,
        // errno 28 is ENOSPC.
        "the file stopped with errno 28 after more than 1 MiB: yes\n\
         statfs: no block free: yes\n\
         another file's write = -1 errno 28\n\
         the bystander: exited 0\n\
         unlink the file = 0\n\
         statfs: blocks free again: yes\n\
         written again: errno 28, as much: yes\n",
    );
}

/// What `files_limits sparse` prints on Linux's tmpfs (checked against the host's
/// /dev/shm where it has one) and must print under timeshare.
const SPARSE_FILE: &str = "pwrite a TiB in = 3\n\
    size 1099511627779, blocks 8\n\
    pread across the hole's end = 5\n\
    read: 0 0 far\n\
    pread in the hole = 4\n\
    read: 0 0 0 0\n\
    pwrite just below the largest size = 3\n\
    size 0x7fffffffffffffff, blocks 16\n\
    ftruncate below the last page = 0\n\
    size 1099511627777, blocks 8\n\
    ftruncate to 0 = 0\n\
    size 0, blocks 0\n";

/// A write a TiB into a file, and one just below the largest size, take a page
/// each, as on Linux's tmpfs: the file's pages are kept by index, so the hole
/// before them costs nothing (a vector indexed by page asked the kernel heap for
/// terabytes, and the kernel panicked).
#[test]
fn a_write_far_into_a_file_is_sparse_as_on_linux() {
    let program = c_program("files_limits");
    if std::path::Path::new("/dev/shm").is_dir() {
        let host = host_run(&program, &["sparse", "/dev/shm"]);
        assert_status(&host, 0);
        assert_stdout(&host, SPARSE_FILE);
    }
    let guest = run(&program, &["sparse", "/tmp"]);
    assert_status(&guest, 0);
    assert_stdout(&guest, SPARSE_FILE);
}

/// Names the file system keeps on the kernel heap (long file names, symlinks with
/// 4000-byte targets) stop with ENOSPC where the heap runs short, and leave room
/// for processes and pipes; removing them gives the memory back (the kernel used to
/// panic on a failed allocation after a few thousand symlinks).
#[test]
fn names_stop_with_enospc_before_the_kernel_runs_out() {
    let output = run_with(&["--memory", "64"], &c_program("files_limits"), &["names", "/tmp"]);
    assert_status(&output, 0);
    assert_stdout(
        &output,
        // errno 28 is ENOSPC.
        "files stopped with errno 28 after more than 1000: yes\n\
         a child through a pipe: ok, exited 0\n\
         after removing them, as many again: yes\n\
         symlinks stopped with errno 28 after more than 100: yes\n\
         a child through a pipe: ok, exited 0\n\
         rmdir names = 0\n",
    );
}

#[test]
fn what_only_the_ram_root_file_system_answers() {
    let output = run(&c_program("files_rootfs"), &[]);
    assert_status(&output, 0);
    assert_stdout(
        &output,
        "statfs / = 0\n\
         f_type 0x1021994, f_bsize 4096\n\
         O_TMPFILE in /tmp = -1 errno 95\n\
         fallocate = -1 errno 95\n\
         open /dev/tty = -1 ENXIO\n\
         a new file's times are the wall clock's: yes\n\
         /proc/mounts: tmpfs / tmpfs rw 0 0\n\
         proc /proc proc rw 0 0\n",
    );
}

#[test]
fn copy_out_brings_back_a_file_and_a_directory() {
    let dir = scratch_dir("files_copy_out");
    let out = |name: &str| format!("{}:{}", name, dir.join(name.trim_start_matches("/tmp/")).display());
    let script = "mkdir -p /tmp/tree/sub && echo hi > /tmp/tree/a && echo deep > /tmp/tree/sub/b \
                  && chmod 600 /tmp/tree/sub/b && ln -s a /tmp/tree/link && printf single > /tmp/one; exit 3";
    let output = run_with(
        &["--copy-out", &out("/tmp/tree"), "--copy-out", &out("/tmp/one"), "--copy-out", &out("/tmp/nothing")],
        std::path::Path::new("/bin/busybox"),
        &["sh", "-c", script],
    );
    assert_status(&output, 3);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::read_to_string(dir.join("one")).unwrap(), "single");
    assert_eq!(std::fs::read_to_string(dir.join("tree/a")).unwrap(), "hi\n");
    assert_eq!(std::fs::read_to_string(dir.join("tree/sub/b")).unwrap(), "deep\n");
    assert_eq!(std::fs::metadata(dir.join("tree/sub/b")).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::read_link(dir.join("tree/link")).unwrap(), std::path::Path::new("a"));
    assert!(
        stderr(&output).contains("--copy-out /tmp/nothing: no such file or directory in the guest"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn add_puts_a_host_directory_in_the_initrd() {
    let dir = scratch_dir("files_add_dir");
    std::fs::create_dir_all(dir.join("data/sub")).unwrap();
    std::fs::write(dir.join("data/x.txt"), "ex\n").unwrap();
    std::fs::write(dir.join("data/sub/y.txt"), "why\n").unwrap();
    std::os::unix::fs::symlink("x.txt", dir.join("data/link")).unwrap();
    let add = format!("{}:/srv/data", dir.join("data").display());
    let output = run_with(
        &["--add", &add],
        std::path::Path::new("/bin/busybox"),
        &["sh", "-c", "cd /srv/data && cat x.txt sub/y.txt link && readlink link && find . | sort"],
    );
    assert_status(&output, 0);
    assert_stdout(&output, "ex\nwhy\nex\nx.txt\n.\n./link\n./sub\n./sub/y.txt\n./x.txt\n");
}
