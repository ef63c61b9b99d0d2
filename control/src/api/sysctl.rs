//! The Sysctl service: the conntrack tunables by their sysctl names, with the kernel's
//! bounds, applied to every worker live (all of a request, or none of it).

use super::pb::sysctl_server::Sysctl;
use super::pb::{SysctlGetRequest, SysctlReply, SysctlSetRequest, SysctlValue};
use super::{blocking, workers_status};
use crate::config::CONNTRACK_TUNABLES;
use crate::daemon::worker::Command;
use crate::daemon::Control;
use dataplane::conntrack::CtConfig;
use std::collections::BTreeMap;
use std::sync::Arc;
use tonic::{Request, Response, Status};

pub struct SysctlService {
    control: Arc<Control>,
}

impl SysctlService {
    pub fn new(control: Arc<Control>) -> SysctlService {
        SysctlService { control }
    }
}

/// The full sysctl name of a tunable's short name.
pub fn full_name(short: &str) -> String {
    if short == "ip_forward" {
        "net.ipv4.ip_forward".into()
    } else {
        format!("net.netfilter.{short}")
    }
}

/// The short name (`nf_conntrack_max`) and bounds of a name as sysctl takes it
/// (`net.netfilter.nf_conntrack_max`, `net/netfilter/...`, `net.nf_conntrack_max`, or the
/// short name); `None` for one nfdp does not have.
pub fn lookup(name: &str) -> Option<(&'static str, u64)> {
    let n = name.trim().replace('/', ".");
    let short = n
        .strip_prefix("net.netfilter.")
        .or_else(|| n.strip_prefix("net.ipv4."))
        .or_else(|| n.strip_prefix("net."))
        .unwrap_or(&n);
    CONNTRACK_TUNABLES
        .iter()
        .find(|(s, _, _)| *s == short)
        .map(|(s, _, max)| (*s, *max))
}

fn no_such(name: &str) -> Status {
    Status::not_found(format!(
        "sysctl: cannot stat /proc/sys/{}: No such file or directory",
        name.replace('.', "/")
    ))
}

pub fn get(control: &Control, names: &[String]) -> Result<SysctlReply, Status> {
    let t = control.tunables();
    let value = |short: &str| t.get(short).copied().unwrap_or(0).to_string();
    let values = if names.is_empty() {
        CONNTRACK_TUNABLES
            .iter()
            .map(|(s, _, _)| SysctlValue {
                name: full_name(s),
                value: value(s),
            })
            .collect()
    } else {
        names
            .iter()
            .map(|n| {
                let (short, _) = lookup(n).ok_or_else(|| no_such(n))?;
                Ok(SysctlValue {
                    name: full_name(short),
                    value: value(short),
                })
            })
            .collect::<Result<_, Status>>()?
    };
    Ok(SysctlReply { values })
}

pub fn set(control: &Control, values: &[SysctlValue]) -> Result<SysctlReply, Status> {
    let _g = control.lock_changes();
    let mut next: BTreeMap<String, u64> = control.tunables().clone();
    let mut out = Vec::new();
    for v in values {
        let (short, max) = lookup(&v.name).ok_or_else(|| no_such(&v.name))?;
        let parsed = v
            .value
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|x| *x <= max)
            .ok_or_else(|| {
                Status::invalid_argument(format!(
                    "sysctl: setting key \"{}\": Invalid argument",
                    full_name(short)
                ))
            })?;
        next.insert(short.to_string(), parsed);
        out.push(SysctlValue {
            name: full_name(short),
            value: parsed.to_string(),
        });
    }
    let cfg = CtConfig::from_tunables(|n| next.get(n).copied());
    control
        .workers
        .broadcast(|done| Command::SetConntrackConfig {
            cfg: cfg.clone(),
            done,
        })
        .map_err(workers_status)?;
    *control.tunables() = next;
    Ok(SysctlReply { values: out })
}

#[tonic::async_trait]
impl Sysctl for SysctlService {
    async fn get(
        &self,
        request: Request<SysctlGetRequest>,
    ) -> Result<Response<SysctlReply>, Status> {
        get(&self.control, &request.into_inner().names).map(Response::new)
    }

    async fn set(
        &self,
        request: Request<SysctlSetRequest>,
    ) -> Result<Response<SysctlReply>, Status> {
        let c = Arc::clone(&self.control);
        let values = request.into_inner().values;
        blocking(move || set(&c, &values)).await.map(Response::new)
    }
}
