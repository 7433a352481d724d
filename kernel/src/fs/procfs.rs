//! procfs, mounted at /proc: a lookup that goes below the mount point
//! (`kernel_core::tree::Found::Mounted`) comes here (`reach`), and its files are
//! written from the kernel's own tables when opened (`open`): the process table,
//! the threads' counters, the descriptor tables, the frame allocator. The layout
//! and the text are policy (`kernel_core::procfs`).
//!
//! Nothing here holds a lock across another subsystem's: the process table, a
//! thread group's details or descriptors, and the tree are each taken and let go
//! in turn, never the tree first (see `rootfs`'s lock order).

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::rootfs::{self, Held};
use super::{File, OpenFile, Positioning, SizeLimit, WriteAt};
use crate::mm::frame;
use crate::process::{self, Pid, Process, Stats};
use crate::{sched, time};
use kernel_core::abi::errno::{EINVAL, EISDIR, ELOOP, ENOENT, ENOTDIR};
use kernel_core::abi::{makedev, Dirent64, OpenRequest, Stat, DT_DIR, DT_LNK, DT_REG, O_CLOEXEC};
use kernel_core::cpio::{S_IFDIR, S_IFLNK, S_IFMT, S_IFREG};
use kernel_core::procfs::{self as policy, ProcPath, ProcessFile, SystemFile, TaskFacts, PROCESS_FILES, SYSTEM_FILES};

/// /proc's device number (`st_dev`), apart from the root file system's.
const PROC_DEVICE: u64 = makedev(0, 2);

/// What a path below /proc leads to, once its final link is followed or not.
pub enum Reached {
    /// A file, directory or (not followed) link of /proc.
    Proc(ProcPath),
    /// A node of the root file system: where `exe` or `cwd` leads, or the file an
    /// `fd/N` link is.
    Node(Held),
    /// What an `fd/N` link that is no node of the tree (a pipe, the console) is.
    File(Arc<OpenFile>),
}

/// Finds what `below` (a path below /proc) names for `caller`: ENOENT for a name
/// /proc does not have or a process, thread or descriptor that does not exist,
/// ENOTDIR for a path through a file. A final `exe`, `cwd` or `fd/N` is followed
/// to what it names when `follow` says so, or a trailing `/` (Linux's "magic
/// links"); a trailing `/` wants a directory there too (ENOTDIR).
pub fn reach(caller: &Process, below: &[u8], follow: bool) -> Result<Reached, i64> {
    let wants_directory = below.last() == Some(&b'/');
    let reached = reach_path(caller, below, follow || wants_directory)?;
    let is_directory = match &reached {
        Reached::Proc(path) => path.is_directory(),
        Reached::Node(held) => rootfs::lock().is_directory(held.id()),
        Reached::File(file) => file.file.stat().mode & S_IFMT == S_IFDIR,
    };
    if wants_directory && !is_directory {
        return Err(ENOTDIR);
    }
    Ok(reached)
}

fn reach_path(caller: &Process, below: &[u8], follow: bool) -> Result<Reached, i64> {
    let path = policy::parse(below, caller.pid(), follow)?;
    let ProcPath::Process { pid, thread, file } = path else { return Ok(Reached::Proc(path)) };
    let task = task(pid, thread)?;
    match file {
        ProcessFile::Exe | ProcessFile::Cwd if follow => {
            let details = task.group.details.lock();
            // Held anew (the tree's lock) after the details' lock, in the lock order.
            let held = if file == ProcessFile::Exe { details.exe.hold() } else { details.cwd.clone() };
            Ok(Reached::Node(held))
        }
        ProcessFile::Descriptor(fd) => {
            let open = task.group.files.lock().get_path(u64::from(fd)).map_err(|_| ENOENT)?;
            Ok(if follow { Reached::File(open) } else { Reached::Proc(path) })
        }
        ProcessFile::DescriptorInfo(fd) => {
            task.group.files.lock().get_path(u64::from(fd)).map_err(|_| ENOENT)?;
            Ok(Reached::Proc(path))
        }
        _ => Ok(Reached::Proc(path)),
    }
}

/// Thread `thread` (the leader if None) of process `pid`, while it is in the
/// table.
fn task(pid: Pid, thread: Option<Pid>) -> Result<Arc<Process>, i64> {
    process::find(thread.unwrap_or(pid)).filter(|task| task.pid() == pid).ok_or(ENOENT)
}

