//! What a step read and wrote of the data a conversation gathers (which
//! slots are filled, where actions succeeded), when someone is watching.
//!
//! `verify`'s symbolic search runs the engine on one state of a set and
//! needs to know which of those bits the run depended on: every state of
//! the set that agrees on them takes the same path, so one run stands for
//! all of them. Unwatched (the default, and everywhere but that search) a
//! read costs one test of an empty option.

use std::cell::Cell;

use crate::policy::{ActionId, SlotId};

/// The watch a [`super::State`] carries: none, or the log of its reads and
/// writes. Two states are equal, and hash alike, whatever their watches.
#[derive(Clone, Default)]
pub struct Watch(Option<Box<Log>>);

/// Bit sets over the data items: slot `s` is item `s`, action `a` is item
/// `slots + a`.
#[derive(Clone)]
struct Log {
    slots: usize,
    read: Box<[Cell<u64>]>,
    written: Box<[Cell<u64>]>,
}

impl Watch {
    /// A watch over an agent's `slots` and `actions`.
    pub fn on(slots: usize, actions: usize) -> Watch {
        let words = (slots + actions).div_ceil(64).max(1);
        Watch(Some(Box::new(Log {
            slots,
            read: vec![Cell::new(0); words].into_boxed_slice(),
            written: vec![Cell::new(0); words].into_boxed_slice(),
        })))
    }

    /// Forgets what was read and written.
    pub fn clear(&self) {
        if let Some(log) = &self.0 {
            log.read.iter().chain(log.written.iter()).for_each(|c| c.set(0));
        }
    }

    /// Whether item `i` was read (before this step wrote it).
    pub fn read(&self, i: usize) -> bool {
        self.0
            .as_ref()
            .is_some_and(|l| l.read[i / 64].get() & (1 << (i % 64)) != 0)
    }

    /// Whether item `i` was written.
    pub fn written(&self, i: usize) -> bool {
        self.0
            .as_ref()
            .is_some_and(|l| l.written[i / 64].get() & (1 << (i % 64)) != 0)
    }

    #[inline]
    fn note_read(&self, item: impl FnOnce(usize) -> usize) {
        if let Some(l) = &self.0 {
            let i = item(l.slots);
            let bit = 1 << (i % 64);
            // A value this run wrote itself is not what the state had.
            if l.written[i / 64].get() & bit == 0 {
                l.read[i / 64].set(l.read[i / 64].get() | bit);
            }
        }
    }

    #[inline]
    fn note_write(&self, item: impl FnOnce(usize) -> usize) {
        if let Some(l) = &self.0 {
            let i = item(l.slots);
            l.written[i / 64].set(l.written[i / 64].get() | 1 << (i % 64));
        }
    }

    #[inline]
    pub(super) fn slot_read(&self, s: SlotId) {
        self.note_read(|_| s as usize);
    }

    #[inline]
    pub(super) fn action_read(&self, a: ActionId) {
        self.note_read(|slots| slots + a as usize);
    }

    #[inline]
    pub(super) fn slot_written(&self, s: SlotId) {
        self.note_write(|_| s as usize);
    }

    #[inline]
    pub(super) fn action_written(&self, a: ActionId) {
        self.note_write(|slots| slots + a as usize);
    }
}

impl PartialEq for Watch {
    fn eq(&self, _: &Watch) -> bool {
        true
    }
}

impl Eq for Watch {}

impl std::hash::Hash for Watch {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "Watch(on)" } else { "Watch(off)" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_after_the_runs_own_write_is_not_a_read_of_the_state() {
        let w = Watch::on(2, 2);
        w.slot_read(0);
        w.slot_written(1);
        w.slot_read(1);
        w.action_read(1);
        assert!(w.read(0) && !w.read(1) && w.written(1) && w.read(3) && !w.read(2));
        w.clear();
        assert!(!w.read(0) && !w.written(1));
        let off = Watch::default();
        off.slot_read(0);
        assert!(!off.read(0));
    }
}
