//! The Ipset service: `ipset restore`, `ipset ARGS...` and `ipset save` against the
//! running sets. A change is written back to `[rules] ipset_file` (with persist) and then
//! published as a new set snapshot (the compiled rules stay); a refused one changes
//! nothing. Element counters are shared by all snapshots, so a listing shows live counts.

use super::on_control;
use super::pb::ipset_server::Ipset;
use super::pb::{
    ExecReply, ExecRequest, IpsetRestoreReply, IpsetRestoreRequest, IpsetSaveRequest, SaveReply,
};
use super::rules::refused;
use crate::daemon::worker::now_ns;
use crate::daemon::Control;
use crate::iptables::cli::Refusal;
use std::sync::Arc;
use tonic::{Request, Response, Status};

pub struct IpsetService {
    control: Arc<Control>,
}

impl IpsetService {
    pub fn new(control: Arc<Control>) -> IpsetService {
        IpsetService { control }
    }
}

pub fn restore_text(control: &Control, req: IpsetRestoreRequest) -> Result<(), Status> {
    let _g = control.lock_changes();
    let (current, _) = control.shared.current_rules();
    let mut rs = (*current).clone();
    crate::ipset::restore(&mut rs, &req.text, req.exist, now_ns()).map_err(|e| {
        refused(Refusal {
            stderr: e.to_ipset(),
            code: 1,
        })
    })?;
    if rs.sets != current.sets {
        control.commit_sets(rs).map_err(Status::internal)?;
    }
    Ok(())
}

pub fn exec_args(control: &Control, args: Vec<String>) -> Result<ExecReply, Status> {
    let _g = control.lock_changes();
    let (current, _) = control.shared.current_rules();
    let mut rs = (*current).clone();
    let out = crate::ipset::exec(&mut rs, &args, now_ns());
    if out.code == 0 && rs.sets != current.sets {
        control.commit_sets(rs).map_err(Status::internal)?;
    }
    Ok(ExecReply {
        stdout: out.stdout,
        stderr: out.stderr,
        exit_code: out.code,
        generation: 0,
    })
}

#[tonic::async_trait]
impl Ipset for IpsetService {
    async fn restore(
        &self,
        request: Request<IpsetRestoreRequest>,
    ) -> Result<Response<IpsetRestoreReply>, Status> {
        let req = request.into_inner();
        on_control(&self.control, move |c| {
            restore_text(c, req).map(|()| IpsetRestoreReply {})
        })
        .await
    }

    async fn exec(&self, request: Request<ExecRequest>) -> Result<Response<ExecReply>, Status> {
        let args = request.into_inner().args;
        on_control(&self.control, move |c| exec_args(c, args)).await
    }

    async fn save(
        &self,
        request: Request<IpsetSaveRequest>,
    ) -> Result<Response<SaveReply>, Status> {
        let name = request.into_inner().name;
        on_control(&self.control, move |c| {
            let (current, _) = c.shared.current_rules();
            let name = (!name.is_empty()).then_some(name.as_str());
            crate::ipset::print::save(&current, name, now_ns())
                .map(|text| SaveReply { text })
                .map_err(|m| {
                    refused(Refusal {
                        stderr: format!("ipset {}: {m}\n", crate::ipset::VERSION),
                        code: 1,
                    })
                })
        })
        .await
    }
}