/// What stat reports for `path`: directories r-x, files r--, links rwx, all
/// root's, as Linux's /proc shows them; sizes 0.
pub fn stat(path: ProcPath) -> Stat {
    let mode = if path.is_directory() {
        S_IFDIR | 0o555
    } else if path.is_link() {
        S_IFLNK | 0o777
    } else {
        S_IFREG | 0o444
    };
    let now = rootfs::now();
    Stat {
        dev: PROC_DEVICE,
        ino: inode(path),
        nlink: if path.is_directory() { 2 } else { 1 },
        mode,
        blksize: 1024,
        atime: now,
        mtime: now,
        ctime: now,
        ..Stat::default()
    }
}

/// An inode number for `path`, the same at each lookup and distinct for each
/// path: the process (or thread) id and which of its files.
fn inode(path: ProcPath) -> u64 {
    let which = |file: ProcessFile| match file {
        ProcessFile::Directory => 0,
        ProcessFile::Descriptor(fd) => 0x1_0000 + u64::from(fd),
        ProcessFile::DescriptorInfo(fd) => 0x2_0000 + u64::from(fd),
        file => 1 + PROCESS_FILES.iter().position(|&(_, entry)| entry == file).unwrap_or(0) as u64,
    };
    match path {
        ProcPath::Root => 1,
        ProcPath::SelfLink => 2,
        ProcPath::System(file) => 3 + SYSTEM_FILES.iter().position(|&(_, entry)| entry == file).unwrap_or(0) as u64,
        ProcPath::Process { pid, thread, file } => {
            (u64::from(thread.unwrap_or(pid)) << 32) | which(file) | (u64::from(thread.is_some()) << 31)
        }
    }
}

/// The target readlink reports for link `path`, read by `caller`: the pid for
/// `self`, an absolute path for `exe`, `cwd` and a descriptor of a file of the
/// tree, `pipe:[N]` for a pipe, `/dev/console` for the console.
pub fn link_target(caller: &Process, path: ProcPath) -> Result<Vec<u8>, i64> {
    let (pid, thread, file) = match path {
        ProcPath::SelfLink => return Ok(format!("{}", caller.pid()).into_bytes()),
        ProcPath::Process { pid, thread, file } if path.is_link() => (pid, thread, file),
        _ => return Err(EINVAL),
    };
    let task = task(pid, thread)?;
    let node = match file {
        ProcessFile::Descriptor(fd) => {
            let open = task.group.files.lock().get_path(u64::from(fd)).map_err(|_| ENOENT)?;
            match open.file.node() {
                Some(node) => rootfs::lock().path_of(node),
                None => return Ok(open.file.link_name().into_bytes()),
            }
        }
        _ => {
            let details = task.group.details.lock();
            let id = if file == ProcessFile::Exe { details.exe.id() } else { details.cwd.id() };
            // The node stays while held by the process; the tree is locked after.
            let path = rootfs::lock().path_of(id);
            drop(details);
            path
        }
    };
    Ok(node.into_bytes())
}

/// Opens `path` as `request` asks: a directory is listed at each getdents64, a
/// file's text is written now (writes to it fail with EINVAL, as Linux's files
/// without a write method), a link not followed is ELOOP.
pub fn open(path: ProcPath, request: &OpenRequest) -> Result<Arc<OpenFile>, i64> {
    if request.path_only {
        // Names the file (for fstat and `*at` calls), reads nothing.
        return Ok(OpenFile::new(Box::new(Text { path, text: Vec::new() }), request.status));
    }
    if path.is_link() {
        return Err(ELOOP);
    }
    if path.is_directory() {
        if request.needs_write {
            return Err(EISDIR);
        }
        entries(path)?;
        return Ok(OpenFile::new(Box::new(Directory { path, node: None }), request.status));
    }
    if request.directory {
        return Err(ENOTDIR);
    }
    let text = contents(path)?;
    Ok(OpenFile::new(Box::new(Text { path, text }), request.status))
}

/// An open /proc itself: the mount point of the tree, `held`, listed by procfs.
pub fn open_mount_point(held: Held) -> Box<dyn File> {
    Box::new(Directory { path: ProcPath::Root, node: Some(held) })
}

/// One entry of a /proc directory: its place in the listing (which stays put
/// while others come and go: a pid's place is the pid's), name, inode and type.
struct Entry {
    place: u64,
    name: String,
    inode: u64,
    kind: u8,
}

/// Where the numbered entries (pids, descriptors, tids) start in a listing:
/// after `.`, `..` and the named ones.
const NUMBERED: u64 = 64;

