//! The DPDK port: EAL start-up (`Eal`), one ethdev with its mbuf pool (`DpdkPort`), and the
//! per-worker queue handle the worker loop polls (`DpdkQueue`, a `Port`).
//!
//! Zero copy: a received single-segment mbuf *is* the packet (`Mbuf` inside the
//! `PacketBuf`); the pipeline rewrites it in place and the tx path hands the same mbuf to
//! the driver. Frames built on the heap (ICMP errors, ARP, in-memory injections) and
//! multi-segment chains (copied into one buffer on rx) are copied into a fresh mbuf on tx.
//! Packets that wait beyond the burst (ARP resolution, the host stack) are `detach`ed
//! to the heap so they cannot drain the rx pool.
//!
//! Lifetimes and teardown order: every `DpdkPort` and `DpdkQueue` holds an `Arc` of the
//! port's inner state, which holds an `Arc` of the EAL's. The ethdev is stopped and closed
//! (and a vdev we probed is removed, then the mbuf pool freed) when the last handle of that
//! port goes; `rte_eal_cleanup` runs when the `Eal` and every port and queue are gone. So
//! handles can be dropped in any order and the EAL is never cleaned up under a live port.
//! `DpdkPort::close` only gives up the port's own reference: queues still held by workers
//! keep the device running until they are dropped.
//! A packet may outlive its port's handles (an mbuf still in a queue when the port
//! closes): `teardown` then keeps the pool (and the EAL's memory) instead of freeing it.
//!
//! Threads: `rte_eal_init` pins the calling thread (and so every thread it spawns later,
//! which inherits the affinity) to the main lcore's CPUs. Worker threads should call
//! `Eal::register_thread` so the mempool per-lcore caches work.
//!
//! This is the only module outside `bindings/` that uses `unsafe`: FFI calls into DPDK.

use std::ffi::{c_char, c_int, CStr, CString};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use dpdk_sys as sys;

use super::{
    MacAddr, PacketBuf, PacketPool, Port, PortId, PortStats, RxChecksum, DEFAULT_BUF_SIZE,
    DEFAULT_HEADROOM,
};

/// Most mbufs one `rx_burst` / `tx_burst` call moves (larger requests are capped).
pub const MAX_BURST: usize = 64;
/// `PacketBuf`s each queue handle pre-allocates for received packets.
pub const QUEUE_POOL_BUFS: usize = 512;
use super::RSS_KEY_WORD;
/// Room in an mbuf beyond the largest frame for VLAN tags and FCS.
const FRAME_OVERHEAD: u32 = 14 + 4 + 4;

/// A failed DPDK call: the message names the call and its return value / rte_errno.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpdkError(pub String);

impl fmt::Display for DpdkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DpdkError {}

