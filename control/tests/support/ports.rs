//! Test ports for a worker thread that a test builds itself: in-memory wires
//! (`control::daemon::mem`) the test holds, one worker's queue of each.

use control::daemon::mem::Wire;
use dataplane::handoff::Handoff;
use dataplane::port::{MemPort, Port, PortInfo};
use dataplane::worker::Worker;

/// A wire for each of `ports` (named as the port, with `queues` receive queues), and the
/// worker's ports on them, which it polls on `queue`.
pub fn test_ports<'a>(
    ports: impl IntoIterator<Item = &'a PortInfo>,
    queues: usize,
    queue: u16,
) -> (Vec<Box<dyn Port>>, Vec<Wire>) {
    ports
        .into_iter()
        .map(|info| {
            let wire = Wire::new(&info.name, queues);
            let port = Box::new(wire.queue(info.id, info.mac, queue)) as Box<dyn Port>;
            (port, wire)
        })
        .unzip()
}

/// Polls two workers on this thread, over the memory ports `lan` and `wan`, until nothing
/// moves (no packet polled, nothing pending in the hand-off queues).
pub fn settle(ws: &mut [Worker], lan: &mut MemPort, wan: &mut MemPort, h: &Handoff, now: u64) {
    for _ in 0..100 {
        let mut moved = 0;
        for w in ws.iter_mut() {
            let mut ps: [&mut dyn Port; 2] = [&mut *lan, &mut *wan];
            moved += w.poll(&mut ps, now);
        }
        if moved == 0 && h.pending(0) == 0 && h.pending(1) == 0 {
            return;
        }
    }
    panic!("workers did not settle");
}
