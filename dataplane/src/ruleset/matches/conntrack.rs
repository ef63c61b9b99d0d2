//! `-m conntrack` and its older spelling `-m state` (xt_conntrack, xt_state).

use crate::ruleset::{Inv, Ipv4Net, PortRange};

// Connection state belongs to conntrack; the match reads it from there.
pub use crate::conntrack::{state, status};

/// Which option spelling the rule was written with; both print back as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConntrackFlavor {
    State,
    Conntrack,
}

impl ConntrackFlavor {
    pub fn name(self) -> &'static str {
        match self {
            ConntrackFlavor::State => "state",
            ConntrackFlavor::Conntrack => "conntrack",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtDir {
    Original,
    Reply,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ConntrackMatch {
    pub flavor: ConntrackFlavor,
    pub state: Option<Inv<u16>>,
    pub proto: Option<Inv<u8>>,
    pub orig_src: Option<Inv<Ipv4Net>>,
    pub orig_dst: Option<Inv<Ipv4Net>>,
    pub repl_src: Option<Inv<Ipv4Net>>,
    pub repl_dst: Option<Inv<Ipv4Net>>,
    pub orig_src_port: Option<Inv<PortRange>>,
    pub orig_dst_port: Option<Inv<PortRange>>,
    pub repl_src_port: Option<Inv<PortRange>>,
    pub repl_dst_port: Option<Inv<PortRange>>,
    pub status: Option<Inv<u8>>,
    /// Remaining lifetime in seconds, inclusive range.
    pub expire: Option<Inv<(u32, u32)>>,
    pub dir: Option<CtDir>,
}

impl ConntrackMatch {
    pub fn new(flavor: ConntrackFlavor) -> ConntrackMatch {
        ConntrackMatch {
            flavor,
            state: None,
            proto: None,
            orig_src: None,
            orig_dst: None,
            repl_src: None,
            repl_dst: None,
            orig_src_port: None,
            orig_dst_port: None,
            repl_src_port: None,
            repl_dst_port: None,
            status: None,
            expire: None,
            dir: None,
        }
    }

    /// Whether any option other than `--ctstate` is given: those look at the entry itself,
    /// so they can only match a packet that has one.
    pub fn tests_entry(&self) -> bool {
        self.proto.is_some()
            || self.orig_src.is_some()
            || self.orig_dst.is_some()
            || self.repl_src.is_some()
            || self.repl_dst.is_some()
            || self.orig_src_port.is_some()
            || self.orig_dst_port.is_some()
            || self.repl_src_port.is_some()
            || self.repl_dst_port.is_some()
            || self.status.is_some()
            || self.expire.is_some()
            || self.dir.is_some()
    }
}