fn strerror(errnum: c_int) -> String {
    // SAFETY: rte_strerror returns a pointer to a static or thread-local NUL-terminated
    // string for any errnum; it is copied out before anything else runs on this thread.
    let p = unsafe { sys::rte_strerror(errnum) };
    if p.is_null() {
        return format!("error {errnum}");
    }
    // SAFETY: non-null and NUL-terminated (see above).
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

fn rte_errno() -> c_int {
    // SAFETY: reads the calling thread's rte_errno; no preconditions.
    unsafe { sys::nfdp_errno() }
}

/// Error for a call that returned a negative errno.
fn ret_error(call: &str, ret: c_int) -> DpdkError {
    DpdkError(format!("{call} failed: {ret} ({})", strerror(-ret)))
}

/// Error for a call that signals failure through rte_errno (NULL or -1 returns).
fn errno_error(call: &str) -> DpdkError {
    let e = rte_errno();
    DpdkError(format!("{call} failed: rte_errno {e} ({})", strerror(e)))
}

fn check(call: &str, ret: c_int) -> Result<(), DpdkError> {
    if ret < 0 {
        Err(ret_error(call, ret))
    } else {
        Ok(())
    }
}

fn cstring(what: &str, s: &str) -> Result<CString, DpdkError> {
    CString::new(s).map_err(|_| DpdkError(format!("{what} `{s}` contains a NUL byte")))
}

/// rte_eal_init may run only once per process, even after rte_eal_cleanup.
static EAL_STARTED: AtomicBool = AtomicBool::new(false);

/// Runs rte_eal_cleanup when the last holder (the `Eal`, a port or a queue) is gone.
struct EalGuard;

impl Drop for EalGuard {
    fn drop(&mut self) {
        if POOLS_KEPT.load(Ordering::Relaxed) > 0 {
            // Some packet still lives in an mbuf of a kept pool: its memory must stay.
            return;
        }
        // SAFETY: the EAL was initialised (an EalGuard exists only after a successful
        // rte_eal_init) and every port holds an Arc of this guard, so no port or queue is
        // alive any more. Cleanup runs once: there is one guard per process.
        unsafe { sys::rte_eal_cleanup() };
    }
}

/// The initialised DPDK environment; one per process. Dropping it cleans the EAL up once
/// every port opened with it has been closed (see the module documentation).
pub struct Eal {
    guard: Arc<EalGuard>,
}

impl Eal {
    /// rte_eal_init with argv = ["nfdp", args...]; errors if called twice.
    pub fn init(args: &[String]) -> Result<Eal, DpdkError> {
        if EAL_STARTED.swap(true, Ordering::SeqCst) {
            return Err(DpdkError(
                "rte_eal_init: the EAL was already initialised in this process (it can only \
                 be initialised once)"
                    .into(),
            ));
        }
        let mut owned = vec![cstring("EAL argument", "nfdp")?];
        for a in args {
            owned.push(cstring("EAL argument", a)?);
        }
        // The EAL may keep pointers into argv (it saves the arguments for telemetry), so the
        // strings live for the rest of the process; this happens once.
        let strings: &'static mut [CString] = Box::leak(owned.into_boxed_slice());
        let mut argv: Vec<*mut c_char> = strings
            .iter_mut()
            .map(|s| s.as_ptr() as *mut c_char)
            .collect();
        let argc = c_int::try_from(argv.len())
            .map_err(|_| DpdkError("rte_eal_init: too many arguments".into()))?;
        argv.push(std::ptr::null_mut());
        let argv: &'static mut [*mut c_char] = Box::leak(argv.into_boxed_slice());
        // SAFETY: argv holds argc valid NUL-terminated strings followed by NULL, all leaked
        // so they outlive the EAL; EAL_STARTED guarantees this is the only call.
        let ret = unsafe { sys::rte_eal_init(argc, argv.as_mut_ptr()) };
        if ret < 0 {
            return Err(errno_error("rte_eal_init"));
        }
        Ok(Eal {
            guard: Arc::new(EalGuard),
        })
    }

    /// rte_thread_register() for a worker std::thread (so mempool caches work); idempotent.
    pub fn register_thread() -> Result<(), DpdkError> {
        if !EAL_STARTED.load(Ordering::SeqCst) {
            return Err(DpdkError(
                "rte_thread_register: the EAL is not initialised".into(),
            ));
        }
        if Self::lcore_id().is_some() {
            return Ok(());
        }
        // SAFETY: the EAL is initialised; registering the calling thread has no other
        // precondition.
        let ret = unsafe { sys::rte_thread_register() };
        if ret < 0 {
            return Err(errno_error("rte_thread_register"));
        }
        Ok(())
    }

    /// Gives the calling thread's lcore id back (call before a registered thread exits, or
    /// its lcore slot stays taken). No-op for unregistered threads.
    pub fn unregister_thread() {
        if EAL_STARTED.load(Ordering::SeqCst) && Self::lcore_id().is_some() {
            // SAFETY: the EAL is initialised and the thread is registered.
            unsafe { sys::rte_thread_unregister() };
        }
    }

    /// Runs `f` on the threads the EAL started for itself that can still be reached: every
    /// idle worker lcore (`rte-worker-N`, through rte_eal_mp_remote_launch) and the
    /// interrupt thread (`eal-intr-thread`, through a one-microsecond alarm), waiting for
    /// each. For settings that belong to a thread, such as capabilities. The multi-process
    /// (`rte_mp_handle`) and telemetry (`telemetry-v2`) threads block in their own sockets
    /// and cannot be reached. Call it before any lcore is launched (nfdp never launches
    /// one). `f` must not panic (a panic is caught and reported as an error).
    pub fn run_on_eal_threads(&self, f: fn()) -> Result<(), DpdkError> {
        // SAFETY: the EAL is initialised (self exists); launch_trampoline is given `f`
        // itself as its argument, which it turns back into the same fn pointer.
        let ret = unsafe {
            sys::rte_eal_mp_remote_launch(
                Some(launch_trampoline),
                f as *mut std::ffi::c_void,
                sys::SKIP_MAIN,
            )
        };
        if ret < 0 {
            return Err(DpdkError(format!(
                "rte_eal_mp_remote_launch: {}",
                std::io::Error::from_raw_os_error(-ret)
            )));
        }
        // SAFETY: waits for the lcores just launched; no other precondition.
        unsafe { sys::rte_eal_mp_wait_lcore() };
        if LAUNCH_PANICKED.swap(false, Ordering::SeqCst) {
            return Err(DpdkError("a function run on an EAL lcore panicked".into()));
        }

        let (done, finished) = std::sync::mpsc::sync_channel(1);
        let job = Box::into_raw(Box::new(AlarmJob { f, done }));
        // SAFETY: the EAL is initialised; the alarm callback takes ownership of `job`
        // (Box::from_raw once, in alarm_trampoline) when it runs.
        let ret = unsafe { sys::rte_eal_alarm_set(1, Some(alarm_trampoline), job.cast()) };
        if ret < 0 {
            // SAFETY: the alarm was not set, so the callback will never run: the box is
            // still ours, reclaimed once here.
            drop(unsafe { Box::from_raw(job) });
            return Err(DpdkError(format!(
                "rte_eal_alarm_set: {}",
                std::io::Error::from_raw_os_error(-ret)
            )));
        }
        // On a timeout the job stays with the alarm (its callback frees it if it ever runs).
        match finished.recv_timeout(std::time::Duration::from_secs(5)) {
            Ok(true) => Ok(()),
            Ok(false) => Err(DpdkError(
                "a function run on the EAL interrupt thread panicked".into(),
            )),
            Err(_) => Err(DpdkError(
                "the EAL interrupt thread did not run the alarm within 5 s".into(),
            )),
        }
    }

    /// The calling thread's lcore id, `None` for a thread that is not an EAL thread.
    pub fn lcore_id() -> Option<u32> {
        // SAFETY: reads a thread-local; no preconditions.
        let id = unsafe { sys::nfdp_lcore_id() };
        // SAFETY: reads an immutable exported constant.
        let any = unsafe { sys::NFDP_LCORE_ID_ANY };
        (id != any).then_some(id)
    }
}

/// Set when a function run by `Eal::run_on_eal_threads` on an lcore panicked.
static LAUNCH_PANICKED: AtomicBool = AtomicBool::new(false);

/// rte_eal_mp_remote_launch's entry point: `arg` is the `fn()` to run.
extern "C" fn launch_trampoline(arg: *mut std::ffi::c_void) -> c_int {
    // SAFETY: run_on_eal_threads passes a `fn()` cast to a pointer, nothing else; fn
    // pointers and data pointers have the same size on every platform DPDK supports.
    let f: fn() = unsafe { std::mem::transmute::<*mut std::ffi::c_void, fn()>(arg) };
    if std::panic::catch_unwind(f).is_err() {
        LAUNCH_PANICKED.store(true, Ordering::SeqCst);
        return -1;
    }
    0
}

/// What the interrupt thread runs for `Eal::run_on_eal_threads`, and how it says so.
struct AlarmJob {
    f: fn(),
    done: std::sync::mpsc::SyncSender<bool>,
}

/// rte_eal_alarm_set's callback: `arg` is a leaked `Box<AlarmJob>`, freed here.
extern "C" fn alarm_trampoline(arg: *mut std::ffi::c_void) {
    // SAFETY: run_on_eal_threads hands each alarm its own Box<AlarmJob> and gives up
    // ownership once the alarm is set; the alarm fires once.
    let job = unsafe { Box::from_raw(arg.cast::<AlarmJob>()) };
    let ok = std::panic::catch_unwind(job.f).is_ok();
    let _ = job.done.send(ok);
}

/// What `DpdkPort::open` sets up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpdkPortConfig {
    pub id: PortId,
    pub name: String,
    /// "net_af_packet0,iface=r-lan" style vdev string (driver name + index + args) or a PCI
    /// address.
    pub device: String,
    pub queues: u16,
    pub rx_desc: u16,
    pub tx_desc: u16,
    pub mac: Option<MacAddr>,
    pub mtu: u16,
    /// mbufs in this port's pool (sized from the config; no hugepages here, so keep
    /// defaults modest, e.g. 8191).
    pub mbufs: u32,
}

