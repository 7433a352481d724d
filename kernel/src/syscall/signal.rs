//! Signal masks.

use super::Context;
use crate::signal::SignalSet;
use kernel_core::abi::errno::EINVAL;

const SIG_BLOCK: u64 = 0;
const SIG_UNBLOCK: u64 = 1;
const SIG_SETMASK: u64 = 2;

pub fn rt_sigprocmask(context: &mut Context, [how, set, old_set, set_size, ..]: [u64; 6]) -> Result<u64, i64> {
    if set_size != 8 {
        return Err(EINVAL);
    }
    let requested = if set != 0 { Some(SignalSet(context.read_u64(set)?).blockable()) } else { None };
    let previous = context.process.signals.lock().blocked;
    if let Some(requested) = requested {
        let blocked = match how {
            SIG_BLOCK => SignalSet(previous.0 | requested.0),
            SIG_UNBLOCK => SignalSet(previous.0 & !requested.0),
            SIG_SETMASK => requested,
            _ => return Err(EINVAL),
        };
        context.process.signals.lock().blocked = blocked;
    }
    if old_set != 0 {
        context.copy_out(old_set, &previous.0.to_le_bytes())?;
    }
    Ok(0)
}
