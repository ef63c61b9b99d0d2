//! The gRPC API, package `nfdp.v1` (`control/proto/nfdp/v1/nfdp.proto`): the code tonic and
//! prost generate from it at build time, shared by the daemon (server) and nfdpctl (client).

/// The generated messages, clients (`*_client`) and servers (`*_server`).
#[allow(clippy::all, clippy::pedantic)]
pub mod pb {
    tonic::include_proto!("nfdp.v1");
}

/// The encoded file descriptor set of the API, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/nfdp_descriptor.bin"));

pub mod arptables;
pub mod ipset;
pub mod net;
pub mod rules;
pub mod server;
pub mod stats;
pub mod sysctl;

use crate::daemon::WorkersError;
use tonic::Status;

/// The status of a call the workers could not answer.
pub fn workers_status(e: WorkersError) -> Status {
    Status::unavailable(e.to_string())
}

/// Runs blocking control-plane work (worker round trips, compiling, fsync) off the
/// runtime's threads.
/// A request handler's usual shape: `f` runs against the control on the blocking pool and
/// its value is the reply.
pub async fn on_control<T: Send + 'static>(
    control: &std::sync::Arc<crate::daemon::Control>,
    f: impl FnOnce(&crate::daemon::Control) -> Result<T, Status> + Send + 'static,
) -> Result<tonic::Response<T>, Status> {
    let c = std::sync::Arc::clone(control);
    blocking(move || f(&c)).await.map(tonic::Response::new)
}

pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Status> + Send + 'static,
) -> Result<T, Status> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Status::internal(format!("the request failed: {e}")))?
}
pub mod conntrack;
pub mod trace;
pub mod workers;
