//! /proc as policy: what a path below the mount point names (`parse`), and the
//! text of its files in Linux's layout (`stat_line`, `status`, `meminfo`...).
//! The kernel fills the facts in from its own tables when a file is opened, so
//! nothing here can go stale.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use crate::abi::errno::{ENOENT, ENOTDIR};

/// Clock ticks per second in the times /proc reports (Linux's USER_HZ).
pub const USER_HZ: u64 = 100;

/// The files and directories of /proc beside the process directories.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SystemFile {
    Stat,
    Meminfo,
    Uptime,
    Loadavg,
    Version,
    Cpuinfo,
    Mounts,
    Filesystems,
    /// sys/: the kernel's settings (read-only here).
    Sys,
    SysKernel,
    PidMax,
    ThreadsMax,
    Hostname,
    /// timeshare/: what Linux does not show.
    Timeshare,
    /// timeshare/sched: the scheduling policy, its run queue and its counts.
    Scheduler,
}

impl SystemFile {
    pub fn is_directory(self) -> bool {
        matches!(self, SystemFile::Sys | SystemFile::SysKernel | SystemFile::Timeshare)
    }
}

/// /proc's fixed entries by path below it, each after its directory, in listing
/// order.
pub const SYSTEM_FILES: [(&str, SystemFile); 15] = [
    ("stat", SystemFile::Stat),
    ("meminfo", SystemFile::Meminfo),
    ("uptime", SystemFile::Uptime),
    ("loadavg", SystemFile::Loadavg),
    ("version", SystemFile::Version),
    ("cpuinfo", SystemFile::Cpuinfo),
    ("mounts", SystemFile::Mounts),
    ("filesystems", SystemFile::Filesystems),
    ("sys", SystemFile::Sys),
    ("sys/kernel", SystemFile::SysKernel),
    ("sys/kernel/pid_max", SystemFile::PidMax),
    ("sys/kernel/threads-max", SystemFile::ThreadsMax),
    ("sys/kernel/hostname", SystemFile::Hostname),
    ("timeshare", SystemFile::Timeshare),
    ("timeshare/sched", SystemFile::Scheduler),
];

/// The entries of fixed directory `directory` ("" for /proc itself): name and
/// file.
pub fn system_entries(directory: &str) -> impl Iterator<Item = (&'static str, SystemFile)> + '_ {
    SYSTEM_FILES.iter().filter_map(move |&(path, file)| {
        let name = match path.rsplit_once('/') {
            Some((parent, name)) if parent == directory => name,
            None if directory.is_empty() => path,
            _ => return None,
        };
        Some((name, file))
    })
}

/// The path below /proc of fixed entry `file`.
pub fn system_path(file: SystemFile) -> &'static str {
    SYSTEM_FILES.iter().find(|&&(_, entry)| entry == file).map_or("", |&(path, _)| path)
}

/// What a process (or one of its threads) shows in its directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcessFile {
    Directory,
    Stat,
    Status,
    Statm,
    Cmdline,
    Environ,
    Comm,
    /// The scheduling policy's view of it (timeshare's own).
    Sched,
    /// Its memory regions.
    Maps,
    /// A link to its program.
    Exe,
    /// A link to its working directory.
    Cwd,
    /// fd/: one link per descriptor.
    Descriptors,
    /// fd/N.
    Descriptor(u32),
    /// fdinfo/: one file per descriptor.
    DescriptorInfos,
    /// fdinfo/N: its position and flags.
    DescriptorInfo(u32),
    /// task/: one directory per thread.
    Tasks,
}

/// A process directory's entries, in listing order (a thread's, under task/,
/// are those up to `cwd`).
pub const PROCESS_FILES: [(&str, ProcessFile); 13] = [
    ("stat", ProcessFile::Stat),
    ("status", ProcessFile::Status),
    ("statm", ProcessFile::Statm),
    ("cmdline", ProcessFile::Cmdline),
    ("environ", ProcessFile::Environ),
    ("comm", ProcessFile::Comm),
    ("sched", ProcessFile::Sched),
    ("maps", ProcessFile::Maps),
    ("exe", ProcessFile::Exe),
    ("cwd", ProcessFile::Cwd),
    ("fd", ProcessFile::Descriptors),
    ("fdinfo", ProcessFile::DescriptorInfos),
    ("task", ProcessFile::Tasks),
];

