//! Per-CPU data, reached through the GS base while in the kernel. The entry code
//! reads the first fields at fixed offsets (the `OFFSET_*` constants) to find the
//! kernel stack of the process that was running and to save its user rsp (what it
//! keeps about that process's kernel thread is on the stack: `entry::StackHeader`).

use core::cell::{Cell, UnsafeCell};
use core::mem::offset_of;
use core::sync::atomic::{AtomicBool, Ordering};
use x86_64::registers::model_specific::{GsBase, KernelGsBase};
use x86_64::structures::gdt::GlobalDescriptorTable;
use x86_64::structures::tss::TaskStateSegment;
use x86_64::VirtAddr;

use super::{gdt, paging};

/// Size of each emergency stack (double fault, NMI, machine check).
const IST_STACK_SIZE: usize = 16 * 1024;
pub const IST_DOUBLE_FAULT: u16 = 1;
pub const IST_NMI: u16 = 2;
pub const IST_MACHINE_CHECK: u16 = 3;

#[repr(C, align(16))]
struct IstStack([u8; IST_STACK_SIZE]);

/// One CPU's emergency stacks: only the CPU writes them (through the TSS's IST
/// pointers), never Rust code.
struct IstStacks(UnsafeCell<[IstStack; 3]>);

// SAFETY: Rust code only takes the stacks' addresses; the memory is the CPU's.
unsafe impl Sync for IstStacks {}

#[repr(C)]
pub struct PerCpu {
    /// The user's rsp between SYSCALL and the push of the trap frame.
    user_rsp_scratch: Cell<u64>,
    /// The running process's trap frame (at the top of its kernel stack), where
    /// SYSCALL saves the registers.
    trap_frame: Cell<u64>,
    /// Just above that frame's rsp (its ss): where the SYSCALL entry starts to push.
    syscall_stack: Cell<u64>,
    /// The running process's FPU/SSE/AVX save area (on its kernel stack).
    fpu_area: Cell<u64>,
    /// 1 when the running program's FPU state is in `fpu_area` (and must be reloaded
    /// before it runs again), 0 while it is live in the registers (see `fpu`).
    fpu_saved: Cell<u8>,
    /// This structure's own address, so `PerCpu::this` is one load.
    self_address: Cell<u64>,
    id: usize,
    /// Which address space (by unique id) last used each PCID on this CPU: the TLB
    /// may hold its translations under that tag.
    pcid_owners: [Cell<u64>; paging::PCID_COUNT as usize],
    tss: UnsafeCell<TaskStateSegment>,
    gdt: UnsafeCell<GlobalDescriptorTable<10>>,
    ist_stacks: &'static IstStacks,
}

pub const OFFSET_USER_RSP_SCRATCH: usize = offset_of!(PerCpu, user_rsp_scratch);
pub const OFFSET_TRAP_FRAME: usize = offset_of!(PerCpu, trap_frame);
pub const OFFSET_SYSCALL_STACK: usize = offset_of!(PerCpu, syscall_stack);
pub const OFFSET_FPU_AREA: usize = offset_of!(PerCpu, fpu_area);
pub const OFFSET_FPU_SAVED: usize = offset_of!(PerCpu, fpu_saved);
const OFFSET_SELF_ADDRESS: usize = offset_of!(PerCpu, self_address);

// SAFETY: each PerCpu is used only by its own CPU, with interrupts off in the kernel,
// so its cells are never accessed concurrently.
unsafe impl Sync for PerCpu {}

static BOOT_IST_STACKS: IstStacks = IstStacks(UnsafeCell::new([const { IstStack([0; IST_STACK_SIZE]) }; 3]));

static BOOT_CPU: PerCpu = PerCpu::new(0, &BOOT_IST_STACKS);

