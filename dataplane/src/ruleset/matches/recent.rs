//! `-m recent`: remember addresses in named lists and test them (xt_recent).

use std::net::IpAddr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecentCmd {
    Set,
    Rcheck,
    Update,
    Remove,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecentSide {
    Source,
    Dest,
}

pub const DEFAULT_NAME: &str = "DEFAULT";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecentMatch {
    pub inv: bool,
    pub cmd: RecentCmd,
    pub name: String,
    pub seconds: u32,
    pub hitcount: u32,
    pub reap: bool,
    pub rttl: bool,
    pub side: RecentSide,
    /// `--mask`, of the rule's family (all ones by default).
    pub mask: IpAddr,
}

impl RecentMatch {
    pub fn validate(&self) -> Result<(), String> {
        if self.reap && self.seconds == 0 {
            return Err("recent: --reap needs --seconds".into());
        }
        if (self.seconds != 0 || self.hitcount != 0)
            && !matches!(self.cmd, RecentCmd::Rcheck | RecentCmd::Update)
        {
            return Err("recent: --seconds and --hitcount need --rcheck or --update".into());
        }
        if self.name.is_empty() || self.name.len() > 200 {
            return Err("recent: --name must be 1 to 200 characters".into());
        }
        Ok(())
    }
}

impl crate::ruleset::ext::MatchExt for RecentMatch {
    const NAME: &'static str = "recent";
    const REVISION: u8 = 1;
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;

    fn validate(&self, _spec: &crate::ruleset::RuleSpec) -> Result<(), String> {
        RecentMatch::validate(self)
    }
}

impl crate::ruleset::ext::WorkerMatch for RecentMatch {
    fn decide(
        &self,
        view: &crate::ruleset::packet::PacketView<'_>,
        env: &mut crate::ruleset::ext::MatchEnv<'_>,
        _st: &mut crate::ruleset::ext::RuleState,
    ) -> bool {
        let (src, dst) = match view.family {
            crate::ruleset::Family::V4 => (IpAddr::V4(view.src), IpAddr::V4(view.dst)),
            crate::ruleset::Family::V6 => (IpAddr::V6(view.src6()), IpAddr::V6(view.dst6())),
        };
        // recent_mt: the TTL (hop limit) as it was before forwarding: counted back up
        // once the packet has an output device and no local socket (a forwarded one,
        // decremented before FORWARD).
        let ttl = if env.in_port.is_some() && env.out_port.is_some() {
            view.ttl.wrapping_add(1)
        } else {
            view.ttl
        };
        env.tables.recent(self, src, dst, ttl, env.now_ns)
    }
}