impl DpdkPortConfig {
    /// One queue, 1024 descriptors each way, MTU 1500, 8191 mbufs, the driver's MAC.
    pub fn new(id: PortId, name: &str, device: &str) -> DpdkPortConfig {
        DpdkPortConfig {
            id,
            name: name.to_string(),
            device: device.to_string(),
            queues: 1,
            rx_desc: 1024,
            tx_desc: 1024,
            mac: None,
            mtu: 1500,
            mbufs: 8191,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LinkStatus {
    pub up: bool,
    pub speed_mbps: u32,
}

/// Software counters of one queue, shared between its handle and the port.
#[derive(Default)]
struct QueueCounters {
    /// Frames the worker gave up on after tx_burst refused them.
    tx_dropped: AtomicU64,
    /// Frames dropped here: received mbuf chains that could not be read, frames too big for
    /// an mbuf on transmit.
    errors: AtomicU64,
    /// Bytes received / sent through this handle, for drivers that count only packets.
    rx_bytes: AtomicU64,
    tx_bytes: AtomicU64,
    /// Our own frames received back (see `rx_burst`): not counted as received.
    looped: AtomicU64,
}

struct PortInner {
    _eal: Arc<EalGuard>,
    dpdk_id: u16,
    id: PortId,
    name: String,
    queues: u16,
    mac: MacAddr,
    /// Drop received frames sent from `mac` (net_af_packet with several queues loops a
    /// queue's transmissions back to the others; on net_tap the kernel end shares the MAC).
    drop_own_frames: bool,
    pool: *mut sys::rte_mempool,
    /// Largest frame an mbuf of `pool` holds in one segment.
    max_frame: usize,
    /// The vdev name to remove on close, if this port probed it.
    probed_vdev: Option<CString>,
    counters: Vec<QueueCounters>,
    claimed: Vec<AtomicBool>,
    /// Serialises control-path calls (stats, link) from several threads.
    control: Mutex<()>,
}

// SAFETY: `pool` points to a DPDK mempool, which is safe to use from any thread (the default
// multi-producer/multi-consumer ring ops); the ethdev is addressed by its integer id, and
// control-path calls are serialised by `control`, while each rx/tx queue is driven by at most
// one `DpdkQueue` (enforced by `claimed`).
unsafe impl Send for PortInner {}
// SAFETY: see Send; every &self method is either atomic or serialised by `control`.
unsafe impl Sync for PortInner {}

impl PortInner {
    fn lock(&self) -> MutexGuard<'_, ()> {
        self.control.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn stats(&self) -> PortStats {
        let mut s = sys::rte_eth_stats::default();
        let ret = {
            let _g = self.lock();
            // SAFETY: the port is configured and started (alive while self is); `s` is a
            // valid, writable rte_eth_stats.
            unsafe { sys::rte_eth_stats_get(self.dpdk_id, &mut s) }
        };
        let mut out = PortStats::default();
        if ret == 0 {
            out.rx_packets = s.ipackets;
            out.rx_bytes = s.ibytes;
            out.tx_packets = s.opackets;
            out.tx_bytes = s.obytes;
            out.rx_dropped = s.imissed;
            out.errors = s.ierrors + s.oerrors;
        }
        let (mut rx_bytes, mut tx_bytes) = (0, 0);
        for c in &self.counters {
            out.rx_packets = out
                .rx_packets
                .saturating_sub(c.looped.load(Ordering::Relaxed));
            out.tx_dropped += c.tx_dropped.load(Ordering::Relaxed);
            out.errors += c.errors.load(Ordering::Relaxed);
            rx_bytes += c.rx_bytes.load(Ordering::Relaxed);
            tx_bytes += c.tx_bytes.load(Ordering::Relaxed);
        }
        // Some virtual drivers (net_null, net_ring) count packets but not bytes: report the
        // bytes that passed through the queue handles instead of a constant 0.
        if out.rx_bytes == 0 && out.rx_packets > 0 {
            out.rx_bytes = rx_bytes;
        }
        if out.tx_bytes == 0 && out.tx_packets > 0 {
            out.tx_bytes = tx_bytes;
        }
        out
    }

    fn link(&self) -> LinkStatus {
        let mut l = sys::rte_eth_link::default();
        let ret = {
            let _g = self.lock();
            // SAFETY: valid port id and a writable rte_eth_link.
            unsafe { sys::rte_eth_link_get_nowait(self.dpdk_id, &mut l) }
        };
        if ret < 0 {
            return LinkStatus::default();
        }
        LinkStatus {
            up: l.link_status() != 0,
            speed_mbps: l.link_speed,
        }
    }
}

impl Drop for PortInner {
    fn drop(&mut self) {
        // SAFETY: no queue handle is left (each holds an Arc of self), so no thread is in a
        // burst call on this port; stop and close are the documented teardown, after which the
        // driver holds no mbufs of `pool`, so the pool can be freed. Return values are ignored:
        // there is nothing left to do on failure.
        unsafe { teardown(self.dpdk_id, self.probed_vdev.as_deref(), self.pool) };
    }
}

/// Stops and closes the ethdev, removes the vdev this process probed for it, frees its
/// mbuf pool (null: none yet) and gives the port id back.
///
/// # Safety
/// No thread may be in a burst call on the port, and nothing may use `pool` afterwards.
unsafe fn teardown(dpdk_id: u16, probed_vdev: Option<&CStr>, pool: *mut sys::rte_mempool) {
    // SAFETY: the caller guarantees the port is idle and the pool unused; stop is harmless
    // on a port that never started; return values are ignored: nothing is left to do.
    unsafe {
        sys::rte_eth_dev_stop(dpdk_id);
        sys::rte_eth_dev_close(dpdk_id);
        if let Some(name) = probed_vdev {
            sys::rte_eal_hotplug_remove(c"vdev".as_ptr(), name.as_ptr());
        }
        if !pool.is_null() {
            // Packets still alive in their mbufs (a worker's queue dropped after its port)
            // would free into a freed pool: keep the pool then, and the EAL with it.
            if sys::rte_mempool_avail_count(pool) < (*pool).size {
                POOLS_KEPT.fetch_add(1, Ordering::Relaxed);
            } else {
                sys::rte_mempool_free(pool);
            }
        }
    }
    release_port(dpdk_id);
}

/// Pools `teardown` could not free because mbufs were still out (see there).
static POOLS_KEPT: AtomicU64 = AtomicU64::new(0);

/// Owns the ethdev; Send + Sync (control thread reads stats/link while workers use queues).
pub struct DpdkPort {
    inner: Option<Arc<PortInner>>,
    id: PortId,
    name: String,
    mac: MacAddr,
    /// Counters at `close`, reported afterwards.
    final_stats: PortStats,
}

static POOL_SEQ: AtomicU64 = AtomicU64::new(0);

/// DPDK port ids owned by a live `PortInner` (or being set up): `open` refuses them, so two
/// `DpdkPort`s never configure one device and a failed open never closes someone else's.
static OWNED_PORTS: Mutex<Vec<u16>> = Mutex::new(Vec::new());

fn claim_port(dpdk_id: u16, dev_name: &str) -> Result<(), DpdkError> {
    let mut owned = OWNED_PORTS.lock().unwrap_or_else(|e| e.into_inner());
    if owned.contains(&dpdk_id) {
        return Err(DpdkError(format!(
            "device {dev_name} (DPDK port {dpdk_id}) is already open"
        )));
    }
    owned.push(dpdk_id);
    Ok(())
}

fn release_port(dpdk_id: u16) {
    OWNED_PORTS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|&p| p != dpdk_id);
}

impl DpdkPort {
    /// Probes a vdev with rte_dev_probe (or finds an already probed port, e.g. a PCI port,
    /// by name), configures `queues` rx/tx queues, RSS with a symmetric Toeplitz key on
    /// IP/TCP/UDP where the driver supports it and queues > 1, IPv4/TCP/UDP tx checksum
    /// offload if the driver supports it (the pipeline does not rely on it), sets the MAC if
    /// given, the MTU, promiscuous mode, and starts the port.
    pub fn open(eal: &Eal, cfg: &DpdkPortConfig) -> Result<DpdkPort, DpdkError> {
        if cfg.queues == 0 {
            return Err(DpdkError(format!("port {}: queues must be >= 1", cfg.name)));
        }
        let dev_name = cfg.device.split(',').next().unwrap_or_default().trim();
        if dev_name.is_empty() {
            return Err(DpdkError(format!("port {}: empty device", cfg.name)));
        }
        let c_name = cstring("device name", dev_name)?;
        let mut probed_vdev = None;
        let dpdk_id = match port_by_name(&c_name) {
            Some(p) => {
                claim_port(p, dev_name)?;
                p
            }
            None => {
                let c_dev = cstring("device", &cfg.device)?;
                // SAFETY: the EAL is initialised (we hold `eal`); c_dev is NUL-terminated.
                let ret = unsafe { sys::rte_dev_probe(c_dev.as_ptr()) };
                check(&format!("rte_dev_probe({})", cfg.device), ret)?;
                if !dev_name.contains(':') {
                    probed_vdev = Some(c_name.clone());
                }
                let found = port_by_name(&c_name);
                match found {
                    Some(p) => claim_port(p, dev_name).map(|()| p),
                    None => Err(DpdkError(format!(
                        "rte_eth_dev_get_port_by_name({dev_name}): no ethdev after probing `{}`",
                        cfg.device
                    ))),
                }
                .inspect_err(|_| {
                    if let Some(name) = &probed_vdev {
                        // SAFETY: removes the vdev probed just above, which nothing uses.
                        unsafe { sys::rte_eal_hotplug_remove(c"vdev".as_ptr(), name.as_ptr()) };
                    }
                })?
            }
        };
        // From here on a failure must undo the probe; `Setup` does that on drop.
        let mut setup = Setup {
            dpdk_id,
            probed_vdev,
            pool: std::ptr::null_mut(),
        };

        let mut info = sys::rte_eth_dev_info::default();
        // SAFETY: valid port id, writable info struct.
        let ret = unsafe { sys::rte_eth_dev_info_get(dpdk_id, &mut info) };
        check("rte_eth_dev_info_get", ret)?;
        if cfg.queues > info.max_rx_queues || cfg.queues > info.max_tx_queues {
            return Err(DpdkError(format!(
                "port {}: {} queues requested, driver {} allows {} rx / {} tx",
                cfg.name,
                cfg.queues,
                driver_name(&info),
                info.max_rx_queues,
                info.max_tx_queues
            )));
        }

        let mut conf = sys::rte_eth_conf::default();
        // SAFETY: reading immutable exported constants.
        let (rss_wanted, rx_wanted, tx_wanted) = unsafe {
            (
                sys::NFDP_ETH_RSS_IP | sys::NFDP_ETH_RSS_TCP | sys::NFDP_ETH_RSS_UDP,
                sys::NFDP_ETH_RX_OFFLOAD_CHECKSUM,
                sys::NFDP_ETH_TX_OFFLOAD_IPV4_CKSUM
                    | sys::NFDP_ETH_TX_OFFLOAD_TCP_CKSUM
                    | sys::NFDP_ETH_TX_OFFLOAD_UDP_CKSUM,
            )
        };
        let key_len = if info.hash_key_size == 0 {
            40
        } else {
            usize::from(info.hash_key_size)
        };
        let mut rss_key: Vec<u8> = RSS_KEY_WORD.iter().copied().cycle().take(key_len).collect();
        let rss_hf = rss_wanted & info.flow_type_rss_offloads;
        if cfg.queues > 1 && rss_hf != 0 {
            conf.rxmode.mq_mode = sys::RTE_ETH_MQ_RX_RSS;
            conf.rx_adv_conf.rss_conf.rss_key = rss_key.as_mut_ptr();
            conf.rx_adv_conf.rss_conf.rss_key_len = key_len as u8;
            conf.rx_adv_conf.rss_conf.rss_hf = rss_hf;
        }
        // Rx: the NIC's checksum verdicts spare the pipeline's software sums
        // (`RxChecksum`).
        conf.rxmode.offloads = rx_wanted & info.rx_offload_capa;
        conf.txmode.offloads = tx_wanted & info.tx_offload_capa;
        conf.rxmode.mtu = u32::from(cfg.mtu);
        // SAFETY: valid port id; conf (and the key it points to) outlives the call, the
        // driver copies what it keeps.
        let ret = unsafe { sys::rte_eth_dev_configure(dpdk_id, cfg.queues, cfg.queues, &conf) };
        check(&format!("rte_eth_dev_configure({dev_name})"), ret)?;

        let (mut rx_desc, mut tx_desc) = (cfg.rx_desc.max(1), cfg.tx_desc.max(1));
        // SAFETY: valid port id and writable counts.
        let ret =
            unsafe { sys::rte_eth_dev_adjust_nb_rx_tx_desc(dpdk_id, &mut rx_desc, &mut tx_desc) };
        check("rte_eth_dev_adjust_nb_rx_tx_desc", ret)?;

        // SAFETY: valid port id.
        let socket = unsafe { sys::rte_eth_dev_socket_id(dpdk_id) };
        // SAFETY: reading immutable exported constants.
        let (default_room, headroom) =
            unsafe { (sys::NFDP_MBUF_DEFAULT_BUF_SIZE, sys::NFDP_PKTMBUF_HEADROOM) };
        let frame_room = (u32::from(cfg.mtu) + FRAME_OVERHEAD).max(2048);
        let data_room = u32::from(default_room).max(frame_room + u32::from(headroom));
        let data_room = u16::try_from(data_room)
            .map_err(|_| DpdkError(format!("port {}: MTU {} too large", cfg.name, cfg.mtu)))?;
        let pool_name = format!(
            "nfdp_p{dpdk_id}_{}",
            POOL_SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let c_pool = cstring("pool name", &pool_name)?;
        let cache = (cfg.mbufs / 2).min(256);
        // SAFETY: EAL initialised, name NUL-terminated; the returned pool is owned by `setup`
        // (and then by PortInner) and freed exactly once.
        setup.pool = unsafe {
            sys::rte_pktmbuf_pool_create(c_pool.as_ptr(), cfg.mbufs, cache, 0, data_room, socket)
        };
        if setup.pool.is_null() {
            return Err(errno_error(&format!(
                "rte_pktmbuf_pool_create({pool_name}, {} mbufs of {data_room} bytes)",
                cfg.mbufs
            )));
        }
        let socket = socket as u32; // SOCKET_ID_ANY (-1) is passed through as DPDK expects.
        for q in 0..cfg.queues {
            // SAFETY: configured port, queue index below the configured count, live pool.
            let ret = unsafe {
                sys::rte_eth_rx_queue_setup(
                    dpdk_id,
                    q,
                    rx_desc,
                    socket,
                    std::ptr::null(),
                    setup.pool,
                )
            };
            check(&format!("rte_eth_rx_queue_setup({dev_name}, {q})"), ret)?;
            // SAFETY: as above; a NULL txconf means the driver's defaults plus conf.txmode.
            let ret = unsafe {
                sys::rte_eth_tx_queue_setup(dpdk_id, q, tx_desc, socket, std::ptr::null())
            };
            check(&format!("rte_eth_tx_queue_setup({dev_name}, {q})"), ret)?;
        }
        if let Some(mac) = cfg.mac {
            let mut addr = sys::rte_ether_addr { addr_bytes: mac.0 };
            // SAFETY: valid port id, valid address struct.
            let ret = unsafe { sys::rte_eth_dev_default_mac_addr_set(dpdk_id, &mut addr) };
            if ret == -(ENOTSUP) {
                // Some drivers (net_af_xdp) cannot change it: the interface must have it.
                let mut have = sys::rte_ether_addr::default();
                // SAFETY: valid port id, writable address.
                let ret = unsafe { sys::rte_eth_macaddr_get(dpdk_id, &mut have) };
                check(&format!("rte_eth_macaddr_get({dev_name})"), ret)?;
                let have = MacAddr(have.addr_bytes);
                if have != mac {
                    return Err(DpdkError(format!(
                        "{dev_name}: the driver cannot set the MAC address {mac}: give the \
                         interface that address first (ip link set IFACE address {mac}), or \
                         leave `mac` out of the port to use its own ({have})"
                    )));
                }
            } else {
                check(
                    &format!("rte_eth_dev_default_mac_addr_set({dev_name}, {mac})"),
                    ret,
                )?;
            }
        }
        // SAFETY: valid, configured port.
        let ret = unsafe { sys::rte_eth_dev_start(dpdk_id) };
        check(&format!("rte_eth_dev_start({dev_name})"), ret)?;
        // SAFETY: valid, started port.
        let ret = unsafe { sys::rte_eth_promiscuous_enable(dpdk_id) };
        // Virtual devices without the operation receive everything anyway.
        if ret < 0 && ret != -(ENOTSUP) {
            // SAFETY: valid, started port.
            unsafe { sys::rte_eth_dev_stop(dpdk_id) };
            check(&format!("rte_eth_promiscuous_enable({dev_name})"), ret)?;
        }
        let mut addr = sys::rte_ether_addr::default();
        // SAFETY: valid port id, writable address.
        let ret = unsafe { sys::rte_eth_macaddr_get(dpdk_id, &mut addr) };
        check("rte_eth_macaddr_get", ret)?;
        let mac = MacAddr(addr.addr_bytes);

        let (pool, probed_vdev) = setup.disarm();
        let inner = PortInner {
            _eal: eal.guard.clone(),
            dpdk_id,
            id: cfg.id,
            name: cfg.name.clone(),
            queues: cfg.queues,
            mac,
            drop_own_frames: driver_name(&info) == "net_af_packet",
            pool,
            max_frame: usize::from(data_room - headroom),
            probed_vdev,
            counters: (0..cfg.queues).map(|_| QueueCounters::default()).collect(),
            claimed: (0..cfg.queues).map(|_| AtomicBool::new(false)).collect(),
            control: Mutex::new(()),
        };
        Ok(DpdkPort {
            inner: Some(Arc::new(inner)),
            id: cfg.id,
            name: cfg.name.clone(),
            mac,
            final_stats: PortStats::default(),
        })
    }

    /// The per-worker handle for rx/tx queue q, with its own `PacketPool`.
    ///
    /// Panics if `q` is out of range, already handed out (two threads driving one queue
    /// would race inside the driver) or the port is closed; `try_queue` reports instead.
    pub fn queue(&self, q: u16) -> DpdkQueue {
        self.try_queue(q).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `queue`, reporting misuse as an error.
    pub fn try_queue(&self, q: u16) -> Result<DpdkQueue, DpdkError> {
        self.try_queue_with_pool(
            q,
            Arc::new(Mutex::new(PacketPool::with_defaults(QUEUE_POOL_BUFS))),
        )
    }

    /// A queue handle that takes its receive buffers from, and returns transmitted buffers
    /// to, `pool`. Give all the ports' handles of one worker the same pool: a packet received
    /// on one port is transmitted on another, so per-port pools would drain on one side and
    /// overflow on the other.
    pub fn try_queue_with_pool(
        &self,
        q: u16,
        pool: Arc<Mutex<PacketPool>>,
    ) -> Result<DpdkQueue, DpdkError> {
        let inner = self
            .inner
            .as_ref()
            .ok_or_else(|| DpdkError(format!("port {}: closed", self.name)))?;
        let flag = inner.claimed.get(usize::from(q)).ok_or_else(|| {
            DpdkError(format!(
                "port {}: no queue {q} (it has {})",
                self.name, inner.queues
            ))
        })?;
        if flag.swap(true, Ordering::AcqRel) {
            return Err(DpdkError(format!(
                "port {}: queue {q} is already in use",
                self.name
            )));
        }
        Ok(DpdkQueue {
            inner: inner.clone(),
            queue: q,
            pool,
            mbufs: [std::ptr::null_mut(); MAX_BURST],
            src: [0; MAX_BURST],
            in_place: [false; MAX_BURST],
        })
    }

    pub fn link(&self) -> LinkStatus {
        self.inner.as_ref().map(|i| i.link()).unwrap_or_default()
    }

    pub fn mac(&self) -> MacAddr {
        self.mac
    }

    pub fn id(&self) -> PortId {
        self.id
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The DPDK ethdev port id.
    pub fn dpdk_port_id(&self) -> Option<u16> {
        self.inner.as_ref().map(|i| i.dpdk_id)
    }

    /// rte_eth_stats_get mapped onto PortStats (ipackets, ibytes, opackets, obytes,
    /// imissed -> rx_dropped, ierrors + oerrors -> errors) plus the software tx_dropped and
    /// errors the queues counted. After `close`, the figures at the time of closing.
    pub fn stats(&self) -> PortStats {
        match &self.inner {
            Some(i) => i.stats(),
            None => self.final_stats,
        }
    }

    /// rte_eth_dev_stop + rte_eth_dev_close (and removal of a vdev this port probed), done as
    /// soon as no `DpdkQueue` of this port is left; also done by Drop.
    pub fn close(&mut self) {
        if let Some(i) = self.inner.take() {
            self.final_stats = i.stats();
        }
    }
}

const ENOTSUP: c_int = 95;

fn port_by_name(name: &CStr) -> Option<u16> {
    let mut id = 0u16;
    // SAFETY: name is NUL-terminated, id writable.
    let ret = unsafe { sys::rte_eth_dev_get_port_by_name(name.as_ptr(), &mut id) };
    (ret == 0).then_some(id)
}

fn driver_name(info: &sys::rte_eth_dev_info) -> String {
    if info.driver_name.is_null() {
        return "?".into();
    }
    // SAFETY: the driver fills driver_name with a static NUL-terminated string.
    unsafe { CStr::from_ptr(info.driver_name) }
        .to_string_lossy()
        .into_owned()
}

/// Undoes a half-done `open`: frees the pool, closes the port and removes a probed vdev.
struct Setup {
    dpdk_id: u16,
    probed_vdev: Option<CString>,
    pool: *mut sys::rte_mempool,
}

impl Setup {
    fn disarm(mut self) -> (*mut sys::rte_mempool, Option<CString>) {
        let pool = std::mem::replace(&mut self.pool, std::ptr::null_mut());
        let vdev = self.probed_vdev.take();
        std::mem::forget(self);
        (pool, vdev)
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        // SAFETY: the port was never handed out; closing it (stop is harmless on a port that
        // did not start) releases the driver's references to the pool before it is freed.
        unsafe { teardown(self.dpdk_id, self.probed_vdev.as_deref(), self.pool) };
    }
}

impl Drop for DpdkPort {
    fn drop(&mut self) {
        self.close();
    }
}

/// A received packet's mbuf, owned: the pipeline edits the packet in place in its buffer,
/// the tx path hands it to the driver as it is, and dropping it returns it to its mempool.
/// Only single-segment mbufs are wrapped (the rx path copies chains out).
pub struct Mbuf {
    m: std::ptr::NonNull<sys::rte_mbuf>,
    /// The mbuf's buffer (`buf_addr`, `buf_len`), read once.
    buf: std::ptr::NonNull<u8>,
    buf_len: usize,
}

// SAFETY: a `Mbuf` is the only reference to its mbuf; the mempools are created with DPDK's
// default multi-producer/multi-consumer ops, so any thread may free it, and the buffer is
// plain memory handed over with the handle.
unsafe impl Send for Mbuf {}
// SAFETY: a shared `&Mbuf` only reads the buffer; nothing mutates through it.
unsafe impl Sync for Mbuf {}

impl Mbuf {
    /// Takes ownership of `m`, a valid single-segment mbuf nothing else refers to, whose
    /// buffer the caller has read (`buf_addr`, `buf_len`); freed if the buffer is null.
    fn own_single(m: *mut sys::rte_mbuf, addr: *mut std::ffi::c_void, len: u16) -> Option<Mbuf> {
        let m = std::ptr::NonNull::new(m)?;
        let Some(buf) = std::ptr::NonNull::new(addr.cast::<u8>()) else {
            // SAFETY: we own m and free it once; no handle was made.
            unsafe { sys::nfdp_pktmbuf_free(m.as_ptr()) };
            return None;
        };
        Some(Mbuf {
            m,
            buf,
            buf_len: usize::from(len),
        })
    }

    /// The whole buffer: headroom, data and tailroom.
    #[inline]
    pub fn buffer(&self) -> &[u8] {
        // SAFETY: buf_addr points to buf_len bytes owned by the mbuf, which this handle owns
        // for its whole life; the shared borrow of self keeps writers out.
        unsafe { std::slice::from_raw_parts(self.buf.as_ptr(), self.buf_len) }
    }

    #[inline]
    pub fn buffer_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `buffer`; the exclusive borrow of self makes this the only access.
        unsafe { std::slice::from_raw_parts_mut(self.buf.as_ptr(), self.buf_len) }
    }

    /// Sets the frame to `[off, off + len)` of the buffer for transmission and returns the
    /// raw mbuf (still owned by this handle until `release`); `None` when it does not fit.
    /// Written here rather than through the shim: three stores, no call per packet.
    #[inline]
    fn place(&mut self, off: usize, len: usize) -> Option<*mut sys::rte_mbuf> {
        let off16 = u16::try_from(off).ok()?;
        let len16 = u16::try_from(len).ok()?;
        if off + len > self.buf_len {
            return None;
        }
        let m = self.m.as_ptr();
        // SAFETY: the mbuf is ours alone (this handle owns it) and its header is plain
        // memory laid out as bindgen read it from the installed headers; only the data
        // window of a single segment changes, within the buffer (checked above).
        unsafe {
            if (*m).nb_segs != 1 {
                return None;
            }
            (*m).data_off = off16;
            (*m).data_len = len16;
            (*m).pkt_len = u32::from(len16);
        }
        Some(m)
    }

    /// Gives up ownership without freeing (the driver took the mbuf).
    pub(crate) fn release(self) {
        std::mem::forget(self);
    }
}

impl Drop for Mbuf {
    fn drop(&mut self) {
        // SAFETY: this handle owns the mbuf and is dropped once.
        unsafe { sys::nfdp_pktmbuf_free(self.m.as_ptr()) };
    }
}

impl fmt::Debug for Mbuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mbuf({:p}, {} bytes)", self.m, self.buf_len)
    }
}

/// Starts loading the first cache line of a received mbuf's data (a hint; changes nothing).
#[inline(always)]
fn prefetch_data(m: *const sys::rte_mbuf) {
    // SAFETY: m is a valid received mbuf we own; reading its header is plain memory, and
    // the address computed from it is only prefetched (`prefetcht0` never faults).
    #[cfg(target_arch = "x86_64")]
    unsafe {
        let data = (*m).buf_addr.cast::<i8>().add(usize::from((*m).data_off));
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(data);
    }
    #[cfg(not(target_arch = "x86_64"))]
    // SAFETY: as above; the shim prefetches the same line.
    unsafe {
        sys::nfdp_prefetch_data(m)
    };
}

/// The handle one worker uses for rx/tx queue `q` of a port; implements `Port`. The
/// `queue` argument of the `Port` methods must be this handle's queue: for any other the
/// calls receive and transmit nothing.
pub struct DpdkQueue {
    inner: Arc<PortInner>,
    queue: u16,
    pool: Arc<Mutex<PacketPool>>,
    mbufs: [*mut sys::rte_mbuf; MAX_BURST],
    /// For each mbuf slot of a tx burst: the index of the frame it carries.
    src: [usize; MAX_BURST],
    /// For each mbuf slot of a tx burst: the frame's own mbuf (not a fresh copy).
    in_place: [bool; MAX_BURST],
}

// SAFETY: the mbuf pointer array is scratch space that holds no live mbuf between calls; the
// queue it drives is claimed by this handle alone (see `try_queue_with_pool`), so moving the
// handle to another thread moves the only user of that queue.
unsafe impl Send for DpdkQueue {}

impl DpdkQueue {
    /// The queue this handle drives.
    pub fn queue_id(&self) -> u16 {
        self.queue
    }

    fn counters(&self) -> &QueueCounters {
        &self.inner.counters[usize::from(self.queue)]
    }

    fn lock_pool(&self) -> MutexGuard<'_, PacketPool> {
        self.pool.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// testpmd's io forwarding, one burst: receives up to `max` mbufs on this queue and
    /// transmits them untouched on `to`'s queue, freeing what `to` does not take. If
    /// `rewrite` is given its bytes overwrite the front of each frame first (a packet
    /// generator recycling frames). Returns (received, transmitted). For benchmarks: the
    /// framework's ceiling without the copy into `PacketBuf`s.
    pub fn forward_burst(
        &mut self,
        to: &mut DpdkQueue,
        max: usize,
        rewrite: Option<&[u8]>,
    ) -> (usize, usize) {
        let n = max.min(MAX_BURST) as u16;
        // SAFETY: this handle exclusively owns the rx queue; `mbufs` has room for n pointers.
        let rx = unsafe {
            sys::nfdp_eth_rx_burst(self.inner.dpdk_id, self.queue, self.mbufs.as_mut_ptr(), n)
        };
        if rx == 0 {
            return (0, 0);
        }
        if let Some(bytes) = rewrite {
            for &m in &self.mbufs[..usize::from(rx)] {
                // SAFETY: m is a valid mbuf just received and owned by us.
                let len = usize::from(unsafe { sys::nfdp_pktmbuf_data_len(m) }).min(bytes.len());
                // SAFETY: the first segment holds `data_len` >= len writable bytes at mtod.
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        bytes.as_ptr(),
                        sys::nfdp_pktmbuf_mtod(m) as *mut u8,
                        len,
                    )
                };
            }
        }
        // SAFETY: `to` exclusively owns its tx queue; the first rx pointers are valid mbufs
        // whose ownership passes to the driver for the ones it accepts.
        let tx = unsafe {
            sys::nfdp_eth_tx_burst(to.inner.dpdk_id, to.queue, self.mbufs.as_mut_ptr(), rx)
        };
        if tx < rx {
            // SAFETY: the unsent mbufs are still ours; each is freed once.
            unsafe {
                sys::nfdp_pktmbuf_free_bulk(
                    self.mbufs.as_mut_ptr().add(usize::from(tx)),
                    u32::from(rx - tx),
                )
            };
        }
        (usize::from(rx), usize::from(tx))
    }

