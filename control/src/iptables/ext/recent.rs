//! libxt_recent: `--set|--rcheck|--update|--remove`, `--name`, `--seconds`,
//! `--hitcount`, `--reap`, `--rttl`, `--rsource|--rdest`, `--mask`.

use super::{no_inv, parse_addr, parse_u32, Args};
use dataplane::ruleset::matches::recent::{RecentCmd, RecentMatch, RecentSide, DEFAULT_NAME};
use dataplane::ruleset::Family;
use std::fmt::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const OPTIONS: &[&str] = &[
    "--set",
    "--rcheck",
    "--update",
    "--remove",
    "--seconds",
    "--reap",
    "--hitcount",
    "--rttl",
    "--name",
    "--rsource",
    "--rdest",
    "--mask",
];

/// The mask as libxt_recent prints it (`inet_ntop` for IPv6).
fn fmt_mask(mask: IpAddr) -> String {
    match mask {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => super::fmt_addr6(&a),
    }
}

impl super::MatchText for RecentMatch {
    fn new(_name: &str) -> Self {
        RecentMatch {
            inv: false,
            cmd: RecentCmd::Set,
            name: DEFAULT_NAME.into(),
            seconds: 0,
            hitcount: 0,
            reap: false,
            rttl: false,
            side: RecentSide::Source,
            mask: IpAddr::V4(Ipv4Addr::BROADCAST),
        }
    }

    fn options(&self) -> &'static [&'static str] {
        OPTIONS
    }

    /// libxt_recent's init: the mask is all ones of the family.
    fn for_family(&mut self, family: Family) {
        if family == Family::V6 {
            self.mask = IpAddr::V6(Ipv6Addr::from(u128::MAX));
        }
    }

    fn parse(
        &mut self,
        o: &str,
        inv: bool,
        args: &mut Args,
        ctx: &super::Ctx,
    ) -> Result<(), String> {
        let cmd = match o {
            "--set" => Some(RecentCmd::Set),
            "--rcheck" => Some(RecentCmd::Rcheck),
            "--update" => Some(RecentCmd::Update),
            "--remove" => Some(RecentCmd::Remove),
            _ => None,
        };
        if let Some(cmd) = cmd {
            self.cmd = cmd;
            self.inv = inv;
            return Ok(());
        }
        no_inv(inv, o)?;
        match o {
            "--seconds" => self.seconds = parse_u32(&args.value(o)?, o)?,
            "--hitcount" => self.hitcount = parse_u32(&args.value(o)?, o)?,
            "--reap" => self.reap = true,
            "--rttl" => self.rttl = true,
            "--name" => self.name = args.value(o)?,
            "--rsource" => self.side = RecentSide::Source,
            "--rdest" => self.side = RecentSide::Dest,
            _ => {
                let v = args.value(o)?;
                self.mask = match ctx.family {
                    Family::V4 => IpAddr::V4(parse_addr(&v)?),
                    Family::V6 => IpAddr::V6(super::conntrack::parse_numeric_host6(&v)?),
                };
            }
        }
        Ok(())
    }

    fn finish(&mut self, seen: &[&'static str]) -> Result<(), String> {
        // libxt_recent: a TTL is compared, never stored by --set.
        if seen.contains(&"--rttl") && seen.contains(&"--set") {
            return Err("recent: option \"--rttl\" cannot be used together with \"--set\".".into());
        }
        let cmds = seen
            .iter()
            .filter(|o| matches!(**o, "--set" | "--rcheck" | "--update" | "--remove"))
            .count();
        match cmds {
            0 => Err(
                "recent: you must specify one of `--set', `--rcheck' `--update' or `--remove'"
                    .into(),
            ),
            1 => Ok(()),
            _ => Err(
                "recent: only one of `--set', `--rcheck', `--update' or `--remove' may be set"
                    .into(),
            ),
        }
    }

    fn save(&self, out: &mut String) {
        if self.inv {
            out.push_str(" !");
        }
        out.push_str(match self.cmd {
            RecentCmd::Set => " --set",
            RecentCmd::Rcheck => " --rcheck",
            RecentCmd::Update => " --update",
            RecentCmd::Remove => " --remove",
        });
        if self.seconds != 0 {
            let _ = write!(out, " --seconds {}", self.seconds);
        }
        if self.reap {
            out.push_str(" --reap");
        }
        if self.hitcount != 0 {
            let _ = write!(out, " --hitcount {}", self.hitcount);
        }
        if self.rttl {
            out.push_str(" --rttl");
        }
        let _ = write!(out, " --name {} --mask {}", self.name, fmt_mask(self.mask));
        out.push_str(match self.side {
            RecentSide::Source => " --rsource",
            RecentSide::Dest => " --rdest",
        });
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        if self.inv {
            out.push_str(" !");
        }
        out.push_str(" recent:");
        out.push_str(match self.cmd {
            RecentCmd::Set => " SET",
            RecentCmd::Rcheck => " CHECK",
            RecentCmd::Update => " UPDATE",
            RecentCmd::Remove => " REMOVE",
        });
        if self.seconds != 0 {
            let _ = write!(out, " seconds: {}", self.seconds);
        }
        if self.reap {
            out.push_str(" reap");
        }
        if self.hitcount != 0 {
            let _ = write!(out, " hit_count: {}", self.hitcount);
        }
        if self.rttl {
            out.push_str(" TTL-Match");
        }
        let side = match self.side {
            RecentSide::Source => "source",
            RecentSide::Dest => "dest",
        };
        let _ = write!(
            out,
            " name: {} side: {side} mask: {}",
            self.name,
            fmt_mask(self.mask)
        );
    }
}
