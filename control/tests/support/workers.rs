//! Worker threads a test builds itself on in-memory ports, and gRPC services served on a
//! Unix socket in a temporary directory with a client channel to them: the rig of the
//! API tests that drive workers without a daemon core.

use super::daemon::temp_dir;
use super::ports::test_ports;
use super::PATIENCE;
use arc_swap::ArcSwap;
use control::config::Topology;
use control::daemon::mem::Wire;
use control::daemon::snapshot::SnapshotSlot;
use control::daemon::worker::{Command, WorkerThread};
use crossbeam_channel::Sender;
use dataplane::ipset::SetTable;
use dataplane::pipeline::{CompiledRuleset, Pipeline};
use dataplane::worker::Worker;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use tokio::runtime::Runtime;
use tonic::transport::server::Router;
use tonic::transport::{Channel, Endpoint};

/// Running worker threads; dropped, they are stopped and joined.
pub struct Workers {
    /// Each worker's ports (as if each were a queue of the same ports).
    pub queues: Vec<Vec<Wire>>,
    /// Every worker's command queue.
    pub commands: Vec<Sender<Command>>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Workers {
    /// A worker per pipeline on `topo`'s ports, worker i polling queue i of each, all
    /// taking up the ruleset published in `rules` and the sets in `sets`.
    pub fn spawn(
        topo: &Topology,
        pipelines: Vec<Pipeline>,
        rules: &Arc<ArcSwap<CompiledRuleset>>,
        sets: &Arc<ArcSwap<SetTable>>,
    ) -> Workers {
        let port_names: Vec<String> = topo.ports().iter().map(|p| p.name.clone()).collect();
        let workers = pipelines.len();
        let stop = Arc::new(AtomicBool::new(false));
        let (mut queues, mut commands, mut threads) = (Vec::new(), Vec::new(), Vec::new());
        for (index, pipeline) in pipelines.into_iter().enumerate() {
            let worker = Worker::new(pipeline, index as u16, 32, port_names.len());
            let (ports, wires) = test_ports(topo.ports().iter(), workers, index as u16);
            let (tx, rx) = crossbeam_channel::bounded(64);
            let t = WorkerThread {
                index,
                port_names: port_names.clone(),
                core: None,
                worker,
                ports,
                host: None,
                rules: Arc::clone(rules),
                sets: Arc::clone(sets),
                commands: rx,
                set_ops: crossbeam_channel::bounded(1).0,
                max_sleep_us: 0,
                nflog: None,
                stop: Arc::clone(&stop),
                snapshot: Arc::new(SnapshotSlot::new()),
            };
            threads.push(
                std::thread::Builder::new()
                    .name(format!("test-worker-{index}"))
                    .spawn(move || t.run())
                    .expect("spawn"),
            );
            queues.push(wires);
            commands.push(tx);
        }
        Workers {
            queues,
            commands,
            stop,
            threads,
        }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let stopped = t.join();
            if !std::thread::panicking() {
                stopped.expect("the worker thread ends cleanly");
            }
        }
    }
}

/// gRPC services on a Unix socket, and a client channel to them; dropped, the directory
/// is removed.
pub struct Served {
    pub rt: Runtime,
    pub dir: PathBuf,
    pub socket: PathBuf,
    pub channel: Channel,
}

impl Served {
    /// Serves `router` on `nfdp.sock` in a fresh directory `name`, on a runtime of two
    /// threads, and connects to it with the endpoint `endpoint` makes of the default one
    /// (a call that hangs fails after PATIENCE).
    pub fn new(name: &str, router: Router, endpoint: impl FnOnce(Endpoint) -> Endpoint) -> Served {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let dir = temp_dir(name);
        let socket = dir.join("nfdp.sock");
        let listener = {
            let _guard = rt.enter();
            tokio::net::UnixListener::bind(&socket).expect("bind")
        };
        rt.spawn(
            router.serve_with_incoming(tokio_stream::wrappers::UnixListenerStream::new(listener)),
        );
        let path = socket.clone();
        let default = Endpoint::try_from("http://[::]:50051")
            .expect("endpoint")
            .timeout(PATIENCE);
        let channel = rt
            .block_on(
                endpoint(default).connect_with_connector(tower::service_fn(move |_| {
                    let path = path.clone();
                    async move {
                        Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(
                            tokio::net::UnixStream::connect(path).await?,
                        ))
                    }
                })),
            )
            .expect("connect");
        Served {
            rt,
            dir,
            socket,
            channel,
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