    /// `forward_burst` with `rewrite` applied to each frame's first segment in place
    /// before it leaves (testpmd's macswap / 5tswap forwarding). Returns (received,
    /// transmitted); what `to` does not take is freed.
    pub fn forward_burst_map(
        &mut self,
        to: &mut DpdkQueue,
        max: usize,
        mut rewrite: impl FnMut(&mut [u8]),
    ) -> (usize, usize) {
        let n = max.min(MAX_BURST) as u16;
        // SAFETY: this handle exclusively owns the rx queue; `mbufs` has room for n pointers.
        let rx = unsafe {
            sys::nfdp_eth_rx_burst(self.inner.dpdk_id, self.queue, self.mbufs.as_mut_ptr(), n)
        };
        if rx == 0 {
            return (0, 0);
        }
        for &m in &self.mbufs[..usize::from(rx)] {
            // SAFETY: m is a valid mbuf just received and owned by us; its first segment
            // holds data_len writable bytes at mtod, borrowed only for this call.
            let frame = unsafe {
                std::slice::from_raw_parts_mut(
                    sys::nfdp_pktmbuf_mtod(m) as *mut u8,
                    usize::from(sys::nfdp_pktmbuf_data_len(m)),
                )
            };
            rewrite(frame);
        }
        // SAFETY: as in forward_burst.
        let tx = unsafe {
            sys::nfdp_eth_tx_burst(to.inner.dpdk_id, to.queue, self.mbufs.as_mut_ptr(), rx)
        };
        if tx < rx {
            // SAFETY: the unsent mbufs are still ours; each is freed once.
            unsafe {
                sys::nfdp_pktmbuf_free_bulk(
                    self.mbufs.as_mut_ptr().add(usize::from(tx)),
                    u32::from(rx - tx),
                )
            };
        }
        (usize::from(rx), usize::from(tx))
    }

