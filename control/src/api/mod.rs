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

pub mod conntrack;
pub mod trace;
pub mod workers;
