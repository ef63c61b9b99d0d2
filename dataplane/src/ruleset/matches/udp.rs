//! `-m udp`: source and destination ports (xt_tcpudp).

use crate::ruleset::{Inv, PortRange};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct UdpMatch {
    pub sport: Option<Inv<PortRange>>,
    pub dport: Option<Inv<PortRange>>,
}