    /// A packet generator's transmit, without the `PacketBuf` copy: allocates up to `n`
    /// mbufs (at most `MAX_BURST`) from the port's pool, has `fill(i, room)` write frame
    /// `i` into `room` (as large as the port's largest frame) and return its length, and
    /// transmits the frames. A frame of length 0 or longer than `room` is not sent (it
    /// counts as built). Returns (built, sent): frames `0..sent` were taken by the driver,
    /// the rest freed. Counts the bytes sent like `tx_burst`.
    pub fn tx_build(
        &mut self,
        n: usize,
        mut fill: impl FnMut(usize, &mut [u8]) -> usize,
    ) -> (usize, usize) {
        let n = n.min(MAX_BURST);
        if n == 0 {
            return (0, 0);
        }
        // SAFETY: `mbufs` has room for n pointers; the pool is alive while inner is.
        if unsafe {
            sys::nfdp_pktmbuf_alloc_bulk(self.inner.pool, self.mbufs.as_mut_ptr(), n as u32)
        } != 0
        {
            return (0, 0);
        }
        let mut ok = 0;
        let mut bytes = 0u64;
        let mut broken = 0;
        for i in 0..n {
            let m = self.mbufs[i];
            // SAFETY: m is a fresh single-segment mbuf (data_len 0) that we own; its data
            // room after the headroom holds max_frame bytes (checked against the tailroom).
            let room = unsafe {
                let len = usize::from(sys::nfdp_pktmbuf_tailroom(m)).min(self.inner.max_frame);
                std::slice::from_raw_parts_mut(sys::nfdp_pktmbuf_mtod(m) as *mut u8, len)
            };
            let len = fill(i, room);
            // SAFETY: m is ours; set_len checks the length against the buffer.
            if len == 0
                || len > room.len()
                || unsafe { sys::nfdp_pktmbuf_set_len(m, len as u16) } != 0
            {
                // SAFETY: m is ours and freed once; it is not kept in the burst.
                unsafe { sys::nfdp_pktmbuf_free(m) };
                broken += 1;
                continue;
            }
            bytes += len as u64;
            self.mbufs[ok] = m;
            ok += 1;
        }
        // SAFETY: this handle exclusively owns the tx queue; the first `ok` pointers are valid
        // mbufs whose ownership passes to the driver for the ones it accepts.
        let sent = usize::from(unsafe {
            sys::nfdp_eth_tx_burst(
                self.inner.dpdk_id,
                self.queue,
                self.mbufs.as_mut_ptr(),
                ok as u16,
            )
        });
        if sent < ok {
            // SAFETY: the unsent mbufs are still ours; each is freed once.
            unsafe {
                sys::nfdp_pktmbuf_free_bulk(self.mbufs.as_mut_ptr().add(sent), (ok - sent) as u32)
            };
        }
        let c = self.counters();
        if broken > 0 {
            c.errors.fetch_add(broken, Ordering::Relaxed);
        }
        // Approximate when some were refused (the refused ones are the tail).
        c.tx_bytes
            .fetch_add(bytes * sent as u64 / ok.max(1) as u64, Ordering::Relaxed);
        (n, sent)
    }