/// The entries of directory `path` after `.` and `..`, by place, from the tables
/// as they are now (ENOENT once its process is gone).
fn entries(path: ProcPath) -> Result<Vec<Entry>, i64> {
    let mut entries = Vec::new();
    let mut add = |place: u64, name: String, path: ProcPath| {
        let kind = if path.is_directory() {
            DT_DIR
        } else if path.is_link() {
            DT_LNK
        } else {
            DT_REG
        };
        entries.push(Entry { place, name, inode: inode(path), kind });
    };
    match path {
        ProcPath::Root => {
            let mut place = 2;
            for (name, file) in policy::system_entries("") {
                add(place, String::from(name), ProcPath::System(file));
                place += 1;
            }
            add(place, String::from("self"), ProcPath::SelfLink);
            for (tid, _, _, task) in process::list() {
                if tid == task.pid() {
                    let directory = ProcPath::Process { pid: tid, thread: None, file: ProcessFile::Directory };
                    add(NUMBERED + u64::from(tid), format!("{tid}"), directory);
                }
            }
        }
        ProcPath::System(directory) if directory.is_directory() => {
            for (place, (name, file)) in (2..).zip(policy::system_entries(policy::system_path(directory))) {
                add(place, String::from(name), ProcPath::System(file));
            }
        }
        ProcPath::Process { pid, thread, file: ProcessFile::Directory } => {
            task(pid, thread)?;
            let count = if thread.is_some() { policy::THREAD_FILES } else { PROCESS_FILES.len() };
            for (place, &(name, file)) in (2..).zip(&PROCESS_FILES[..count]) {
                add(place, String::from(name), ProcPath::Process { pid, thread, file });
            }
        }
        ProcPath::Process {
            pid,
            thread,
            file: listing @ (ProcessFile::Descriptors | ProcessFile::DescriptorInfos),
        } => {
            let task = task(pid, thread)?;
            let files = task.group.files.lock();
            for fd in 0..files.size() as u32 {
                if files.get_path(u64::from(fd)).is_ok() {
                    let file = if listing == ProcessFile::Descriptors {
                        ProcessFile::Descriptor(fd)
                    } else {
                        ProcessFile::DescriptorInfo(fd)
                    };
                    add(NUMBERED + u64::from(fd), format!("{fd}"), ProcPath::Process { pid, thread, file });
                }
            }
        }
        ProcPath::Process { pid, thread, file: ProcessFile::Tasks } => {
            for member in process::threads_of(&task(pid, thread)?.group) {
                let tid = member.tid();
                let directory = ProcPath::Process { pid, thread: Some(tid), file: ProcessFile::Directory };
                add(NUMBERED + u64::from(tid), format!("{tid}"), directory);
            }
        }
        _ => return Err(ENOENT),
    }
    entries.sort_by_key(|entry| entry.place);
    Ok(entries)
}

/// The text of file `path`, from the tables as they are now.
fn contents(path: ProcPath) -> Result<Vec<u8>, i64> {
    let text = match path {
        ProcPath::System(file) => system_file(file),
        ProcPath::Process { pid, thread, file } => {
            let task = task(pid, thread)?;
            match file {
                ProcessFile::Stat => policy::stat_line(&facts(&task, thread.is_none())?),
                ProcessFile::Status => policy::status(&facts(&task, thread.is_none())?),
                ProcessFile::Statm => policy::statm(&facts(&task, thread.is_none())?),
                ProcessFile::Comm => format!("{}\n", task.name()),
                ProcessFile::Sched => {
                    format!("task: {} ({})\n{}", task.tid(), task.name(), sched::describe(&task))
                }
                ProcessFile::Maps => task.group.memory.lock().as_ref().map_or(String::new(), |memory| memory.maps()),
                ProcessFile::DescriptorInfo(fd) => {
                    let (open, close_on_exec) = {
                        let files = task.group.files.lock();
                        let open = files.get_path(u64::from(fd)).map_err(|_| ENOENT)?;
                        (open, files.close_on_exec(u64::from(fd)).unwrap_or(false))
                    };
                    let flags = open.status() | if close_on_exec { O_CLOEXEC } else { 0 };
                    let position = *open.position.lock();
                    format!("pos:\t{position}\nflags:\t0{flags:o}\nmnt_id:\t0\nino:\t{}\n", open.file.stat().ino)
                }
                ProcessFile::Cmdline => return Ok(strings(&task, true)),
                ProcessFile::Environ => return Ok(strings(&task, false)),
                _ => return Err(ENOENT),
            }
        }
        _ => return Err(ENOENT),
    };
    Ok(text.into_bytes())
}

