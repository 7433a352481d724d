//! syslog(2): the kernel log's most recent lines, as BusyBox's and util-linux's
//! dmesg read them. Every process is root, so every action is permitted.

use alloc::vec;

use super::Context;
use crate::log::{self, RecentLog};
use kernel_core::klog::SyslogRequest;

pub fn syslog(context: &mut Context) -> Result<u64, i64> {
    let [kind, buffer, length, ..] = context.arguments();
    let (buffer, text, taken) = match SyslogRequest::decode(kind, buffer, length)? {
        SyslogRequest::Nothing => return Ok(0),
        SyslogRequest::Clear => {
            log::with_recent(|recent| recent.clear());
            return Ok(0);
        }
        SyslogRequest::SizeUnread => return Ok(log::with_recent(|recent| recent.unread_len()) as u64),
        SyslogRequest::SizeBuffer => return Ok(RecentLog::CAPACITY as u64),
        // The text is taken out under the log's lock and copied to the caller
        // after it, since the copy may fault and the fault path may log.
        SyslogRequest::Read { buffer, length } => {
            let mut text = vec![0; length.min(log::with_recent(|recent| recent.len()))];
            let taken = log::with_recent(|recent| recent.read_unread(&mut text));
            (buffer, text, taken)
        }
        SyslogRequest::ReadAll { buffer, length, clear } => {
            let mut text = vec![0; length.min(log::with_recent(|recent| recent.len()))];
            let taken = log::with_recent(|recent| recent.read_all(&mut text, clear));
            (buffer, text, taken)
        }
    };
    context.copy_out(buffer, &text[..taken])?;
    Ok(taken as u64)
}