/// How many of `PROCESS_FILES` a thread's directory (task/TID) has.
pub const THREAD_FILES: usize = 10;

/// What a path below /proc names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcPath {
    /// /proc itself.
    Root,
    /// /proc/self, not followed: a link to the caller's pid.
    SelfLink,
    System(SystemFile),
    /// /proc/PID/... (`thread`: /proc/PID/task/TID/...).
    Process {
        pid: u32,
        thread: Option<u32>,
        file: ProcessFile,
    },
}

impl ProcPath {
    pub fn is_directory(self) -> bool {
        if let ProcPath::System(file) = self {
            return file.is_directory();
        }
        matches!(
            self,
            ProcPath::Root
                | ProcPath::Process {
                    file: ProcessFile::Directory
                        | ProcessFile::Descriptors
                        | ProcessFile::DescriptorInfos
                        | ProcessFile::Tasks,
                    ..
                }
        )
    }

    /// Whether it is a link (`self`, `exe`, `cwd`, `fd/N`).
    pub fn is_link(self) -> bool {
        matches!(
            self,
            ProcPath::SelfLink
                | ProcPath::Process { file: ProcessFile::Exe | ProcessFile::Cwd | ProcessFile::Descriptor(_), .. }
        )
    }
}

/// Parses `path`, relative to the mount point (`.` and `..` already taken out
/// by the caller's walk, components separated by `/`), for a caller whose
/// process id is `self_pid`; `follow_last` (or a trailing `/`) makes a final
/// `self` the caller's directory instead of the link. Whether the process
/// exists is the caller's question: this only knows the shape. ENOENT for a name
/// /proc does not have, ENOTDIR for a path through a file or a file named with a
/// trailing `/`.
pub fn parse(path: &[u8], self_pid: u32, follow_last: bool) -> Result<ProcPath, i64> {
    let trailing_slash = path.last() == Some(&b'/');
    let found = parse_components(path, self_pid, follow_last || trailing_slash)?;
    if trailing_slash && !found.is_directory() && !found.is_link() {
        return Err(ENOTDIR);
    }
    Ok(found)
}

fn parse_components(path: &[u8], self_pid: u32, follow_last: bool) -> Result<ProcPath, i64> {
    let components: Vec<&[u8]> = path.split(|&byte| byte == b'/').filter(|name| !name.is_empty()).collect();
    let mut rest = components.iter().copied();
    let Some(first) = rest.next() else { return Ok(ProcPath::Root) };
    let pid = match first {
        b"self" if components.len() == 1 && !follow_last => return Ok(ProcPath::SelfLink),
        b"self" => self_pid,
        name => match number(name) {
            Some(pid) => pid,
            None => return system_file(&components),
        },
    };
    let mut thread = None;
    let mut file = ProcessFile::Directory;
    for name in rest {
        file = match (file, thread) {
            (ProcessFile::Directory, _) => {
                let entries = if thread.is_some() { &PROCESS_FILES[..THREAD_FILES] } else { &PROCESS_FILES[..] };
                entries.iter().find(|(file, _)| file.as_bytes() == name).ok_or(ENOENT)?.1
            }
            (ProcessFile::Descriptors, _) => ProcessFile::Descriptor(number(name).ok_or(ENOENT)?),
            (ProcessFile::DescriptorInfos, _) => ProcessFile::DescriptorInfo(number(name).ok_or(ENOENT)?),
            (ProcessFile::Tasks, None) => {
                thread = Some(number(name).ok_or(ENOENT)?);
                ProcessFile::Directory
            }
            _ => return Err(ENOTDIR),
        };
    }
    Ok(ProcPath::Process { pid, thread, file })
}