/// The most of a process's argv or envp strings its cmdline or environ shows.
const STRINGS_SHOWN: u64 = 64 * 1024;

/// `task`'s argv strings (`arguments`) or envp strings, each with its NUL, read
/// from its memory now, as Linux does (a program that rewrites them is seen
/// rewritten); nothing for a process whose memory is gone (a zombie) or where
/// they no longer can be read.
fn strings(task: &Process, arguments: bool) -> Vec<u8> {
    let mut memory = task.group.memory.lock();
    let Some(memory) = memory.as_mut() else { return Vec::new() };
    let (argv, envp) = memory.string_areas();
    let area = if arguments { argv } else { envp };
    let mut bytes = alloc::vec![0; (area.end - area.start).min(STRINGS_SHOWN) as usize];
    match memory.read(area.start, &mut bytes) {
        Ok(()) => bytes,
        Err(_) => Vec::new(),
    }
}

/// A thread's facts for stat and status; its CPU time and faults are its whole
/// process's when `whole` (/proc/PID, as Linux), else the thread's own
/// (/proc/PID/task/TID).
fn facts(task: &Process, whole: bool) -> Result<TaskFacts, i64> {
    let (pid, tid) = (task.pid(), task.tid());
    let relations = process::view::relations(pid, tid).ok_or(ENOENT)?;
    let state = if relations.zombie {
        'Z'
    } else if sched::is_blocked(tid) {
        'S'
    } else {
        'R'
    };
    let (virtual_bytes, resident_pages, peak) = task.group.memory.lock().as_ref().map_or((0, 0, 0), |memory| {
        let (resident, peak) = memory.resident_pages();
        (memory.mapped_bytes(), resident as u64, peak as u64)
    });
    // Switches stay the thread's own, as Linux's status shows its task's.
    let own = task.stats.used();
    let used = if whole { process::process_usage(task) } else { own };
    let children = task.group.children.load();
    Ok(TaskFacts {
        pid,
        tid,
        name: task.name(),
        state,
        parent: relations.parent,
        process_group: relations.process_group,
        session: relations.session,
        minor_faults: used.faults,
        user_ns: time::cycles_to_ns(used.user_cycles),
        system_ns: time::cycles_to_ns(used.system_cycles),
        children_user_ns: time::cycles_to_ns(children.user_cycles),
        children_system_ns: time::cycles_to_ns(children.system_cycles),
        nice: task.nice.load(core::sync::atomic::Ordering::Relaxed),
        threads: process::threads_of(&task.group).len() as u32,
        start_ns: Stats::load(&task.stats.started_ns),
        virtual_bytes,
        resident_pages,
        // The address space's own peak (read above), or one exec replaced.
        peak_resident_pages: peak.max(Stats::load(&task.group.ended.peak_pages)),
        voluntary_switches: own.voluntary_switches,
        involuntary_switches: own.involuntary_switches,
        processor: sched::cpu_of(task) as u32,
    })
}

/// The text of one of /proc's own files.
fn system_file(file: SystemFile) -> String {
    match file {
        SystemFile::Meminfo => {
            let file_pages = rootfs::lock().usage().pages_used as u64;
            policy::meminfo(frame::total_count() as u64, frame::free_count() as u64, file_pages)
        }
        SystemFile::Uptime => {
            let (up, busy, _, _) = cpu_time();
            policy::uptime(up, up.saturating_sub(busy))
        }
        SystemFile::Stat => {
            let (up, _, (user, system), switches) = cpu_time();
            let boot = (time::realtime_ns().saturating_sub(up)) / 1_000_000_000;
            let forks = u64::from(process::view::last_pid());
            // One CPU: its time from the processes' own accounting; several: each
            // CPU's from its ticks, busy (as user time) or idle.
            let cpus = match sched::cpu_ticks() {
                per_cpu if per_cpu.len() > 1 => per_cpu,
                _ => alloc::vec![(user, system, up.saturating_sub(user + system))],
            };
            policy::stat_file(&cpus, boot, switches, forks, sched::runnable_count())
        }
        SystemFile::Loadavg => {
            let threads = process::list().iter().filter(|(_, _, zombie, _)| !zombie).count();
            sched::load_average().proc_line(sched::runnable_count(), threads, process::view::last_pid())
        }
        SystemFile::Version => {
            let uts = crate::syscall::info::UTSNAME;
            format!("{} version {} (timeshare) {}\n", uts.sysname, uts.release, uts.version)
        }
        SystemFile::Cpuinfo => policy::cpuinfo(crate::smp::online()),
        SystemFile::Mounts => String::from("tmpfs / tmpfs rw 0 0\nproc /proc proc rw 0 0\n"),
        SystemFile::Filesystems => String::from("nodev\ttmpfs\nnodev\tproc\n"),
        SystemFile::PidMax => format!("{}\n", process::pid_max()),
        SystemFile::ThreadsMax => format!("{}\n", process::threads_max()),
        SystemFile::Hostname => format!("{}\n", crate::syscall::info::UTSNAME.nodename),
        SystemFile::Scheduler => sched::describe_policy(),
        // Directories: opened as listings, never as text.
        SystemFile::Sys | SystemFile::SysKernel | SystemFile::Timeshare => String::new(),
    }
}

