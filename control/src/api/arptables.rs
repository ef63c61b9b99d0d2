//! The Arptables service: `arptables-restore`, `arptables ARGS...` and `arptables-save`
//! against the running ARP table. A change is written back to `[rules] arp_file` (with
//! persist) and published with the rules; a refused one changes nothing.

use super::pb::arptables_server::Arptables;
use super::pb::{
    ArptablesRestoreReply, ArptablesRestoreRequest, ArptablesSaveRequest, ExecReply, ExecRequest,
    SaveReply,
};
use super::rules::refused;
use super::{on_control, workers_status};
use crate::daemon::metrics::ruleset_with_counters;
use crate::daemon::Control;
use crate::iptables::cli::Refusal;
use std::sync::Arc;
use tonic::{Request, Response, Status};

pub struct ArptablesService {
    control: Arc<Control>,
}

impl ArptablesService {
    pub fn new(control: Arc<Control>) -> ArptablesService {
        ArptablesService { control }
    }
}

/// Publishes `rs` when its ARP table differs from the running one; the generation or 0.
fn commit(control: &Control, rs: dataplane::ruleset::Ruleset) -> Result<u64, Status> {
    let (current, _) = control.shared.current_rules();
    if rs.arp == current.arp {
        return Ok(0);
    }
    control.commit_arp(rs).map_err(Status::internal)
}

pub fn restore_text(control: &Control, req: ArptablesRestoreRequest) -> Result<(), Status> {
    let _g = control.lock_changes();
    let (current, _) = control.shared.current_rules();
    let mut rs = (*current).clone();
    crate::arptables::restore(Arc::make_mut(&mut rs.arp), &req.text, req.counters).map_err(
        |e| {
            refused(Refusal {
                stderr: e.stderr,
                code: e.code,
            })
        },
    )?;
    commit(control, rs).map(|_| ())
}

pub fn exec_args(control: &Control, args: Vec<String>) -> Result<ExecReply, Status> {
    let listing = args.iter().any(|a| {
        matches!(
            a.as_str(),
            "-L" | "--list" | "-S" | "--list-rules" | "-C" | "--check"
        )
    });
    if listing {
        // Listings show the workers' live counters, summed; nothing changes.
        let reports = control.workers.reports(false).map_err(workers_status)?;
        let mut rs = ruleset_with_counters(&control.shared, &reports);
        let out = crate::arptables::exec(Arc::make_mut(&mut rs.arp), &args);
        return Ok(ExecReply {
            stdout: out.stdout,
            stderr: out.stderr,
            exit_code: out.code,
            generation: 0,
        });
    }
    let _g = control.lock_changes();
    let (current, _) = control.shared.current_rules();
    let mut rs = (*current).clone();
    let out = crate::arptables::exec(Arc::make_mut(&mut rs.arp), &args);
    let generation = if out.code == 0 {
        commit(control, rs)?
    } else {
        0
    };
    Ok(ExecReply {
        stdout: out.stdout,
        stderr: out.stderr,
        exit_code: out.code,
        generation,
    })
}

#[tonic::async_trait]
impl Arptables for ArptablesService {
    async fn restore(
        &self,
        request: Request<ArptablesRestoreRequest>,
    ) -> Result<Response<ArptablesRestoreReply>, Status> {
        let req = request.into_inner();
        on_control(&self.control, move |c| {
            restore_text(c, req).map(|()| ArptablesRestoreReply {})
        })
        .await
    }

    async fn exec(&self, request: Request<ExecRequest>) -> Result<Response<ExecReply>, Status> {
        let args = request.into_inner().args;
        on_control(&self.control, move |c| exec_args(c, args)).await
    }

    async fn save(
        &self,
        request: Request<ArptablesSaveRequest>,
    ) -> Result<Response<SaveReply>, Status> {
        let counters = request.into_inner().counters;
        on_control(&self.control, move |c| {
            let reports = c.workers.reports(false).map_err(workers_status)?;
            let rs = ruleset_with_counters(&c.shared, &reports);
            Ok(SaveReply {
                text: crate::arptables::print::save_body(&rs.arp, counters),
            })
        })
        .await
    }
}