/// The fixed entry `components` name: ENOTDIR through a file, ENOENT for none.
fn system_file(components: &[&[u8]]) -> Result<ProcPath, i64> {
    let mut path = Vec::new();
    let mut found = None;
    for component in components {
        if found.is_some_and(|file: SystemFile| !file.is_directory()) {
            return Err(ENOTDIR);
        }
        if !path.is_empty() {
            path.push(b'/');
        }
        path.extend_from_slice(component);
        found = Some(SYSTEM_FILES.iter().find(|(entry, _)| entry.as_bytes() == path).ok_or(ENOENT)?.1);
    }
    found.map(ProcPath::System).ok_or(ENOENT)
}

/// The absolute path of `path` (what /proc/PID/fd/N shows for it).
pub fn path_name(path: ProcPath) -> String {
    match path {
        ProcPath::Root => String::from("/proc"),
        ProcPath::SelfLink => String::from("/proc/self"),
        ProcPath::System(file) => format!("/proc/{}", system_path(file)),
        ProcPath::Process { pid, thread, file } => {
            let mut name = format!("/proc/{pid}");
            if let Some(tid) = thread {
                name.push_str(&format!("/task/{tid}"));
            }
            match file {
                ProcessFile::Directory => {}
                ProcessFile::Descriptor(fd) => name.push_str(&format!("/fd/{fd}")),
                ProcessFile::DescriptorInfo(fd) => name.push_str(&format!("/fdinfo/{fd}")),
                file => {
                    let entry = PROCESS_FILES.iter().find(|&&(_, entry)| entry == file).map_or("", |&(name, _)| name);
                    name.push('/');
                    name.push_str(entry);
                }
            }
            name
        }
    }
}

/// A decimal number without sign or leading zeros, as /proc names pids.
fn number(name: &[u8]) -> Option<u32> {
    if name.is_empty() || name.len() > 10 || (name[0] == b'0' && name.len() > 1) {
        return None;
    }
    core::str::from_utf8(name).ok()?.parse().ok()
}

/// The facts of one task that /proc/PID/stat and status report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskFacts {
    pub pid: u32,
    pub tid: u32,
    pub name: String,
    /// Linux's state letter: R, S, Z...
    pub state: char,
    pub parent: u32,
    pub process_group: u32,
    pub session: u32,
    pub minor_faults: u64,
    /// CPU time in nanoseconds.
    pub user_ns: u64,
    pub system_ns: u64,
    pub children_user_ns: u64,
    pub children_system_ns: u64,
    pub nice: i8,
    pub threads: u32,
    /// Since boot, in nanoseconds.
    pub start_ns: u64,
    pub virtual_bytes: u64,
    pub resident_pages: u64,
    pub peak_resident_pages: u64,
    pub voluntary_switches: u64,
    pub involuntary_switches: u64,
    /// The CPU it last ran on (field 39 of stat).
    pub processor: u32,
}

/// Nanoseconds in clock ticks of USER_HZ.
pub fn ticks(ns: u64) -> u64 {
    ns / (1_000_000_000 / USER_HZ)
}

/// /proc/PID/stat: Linux's 52 fields on one line. The name goes in parentheses
/// unchanged (readers take what lies between the first `(` and the last `)`);
/// the fields timeshare has no such thing for (a terminal, signal masks in this
/// file, addresses of the program's segments) are 0, as Linux shows them to
/// another user.
pub fn stat_line(task: &TaskFacts) -> String {
    let mut line = format!(
        "{} ({}) {} {} {} {} 0 -1 4194560 {} 0 0 0 {} {} {} {} {} {} {} 0 {} {} {} 18446744073709551615",
        task.tid,
        task.name,
        task.state,
        task.parent,
        task.process_group,
        task.session,
        task.minor_faults,
        ticks(task.user_ns),
        ticks(task.system_ns),
        ticks(task.children_user_ns),
        ticks(task.children_system_ns),
        20 + i64::from(task.nice),
        task.nice,
        task.threads,
        ticks(task.start_ns),
        task.virtual_bytes,
        task.resident_pages,
    );
    // startcode ... exit_code: fields 26 to 52, of which 39 is the processor.
    for field in 26..=52 {
        if field == 39 {
            let _ = write!(line, " {}", task.processor);
        } else {
            line.push_str(" 0");
        }
    }
    line.push('\n');
    line
}

