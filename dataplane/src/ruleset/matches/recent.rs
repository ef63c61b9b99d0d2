//! `-m recent`: remember addresses in named lists and test them (xt_recent).

use std::net::Ipv4Addr;

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
    pub mask: Ipv4Addr,
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

    fn validate(&self, _spec: &crate::ruleset::RuleSpec) -> Result<(), String> {
        RecentMatch::validate(self)
    }
}

impl crate::ruleset::ext::WorkerMatch for RecentMatch {
    fn decide<A: crate::ruleset::ext::ConnFamily>(
        &self,
        view: &crate::ruleset::packet::PacketView<'_>,
        env: &mut crate::ruleset::ext::MatchEnv<'_, A>,
        _st: &mut crate::ruleset::ext::RuleState,
    ) -> bool {
        env.tables
            .recent(self, view.src, view.dst, view.ttl, env.now_ns)
    }
}
