//! The file system from the initrd and the descriptor calls: our C programs and BusyBox applets run natively on this host and
//! under timeshare, on the same directory tree (built in a scratch directory and
//! added to the initrd at the same absolute path), must print the same; what only
//! timeshare's paths give (/proc/self/exe) is compared with a fixed text.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// The tree `fsread` and the BusyBox tests read: DIR/a.txt, DIR/big.bin (100000
/// bytes, byte i = i % 251), DIR/sub/b.txt, DIR/sub/deeper/c.txt. Returns DIR and
/// the `--add` options that put the same files at the same paths in the initrd.
fn test_tree(test: &str) -> (PathBuf, Vec<String>) {
    let dir = scratch_dir(test);
    std::fs::create_dir_all(dir.join("sub/deeper")).unwrap();
    let files = [
        ("a.txt", b"hello\nworld\n".to_vec()),
        ("big.bin", (0..100_000u32).map(|i| (i % 251) as u8).collect()),
        ("sub/b.txt", b"bee\n".to_vec()),
        ("sub/deeper/c.txt", b"sea\n".to_vec()),
    ];
    let mut paths = Vec::new();
    for (name, bytes) in files {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        paths.push(path);
    }
    (dir, add_same_paths(&paths))
}

fn options(adds: &[String]) -> Vec<&str> {
    adds.iter().map(String::as_str).collect()
}