/// /proc/PID/status: the lines `ps`, `top` and people read, in Linux's order.
pub fn status(task: &TaskFacts) -> String {
    let state = match task.state {
        'R' => "R (running)",
        'S' => "S (sleeping)",
        'Z' => "Z (zombie)",
        _ => "D (disk sleep)",
    };
    let mut text = String::new();
    let _ = write!(
        text,
        "Name:\t{}\nUmask:\t0022\nState:\t{}\nTgid:\t{}\nNgid:\t0\nPid:\t{}\nPPid:\t{}\nTracerPid:\t0\n\
         Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nFDSize:\t64\nGroups:\t\nNStgid:\t{}\nNSpid:\t{}\nNSpgid:\t{}\n\
         NSsid:\t{}\nVmPeak:\t{:8} kB\nVmSize:\t{:8} kB\nVmHWM:\t{:8} kB\nVmRSS:\t{:8} kB\nThreads:\t{}\n\
         voluntary_ctxt_switches:\t{}\nnonvoluntary_ctxt_switches:\t{}\n",
        task.name,
        state,
        task.pid,
        task.tid,
        task.parent,
        task.pid,
        task.tid,
        task.process_group,
        task.session,
        task.virtual_bytes / 1024,
        task.virtual_bytes / 1024,
        task.peak_resident_pages * 4,
        task.resident_pages * 4,
        task.threads,
        task.voluntary_switches,
        task.involuntary_switches,
    );
    text
}

/// /proc/PID/statm: sizes in pages (size resident shared text lib data dt).
pub fn statm(task: &TaskFacts) -> String {
    format!("{} {} 0 0 0 0 0\n", task.virtual_bytes / 4096, task.resident_pages)
}

/// /proc/meminfo from the machine's page counts (4 KiB each); the file-system
/// pages are the RAM file system's, which Linux counts as Shmem and Cached.
pub fn meminfo(total_pages: u64, free_pages: u64, file_pages: u64) -> String {
    let kb = |pages: u64| pages * 4;
    let mut text = String::new();
    for (name, pages) in [
        ("MemTotal", total_pages),
        ("MemFree", free_pages),
        ("MemAvailable", free_pages),
        ("Buffers", 0),
        ("Cached", file_pages),
        ("SwapCached", 0),
        ("SwapTotal", 0),
        ("SwapFree", 0),
        ("Shmem", file_pages),
    ] {
        let _ = writeln!(text, "{:<16}{:>8} kB", format!("{name}:"), kb(pages));
    }
    text
}

/// /proc/stat's CPU lines (`cpu` for the machine, `cpuN` per CPU: user nice
/// system idle iowait irq softirq steal guest guest_nice, in clock ticks) and
/// the counters after them. `cpus` is (user, system, idle) nanoseconds per CPU.
pub fn stat_file(cpus: &[(u64, u64, u64)], boot_seconds: u64, switches: u64, forks: u64, running: usize) -> String {
    let total = cpus.iter().fold((0, 0, 0), |sum, cpu| (sum.0 + cpu.0, sum.1 + cpu.1, sum.2 + cpu.2));
    let mut text = String::new();
    let mut line = |name: &str, (user, system, idle): (u64, u64, u64)| {
        let _ = writeln!(text, "{name} {} 0 {} {} 0 0 0 0 0 0", ticks(user), ticks(system), ticks(idle));
    };
    line("cpu ", total);
    for (index, &cpu) in cpus.iter().enumerate() {
        line(&format!("cpu{index}"), cpu);
    }
    let _ = write!(
        text,
        "intr 0\nctxt {switches}\nbtime {boot_seconds}\nprocesses {forks}\nprocs_running {running}\nprocs_blocked 0\n"
    );
    text
}

