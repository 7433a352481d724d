//! TLB shootdown: making a change that removes or narrows a translation seen by
//! every CPU that may have cached the old one, before the change's caller goes on
//! (and before the frames it unmapped are freed).
//!
//! Who may hold translations of an address space: its `CpuSet`. A CPU adds itself
//! when it makes the space live (`AddressSpace::activate`), before its CR3 write,
//! so no walk of the tree can happen on a CPU outside the set. Switching away does
//! not take it out: with PCIDs, the CPU keeps the entries tagged with the space's
//! PCID and reuses them at the next switch-in (`paging::switch_address_space`). A
//! CPU leaves the set only when it answers a shootdown for a space that is not live
//! on it: it then forgets that it owns the PCID (so the next switch-in flushes the
//! tag), and only then clears its bit. A space that migrates a lot is therefore
//! shot at once more on each CPU it left, and never after.
//!
//! The protocol: each CPU has one request slot (a CPU waits for its own request's
//! acknowledgements, so it never has two). The sender flushes its own TLB, writes
//! the space, the range and the set into its slot, then the mask of CPUs that must
//! answer (`pending`, with Release), sends them `apic::TLB_VECTOR`, and spins until
//! every one has cleared its bit. A target flushes and clears its bit in the
//! interrupt's handler (`service`), or while it spins itself: the kernel runs with
//! interrupts off, so every wait on another CPU (this one, and a lock's:
//! `sync::OrderedMutex`) serves the requests addressed to it, and two CPUs
//! shooting at each other both make progress. A target that does not answer
//! within `ACK_TIMEOUT_NS` is a kernel failure naming it, never a silent hang.
//!
//! With one CPU online none of this runs: the flush is local, as before SMP.

use core::ops::Range;
use core::sync::atomic::{fence, AtomicU64, Ordering};

use kernel_core::acpi::MAX_CPUS;

use super::apic;
use super::paging;
use super::percpu::PerCpu;
use super::smp;
use crate::mm::PAGE_SIZE;
use crate::time;

/// The most pages a flush drops from the TLB one by one; past them, one flush of
/// the whole address space costs less (Linux's tlb_single_page_flush_ceiling).
pub const FULL_FLUSH_PAGES: u64 = 33;

/// How long a shootdown waits for its acknowledgements: far beyond any CPU's
/// answer (a few microseconds), even under a loaded TCG host.
const ACK_TIMEOUT_NS: u64 = 5_000_000_000;

/// The `space` of a request for the kernel's own (shared, global) mappings.
const KERNEL_SPACE: u64 = 0;

const _: () = assert!(MAX_CPUS <= 64, "a CpuSet is one 64-bit mask");

/// The CPUs on which an address space is live or may still hold translations of
/// it (see the module's doc for when a CPU joins and leaves).
pub struct CpuSet(AtomicU64);

impl CpuSet {
    pub const fn new() -> CpuSet {
        CpuSet(AtomicU64::new(0))
    }

    /// Adds CPU `cpu` (the one running this), before it loads the space's tree. A
    /// plain load first: the bit is nearly always there already (every switch
    /// comes here).
    #[inline]
    pub fn add(&self, cpu: usize) {
        let bit = 1u64 << cpu;
        if self.0.load(Ordering::Relaxed) & bit == 0 {
            // SeqCst: ordered before this CPU's CR3 write, against a shooter's
            // change of the tree then read of the set.
            self.0.fetch_or(bit, Ordering::SeqCst);
        }
    }

    /// The CPUs in the set, as a mask.
    pub fn mask(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }

    fn remove(&self, cpu: usize) {
        self.0.fetch_and(!(1u64 << cpu), Ordering::SeqCst);
    }
}

impl Default for CpuSet {
    fn default() -> CpuSet {
        CpuSet::new()
    }
}

/// One CPU's shootdown request. Its fields are written only while `pending` is 0
/// (by the owning CPU) and read only by a CPU whose bit is in `pending`.
struct Request {
    /// CPUs yet to answer; 0 when there is no request.
    pending: AtomicU64,
    /// The address space's id, or `KERNEL_SPACE`.
    space: AtomicU64,
    /// The physical root of its tree: where it is live, CR3 holds it.
    root: AtomicU64,
    start: AtomicU64,
    end: AtomicU64,
    /// The address of the space's `CpuSet` (0 for the kernel's), alive until every
    /// target answered: the sender holds the space for the whole shootdown.
    cpus: AtomicU64,
}

static REQUESTS: [Request; MAX_CPUS] = [const {
    Request {
        pending: AtomicU64::new(0),
        space: AtomicU64::new(0),
        root: AtomicU64::new(0),
        start: AtomicU64::new(0),
        end: AtomicU64::new(0),
        cpus: AtomicU64::new(0),
    }
}; MAX_CPUS];

/// Shootdowns this CPU answered for others, by CPU (the self-test's evidence that
/// the IPI path ran).
static ANSWERED: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// Makes the change just made to the translations of `pages` of address space
/// `space` (its tree rooted at `root`, its CPU set `cpus`) seen everywhere: flushed here, and on every other
/// CPU of the set, which answered before this returns. The tree must already hold
/// the change.
pub fn flush_space(space: u64, root: u64, cpus: &CpuSet, pages: Range<u64>) {
    // The tree's change before the set's read: a CPU that joins after this read
    // walks the changed tree.
    fence(Ordering::SeqCst);
    let this = PerCpu::this().id();
    flush_here(space, root, cpus, &pages);
    let others = cpus.mask() & !(1u64 << this);
    if others != 0 {
        shoot(this, others, (space, root), core::ptr::from_ref(cpus) as u64, &pages);
    }
}