    /// One received mbuf as a packet: wrapped when it is a single segment, copied out of
    /// a chain otherwise; `None` (freed) when it is empty or broken. `csum` holds the
    /// checksum flags' (mask, good) pairs for IP and L4, read once a burst.
    #[inline]
    fn rx_one(&mut self, m: *mut sys::rte_mbuf, csum: [(u64, u64); 2]) -> Option<PacketBuf> {
        // SAFETY: m is a valid received mbuf we own; its header is plain memory laid out
        // as bindgen read it from the installed headers (read here, not through a call
        // per packet).
        let (buf_addr, buf_len, off, segs, len, flags) = unsafe {
            (
                (*m).buf_addr,
                (*m).buf_len,
                usize::from((*m).data_off),
                (*m).nb_segs,
                (*m).pkt_len as usize,
                (*m).ol_flags,
            )
        };
        if len == 0 {
            // SAFETY: ours, freed once.
            unsafe { sys::nfdp_pktmbuf_free(m) };
            return None;
        }
        if segs == 1 {
            let [ip, l4] = csum;
            let mbuf = Mbuf::own_single(m, buf_addr, buf_len)?;
            let mut buf = PacketBuf::from_mbuf(mbuf, off, len)?;
            buf.rx_csum = RxChecksum {
                ip_good: flags & ip.0 == ip.1,
                l4_good: flags & l4.0 == l4.1,
            };
            return Some(buf);
        }
        let mut pool = self.lock_pool();
        let mut buf = pool
            .alloc()
            .unwrap_or_else(|| PacketBuf::new(DEFAULT_BUF_SIZE, DEFAULT_HEADROOM));
        let dst = buf.append(len);
        // SAFETY: dst is `len` writable bytes; copy_out reads the chain's first `len` bytes
        // (it checks them against the segments and fails otherwise).
        let ret = unsafe { sys::nfdp_pktmbuf_copy_out(m, 0, len as u32, dst.as_mut_ptr().cast()) };
        // SAFETY: the chain is ours and its bytes are copied; freed once.
        unsafe { sys::nfdp_pktmbuf_free(m) };
        if ret < 0 {
            pool.free(buf);
            return None;
        }
        Some(buf)
    }

