//! A regular file's pages by index (see `tree`): sparse, so a hole costs no
//! memory however far into the file the next page lies, and as cheap as a vector
//! for the usual file, written from its start.
//!
//! Why this shape. A vector indexed by page made a hole cost memory in proportion to
//! its length, which a program chooses: one byte written a TiB in asked the kernel
//! heap for 2 GiB, and the kernel panicked. A map alone cost every page of a file
//! written in order (`file-write-1m`) three B-tree searches and its share of node
//! allocations: +45 % instructions. So the pages from 0 up to the first hole are a
//! vector (a write at its end pushes), and the pages past that hole a map.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

/// Pages by index. Invariant: `run` holds pages `0..run.len()`, all present;
/// `scattered` holds the others, every index above `run.len()` (page `run.len()`
/// itself is missing, else it would be in `run`).
#[derive(Debug)]
pub struct FilePages<P> {
    run: Vec<P>,
    scattered: BTreeMap<usize, P>,
}

impl<P> Default for FilePages<P> {
    fn default() -> Self {
        FilePages { run: Vec::new(), scattered: BTreeMap::new() }
    }
}

impl<P> FilePages<P> {
    /// How many pages are present.
    pub fn len(&self) -> usize {
        self.run.len() + self.scattered.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, index: usize) -> Option<&P> {
        match self.run.get(index) {
            Some(page) => Some(page),
            None => self.scattered.get(&index),
        }
    }

    pub fn get_mut(&mut self, index: usize) -> Option<&mut P> {
        match self.run.get_mut(index) {
            Some(page) => Some(page),
            None => self.scattered.get_mut(&index),
        }
    }

    pub fn contains(&self, index: usize) -> bool {
        index < self.run.len() || self.scattered.contains_key(&index)
    }

    /// Puts `page` at `index`, which must be missing; returns it in place.
    pub fn insert(&mut self, index: usize, page: P) -> &mut P {
        debug_assert!(!self.contains(index), "page {index} is already present");
        if index != self.run.len() {
            return self.scattered.entry(index).or_insert(page);
        }
        self.run.push(page);
        // The hole it filled may have been all that kept pages after it apart.
        while let Some(next) = self.scattered.remove(&self.run.len()) {
            self.run.push(next);
        }
        &mut self.run[index]
    }

    /// The present pages with indices in `first..end`, in order.
    pub fn range(&self, first: usize, end: usize) -> impl Iterator<Item = &P> {
        let start = first.min(self.run.len());
        let in_run = &self.run[start..end.min(self.run.len()).max(start)];
        let beyond = first.max(self.run.len());
        in_run.iter().chain(self.scattered.range(beyond..end.max(beyond)).map(|(_, page)| page))
    }

    /// Drops every page from index `kept` on; returns how many went.
    pub fn truncate(&mut self, kept: usize) -> usize {
        let before = self.len();
        self.run.truncate(kept);
        drop(self.scattered.split_off(&kept));
        before - self.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::Rng;

    /// Every page's index, read through `get` and `range`, against the model.
    fn check(pages: &FilePages<usize>, model: &BTreeMap<usize, usize>, horizon: usize) {
        assert_eq!(pages.len(), model.len());
        assert!(pages.run.iter().enumerate().all(|(index, &page)| model.get(&index) == Some(&page)));
        assert!(!pages.scattered.contains_key(&pages.run.len()), "the page after the run would extend it");
        for index in 0..horizon {
            assert_eq!(pages.get(index), model.get(&index), "page {index}");
            assert_eq!(pages.contains(index), model.contains_key(&index));
        }
        for (first, end) in [(0, horizon), (3, 9), (horizon / 2, horizon), (7, 7), (9, 3)] {
            let got: Vec<usize> = pages.range(first, end).copied().collect();
            let wanted: Vec<usize> = model.range(first..end.max(first)).map(|(_, &page)| page).collect();
            assert_eq!(got, wanted, "range {first}..{end}");
        }
    }

    #[test]
    fn pages_written_in_any_order_read_as_a_map_would() {
        let mut rng = Rng::new(7);
        for round in 0..200 {
            let horizon = 8 + round % 40;
            let (mut pages, mut model) = (FilePages::default(), BTreeMap::new());
            for step in 0..60 {
                let index = rng.below(horizon as u64) as usize;
                if rng.below(8) == 0 {
                    let kept = rng.below(horizon as u64) as usize;
                    let gone = model.split_off(&kept).len();
                    assert_eq!(pages.truncate(kept), gone);
                } else if !model.contains_key(&index) {
                    let page = round * 1000 + step;
                    assert_eq!(*pages.insert(index, page), page);
                    model.insert(index, page);
                }
                check(&pages, &model, horizon);
            }
        }
    }

    #[test]
    fn a_page_far_away_costs_one_entry() {
        let mut pages = FilePages::default();
        pages.insert(0, 'a');
        pages.insert(usize::MAX / 4096, 'z');
        assert_eq!(pages.len(), 2);
        assert_eq!(pages.get(usize::MAX / 4096), Some(&'z'));
        assert_eq!(pages.range(0, usize::MAX).collect::<Vec<_>>(), [&'a', &'z']);
        pages.insert(1, 'b');
        assert_eq!((pages.run.len(), pages.scattered.len()), (2, 1));
        assert_eq!(pages.truncate(1), 2);
        assert_eq!(pages.range(0, usize::MAX).collect::<Vec<_>>(), [&'a']);
    }
}