/// /proc/uptime: seconds since boot and seconds the CPUs idled, to 1/100.
pub fn uptime(up_ns: u64, idle_ns: u64) -> String {
    let centis = |ns: u64| ns / 10_000_000;
    format!(
        "{}.{:02} {}.{:02}\n",
        centis(up_ns) / 100,
        centis(up_ns) % 100,
        centis(idle_ns) / 100,
        centis(idle_ns) % 100
    )
}

/// /proc/cpuinfo for the online CPUs, given as (number, local APIC id): Linux's
/// layout, a block per CPU with a blank line after each.
pub fn cpuinfo(cpus: impl Iterator<Item = (usize, u32)>) -> String {
    let mut text = String::new();
    for (number, apic_id) in cpus {
        let _ = write!(
            text,
            "processor\t: {number}\nvendor_id\t: timeshare\nmodel name\t: QEMU TCG\n\
             apicid\t\t: {apic_id}\ninitial apicid\t: {apic_id}\n\n"
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpuinfo_has_a_block_per_online_cpu() {
        let text = cpuinfo([(0, 0), (1, 3)].into_iter());
        assert_eq!(
            text,
            "processor\t: 0\nvendor_id\t: timeshare\nmodel name\t: QEMU TCG\napicid\t\t: 0\ninitial apicid\t: 0\n\n\
             processor\t: 1\nvendor_id\t: timeshare\nmodel name\t: QEMU TCG\napicid\t\t: 3\ninitial apicid\t: 3\n\n"
        );
    }

    #[test]
    fn paths_name_what_linux_has() {
        let process = |pid, thread, file| Ok(ProcPath::Process { pid, thread, file });
        assert_eq!(parse(b"", 7, true), Ok(ProcPath::Root));
        assert_eq!(parse(b"self", 7, false), Ok(ProcPath::SelfLink));
        assert_eq!(parse(b"self", 7, true), process(7, None, ProcessFile::Directory));
        assert_eq!(parse(b"self/stat", 7, false), process(7, None, ProcessFile::Stat));
        assert_eq!(parse(b"12//status", 7, true), process(12, None, ProcessFile::Status));
        assert_eq!(parse(b"12/fd/3", 7, true), process(12, None, ProcessFile::Descriptor(3)));
        assert_eq!(parse(b"12/fdinfo/3", 7, true), process(12, None, ProcessFile::DescriptorInfo(3)));
        assert_eq!(parse(b"12/task/12/maps", 7, true), process(12, Some(12), ProcessFile::Maps));
        assert_eq!(parse(b"12/task/13/comm", 7, true), process(12, Some(13), ProcessFile::Comm));
        assert_eq!(parse(b"meminfo", 7, true), Ok(ProcPath::System(SystemFile::Meminfo)));
        assert_eq!(parse(b"meminfo/x", 7, true), Err(ENOTDIR));
        assert_eq!(parse(b"sys/kernel/pid_max", 7, true), Ok(ProcPath::System(SystemFile::PidMax)));
        assert_eq!(parse(b"sys/kernel/", 7, true), Ok(ProcPath::System(SystemFile::SysKernel)));
        assert_eq!(parse(b"sys/kernel/nothing", 7, true), Err(ENOENT));
        assert_eq!(parse(b"sys/kernel/pid_max/x", 7, true), Err(ENOTDIR));
        assert_eq!(parse(b"timeshare/sched", 7, true), Ok(ProcPath::System(SystemFile::Scheduler)));
        let names = |directory| system_entries(directory).map(|(name, _)| name).collect::<Vec<_>>();
        assert_eq!(names("sys/kernel"), ["pid_max", "threads-max", "hostname"]);
        assert_eq!(names("timeshare"), ["sched"]);
        assert_eq!(names("").len(), 10);
        assert_eq!(system_path(SystemFile::ThreadsMax), "sys/kernel/threads-max");
        let name = |path: &[u8]| path_name(parse(path, 7, false).unwrap());
        assert_eq!(name(b"sys/kernel/pid_max"), "/proc/sys/kernel/pid_max");
        assert_eq!(name(b"self/task/8/stat"), "/proc/7/task/8/stat");
        assert_eq!(
            (name(b"9/fd/3"), name(b"9/fdinfo"), name(b"9")),
            ("/proc/9/fd/3".into(), "/proc/9/fdinfo".into(), "/proc/9".into())
        );
        assert_eq!((name(b""), name(b"self")), ("/proc".into(), "/proc/self".into()));
        assert_eq!(parse(b"12/stat/x", 7, true), Err(ENOTDIR));
        assert_eq!(parse(b"12/stat/", 7, true), Err(ENOTDIR));
        assert_eq!(parse(b"self/", 7, false), process(7, None, ProcessFile::Directory));
        assert_eq!(parse(b"12/exe/", 7, false), process(12, None, ProcessFile::Exe), "the caller follows it");
        assert_eq!(parse(b"012", 7, true), Err(ENOENT));
        assert_eq!(parse(b"12/nothing", 7, true), Err(ENOENT));
        assert_eq!(parse(b"12/task/13/task", 7, true), Err(ENOENT));
        assert_eq!(parse(b"nothing", 7, true), Err(ENOENT));
        assert!(process(1, None, ProcessFile::Exe).unwrap().is_link());
        assert!(ProcPath::Root.is_directory());
    }

    #[test]
    fn the_stat_line_has_52_fields_and_the_name_in_parentheses() {
        let task = TaskFacts {
            pid: 5,
            tid: 5,
            name: String::from("a) b"),
            state: 'S',
            parent: 1,
            process_group: 5,
            session: 1,
            user_ns: 2_500_000_000,
            system_ns: 10_000_000,
            nice: -3,
            threads: 2,
            start_ns: 1_000_000_000,
            virtual_bytes: 8192,
            resident_pages: 2,
            ..TaskFacts::default()
        };
        let line = stat_line(&task);
        let after_name = &line[line.rfind(')').unwrap() + 2..];
        assert_eq!(&line[..line.find(')').unwrap() + 3], "5 (a) b");
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        assert_eq!(fields.len() + 2, 52);
        // Fields 3.. are at index field - 3.
        let field = |number: usize| fields[number - 3];
        assert_eq!((field(3), field(4), field(5), field(6)), ("S", "1", "5", "1"));
        assert_eq!((field(14), field(15)), ("250", "1"));
        assert_eq!((field(18), field(19), field(20)), ("17", "-3", "2"));
        assert_eq!((field(22), field(23), field(24)), ("100", "8192", "2"));
    }

    #[test]
    fn status_meminfo_stat_and_uptime_are_in_linux_layout() {
        let task =
            TaskFacts { pid: 5, tid: 6, name: String::from("x"), state: 'R', resident_pages: 3, ..Default::default() };
        let text = status(&task);
        assert!(text.starts_with("Name:\tx\nUmask:\t0022\nState:\tR (running)\nTgid:\t5\n"));
        assert!(text.contains("\nPid:\t6\n") && text.contains("\nVmRSS:\t      12 kB\n"));
        let memory = meminfo(1000, 250, 10);
        assert!(memory.starts_with("MemTotal:           4000 kB\nMemFree:            1000 kB\n"));
        assert!(memory.contains("\nShmem:                40 kB\n"));
        let stat = stat_file(&[(1_000_000_000, 20_000_000, 3_000_000_000)], 0, 9, 4, 1);
        assert!(stat.starts_with("cpu  100 0 2 300 0 0 0 0 0 0\ncpu0 100 0 2 300 0 0 0 0 0 0\n"));
        assert!(stat.contains("\nctxt 9\n") && stat.contains("\nprocesses 4\n"));
        assert_eq!(uptime(12_345_678_901, 5_000_000), "12.34 0.00\n");
        let line = stat_line(&TaskFacts { processor: 3, ..Default::default() });
        let fields: Vec<&str> = line.rsplit(')').next().unwrap().split_whitespace().collect();
        assert_eq!(fields.len(), 50, "fields 3 to 52: {line}");
        assert_eq!(fields[39 - 3], "3", "field 39, the processor: {line}");
        assert_eq!(
            statm(&TaskFacts { virtual_bytes: 16384, resident_pages: 2, ..Default::default() }),
            "4 2 0 0 0 0 0\n"
        );
    }
}