impl PerCpu {
    const fn new(id: usize, ist_stacks: &'static IstStacks) -> PerCpu {
        PerCpu {
            user_rsp_scratch: Cell::new(0),
            trap_frame: Cell::new(0),
            syscall_stack: Cell::new(0),
            fpu_area: Cell::new(0),
            fpu_saved: Cell::new(1),
            self_address: Cell::new(0),
            id,
            pcid_owners: [const { Cell::new(0) }; paging::PCID_COUNT as usize],
            tss: UnsafeCell::new(TaskStateSegment::new()),
            gdt: UnsafeCell::new(GlobalDescriptorTable::empty()),
            ist_stacks,
        }
    }

    /// The boot CPU's data (CPU 0).
    pub fn boot_cpu() -> &'static PerCpu {
        &BOOT_CPU
    }

    /// New data for application processor `id`, on the heap for good (a CPU never
    /// goes away). None when the heap is exhausted.
    pub fn allocate(id: usize) -> Option<&'static PerCpu> {
        use alloc::alloc::{alloc_zeroed, Layout};
        // Allocated zeroed in place rather than built on the stack: the PCID table
        // and the emergency stacks are 80 KiB, more than a boot stack should carry.
        // SAFETY: the layouts are non-zero-sized; all-zero bytes are valid stacks.
        let ist_stacks = unsafe {
            let stacks = alloc_zeroed(Layout::new::<IstStacks>()) as *mut IstStacks;
            stacks.as_ref()?
        };
        let layout = Layout::new::<PerCpu>();
        // SAFETY: `allocation` is fresh, PerCpu-sized and aligned; every field is
        // written before the reference is made (`write` on each: the zeroed bytes
        // are not yet valid values for all of them), and the memory is never freed.
        unsafe {
            let allocation = alloc_zeroed(layout) as *mut PerCpu;
            if allocation.is_null() {
                return None;
            }
            use core::ptr::addr_of_mut;
            addr_of_mut!((*allocation).user_rsp_scratch).write(Cell::new(0));
            addr_of_mut!((*allocation).trap_frame).write(Cell::new(0));
            addr_of_mut!((*allocation).syscall_stack).write(Cell::new(0));
            addr_of_mut!((*allocation).fpu_area).write(Cell::new(0));
            addr_of_mut!((*allocation).fpu_saved).write(Cell::new(1));
            addr_of_mut!((*allocation).self_address).write(Cell::new(0));
            addr_of_mut!((*allocation).id).write(id);
            // pcid_owners: zero (no owner) is its initial value, left as allocated.
            addr_of_mut!((*allocation).tss).write(UnsafeCell::new(TaskStateSegment::new()));
            addr_of_mut!((*allocation).gdt).write(UnsafeCell::new(GlobalDescriptorTable::empty()));
            addr_of_mut!((*allocation).ist_stacks).write(ist_stacks);
            Some(&*allocation)
        }
    }

    /// This CPU's data. Valid after `load`. Inlined (one load) into the other
    /// crates too: the scheduler asks on every switch.
    #[inline]
    pub fn this() -> &'static PerCpu {
        let address: u64;
        // SAFETY: in the kernel, GS base points at this CPU's PerCpu (set by
        // `load`, kept by swapgs discipline in the entry code).
        unsafe {
            core::arch::asm!("mov {}, gs:[{off}]", out(reg) address, off = const OFFSET_SELF_ADDRESS,
                             options(nostack, readonly, preserves_flags));
            &*(address as *const PerCpu)
        }
    }

    /// This CPU's number.
    #[inline]
    pub fn id(&self) -> usize {
        self.id
    }

    /// Where the running process's trap frame is (0 before any process ran).
    pub fn trap_frame_address(&self) -> u64 {
        self.trap_frame.get()
    }

    /// Where the running process's FPU state is saved.
    pub fn fpu_area(&self) -> u64 {
        self.fpu_area.get()
    }

    /// Whether the running program's FPU state is in its area (not live).
    pub fn fpu_saved(&self) -> bool {
        self.fpu_saved.get() != 0
    }

    /// Records that the running program's FPU state was just saved to its area.
    pub fn set_fpu_saved(&self) {
        self.fpu_saved.set(1);
    }

    /// Points the CPU at the kernel stack and FPU area of the process about to run:
    /// interrupts from ring 3 (TSS.RSP0) and SYSCALL (the entry code) will push its
    /// trap frame just below `frame_end`, and its FPU state goes to `fpu_area`. The
    /// entry code finds the rest (where its kernel thread resumes, its system-call
    /// handler) in the header above the frame.
    ///
    /// The outgoing program's FPU state, if still live (a fast-path system call that
    /// blocks), goes to its own area first: the way back to user mode loads from
    /// `fpu_area`, which is about to name the next process's.
    pub fn set_user_context(&self, frame_end: u64, fpu_area: u64) {
        super::fpu::save_live();
        let frame = frame_end - super::frame::TRAP_FRAME_SIZE;
        self.trap_frame.set(frame);
        self.syscall_stack.set(frame + core::mem::offset_of!(super::frame::TrapFrame, ss) as u64);
        self.fpu_area.set(fpu_area);
        // Kernel stacks are canonical by construction: truncating costs no check on
        // this, every switch's, path.
        // SAFETY: the TSS belongs to this CPU; the CPU reads RSP0 only on an interrupt
        // from ring 3, which cannot happen while we are here with interrupts off.
        unsafe { (*self.tss.get()).privilege_stack_table[0] = VirtAddr::new_truncate(frame_end) };
    }
}

