//! Dropping capabilities once the ports are up (docs/deploy.md, "Privileges").
//!
//! Start-up needs privileges: `net_af_packet` opens raw sockets (CAP_NET_RAW) and sets the
//! interface's MAC, MTU and promiscuous mode (CAP_NET_ADMIN), the TAP port creates its
//! interface and `ip` gives it the appliance's addresses (CAP_NET_ADMIN), hugepages and PCI
//! devices need what the unit's comments list, and a metrics or API port below 1024 needs
//! CAP_NET_BIND_SERVICE while it is bound. Once that is done nothing nfdp does needs one:
//! the packet path reads and writes file descriptors it already has, the API and the
//! metrics port serve sockets already bound, and the rules file is rewritten in a
//! directory root owns.
//!
//! Capabilities belong to threads, not processes: each thread drops its own. The daemon
//! (`appliance.rs`) drops in two steps: before it starts its own threads (workers, the API
//! runtime, the control loop) the main thread keeps only what binding the listeners needs
//! (usually nothing), and [`drop_in_new_threads`] makes every thread nfdp starts from then
//! on drop everything first; once the listeners are bound the main thread drops the rest.
//! Of the threads the DPDK EAL started during its own initialisation, the idle worker
//! lcores (`rte-worker-N`) and the interrupt thread (`eal-intr-thread`) are made to drop
//! everything too (`Eal::run_on_eal_threads`); the multi-process (`rte_mp_handle`) and
//! telemetry (`telemetry-v2`) threads cannot be reached, run no nfdp code and keep what
//! the process had when the EAL started (`--no-shconf`, `--no-telemetry` remove them).
//!
//! Every set goes: bounding (when CAP_SETPCAP allows it, so a program nfdp ran could not
//! get a capability back through execve), ambient, inheritable, effective, permitted.

use caps::{CapSet, Capability, CapsHashSet};
use std::sync::atomic::{AtomicBool, Ordering};

static DROP_IN_NEW_THREADS: AtomicBool = AtomicBool::new(false);

/// From now on [`thread_start`] drops every capability of the thread it runs on.
pub fn drop_in_new_threads() {
    DROP_IN_NEW_THREADS.store(true, Ordering::SeqCst);
}

/// Called first thing on each thread nfdp starts (workers, the API runtime, the control
/// loop): drops everything once [`drop_in_new_threads`] was called, else does nothing (the
/// in-process tests and the replay tools keep what they run with).
pub fn thread_start() {
    if DROP_IN_NEW_THREADS.load(Ordering::SeqCst) {
        if let Err(e) = drop_this_thread(&CapsHashSet::new()) {
            tracing::error!(error = %e, thread = ?std::thread::current().name(), "cannot drop capabilities");
        }
    }
}

/// Drops every capability of the calling thread, logging a failure: for the EAL's own
/// threads (`Eal::run_on_eal_threads`).
pub fn drop_all_here() {
    if let Err(e) = drop_this_thread(&CapsHashSet::new()) {
        tracing::error!(error = %e, "cannot drop capabilities on an EAL thread");
    }
}

/// What binding the listeners needs: CAP_NET_BIND_SERVICE when a TCP port below 1024 is
/// configured (`[metrics] listen`, `[api] listen`), nothing otherwise.
pub fn needed_for_listeners(ports: impl IntoIterator<Item = u16>) -> CapsHashSet {
    let mut keep = CapsHashSet::new();
    if ports.into_iter().any(|p| p != 0 && p < 1024) {
        keep.insert(Capability::CAP_NET_BIND_SERVICE);
    }
    keep
}

/// Reduces the calling thread's capabilities to `keep` (those of it the thread has).
pub fn drop_this_thread(keep: &CapsHashSet) -> Result<(), String> {
    let err = |what: &str, e: caps::errors::CapsError| format!("{what}: {e}");
    if caps::has_cap(None, CapSet::Effective, Capability::CAP_SETPCAP).unwrap_or(false) {
        let bounding = caps::read(None, CapSet::Bounding).map_err(|e| err("bounding set", e))?;
        for cap in bounding.difference(keep) {
            caps::drop(None, CapSet::Bounding, *cap)
                .map_err(|e| err(&format!("bounding set, {cap}"), e))?;
        }
    }
    // Without ambient capabilities (kernels before 4.3) there is nothing to clear.
    if caps::runtime::ambient_set_supported().is_ok() {
        caps::clear(None, CapSet::Ambient).map_err(|e| err("ambient set", e))?;
    }
    let permitted = caps::read(None, CapSet::Permitted).map_err(|e| err("permitted set", e))?;
    let left: CapsHashSet = permitted.intersection(keep).copied().collect();
    caps::set(None, CapSet::Inheritable, &CapsHashSet::new())
        .map_err(|e| err("inheritable set", e))?;
    // Effective must stay within permitted: shrink it first.
    caps::set(None, CapSet::Effective, &left).map_err(|e| err("effective set", e))?;
    caps::set(None, CapSet::Permitted, &left).map_err(|e| err("permitted set", e))?;
    Ok(())
}

/// The calling thread's effective set, for the log (`none` when empty).
pub fn describe_this_thread() -> String {
    match caps::read(None, CapSet::Effective) {
        Ok(set) if set.is_empty() => "none".into(),
        Ok(set) => {
            let mut names: Vec<String> = set.iter().map(|c| c.to_string()).collect();
            names.sort();
            names.join(",")
        }
        Err(e) => format!("unknown ({e})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_service_only_for_ports_below_1024() {
        assert!(needed_for_listeners([9469, 50051]).is_empty());
        assert!(needed_for_listeners([0]).is_empty());
        assert_eq!(
            needed_for_listeners([9469, 443]),
            [Capability::CAP_NET_BIND_SERVICE].into_iter().collect()
        );
    }

    #[test]
    fn a_thread_that_drops_keeps_only_what_it_asked_for() {
        // On a thread of its own: the test process's other threads keep theirs.
        std::thread::spawn(|| {
            let keep = needed_for_listeners([80]);
            drop_this_thread(&keep).unwrap();
            let eff = caps::read(None, CapSet::Effective).unwrap();
            let prm = caps::read(None, CapSet::Permitted).unwrap();
            assert!(eff.is_subset(&keep), "{eff:?}");
            assert_eq!(eff, prm);
            assert!(caps::read(None, CapSet::Inheritable).unwrap().is_empty());
            drop_this_thread(&CapsHashSet::new()).unwrap();
            assert!(caps::read(None, CapSet::Effective).unwrap().is_empty());
            assert_eq!(describe_this_thread(), "none");
        })
        .join()
        .unwrap();
    }
}