/// As `flush_space`, for the kernel's own mappings (shared by every address space,
/// global): every other online CPU answers.
pub fn flush_kernel(pages: Range<u64>) {
    for page in pages.clone().step_by(PAGE_SIZE as usize) {
        paging::flush_page(page);
    }
    if smp::online_count() > 1 {
        fence(Ordering::SeqCst);
        let this = PerCpu::this().id();
        let others = ((1u64 << smp::online_count()) - 1) & !(1u64 << this);
        shoot(this, others, (KERNEL_SPACE, 0), 0, &pages);
    }
}

/// Sends this CPU's request to `targets` and waits for every answer, serving the
/// requests addressed to this CPU meanwhile.
fn shoot(this: usize, targets: u64, (space, root): (u64, u64), cpus: u64, pages: &Range<u64>) {
    let request = &REQUESTS[this];
    request.space.store(space, Ordering::Relaxed);
    request.root.store(root, Ordering::Relaxed);
    request.start.store(pages.start, Ordering::Relaxed);
    request.end.store(pages.end, Ordering::Relaxed);
    request.cpus.store(cpus, Ordering::Relaxed);
    request.pending.store(targets, Ordering::Release);
    let online = (1u64 << smp::online_count()) - 1;
    if targets == online & !(1u64 << this) {
        smp::send_ipi_all_but_self(apic::TLB_VECTOR);
    } else {
        for cpu in (0..MAX_CPUS).filter(|cpu| targets & (1 << cpu) != 0) {
            smp::send_ipi(cpu, apic::TLB_VECTOR);
        }
    }
    let deadline = time::monotonic_ns() + ACK_TIMEOUT_NS;
    loop {
        let waiting = request.pending.load(Ordering::Acquire);
        if waiting == 0 {
            return;
        }
        service();
        if time::monotonic_ns() > deadline {
            crate::fail(format_args!(
                "TLB shootdown from cpu {this}: cpus {waiting:#b} (mask) did not acknowledge in {} s \
                 (pages {:#x}..{:#x} of address space {space})",
                ACK_TIMEOUT_NS / 1_000_000_000,
                pages.start,
                pages.end
            ));
        }
        core::hint::spin_loop();
    }
}

/// Answers every shootdown request addressed to this CPU: the interrupt's
/// handler, and what a CPU does while it waits with interrupts off.
pub fn service() {
    let this = PerCpu::this().id();
    let bit = 1u64 << this;
    for request in &REQUESTS {
        if request.pending.load(Ordering::Acquire) & bit == 0 {
            continue;
        }
        let space = request.space.load(Ordering::Relaxed);
        let pages = request.start.load(Ordering::Relaxed)..request.end.load(Ordering::Relaxed);
        if space == KERNEL_SPACE {
            for page in pages.step_by(PAGE_SIZE as usize) {
                paging::flush_page(page);
            }
        } else {
            // SAFETY: the sender keeps the address space, and so its set, alive
            // until this CPU's bit leaves `pending` (below).
            let cpus = unsafe { &*(request.cpus.load(Ordering::Relaxed) as *const CpuSet) };
            flush_here(space, request.root.load(Ordering::Relaxed), cpus, &pages);
        }
        ANSWERED[this].fetch_add(1, Ordering::Relaxed);
        request.pending.fetch_and(!bit, Ordering::Release);
    }
}

/// `apic::TLB_VECTOR`'s handler, wherever it arrived (ring 3 or the idle loop).
/// Then, on a CPU the self-test posted its job for, the job (the interrupt is
/// over: the job may take interrupts, this one included).
pub fn interrupt() {
    service();
    apic::end_of_interrupt();
    let bit = 1u64 << PerCpu::this().id();
    if JOB_CPUS.fetch_and(!bit, Ordering::AcqRel) & bit != 0 {
        if let Some(job) = JOB.get() {
            job();
        }
    }
}

/// The self-test's job for other CPUs (`post_job`), and the CPUs yet to run it.
static JOB: spin::Once<fn()> = spin::Once::new();
static JOB_CPUS: AtomicU64 = AtomicU64::new(0);

/// Has each CPU of `cpus` (a mask, this one excluded) run `job` from its
/// shootdown interrupt: how `selftest=tlb-shootdown` puts a reader on the other
/// CPUs, which idle until the scheduler runs there. Once per boot.
pub fn post_job(cpus: u64, job: fn()) {
    JOB.call_once(|| job);
    JOB_CPUS.fetch_or(cpus, Ordering::AcqRel);
    for cpu in (0..MAX_CPUS).filter(|cpu| cpus & (1 << cpu) != 0) {
        smp::send_ipi(cpu, apic::TLB_VECTOR);
    }
}

/// Shootdowns this CPU answered for the others.
pub fn answered(cpu: usize) -> u64 {
    ANSWERED.get(cpu).map_or(0, |count| count.load(Ordering::Relaxed))
}

/// This CPU's part: if the space is live here (CR3 holds its root: read only
/// here, so that a switch records nothing), its pages' entries go (all of its
/// entries past `FULL_FLUSH_PAGES`); if not, this CPU forgets it owns the space's
/// PCID (the next switch-in flushes the tag) and leaves its set.
fn flush_here(space: u64, root: u64, cpus: &CpuSet, pages: &Range<u64>) {
    let this = PerCpu::this();
    if paging::live_root() == root {
        if (pages.end - pages.start) / PAGE_SIZE > FULL_FLUSH_PAGES {
            paging::flush_address_space();
        } else {
            for page in pages.clone().step_by(PAGE_SIZE as usize) {
                paging::flush_page(page);
            }
        }
    } else if cpus.mask() & (1 << this.id()) != 0 {
        this.forget_pcid(paging::pcid_of(space), space);
        cpus.remove(this.id());
    }
}