#[test]
fn reading_files_and_listing_directories_as_on_linux() {
    let (dir, adds) = test_tree("fsread");
    let (_, guest) = same_as_host(&options(&adds), &c_program("fsread"), &[dir.to_str().unwrap()]);
    assert_status(&guest, 0);
    let out = stdout(&guest);
    // A few lines that must be there, whatever the host said.
    for line in [
        "read after seek: \"world\"\n",
        "big.bin in 4099-byte reads: 100000 bytes, right\n",
        "DIR with 48-byte buffer: .(dir) ..(dir) a.txt(file) big.bin(file) sub(dir)\n",
        "tree: a.txt big.bin sub sub/b.txt sub/deeper sub/deeper/c.txt\n",
        "open a 256-byte name = -1 ENAMETOOLONG\n",
        "open sub O_WRONLY = -1 EISDIR\n",
        "getcwd with a 1-byte buffer = -1 ERANGE\n",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
}

#[test]
fn descriptor_juggling_as_on_linux() {
    let (_, guest) = same_as_host(&[], &c_program("fdjuggle"), &[]);
    assert_status(&guest, 0);
    let out = stdout(&guest);
    for line in [
        "wrote 65536 bytes before EAGAIN\n",
        "the child wrote (48 bytes, exit 3):\nline one from the child\nline two from the child\n",
        "after exec: fd 111 is closed\n",
        "after exec: fd 113 is open, FD_CLOEXEC 0, status 0x801\n",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
}

#[test]
fn poll_and_select_as_on_linux() {
    let (_, guest) = same_as_host(&[], &c_program("polltest"), &[]);
    assert_status(&guest, 0);
    let out = stdout(&guest);
    for line in [
        "writer gone, data left: 1 [0x11]\n",
        "reader gone: 1 [0xc]\n",
        "fd -1, closed fd 99, fd -5: 1 [0] [0x20] [0]\n",
        "two pipes, forever, the child writes the second: 1 [0] [0x1]\n",
        "ppoll with SIGUSR1 admitted: -1 EINTR, handler ran 1 time(s)\n",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
}

#[test]
fn proc_self_exe_is_the_program() {
    let output = run(&c_program("selfexe"), &[]);
    assert_status(&output, 0);
    assert_stdout(
        &output,
        "readlink /proc/self/exe = 12\n\
         it names /bin/selfexe\n\
         readlink into 4 bytes = 4\n\
         truncated: /bin\n\
         lstat: a link: yes; stat: the program: yes\n\
         open /proc/self/exe = 1\n\
         open /proc/self/exe O_NOFOLLOW = -1 ELOOP\n\
         open /proc/self/exe O_PATH|O_NOFOLLOW = 1\n\
         fstat of it: a link: yes\n\
         access /proc/self/exe X_OK = 0\n\
         access /proc/self/exe W_OK AT_SYMLINK_NOFOLLOW = 0\n\
         rename the program = 0\n\
         now it names /bin/moved\n\
         stat /proc/self/fd/0 = 0\n\
         stat /proc/self/exe/ = -1 ENOTDIR\n\
         run again through /proc/self/exe as renamed\n\
         exec of /proc/self/exe: exit 7\n",
    );
}

/// Runs `busybox ARGS` on the host and under timeshare (with the test tree added)
/// and returns both stdouts, after checking both succeeded.
fn busybox_both(adds: &[String], args: &[&str]) -> (String, String) {
    let busybox = Path::new("/bin/busybox");
    let host = host_run(busybox, args);
    let guest = run_with(&options(adds), busybox, args);
    assert_eq!(shell_status(host.status), 0, "busybox {args:?} on the host: {}", stderr(&host));
    assert_status(&guest, 0);
    (stdout(&host), stdout(&guest))
}

/// `ls -l` output with what differs by nature masked: owner and group (names on the
/// host, numbers in the guest: no /etc/passwd there), dates, and the link counts and
/// sizes of directories (the host's file system decides those).
fn mask_ls(listing: &str) -> String {
    listing
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let is_entry = fields.len() >= 9 && fields[0].len() == 10;
            if !is_entry {
                return fields.join(" ");
            }
            let directory = fields[0].starts_with('d');
            let links = if directory { "_" } else { fields[1] };
            let size = if directory { "_" } else { fields[4] };
            format!("{} {links} _ _ {size} _ _ _ {}", fields[0], fields[8..].join(" "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn sorted_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines.sort();
    lines
}

#[test]
fn busybox_applets_read_the_initrd_as_on_linux() {
    let (dir, adds) = test_tree("busybox-applets");
    let dir = dir.to_str().unwrap();
    let path = |name: &str| format!("{dir}/{name}");
    let (a, big, b, c) = (path("a.txt"), path("big.bin"), path("sub/b.txt"), path("sub/deeper/c.txt"));

    for args in [
        vec!["cat", a.as_str(), b.as_str(), c.as_str()],
        vec!["wc", a.as_str(), big.as_str()],
        vec!["head", "-n", "1", a.as_str()],
        vec!["tail", "-c", "7", a.as_str()],
        vec!["md5sum", big.as_str(), a.as_str()],
        vec!["od", "-A", "d", "-t", "x1", "-N", "40", "-j", "99980", big.as_str()],
        vec!["ls", dir, &path("sub")],
        vec!["ls", "-d", dir, &path("sub/")],
        vec!["stat", "-c", "%n|%s|%F|%a|%h|%b|%B|%f", a.as_str(), big.as_str(), b.as_str()],
        vec!["stat", "-c", "%n|%F|%a", dir, &path("sub/deeper")],
        vec!["du", "-s", dir],
    ] {
        let (host, guest) = busybox_both(&adds, &args);
        assert_eq!(guest, host, "busybox {args:?}: timeshare (left) and the host (right) differ");
    }

    for args in [vec!["ls", "-l", dir], vec!["ls", "-la", &path("sub")], vec!["ls", "-lR", dir]] {
        let (host, guest) = busybox_both(&adds, &args);
        assert_eq!(
            mask_ls(&guest),
            mask_ls(&host),
            "busybox {args:?}, masked: timeshare (left) and the host (right) differ"
        );
    }

    // find lists in directory order, which is the file system's: compare sorted.
    for args in
        [vec!["find", dir], vec!["find", dir, "-type", "f", "-size", "+1k"], vec!["find", dir, "-name", "*.txt"]]
    {
        let (host, guest) = busybox_both(&adds, &args);
        assert_eq!(
            sorted_lines(&guest),
            sorted_lines(&host),
            "busybox {args:?}: timeshare (left) and the host (right) differ"
        );
    }
}

#[test]
fn busybox_shell_reads_files_through_redirections_and_pipes() {
    let (dir, mut adds) = test_tree("busybox-shell");
    adds.extend(["--add".to_string(), "/bin/busybox:/bin/sh".to_string()]);
    let dir = dir.to_str().unwrap();
    // `cat` from a pipe falls back from sendfile to read and write; `<` opens the
    // file for the shell; cd and pwd walk the tree.
    let script = format!(
        "cd {dir}/sub/deeper && pwd && cd ../.. && pwd && busybox cat a.txt | busybox cat && busybox wc -c < big.bin && \
         busybox cat < sub/b.txt && busybox test -d sub && busybox test -f a.txt && ! busybox test -e nothing && echo tests passed && \
         busybox cat missing 2>/dev/null || echo cat failed with $?"
    );
    let args = ["sh", "-c", script.as_str()];
    let (host, guest) = busybox_both(&adds, &args);
    assert_eq!(guest, host, "busybox sh -c: timeshare (left) and the host (right) differ");
    assert_eq!(guest, format!("{dir}/sub/deeper\n{dir}\nhello\nworld\n100000\nbee\ntests passed\ncat failed with 1\n"));
}

/// Runs `program` under timeshare with its stdin on a pipe: waits for `prompt` on
/// its stdout, then writes `input` and closes stdin; returns the whole output.
fn run_with_late_input(program: &Path, prompt: &str, input: &[u8]) -> std::process::Output {
    use std::io::{BufRead, BufReader, Read, Write};
    let mut child = timeshare()
        .args(["run", "--timeout", TIMEOUT_SECS])
        .arg(program)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("start timeshare");
    let mut stdin = child.stdin.take().expect("piped stdin");
    let mut reader = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut seen = String::new();
    while !seen.ends_with(&format!("{prompt}\n")) {
        let mut line = String::new();
        if reader.read_line(&mut line).expect("read the guest's stdout") == 0 {
            break;
        }
        seen.push_str(&line);
    }
    stdin.write_all(input).expect("write the input");
    drop(stdin);
    let mut rest = String::new();
    reader.read_to_string(&mut rest).expect("read the rest");
    let mut output = child.wait_with_output().expect("wait for timeshare");
    output.stdout = (seen + &rest).into_bytes();
    output
}

#[test]
fn non_blocking_and_polled_standard_input() {
    let output = run_with_late_input(&c_program("stdinpoll"), "waiting", b"typed\n");
    assert_status(&output, 0);
    assert_stdout(
        &output,
        "non-blocking read before input: -1 EAGAIN\n\
         poll, timeout 0: 0\n\
         waiting\n\
         poll, no timeout: 1 revents 0x1\n\
         read: 6 \"typed\"\n\
         blocking read at the end: 0\n",
    );
}
