//! A one-second timer wheel. Scheduling is O(1); the owner records in each entry the
//! second it is scheduled for, so a slot may hold stale references (after a reschedule)
//! that the owner skips, and entries a whole turn or more ahead that it puts back.

pub const SLOTS: u64 = 4096;
const NS: u64 = 1_000_000_000;

pub struct TimerWheel {
    slots: Vec<Vec<u32>>,
    /// The next second not yet processed; `None` before the first `advance`.
    next: Option<u64>,
}

impl TimerWheel {
    pub fn new() -> TimerWheel {
        TimerWheel {
            slots: vec![Vec::new(); SLOTS as usize],
            next: None,
        }
    }

    /// The second a deadline is scheduled for (never one already processed).
    pub fn second_for(&self, deadline_ns: u64) -> u64 {
        let sec = deadline_ns.div_ceil(NS);
        self.next.map_or(sec, |n| sec.max(n))
    }

    pub fn schedule(&mut self, id: u32, sec: u64) {
        self.slots[(sec % SLOTS) as usize].push(id);
    }

    /// Whether `advance` to `now_ns` has a second to process (false within a second
    /// already processed).
    pub fn is_due(&self, now_ns: u64) -> bool {
        self.next.is_none_or(|n| now_ns / NS >= n)
    }

    /// Takes the slots of every second from the last call up to `now_ns`, calling `due`
    /// with each second and its ids.
    pub fn advance(&mut self, now_ns: u64, mut due: impl FnMut(u64, Vec<u32>)) {
        let now = now_ns / NS;
        let start = *self.next.get_or_insert(now);
        if now < start {
            return;
        }
        // After a long pause one turn covers every slot; what is due later is put back.
        let first = start.max(now.saturating_sub(SLOTS - 1));
        for sec in first..=now {
            let ids = std::mem::take(&mut self.slots[(sec % SLOTS) as usize]);
            if !ids.is_empty() {
                due(sec, ids);
            }
        }
        self.next = Some(now + 1);
    }
}
