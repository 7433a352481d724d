//! The kernel log inside the guest: syslog(2) answers as Linux answers root, and
//! BusyBox's dmesg shows the lines the kernel logged at boot. Guest-only: on the
//! host these programs would need privileges and would clear the host's own log.

mod common;

use std::path::Path;

use common::*;

const BUSYBOX: &str = "/bin/busybox";

#[test]
fn syslog_reads_clears_and_checks_its_arguments_as_linux() {
    let guest = run(&c_program("klog"), &[]);
    assert_status(&guest, 0);
    assert_stdout(
        &guest,
        "close = 0\n\
         open = 0\n\
         SIZE_BUFFER is positive: yes\n\
         READ_ALL returns records: yes\n\
         a short READ_ALL gives the newest whole lines that fit: yes\n\
         READ_ALL, NULL buffer = -1 EINVAL\n\
         READ_ALL, negative length = -1 EINVAL\n\
         READ_ALL, no length = 0\n\
         READ_ALL, bad buffer = -1 EFAULT\n\
         READ, NULL buffer = -1 EINVAL\n\
         READ_CLEAR, NULL buffer = -1 EINVAL\n\
         action 11 = -1 EINVAL\n\
         action -1 = -1 EINVAL\n\
         CONSOLE_LEVEL 0 = -1 EINVAL\n\
         CONSOLE_LEVEL 9 = -1 EINVAL\n\
         CONSOLE_LEVEL 7 = 0\n\
         CONSOLE_OFF = 0\n\
         CONSOLE_ON = 0\n\
         READ takes unread text from the oldest record: yes\n\
         SIZE_UNREAD counts what READ took: yes\n\
         READ_CLEAR returns records: yes\n\
         READ_ALL after READ_CLEAR = 0\n\
         CLEAR leaves SIZE_UNREAD: yes\n\
         CLEAR = 0\n\
         READ_ALL after CLEAR = 0\n",
    );
}

#[test]
fn busybox_dmesg_shows_the_boot_log_and_dmesg_c_clears_it() {
    let guest = run(
        Path::new(BUSYBOX),
        &[
            "sh",
            "-c",
            "echo == dmesg; dmesg; echo == raw; dmesg -r | head -n 1; echo == dmesg -c; dmesg -c > /dev/null; dmesg",
        ],
    );
    assert_status(&guest, 0);
    let out = stdout(&guest);
    let shown = &out[out.find("== dmesg\n").expect("dmesg section") + 9..out.find("== raw\n").expect("raw section")];
    let initrd =
        shown.lines().find(|line| line.contains("] initrd: ")).unwrap_or_else(|| panic!("no initrd line in\n{out}"));
    let (stamp, _) = initrd.split_once("] ").expect("a time stamp");
    let (seconds, micros) = stamp.strip_prefix('[').expect("[ first").split_once('.').expect("seconds.micros");
    assert!(seconds.len() >= 5 && seconds.trim().parse::<u64>().is_ok(), "seconds in {initrd:?}");
    assert!(micros.len() == 6 && micros.parse::<u64>().is_ok(), "microseconds in {initrd:?}");
    assert!(shown.lines().any(|line| line.contains("MiB free, command line")), "{out}");
    assert!(out.contains("== raw\n<6>["), "dmesg -r shows the record's level:\n{out}");
    assert!(out.ends_with("== dmesg -c\n"), "dmesg -c left the log empty:\n{out}");
}
