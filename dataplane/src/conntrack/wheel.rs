//! A one-second timer wheel. Scheduling is O(1); the owner records in each entry the
//! second it is scheduled for, so a slot may hold stale references (after a reschedule)
//! that the owner skips, and entries a whole turn or more ahead that it puts back.
//!
//! Due ids come out one at a time (`pop_due`), so the owner bounds the work done per
//! call: a second in which a million connections time out is reaped over many packets
//! instead of stalling one. A slot keeps its vector's capacity from turn to turn, so
//! scheduling does not allocate once the wheel is warm.

pub const SLOTS: u64 = 4096;
const NS: u64 = 1_000_000_000;

/// The slot being reaped: its second, the next index, and where the ids that were due
/// when it started end (ids scheduled into it meanwhile belong to a later turn).
#[derive(Clone, Copy, Debug)]
struct Cursor {
    sec: u64,
    idx: usize,
    end: usize,
}

pub struct TimerWheel {
    slots: Vec<Vec<u32>>,
    /// The next second not yet reaped; `None` before the first `pop_due`.
    next: Option<u64>,
    cursor: Option<Cursor>,
    /// The first time `pop_due` may have something: the per-packet test is one compare.
    due_ns: u64,
}

impl TimerWheel {
    pub fn new() -> TimerWheel {
        TimerWheel {
            slots: vec![Vec::new(); SLOTS as usize],
            next: None,
            cursor: None,
            due_ns: 0,
        }
    }

    /// The second a deadline is scheduled for: never one already reaped, nor the one
    /// being reaped (its due ids are fixed; a deadline there waits at most a second).
    pub fn second_for(&self, deadline_ns: u64) -> u64 {
        let sec = deadline_ns.div_ceil(NS);
        let floor = match (self.cursor, self.next) {
            (Some(c), _) => Some(c.sec + 1),
            (None, n) => n,
        };
        floor.map_or(sec, |n| sec.max(n))
    }

    pub fn schedule(&mut self, id: u32, sec: u64) {
        self.slots[(sec % SLOTS) as usize].push(id);
    }

    /// Whether `pop_due` at `now_ns` may have something (false within a second already
    /// reaped).
    #[inline]
    pub fn is_due(&self, now_ns: u64) -> bool {
        now_ns >= self.due_ns
    }

    /// The next id scheduled for a second up to `now_ns`, with that second; `None` when
    /// every such second has been reaped.
    pub fn pop_due(&mut self, now_ns: u64) -> Option<(u64, u32)> {
        let now = now_ns / NS;
        loop {
            if let Some(c) = self.cursor.as_mut() {
                let slot = &mut self.slots[(c.sec % SLOTS) as usize];
                if c.idx < c.end {
                    let id = slot[c.idx];
                    c.idx += 1;
                    return Some((c.sec, id));
                }
                // Done: what was scheduled into it meanwhile moves up, capacity stays.
                slot.drain(..c.end);
                self.next = Some(c.sec + 1);
                self.cursor = None;
            }
            let next = *self.next.get_or_insert(now);
            if next > now {
                self.due_ns = next.saturating_mul(NS);
                return None;
            }
            self.due_ns = 0;
            // After a long pause one turn covers every slot; what is due later is put back.
            let sec = next.max(now.saturating_sub(SLOTS - 1));
            let end = self.slots[(sec % SLOTS) as usize].len();
            self.cursor = Some(Cursor { sec, idx: 0, end });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(w: &mut TimerWheel, now_ns: u64) -> Vec<(u64, u32)> {
        std::iter::from_fn(|| w.pop_due(now_ns)).collect()
    }

    #[test]
    fn ids_come_out_by_second_once() {
        let mut w = TimerWheel::new();
        assert!(drain(&mut w, 10 * NS).is_empty());
        w.schedule(1, 12);
        w.schedule(2, 11);
        w.schedule(3, 12);
        assert!(drain(&mut w, 10 * NS + 5).is_empty());
        assert!(!w.is_due(10 * NS + 999_999_999));
        assert_eq!(drain(&mut w, 12 * NS), vec![(11, 2), (12, 1), (12, 3)]);
        assert!(drain(&mut w, 12 * NS).is_empty());
        assert_eq!(
            w.second_for(5 * NS),
            13,
            "reaped seconds are not scheduled into"
        );
    }

    #[test]
    fn a_slot_reaped_in_pieces_keeps_later_turns_for_later() {
        let mut w = TimerWheel::new();
        drain(&mut w, 0);
        for id in 0..5 {
            w.schedule(id, 3);
        }
        assert_eq!(w.pop_due(3 * NS), Some((3, 0)));
        assert_eq!(w.pop_due(3 * NS), Some((3, 1)));
        // Mid-slot: a deadline now goes to the next second, one a turn later into the
        // same slot after the ids being reaped.
        assert_eq!(w.second_for(3 * NS), 4);
        w.schedule(99, 3 + SLOTS);
        assert_eq!(drain(&mut w, 3 * NS), vec![(3, 2), (3, 3), (3, 4)]);
        assert_eq!(drain(&mut w, (3 + SLOTS) * NS), vec![(3 + SLOTS, 99)]);
    }

    #[test]
    fn slots_keep_their_capacity() {
        let mut w = TimerWheel::new();
        drain(&mut w, 0);
        for id in 0..1000 {
            w.schedule(id, 1);
        }
        drain(&mut w, NS);
        assert!(w.slots[1].is_empty());
        assert!(w.slots[1].capacity() >= 1000);
    }
}
