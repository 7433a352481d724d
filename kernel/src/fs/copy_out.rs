//! `--copy-out`: at power-off, the files and directories the host asked for go
//! back to it over the control channel, as `kernel_core::copyout` records.

use alloc::vec::Vec;
use spin::Once;

use super::rootfs::{self, NodeId, NodeKind, Origin, Tree, ROOT};
use crate::arch::x86_64::debugcon::{self, Channel};
use kernel_core::copyout::{Item, Record, DATA_CHUNK};
use kernel_core::tree::MODE_BITS;

static PATHS: Once<Vec<Vec<u8>>> = Once::new();

/// The paths to send back (the `copyout=` options), set once at boot.
pub fn init(paths: Vec<Vec<u8>>) {
    PATHS.call_once(|| paths);
}

/// Sends every requested path (symlinks in it followed, as `cp` would), with what
/// a directory holds, depth first; `missing` for a path that names nothing. Runs
/// at power-off, when no program runs any more: the tree stays locked throughout.
pub fn send() {
    let Some(paths) = PATHS.get() else { return };
    let mut tree = rootfs::lock();
    for (index, path) in paths.iter().enumerate() {
        let index = index as u32;
        match tree.resolve(Origin { start: ROOT }, path, true) {
            Ok(node) => {
                for (relative, node) in walk(&tree, node) {
                    send_node(&mut tree, index, relative, node);
                }
            }
            Err(_) => emit(index, Item::Missing),
        }
        emit(index, Item::End);
    }
}

/// `node` and everything under it, each with its path relative to `node`,
/// directories before what they hold.
fn walk(tree: &Tree, node: NodeId) -> Vec<(Vec<u8>, NodeId)> {
    let mut found = Vec::new();
    let mut pending = alloc::vec![(Vec::new(), node)];
    while let Some((relative, node)) = pending.pop() {
        if tree.is_directory(node) {
            let mut position = 2;
            while let Some(entry) = tree.directory_entry(node, position) {
                position = entry.next_offset as u64;
                if let Some(child) = tree.child(node, entry.name) {
                    let mut path = relative.clone();
                    if !path.is_empty() {
                        path.push(b'/');
                    }
                    path.extend_from_slice(entry.name);
                    pending.push((path, child));
                }
            }
        }
        found.push((relative, node));
    }
    found
}

fn send_node(tree: &mut Tree, index: u32, path: Vec<u8>, node: NodeId) {
    let mode = tree.node(node).mode & MODE_BITS;
    match &tree.node(node).kind {
        NodeKind::Directory(_) => emit(index, Item::Directory { path, mode }),
        NodeKind::Symlink(target) => {
            let target = target.clone();
            emit(index, Item::Symlink { path, target });
        }
        NodeKind::File(_) => {
            emit(index, Item::File { path, mode });
            let mut offset = 0;
            let mut chunk = [0u8; DATA_CHUNK];
            loop {
                let count = tree.read(node, offset, &mut chunk, rootfs::now());
                if count == 0 {
                    break;
                }
                emit(index, Item::Data(chunk[..count].to_vec()));
                offset += count as u64;
            }
        }
        // Devices stay in the guest.
        NodeKind::Device(_) => {}
    }
}

fn emit(index: u32, item: Item) {
    debugcon::write(Channel::Control, Record { index, item }.line().as_bytes());
}