    /// A fresh mbuf holding a copy of `data` (a frame built on the heap), or `None` when
    /// the pool is empty.
    fn copy_to_fresh(&mut self, data: &[u8]) -> Option<*mut sys::rte_mbuf> {
        // SAFETY: the pool is alive while inner is.
        let m = unsafe { sys::nfdp_pktmbuf_alloc(self.inner.pool) };
        if m.is_null() {
            return None;
        }
        // SAFETY: m is a fresh single-segment mbuf whose data room holds max_frame >=
        // data.len() bytes after the headroom (the caller checked); append returns that
        // many writable bytes.
        unsafe {
            let dst = sys::nfdp_pktmbuf_append(m, data.len() as u16);
            debug_assert!(!dst.is_null());
            std::ptr::copy_nonoverlapping(data.as_ptr(), dst.cast::<u8>(), data.len());
        }
        Some(m)
    }

    /// A packet generator's receive, without the `PacketBuf` copy: up to `max` frames
    /// (at most `MAX_BURST`), each shown to `inspect` (its first segment) and freed.
    /// Returns how many were received.
    pub fn rx_inspect(&mut self, max: usize, mut inspect: impl FnMut(&[u8])) -> usize {
        let n = max.min(MAX_BURST) as u16;
        // SAFETY: this handle exclusively owns the rx queue; `mbufs` has room for n pointers.
        let rx = unsafe {
            sys::nfdp_eth_rx_burst(self.inner.dpdk_id, self.queue, self.mbufs.as_mut_ptr(), n)
        };
        let rx = usize::from(rx);
        let mut bytes = 0u64;
        for &m in &self.mbufs[..rx] {
            // SAFETY: m is a valid received mbuf we own until the free below; its first
            // segment holds data_len readable bytes at mtod.
            let frame = unsafe {
                std::slice::from_raw_parts(
                    sys::nfdp_pktmbuf_mtod(m) as *const u8,
                    usize::from(sys::nfdp_pktmbuf_data_len(m)),
                )
            };
            bytes += frame.len() as u64;
            inspect(frame);
        }
        if rx > 0 {
            // SAFETY: the first rx pointers are mbufs we own and nothing refers to them.
            unsafe { sys::nfdp_pktmbuf_free_bulk(self.mbufs.as_mut_ptr(), rx as u32) };
            self.counters().rx_bytes.fetch_add(bytes, Ordering::Relaxed);
        }
        rx
    }
}

