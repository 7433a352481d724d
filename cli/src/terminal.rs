//! The host terminal and the host's signals while a guest runs.
//!
//! When stdin is a terminal it is put in raw mode for input (no echo, no line editing, no
//! signal keys: the guest's line discipline does all that), but output processing stays
//! on so that the guest's `\n` still starts a new line on the screen. The saved settings
//! are restored by `restore()`, which every way out calls (normal end, timeout, signal,
//! panic).

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Mutex;

static SAVED: Mutex<Option<libc::termios>> = Mutex::new(None);

pub fn stdin_is_terminal() -> bool {
    is_terminal(libc::STDIN_FILENO)
}

pub fn is_terminal(fd: i32) -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(fd) == 1 }
}

/// Whether stdin is the controlling terminal and we are its foreground job (a background
/// job must not touch the terminal's settings: that would stop it with SIGTTOU).
pub fn stdin_is_our_terminal() -> bool {
    // SAFETY: plain queries.
    stdin_is_terminal() && unsafe { libc::tcgetpgrp(libc::STDIN_FILENO) == libc::getpgrp() }
}

/// Raw input on stdin (when it is a terminal); `restore()` undoes it.
pub fn enter_raw_mode() -> std::io::Result<()> {
    let mut saved = SAVED.lock().unwrap_or_else(|e| e.into_inner());
    if saved.is_some() {
        return Ok(());
    }
    // SAFETY: termios is plain data; tcgetattr fills it.
    let mut original: libc::termios = unsafe { std::mem::zeroed() };
    if unsafe { libc::tcgetattr(libc::STDIN_FILENO, &mut original) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut raw = original;
    // SAFETY: cfmakeraw only edits the struct.
    unsafe { libc::cfmakeraw(&mut raw) };
    raw.c_oflag = original.c_oflag; // keep OPOST/ONLCR: guest `\n` is a new line on screen
    if unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &raw) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    *saved = Some(original);
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
    Ok(())
}

/// Put the terminal back as it was (idempotent; a no-op when raw mode was never entered).
pub fn restore() {
    let mut saved = SAVED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(original) = saved.take() {
        // SAFETY: restores settings read by tcgetattr.
        unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &original) };
    }
}

/// The last terminating signal received (0: none).
static RECEIVED: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(signal: libc::c_int) {
    RECEIVED.store(signal, Ordering::SeqCst);
}

/// Catch SIGINT, SIGTERM, SIGHUP and SIGQUIT so that the session can kill QEMU and restore
/// the terminal before exiting; `received()` reports them.
pub fn catch_signals() {
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT] {
        // SAFETY: the handler only stores into an atomic, which is async-signal-safe.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

/// Set by SIGWINCH: the terminal was resized since `take_window_change` last looked.
static WINDOW_CHANGED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_window_change(_: libc::c_int) {
    WINDOW_CHANGED.store(true, Ordering::SeqCst);
}

/// Catch SIGWINCH, so that a resize of the host terminal reaches the guest.
pub fn catch_window_changes() {
    // SAFETY: the handler only stores into an atomic, which is async-signal-safe.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_window_change as extern "C" fn(libc::c_int) as usize;
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGWINCH, &action, std::ptr::null_mut());
    }
}

/// Whether the terminal was resized since the last call.
pub fn take_window_change() -> bool {
    WINDOW_CHANGED.swap(false, Ordering::SeqCst)
}

pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}
