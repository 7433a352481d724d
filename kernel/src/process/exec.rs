//! Loading a program: the "allocate memory, load the program, set up the stack with
//! argv" steps of the LDE protocol, shared by the first process
//! and execve.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::{Belongings, Creation, Details, Process};
use crate::arch::x86_64::frame::TrapFrame;
use crate::arch::x86_64::tls::UserSegments;
use crate::arch::x86_64::{cpu, fpu};
use crate::fs::console::{self, Stream};
use crate::fs::procfs::{self, Reached};
use crate::fs::rootfs::{self, Found, Held, NodeId, NodeKind, Origin, Program, Tree};
use crate::fs::{FdTable, OpenFile};
use crate::mm::address_space::{AddressSpace, Fault, Protection, STACK_TOP};
use crate::mm::kstack::UserState;
use crate::mm::PAGE_SIZE;
use crate::sched::{self, WaitChannel};
use crate::signal::SignalState;
use kernel_core::abi::errno::{EACCES, ENOENT, ENOEXEC, ENOMEM};
use kernel_core::abi::signal::SIGCHLD;
use kernel_core::abi::{O_LARGEFILE, O_RDWR};
use kernel_core::elf::{self, Segment};
use kernel_core::initstack::{self, AuxValues, Strings};

/// A program loaded into a fresh address space, ready to start.
pub struct Image {
    pub memory: AddressSpace,
    pub entry: u64,
    pub stack_pointer: u64,
    /// The file name, for the process's name.
    pub name: String,
    /// The program file (for /proc/self/exe).
    pub node: Program,
}

/// Finds the program at `path` from `origin` (see `open_program`); a path below
/// /proc comes back as the rest of it, for procfs.
fn find_program(tree: &mut Tree, origin: Origin, path: &[u8]) -> Result<Result<Program, Vec<u8>>, i64> {
    match tree.lookup(origin, path, true)? {
        Found::Node(id) => open_program(tree, id).map(Ok),
        Found::Mounted(below) => Ok(Err(below)),
    }
}

/// The program file `id`, held and executing. EACCES for something that is not
/// an executable file, ETXTBSY for one open for writing.
fn open_program(tree: &mut Tree, id: NodeId) -> Result<Program, i64> {
    let node = tree.node(id);
    if !matches!(node.kind, NodeKind::File(_)) || node.mode & 0o111 == 0 {
        return Err(EACCES);
    }
    Program::new(tree, id)
}

/// Loads the executable at `path` (resolved from `caller`'s cwd, from `/` for
/// the first process) with its argument and environment `strings`. Errors are
/// Linux's: ENOENT/ENOTDIR/ELOOP from the path, EACCES for something that is not
/// an executable file, ENOEXEC for a file that is not a static x86_64 ELF program
/// (logged with the reason), E2BIG, ENOMEM.
pub fn load(path: &[u8], caller: Option<&Process>, strings: Strings) -> Result<Image, i64> {
    let found = match caller {
        Some(caller) => rootfs::with_origin(caller, |tree, origin| find_program(tree, origin, path))?,
        None => find_program(&mut rootfs::lock(), Origin { start: rootfs::ROOT }, path)?,
    };
    let node = match (found, caller) {
        (Ok(program), _) => program,
        // /proc/self/exe and /proc/PID/exe lead to a program; nothing else there does.
        (Err(below), Some(caller)) => match procfs::reach(caller, &below, true)? {
            Reached::Node(held) => {
                let program = open_program(&mut rootfs::lock(), held.id());
                drop(held);
                program?
            }
            _ => return Err(EACCES),
        },
        (Err(_), None) => return Err(ENOENT),
    };
    let program = {
        let mut tree = rootfs::lock();
        let (id, now) = (node.id(), rootfs::now());
        elf::parse_from(tree.size(id), &mut |offset, buffer| {
            tree.read(id, offset, buffer, now);
        })
    }
    .map_err(|error| {
        info!("exec {}: {error}", String::from_utf8_lossy(path));
        ENOEXEC
    })?;

    // execve's caller, for whom the frames are taken (None: the first process).
    let current = sched::current_pid().and_then(super::find);
    let current = current.as_deref();
    let image = || build_image(node.id(), &program.segments);
    let mut memory = match current {
        Some(current) => crate::oom::retrying(current, image),
        None => image(),
    }
    .map_err(|_| ENOMEM)?;
    memory.set_heap_start(program.image_end);
    memory.add_stack(STACK_TOP).map_err(|_| ENOMEM)?;
    let vdso = memory.map_vdso().map_err(|_| ENOMEM)?;

    let mut random = [0u8; 16];
    crate::random::fill(&mut random);
    let aux = AuxValues {
        phdr: program.phdr_vaddr,
        phent: u64::from(program.phdr_entry_size),
        phnum: u64::from(program.phdr_count),
        entry: program.entry,
        base: 0,
        uid: 0,
        gid: 0,
        hwcap: cpu::features().hwcap,
        clock_ticks: 100,
        sysinfo_ehdr: vdso,
    };
    let stack = initstack::build(STACK_TOP, strings, path, random, &aux).map_err(initstack::StackError::errno)?;
    stack.store(|address, bytes| load_retrying(current, &mut memory, address, bytes))?;
    if caller.is_none() {
        crate::explain::first_image(&program.segments, STACK_TOP, stack.initial_sp, stack.tables());
    }
    memory.set_string_areas(stack.string_areas());

    let name = path.rsplit(|&byte| byte == b'/').next().unwrap_or(path);
    Ok(Image {
        memory,
        entry: program.entry,
        stack_pointer: stack.initial_sp,
        name: String::from_utf8_lossy(name).into_owned(),
        node,
    })
}