impl Drop for DpdkQueue {
    fn drop(&mut self) {
        self.inner.claimed[usize::from(self.queue)].store(false, Ordering::Release);
    }
}

impl Port for DpdkQueue {
    fn id(&self) -> PortId {
        self.inner.id
    }

    fn name(&self) -> &str {
        &self.inner.name
    }

    fn mac(&self) -> MacAddr {
        self.inner.mac
    }

    fn queues(&self) -> u16 {
        self.inner.queues
    }

    /// Hands each received single-segment mbuf over as the `PacketBuf` itself (no copy);
    /// a multi-segment chain (jumbo frames, scattered rx) is copied into one buffer from
    /// the queue's pool (a fresh one if the pool is empty) and freed.
    fn rx_burst(&mut self, queue: u16, bufs: &mut Vec<PacketBuf>, max: usize) -> usize {
        if queue != self.queue {
            return 0;
        }
        let n = max.min(MAX_BURST) as u16;
        // SAFETY: this handle exclusively owns the rx queue; `mbufs` has room for n pointers.
        let rx = unsafe {
            sys::nfdp_eth_rx_burst(self.inner.dpdk_id, self.queue, self.mbufs.as_mut_ptr(), n)
        };
        if rx == 0 {
            return 0;
        }
        // The driver returns at most n: the bound lets the loop index without checks.
        let rx = usize::from(rx).min(MAX_BURST);
        let mut got = 0;
        let mut bad = 0;
        let mut looped = 0;
        let mut bytes = 0;
        // SAFETY: the flag values are constants of the shim, never written.
        let csum = unsafe {
            [
                (
                    sys::NFDP_MBUF_F_RX_IP_CKSUM_MASK,
                    sys::NFDP_MBUF_F_RX_IP_CKSUM_GOOD,
                ),
                (
                    sys::NFDP_MBUF_F_RX_L4_CKSUM_MASK,
                    sys::NFDP_MBUF_F_RX_L4_CKSUM_GOOD,
                ),
            ]
        };
        let (drop_own, own_mac, port) =
            (self.inner.drop_own_frames, self.inner.mac.0, self.inner.id);
        let queue = self.queue;
        for i in 0..rx {
            let m = self.mbufs[i];
            if let Some(&next) = self.mbufs[..rx].get(i + 1) {
                prefetch_data(next);
            }
            let Some(mut buf) = self.rx_one(m, csum) else {
                bad += 1;
                continue;
            };
            // Our own transmissions seen again: net_af_packet with several queues
            // delivers what one queue's socket sends to the others (its fanout group
            // is not the sending socket). A station never receives its own frames.
            if drop_own && buf.data().get(6..12) == Some(&own_mac[..]) {
                looped += 1;
                self.lock_pool().free(buf);
                continue;
            }
            buf.port = port;
            buf.queue = queue;
            bytes += buf.len() as u64;
            bufs.push(buf);
            got += 1;
        }
        let c = self.counters();
        c.rx_bytes.fetch_add(bytes, Ordering::Relaxed);
        if bad > 0 {
            c.errors.fetch_add(bad, Ordering::Relaxed);
        }
        if looped > 0 {
            c.looped.fetch_add(looped, Ordering::Relaxed);
        }
        got
    }

    /// Transmits up to `MAX_BURST` frames from the front of `pkts`: a frame that lives in
    /// an mbuf leaves in it, others are copied into fresh mbufs. Frames larger than an mbuf
    /// holds are taken and counted as errors. Taken heap buffers go back to the queue's
    /// pool; frames the driver did not take stay in `pkts` (their mbufs with them).
    fn tx_burst(&mut self, queue: u16, pkts: &mut Vec<PacketBuf>) -> usize {
        if queue != self.queue || pkts.is_empty() {
            return 0;
        }
        let max_frame = self.inner.max_frame;
        let scan = pkts.len().min(MAX_BURST);
        // Where the burst ends: `scan`, or the first frame no mbuf could be found for.
        let mut stop = scan;
        let mut k = 0;
        for (i, p) in pkts[..scan].iter_mut().enumerate() {
            if p.len() > max_frame || p.is_empty() {
                continue;
            }
            let (off, len) = (p.headroom(), p.len());
            let placed = p.mbuf_mut().and_then(|m| m.place(off, len));
            let m = match placed {
                Some(m) => m,
                None => match self.copy_to_fresh(p.data()) {
                    Some(m) => m,
                    None => {
                        stop = i;
                        break;
                    }
                },
            };
            self.mbufs[k] = m;
            self.src[k] = i;
            self.in_place[k] = placed.is_some();
            k += 1;
        }
        let sent = if k > 0 {
            // SAFETY: this handle exclusively owns the tx queue; the first `k` pointers are
            // valid single-segment mbufs; ownership of the accepted ones passes to the driver.
            usize::from(unsafe {
                sys::nfdp_eth_tx_burst(
                    self.inner.dpdk_id,
                    self.queue,
                    self.mbufs.as_mut_ptr(),
                    k as u16,
                )
            })
        } else {
            0
        };
        // Everything in front of the first frame not sent is taken: the sent ones and the
        // oversize ones dropped among them.
        let taken = if sent == k { stop } else { self.src[sent] };
        for slot in sent..k {
            if !self.in_place[slot] {
                // SAFETY: an unsent fresh copy is still ours; freed once.
                unsafe { sys::nfdp_pktmbuf_free(self.mbufs[slot]) };
            }
        }
        // The taken frames: a sent one's own mbuf belongs to the driver now (given up
        // where it lies, without a free or a move), heap buffers go back to the pool
        // (locked only for them); the rest (oversize mbufs) are dropped with the drain,
        // which frees them.
        let mut sent_bytes = 0;
        let mut slot = 0;
        let mut pool = None;
        for (i, p) in pkts[..taken].iter_mut().enumerate() {
            let has_slot = slot < sent && self.src[slot] == i;
            let in_place = has_slot && self.in_place[slot];
            if has_slot {
                sent_bytes += p.len();
                slot += 1;
            }
            if in_place {
                p.release_mbuf();
            } else if !p.in_mbuf() {
                pool.get_or_insert_with(|| self.lock_pool()).free(p.take());
            }
        }
        pkts.drain(..taken);
        let c = self.counters();
        c.tx_bytes.fetch_add(sent_bytes as u64, Ordering::Relaxed);
        let oversize = taken - sent;
        if oversize > 0 {
            c.errors.fetch_add(oversize as u64, Ordering::Relaxed);
        }
        taken
    }

    fn count_tx_dropped(&mut self, n: u64) {
        self.counters().tx_dropped.fetch_add(n, Ordering::Relaxed);
    }

    fn stats(&self) -> PortStats {
        self.inner.stats()
    }
}
