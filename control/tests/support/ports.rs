//! Test ports for a worker thread that a test builds itself: in-memory wires
//! (`control::daemon::mem`) the test holds, one worker's queue of each.

use control::daemon::mem::Wire;
use dataplane::port::{Port, PortInfo};

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