/// Nanoseconds since boot, CPU time of every thread in the table (with what
/// those that ended and the processes reaped left their processes) in all and as
/// (user, system), and the context switches they made.
fn cpu_time() -> (u64, u64, (u64, u64), u64) {
    let mut used = process::Used::default();
    for (row, _, zombie, task) in process::list() {
        // A thread that ended left its row to its process's `ended`; a leader's
        // row stays until its process is reaped.
        let leader_row = row == task.pid();
        if !zombie || leader_row {
            used = used.plus(task.stats.used());
        }
        if leader_row {
            used = used.plus(task.group.ended.load()).plus(task.group.children.load());
        }
    }
    let (user, system) = (used.user_cycles, used.system_cycles);
    let switches = used.voluntary_switches + used.involuntary_switches;
    let (user, system) = (time::cycles_to_ns(user), time::cycles_to_ns(system));
    (time::monotonic_ns(), user + system, (user, system), switches)
}

/// An open file of /proc: its text as it was when opened.
struct Text {
    path: ProcPath,
    text: Vec<u8>,
}

impl File for Text {
    fn positioning(&self) -> Positioning {
        Positioning::Sized
    }

    fn size(&self) -> u64 {
        self.text.len() as u64
    }

    fn write_at(&self, _at: WriteAt, _bytes: &[u8], _limit: &dyn SizeLimit) -> Result<(usize, u64), i64> {
        Err(EINVAL)
    }

    fn read_at(&self, offset: u64, buffer: &mut [u8]) -> Result<usize, i64> {
        let start = (offset as usize).min(self.text.len());
        let count = buffer.len().min(self.text.len() - start);
        buffer[..count].copy_from_slice(&self.text[start..start + count]);
        Ok(count)
    }

    fn stat(&self) -> Stat {
        stat(self.path)
    }

    fn link_name(&self) -> String {
        policy::path_name(self.path)
    }
}

/// An open directory of /proc, listed from the tables at each getdents64, as
/// Linux's; /proc itself also holds its mount point (for fchdir and `*at`).
struct Directory {
    path: ProcPath,
    node: Option<Held>,
}

impl File for Directory {
    fn positioning(&self) -> Positioning {
        Positioning::Directory
    }

    fn read_at(&self, _offset: u64, _buffer: &mut [u8]) -> Result<usize, i64> {
        Err(EISDIR)
    }

    /// `.`, `..`, then the entries from place `*position` on; the position
    /// moves past those returned.
    fn read_directory(&self, position: &mut u64, out: &mut [u8]) -> Result<usize, i64> {
        let entries = entries(self.path)?;
        let dots = [(0, &b"."[..], inode(self.path)), (1, &b".."[..], 1)];
        let dots = dots.into_iter().map(|(place, name, ino)| (place, name, ino, DT_DIR));
        let rest = entries.iter().map(|entry| (entry.place, entry.name.as_bytes(), entry.inode, entry.kind));
        let start = *position;
        let mut used = 0;
        for (place, name, ino, kind) in dots.chain(rest).filter(|&(place, ..)| place >= start) {
            let entry = Dirent64 { ino, next_offset: place as i64 + 1, kind, name };
            match entry.write_to(&mut out[used..]) {
                Some(length) => used += length,
                None if used == 0 => return Err(EINVAL),
                None => break,
            }
            *position = place + 1;
        }
        Ok(used)
    }

    fn stat(&self) -> Stat {
        stat(self.path)
    }

    fn link_name(&self) -> String {
        policy::path_name(self.path)
    }

    fn node(&self) -> Option<rootfs::NodeId> {
        self.node.as_ref().map(Held::id)
    }
}