/// A fresh address space holding the `segments` of program file `id`. Each
/// whole page of a read-only segment's file bytes is the file's own frame,
/// mapped copy-on-write (the file's pages, made from the archive at its first
/// mapping, are shared by every process running it, as Linux maps a program's
/// text from its page cache); the rest (writable segments, which a program
/// writes soon after it starts, and the partial pages at a segment's ends, whose
/// other bytes are not the file's) is copied into frames of its own. Fails for
/// want of a frame or a page table (`Fault::OutOfMemory`, with the tree unlocked
/// for the OOM policy).
fn build_image(id: NodeId, segments: &[Segment]) -> Result<AddressSpace, Fault> {
    let mut memory = AddressSpace::new()?;
    for (start, end, protection) in page_regions(segments) {
        memory.add_region(start, end, protection).map_err(|_| Fault::OutOfMemory)?;
    }
    let mut tree = rootfs::lock();
    let now = rootfs::now();
    for segment in segments {
        let file_end = segment.vaddr + segment.file_size;
        let (whole_start, whole_end) = (segment.vaddr.next_multiple_of(PAGE_SIZE), file_end & !(PAGE_SIZE - 1));
        let shared = if segment.flags.write || whole_start >= whole_end {
            segment.vaddr..segment.vaddr
        } else {
            // ELF checks made file offsets and addresses congruent modulo the page size.
            let first_page = (segment.file_offset + (whole_start - segment.vaddr)) / PAGE_SIZE;
            let end = memory.share_file_pages(whole_start, whole_end, |count, install| {
                tree.pages_for_mapping(id, first_page, count, |page| install(page.frame())).is_ok()
            });
            whole_start..end
        };
        for (start, end) in [(segment.vaddr, shared.start), (shared.end, file_end)] {
            let offset = segment.file_offset + (start - segment.vaddr);
            let mut refused = Ok(());
            tree.read_with(id, offset, (end - start) as usize, now, |done, bytes| {
                match memory.load(start + done as u64, bytes) {
                    Ok(()) => bytes.len(),
                    Err(fault) => {
                        refused = Err(fault);
                        0
                    }
                }
            });
            refused?;
        }
    }
    Ok(memory)
}

/// `AddressSpace::load` into the new image of `current` (execve), the frames
/// through the OOM policy as its own page faults' (`oom::retrying`); ENOMEM if
/// there is none left (for the first process, `None`, which nothing can make room
/// for), or `current` is the one the OOM killer ends.
fn load_retrying(current: Option<&Process>, memory: &mut AddressSpace, address: u64, bytes: &[u8]) -> Result<(), i64> {
    match current {
        Some(current) => crate::oom::retrying(current, || memory.load(address, bytes)),
        None => memory.load(address, bytes),
    }
    .map_err(|_| ENOMEM)
}

