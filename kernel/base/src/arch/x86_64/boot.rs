//! Step 0 of the boot sequence: from QEMU's PVH entry (32-bit protected mode, paging
//! off, EBX = physical address of `hvm_start_info`) into 64-bit Rust at the higher half.
//!
//! The boot page tables map the first 4 GiB three times: identity (so this code
//! keeps running after paging turns on, and the start info is reachable), at the
//! direct map's base (so `mm::init` can build the real tables with the same code
//! that later maintains them), and at KERNEL_VMA (so the Rust kernel, linked there,
//! can run). `mm::init` replaces them before the first process exists.
//!
//! The application processors come through here too (`smp`'s trampoline brings them
//! from real mode to 32-bit protected mode and jumps to `enter_long_mode` with EBP
//! = 1): they share the way into long mode, then take the kernel's own tree and the
//! stack the boot CPU left them in the trampoline page's mailbox.

use core::arch::global_asm;

global_asm!(
    r#"
    .section .note.pvh, "a", @note
    .balign 4
    .long 4                      /* name size: "Xen\0" */
    .long 8                      /* descriptor size: a 64-bit entry address */
    .long 18                     /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .balign 4
    .quad pvh_start
    .balign 4

    .section .boot.text, "ax"
    .code32
    .global pvh_start
pvh_start:
    cli
    cld
    mov %ebx, %esi               /* start_info, kept for kernel_start */
    xor %ebp, %ebp               /* the boot CPU */

    /* 32-bit protected mode, paging off; EBP = 0 on the boot CPU, 1 on the others */
    .global enter_long_mode
enter_long_mode:

    /* CR4: PAE for long mode; OSFXSR and OSXMMEXCPT so that programs may use SSE (the
       kernel itself, built soft-float, never does) */
    mov %cr4, %eax
    or $((1 << 5) | (1 << 9) | (1 << 10)), %eax
    mov %eax, %cr4

    mov $boot_pml4, %eax
    mov %eax, %cr3

    /* EFER: SCE (syscall), LME (long mode), NXE (no-execute bit) */
    mov $0xc0000080, %ecx
    rdmsr
    or $((1 << 0) | (1 << 8) | (1 << 11)), %eax
    wrmsr

    /* CR0: PE, MP, NE, WP, PG; clear EM and TS so the programs' x87 and SSE
       instructions run without trapping */
    mov %cr0, %eax
    and $~((1 << 2) | (1 << 3)), %eax
    or $((1 << 0) | (1 << 1) | (1 << 5) | (1 << 16) | (1 << 31)), %eax
    mov %eax, %cr0

    lgdt boot_gdt_pointer
    ljmp $0x08, $long_mode_start

    .code64
long_mode_start:
    mov $0x10, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    xor %eax, %eax
    mov %eax, %fs
    mov %eax, %gs
    test %ebp, %ebp
    jnz ap_long_mode
    movabs $boot_stack_top, %rsp
    xor %ebp, %ebp
    mov %esi, %edi               /* zero-extends: the start info's physical address */
    movabs $kernel_start, %rax
    call *%rax
    ud2

    /* An application processor: everything it needs from the mailbox while the
       trampoline page is still identity-mapped, then up to the higher half, where
       the kernel's tree maps the code that runs on. */
ap_long_mode:
    mov {mailbox_root}, %rax
    mov {mailbox_stack}, %rsp
    mov {mailbox_cpu}, %rdi
    movabs $ap_higher_half, %rcx
    jmp *%rcx

    .section .text.ap_higher_half, "ax"
ap_higher_half:
    mov %rax, %cr3
    xor %ebp, %ebp
    movabs ${ap_entry}, %rax
    call *%rax
    ud2

    .section .boot.data, "aw"
    .balign 8
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff     /* 0x08: 64-bit kernel code */
    .quad 0x00cf92000000ffff     /* 0x10: kernel data */
boot_gdt_end:
boot_gdt_pointer:
    .word boot_gdt_end - boot_gdt - 1
    .long boot_gdt

    .balign 4096
boot_pml4:
    .quad boot_pdpt_identity + 0x3
    .fill 255, 8, 0
    .quad boot_pdpt_identity + 0x3   /* the direct map's first 4 GiB, for memory::init */
    .fill 254, 8, 0
    .quad boot_pdpt_high + 0x3
boot_pdpt_identity:
    .quad boot_pd + 0x0003
    .quad boot_pd + 0x1003
    .quad boot_pd + 0x2003
    .quad boot_pd + 0x3003
    .fill 508, 8, 0
boot_pdpt_high:
    .fill 510, 8, 0
    .quad boot_pd + 0x0003       /* KERNEL_VMA -> physical 0 */
    .quad boot_pd + 0x1003
boot_pd:                         /* 2048 x 2 MiB pages: physical 0..4 GiB */
    .set boot_page, 0
    .rept 2048
    .quad boot_page + 0x83
    .set boot_page, boot_page + 0x200000
    .endr

    .section .bss
    .balign 16
boot_stack:
    .space 65536
boot_stack_top:
    "#,
    mailbox_root = const super::smp::MAILBOX_ROOT,
    mailbox_stack = const super::smp::MAILBOX_STACK,
    mailbox_cpu = const super::smp::MAILBOX_CPU,
    ap_entry = sym super::smp::ap_entry,
    options(att_syntax)
);