/// This CPU's number, or None before its per-CPU data is loaded (an early panic).
pub fn current_id() -> Option<usize> {
    (GsBase::read().as_u64() != 0).then(|| PerCpu::this().id())
}

impl PerCpu {
    /// Records that address space `owner` now uses `pcid` on this CPU, and says
    /// whether it already did (so the TLB entries tagged `pcid` are its own).
    pub fn claim_pcid(&self, pcid: u16, owner: u64) -> bool {
        self.pcid_owners[usize::from(pcid)].replace(owner) == owner
    }

    /// Forgets that address space `owner` used `pcid` here (if it was the last to):
    /// its next switch-in flushes the entries tagged `pcid`.
    pub fn forget_pcid(&self, pcid: u16, owner: u64) {
        let slot = &self.pcid_owners[usize::from(pcid)];
        if slot.get() == owner {
            slot.set(0);
        }
    }
}

/// Makes `cpu` the running CPU's data: its GDT, TSS (with emergency stacks) and GS
/// base. Must run once per CPU, on that CPU, before its IDT is loaded and before
/// anything calls `PerCpu::this`.
pub fn load(cpu: &'static PerCpu) {
    static LOADED: [AtomicBool; kernel_core::acpi::MAX_CPUS] =
        [const { AtomicBool::new(false) }; kernel_core::acpi::MAX_CPUS];
    let first = LOADED.get(cpu.id).is_some_and(|loaded| !loaded.swap(true, Ordering::Relaxed));
    assert!(first, "per-CPU data {} loaded twice", cpu.id);
    cpu.self_address.set(cpu as *const PerCpu as u64);
    // SAFETY: this runs once per PerCpu (checked above), on the CPU it belongs to;
    // nothing else references its TSS, GDT or IST stacks yet, and they live for good
    // (static or leaked), so the addresses given to the CPU stay valid.
    unsafe {
        let tss = &mut *cpu.tss.get();
        let stacks = &*cpu.ist_stacks.0.get();
        for (index, stack) in [IST_DOUBLE_FAULT, IST_NMI, IST_MACHINE_CHECK].into_iter().zip(stacks) {
            let top = stack.0.as_ptr() as u64 + IST_STACK_SIZE as u64;
            tss.interrupt_stack_table[usize::from(index) - 1] = VirtAddr::new(top);
        }
        gdt::load(&mut *cpu.gdt.get(), cpu.tss.get());
    }
    GsBase::write(VirtAddr::new(cpu as *const PerCpu as u64));
    KernelGsBase::write(VirtAddr::new(0));
}