/// The page-aligned regions covering the segments: segments sharing a page get
/// one region with the union of their permissions (the ELF checks guarantee that
/// union is never writable and executable).
fn page_regions(segments: &[Segment]) -> Vec<(u64, u64, Protection)> {
    let mut regions: Vec<(u64, u64, Protection)> = Vec::new();
    for segment in segments {
        let start = segment.vaddr & !(PAGE_SIZE - 1);
        let end = segment.end().next_multiple_of(PAGE_SIZE);
        let protection =
            Protection { read: segment.flags.read, write: segment.flags.write, execute: segment.flags.execute };
        match regions.iter_mut().find(|(other_start, other_end, _)| start < *other_end && *other_start < end) {
            Some((other_start, other_end, other)) => {
                *other_start = (*other_start).min(start);
                *other_end = (*other_end).max(end);
                other.read |= protection.read;
                other.write |= protection.write;
                other.execute |= protection.execute;
            }
            None => regions.push((start, end, protection)),
        }
    }
    regions
}

/// Replaces the current process's program with `image` (the point of no return of
/// execve): new address space, registers as Linux starts a program, fresh FPU
/// state, no TLS, close-on-exec descriptors closed, caught signals back to SIG_DFL.
pub fn replace_image(process: &Process, user: &mut UserState, mut image: Image) {
    let (size_limit, stack_limit) = {
        let details = process.group.details.lock();
        let limit = |resource: u32| details.limits[resource as usize].current;
        (limit(kernel_core::abi::RLIMIT_AS), limit(kernel_core::abi::RLIMIT_STACK))
    };
    image.memory.set_size_limit(size_limit);
    image.memory.set_stack_limit(stack_limit);
    image.memory.activate();
    let old = process.group.memory.lock().replace(image.memory);
    if let Some(old) = old {
        process.group.record_peak(&old);
    }
    *user.frame = TrapFrame::new_user(image.entry, image.stack_pointer);
    user.fpu().copy_from_slice(fpu::layout().initial_state());
    process.segments.change_running(|segments| *segments = UserSegments::new());
    process.group.files.lock().close_on_exec_all();
    process.signals.lock().reset_for_exec();
    crate::trace::record(process.tid(), || kernel_core::trace::What::Exec);
    crate::trace::record_name(process.tid(), &image.name);
    process.thread.lock().name = image.name;
    {
        let mut details = process.group.details.lock();
        details.exe = image.node;
        details.execed = true;
    }
    sched::wake_all(WaitChannel::VforkDone(process.pid()));
}

/// Creates the first process: `path` with its argv and envp `strings`, descriptors 0,
/// 1 and 2 on the console as the host's stdin, stdout and stderr (each open for
/// reading and writing, as /dev/console is on Linux), cwd `/`.
pub fn spawn_init(path: &[u8], strings: Strings) -> Result<Arc<Process>, i64> {
    let image = load(path, None, strings)?;
    let mut files = FdTable::default();
    for stream in [Stream::Stdin, Stream::Stdout, Stream::Stderr] {
        files.insert(OpenFile::new(console::open(stream), O_RDWR | O_LARGEFILE), false)?;
    }
    let frame = TrapFrame::new_user(image.entry, image.stack_pointer);
    let process = super::create(
        0,
        Creation {
            name: image.name,
            belongings: Belongings::Own {
                memory: image.memory,
                files,
                details: Details {
                    cwd: Held::new(&mut rootfs::lock(), rootfs::ROOT),
                    exe: image.node,
                    execed: false,
                    limits: super::default_limits(),
                    umask: super::DEFAULT_UMASK,
                },
            },
            signals: SignalState::for_init(),
            frame: &frame,
            fpu_state: fpu::layout().initial_state(),
            segments: UserSegments::new(),
            exit_signal: SIGCHLD,
            parent_tid: 0,
            set_child_tid: 0,
            clear_child_tid: 0,
        },
    )?;
    crate::explain::first_process(&process, &frame);
    Ok(process)
}
