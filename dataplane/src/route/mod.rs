//! The FIB: connected and static routes in numbered tables, `ip rule`-style policy rules by
//! fwmark, and the appliance's own addresses (local delivery and `-m addrtype`).

mod cache;
mod fib;
mod prefix;
mod table;
pub mod v6;

#[cfg(test)]
pub(crate) mod testing;

pub use crate::port::{PortId, PortInfo, PortTable};
pub use cache::{RouteCache, RouteCache6};
pub use fib::{AddrType, Fib, NextHop, PolicyRule};
pub use prefix::{mask, parse_cidr, prefix_mask6, Ipv6Net, Prefix, PrefixError};
pub use table::{RouteTable, U32Hasher};

use std::fmt;
use std::net::Ipv4Addr;

/// `ip route`'s table numbers.
pub const LOCAL_TABLE: u32 = 255;
pub const MAIN_TABLE: u32 = 254;
pub const DEFAULT_TABLE: u32 = 253;

/// Where a route came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteKind {
    /// Derived from a port address (`proto kernel scope link`).
    Connected,
    /// Configured (`[[route]]`).
    Static,
}

/// One route: packets to `dst` leave through `dev`, to `via` if set, else straight to the
/// destination (on-link).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub dst: Prefix,
    pub via: Option<Ipv4Addr>,
    pub dev: PortId,
    pub metric: u32,
    pub table: u32,
    pub kind: RouteKind,
}

impl fmt::Display for Route {
    /// `ip route show` style: `192.168.1.0/24 dev port0 proto kernel`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.dst.is_default() {
            write!(f, "default")?;
        } else {
            write!(f, "{}", self.dst)?;
        }
        if let Some(gw) = self.via {
            write!(f, " via {gw}")?;
        }
        write!(f, " dev {}", self.dev)?;
        if self.kind == RouteKind::Connected {
            write!(f, " proto kernel scope link")?;
        }
        if self.metric != 0 {
            write!(f, " metric {}", self.metric)?;
        }
        if self.table != MAIN_TABLE {
            write!(f, " table {}", self.table)?;
        }
        Ok(())
    }
}

/// Why a route or rule was refused; the messages follow `ip route` / `ip rule` where they have
/// one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    /// Neither a gateway nor a device.
    NoDevice(Prefix),
    UnknownPort(PortId),
    /// The gateway is not inside a connected network (of `dev`, if one was named).
    InvalidGateway(Ipv4Addr),
    /// The gateway is one of the appliance's own addresses.
    LocalGateway(Ipv4Addr),
    /// Same destination and metric already in that table.
    Exists(Prefix, u32, u32),
    /// Table 0 (`RT_TABLE_UNSPEC`) is not a table.
    BadTable(u32),
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteError::NoDevice(p) => {
                write!(f, "route to {p} needs a gateway (via) or a device (dev)")
            }
            RouteError::UnknownPort(p) => write!(f, "unknown port {p}"),
            RouteError::InvalidGateway(g) => write!(
                f,
                "Nexthop has invalid gateway: {g} is not on a connected network of the port"
            ),
            RouteError::LocalGateway(g) => {
                write!(f, "Nexthop has invalid gateway: {g} is a local address")
            }
            RouteError::Exists(p, m, t) => {
                write!(
                    f,
                    "route to {p} metric {m} in table {t} already exists (File exists)"
                )
            }
            RouteError::BadTable(t) => write!(f, "invalid routing table {t}"),
        }
    }
}

impl std::error::Error for RouteError {}
