//! The suite's test bench: the generator and nfdp workers in one process over two
//! `net_ring` ports (each queue is a loopback ring: what a lane transmits on a port comes
//! back on that port's receive side). One lane per worker: its generator transmits on
//! lan0 queue q, the forwarding stage (io forwarding, a 5-tuple swap, or an nfdp `Worker`)
//! reads lan0 and writes wan0, and the generator receives on wan0 queue q, in turn on one
//! thread. The stage's own time is measured apart from the generator's, so figures are
//! per worker; the wall-clock rate (generator included) is reported beside them.

use crate::pktgen::dpdk::{eal_args, open_port};
use crate::pktgen::fields::{FlowSpec, FlowSpec6};
use crate::pktgen::packet::{Macs, Sizes, MIN_SIZE6};
use crate::pktgen::rx::RxCounter;
use crate::pktgen::tcp::TcpGen;
use crate::pktgen::{Clock, GenConfig, Generator};
use control::iptables::{restore, RestoreOptions};
use dataplane::conntrack::CtConfig;
use dataplane::pipeline::{CompiledRuleset, Pipeline};
use dataplane::port::dpdk::{DpdkPort, DpdkQueue, Eal};
use dataplane::port::{MacAddr, PacketPool, Port};
use dataplane::ruleset::{Family, Ruleset};
use dataplane::worker::Worker;
use std::sync::{Arc, Mutex};
use std::time::Instant;

pub const LAN_MAC: MacAddr = MacAddr([2, 0, 0, 0, 1, 1]);
pub const HOST_MAC: MacAddr = MacAddr([2, 0, 0, 0, 1, 0x10]);
pub const BURST: usize = 32;
/// The IPv6 LAN host (S1v6's source) and server (on wan0's /64).
pub const HOST6: &str = "2001:db8:1::10";
pub const SERVER6: &str = "2001:db8:ff::53";

/// The gateway: lan0 192.168.1.1/24, wan0 203.0.113.1/24, a default route via
/// 203.0.113.254, static neighbours for it and the LAN host 192.168.1.10. For IPv6,
/// lan0 2001:db8:1::1/64 and wan0 2001:db8:ff::1/64 with static neighbours for the LAN
/// host `HOST6` and the server `SERVER6` (no neighbour discovery during a run).
pub fn topology() -> control::config::Topology {
    topology_with("192.168.1.1/24", "\"203.0.113.1/24\"")
}

/// `topology` with lan0's address and wan0's addresses (TOML list items) given.
pub fn topology_with(lan: &str, wan: &str) -> control::config::Topology {
    control::config::Config::parse(
        &format!(
            "[[port]]\nname = \"lan0\"\ndriver = \"mem\"\nmac = \"02:00:00:00:01:01\"\naddresses = [\"{lan}\", \"2001:db8:1::1/64\"]\n\
             [[port]]\nname = \"wan0\"\ndriver = \"mem\"\nmac = \"02:00:00:00:02:01\"\naddresses = [{wan}, \"2001:db8:ff::1/64\"]\n\
             [[route]]\ndst = \"0.0.0.0/0\"\nvia = \"203.0.113.254\"\n\
             [[neighbor]]\nip = \"203.0.113.254\"\nmac = \"02:00:00:00:02:fe\"\n\
             [[neighbor]]\nip = \"192.168.1.10\"\nmac = \"02:00:00:00:01:10\"\n\
             [[neighbor]]\nip = \"{SERVER6}\"\nmac = \"02:00:00:00:02:fe\"\n\
             [[neighbor]]\nip = \"{HOST6}\"\nmac = \"02:00:00:00:01:10\"\n"
        ),
        std::path::Path::new("suite.toml"),
    )
    .expect("the suite's config parses")
    .build()
    .expect("the suite's topology builds")
}

/// iptables-restore text -> a ruleset compiled for lan0/wan0.
pub fn compile(rules: &str) -> Result<CompiledRuleset, String> {
    let mut rs = Ruleset::default();
    restore(rules, &mut rs, RestoreOptions::default()).map_err(|e| e.to_string())?;
    Ok(CompiledRuleset::compile_for_ports(
        &rs,
        1,
        &["lan0".to_string(), "wan0".to_string()],
    ))
}

/// `compile` with ip6tables-restore text for the IPv6 tables too.
pub fn compile46(rules: &str, rules6: &str) -> Result<CompiledRuleset, String> {
    let mut rs = Ruleset::default();
    restore(rules, &mut rs, RestoreOptions::default()).map_err(|e| e.to_string())?;
    let mut rs6 = Ruleset::new(Family::V6);
    let opts = RestoreOptions {
        packet_path: true,
        ..RestoreOptions::default()
    };
    restore(rules6, &mut rs6, opts).map_err(|e| format!("ip6tables: {e}"))?;
    rs.ip6 = Some(Arc::new(rs6));
    Ok(CompiledRuleset::compile_for_ports(
        &rs,
        1,
        &["lan0".to_string(), "wan0".to_string()],
    ))
}

pub struct Bench {
    pub eal: Eal,
    pub lan: DpdkPort,
    pub wan: DpdkPort,
    pub topo: control::config::Topology,
    pub queues: u16,
    /// The workers' clock origin.
    pub epoch: Instant,
}

impl Bench {
    pub fn new(queues: u16) -> Result<Bench, String> {
        // Let the main lcore (and the worker threads it spawns, which inherit its
        // affinity) run on every CPU.
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let extra = vec![format!("--lcores=0@(0-{})", cpus - 1)];
        let eal = Eal::init(&eal_args("nfdp-suite", 2048, &["net_ring0"], &extra))
            .map_err(|e| e.to_string())?;
        let lan =
            open_port(&eal, 0, "lan0", "net_ring0", queues, 16383).map_err(|e| e.to_string())?;
        let wan =
            open_port(&eal, 1, "wan0", "net_ring1", queues, 16383).map_err(|e| e.to_string())?;
        Ok(Bench {
            eal,
            lan,
            wan,
            topo: topology(),
            queues,
            epoch: Instant::now(),
        })
    }

    pub fn pipeline(&self, rules: Arc<CompiledRuleset>, ct: CtConfig) -> Pipeline {
        let mut p = Pipeline::new(rules, self.topo.fib.clone(), self.topo.neighbors.clone());
        p.add_neighbors6(&self.topo.neighbors6);
        p.set_conntrack_config(ct);
        p
    }

    pub fn lane(&self, q: u16) -> Lane {
        let pool = Arc::new(Mutex::new(PacketPool::with_defaults(2048)));
        Lane {
            lan: self
                .lan
                .try_queue_with_pool(q, pool.clone())
                .expect("lan queue"),
            wan: self.wan.try_queue_with_pool(q, pool).expect("wan queue"),
            epoch: self.epoch,
            clock_step_ns: virtual_clock_from_env(),
            virtual_ns: 1_000_000_000,
        }
    }
}

/// `NFDP_BENCH_CLOCK_STEP_NS`: every lane's worker runs on a virtual clock advancing by
/// this much per burst, so that timeouts depend on the packet count only. For counting
/// instructions under callgrind (`perf/instructions.sh`), where the real clock runs ~50x
/// slower per packet and would change what expires; never for rates.
fn virtual_clock_from_env() -> Option<u64> {
    std::env::var("NFDP_BENCH_CLOCK_STEP_NS")
        .ok()
        .and_then(|v| v.parse().ok())
}

/// One worker's queues on both ports.
pub struct Lane {
    pub lan: DpdkQueue,
    pub wan: DpdkQueue,
    epoch: Instant,
    /// A virtual clock for the worker instead of the real one: each burst advances it
    /// by this many nanoseconds (timeouts then scale with the packet count).
    pub clock_step_ns: Option<u64>,
    virtual_ns: u64,
}

/// What forwards lan0 -> wan0.
pub enum Stage<'a> {
    /// testpmd io: mbufs moved untouched.
    Io,
    /// testpmd 5tswap: MACs, addresses and ports swapped in place.
    Swap5,
    /// An nfdp worker (the full path: rx, pipeline, tx).
    Worker(&'a mut Worker),
}

impl Stage<'_> {
    pub fn name(&self) -> &'static str {
        match self {
            Stage::Io => "io",
            Stage::Swap5 => "5tswap",
            Stage::Worker(_) => "nfdp",
        }
    }
}

/// testpmd's 5tswap on an Ethernet/IPv4-or-IPv6/UDP-or-TCP frame (checksums stay valid:
/// the swapped fields are summed the same).
#[inline]
pub fn swap5(f: &mut [u8]) {
    if f.len() >= 38 && f[12..14] == [0x08, 0x00] {
        for i in 0..6 {
            f.swap(i, 6 + i);
        }
        let l4 = 14 + usize::from(f[14] & 0x0f) * 4;
        for i in 0..4 {
            f.swap(26 + i, 30 + i);
        }
        if matches!(f[23], 6 | 17) && f.len() >= l4 + 4 {
            f.swap(l4, l4 + 2);
            f.swap(l4 + 1, l4 + 3);
        }
    } else if f.len() >= 58 && f[12..14] == [0x86, 0xdd] {
        // No extension headers: the generator writes none.
        for i in 0..6 {
            f.swap(i, 6 + i);
        }
        let (src, dst) = f[22..54].split_at_mut(16);
        src.swap_with_slice(dst);
        if matches!(f[20], 6 | 17) {
            f.swap(54, 56);
            f.swap(55, 57);
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Measure {
    pub sent: u64,
    pub received: u64,
    pub lost: u64,
    /// Nanoseconds inside the forwarding stage.
    pub stage_ns: u64,
    pub wall_ns: u64,
}

impl Measure {
    /// Packets per second of the stage alone (one worker's rate).
    pub fn stage_mpps(&self) -> f64 {
        self.received as f64 * 1e3 / self.stage_ns.max(1) as f64
    }

    /// Packets per second with the generator on the same core.
    pub fn wall_mpps(&self) -> f64 {
        self.received as f64 * 1e3 / self.wall_ns.max(1) as f64
    }

    pub fn add(&mut self, o: &Measure) {
        self.sent += o.sent;
        self.received += o.received;
        self.lost += o.lost;
        self.stage_ns = self.stage_ns.max(o.stage_ns);
        self.wall_ns = self.wall_ns.max(o.wall_ns);
    }
}

impl Lane {
    /// The worker's clock: real time since the bench started (plus 1 s), or the virtual
    /// clock advanced by one step.
    pub fn now_ns(&mut self) -> u64 {
        match self.clock_step_ns {
            Some(step) => {
                self.virtual_ns += step;
                self.virtual_ns
            }
            None => self.epoch.elapsed().as_nanos() as u64 + 1_000_000_000,
        }
    }

    /// The virtual clock's reading (without advancing it).
    pub fn virtual_now(&self) -> u64 {
        self.virtual_ns
    }

    /// One pass of the stage over what lan0 holds.
    pub fn forward(&mut self, stage: &mut Stage) {
        match stage {
            Stage::Io => while self.lan.forward_burst(&mut self.wan, BURST, None).0 > 0 {},
            Stage::Swap5 => while self.lan.forward_burst_map(&mut self.wan, BURST, swap5).0 > 0 {},
            Stage::Worker(w) => {
                let now = self.now_ns();
                let mut ports: [&mut dyn Port; 2] = [&mut self.lan, &mut self.wan];
                w.poll(&mut ports, now);
            }
        }
    }

    /// Everything waiting on both ports' receive sides into `rxc`.
    pub fn drain(&mut self, rxc: &mut RxCounter, now: u64) -> usize {
        let mut n = 0;
        loop {
            let k = self.wan.rx_inspect(64, |f| rxc.frame(f, now))
                + self.lan.rx_inspect(64, |f| rxc.frame(f, now));
            n += k;
            if k == 0 {
                return n;
            }
        }
    }

    /// Closed loop for `secs`: a burst from the generator, the stage, the generator's
    /// receive.
    pub fn measure(
        &mut self,
        gen: &mut Generator,
        rxc: &mut RxCounter,
        stage: &mut Stage,
        secs: f64,
    ) -> Measure {
        self.measure_mixed(gen, rxc, stage, secs, |_| {})
    }

    /// `measure` with `mix` adding other traffic to lan0 before each burst goes through
    /// the stage (a flood); only the generator's frames are counted. The worker must
    /// read the generator's burst and the mix in one poll (its burst at least their
    /// sum): what it leaves in lan0's ring is drained by the generator's receive after
    /// the pass and never reaches it.
    pub fn measure_mixed(
        &mut self,
        gen: &mut Generator,
        rxc: &mut RxCounter,
        stage: &mut Stage,
        secs: f64,
        mut mix: impl FnMut(&mut DpdkQueue),
    ) -> Measure {
        gen.reset_counts();
        rxc.reset();
        let start = Instant::now();
        let mut stage_ns = 0u64;
        let deadline = (secs * 1e9) as u64;
        loop {
            for _ in 0..64 {
                let now = start.elapsed().as_nanos() as u64;
                gen.send(&mut self.lan, BURST, now);
                mix(&mut self.lan);
                let t = Instant::now();
                self.forward(stage);
                stage_ns += t.elapsed().as_nanos() as u64;
                self.drain(rxc, now);
            }
            if start.elapsed().as_nanos() as u64 >= deadline {
                break;
            }
        }
        let wall_ns = start.elapsed().as_nanos() as u64;
        // Whatever is still in a ring.
        for _ in 0..4 {
            self.forward(stage);
            self.drain(rxc, wall_ns);
        }
        let r = rxc.report(&gen.sent_per_flow());
        Measure {
            sent: r.sent,
            received: r.received,
            lost: r.lost,
            stage_ns,
            wall_ns,
        }
    }

    /// S8's closed loop for `secs`: the TCP generator's client segments on lan0 and its
    /// server's answers on wan0, the worker, then both ends receive. Every frame an end
    /// receives went through the worker once: they are the measure's packets (`sent`: the
    /// segments both ends sent meanwhile). The stage's time is the worker's alone.
    pub fn measure_tcp(
        &mut self,
        gen: &mut TcpGen,
        rxc: &mut RxCounter,
        worker: &mut Worker,
        secs: f64,
    ) -> Measure {
        let segments = |g: &TcpGen| {
            let k = g.counts;
            k.data_segments + k.control_segments + k.server_segments
        };
        let sent0 = segments(gen);
        let clock = Clock::real();
        let start = Instant::now();
        let deadline = (secs * 1e9) as u64;
        let (mut stage_ns, mut received) = (0u64, 0u64);
        loop {
            for _ in 0..64 {
                gen.transmit_pair(&mut self.lan, &mut self.wan, clock.now(), BURST);
                let t = Instant::now();
                self.forward(&mut Stage::Worker(worker));
                stage_ns += t.elapsed().as_nanos() as u64;
                received += gen.receive_pair(&mut self.lan, &mut self.wan, rxc, &clock) as u64;
            }
            if start.elapsed().as_nanos() as u64 >= deadline {
                break;
            }
        }
        Measure {
            sent: segments(gen) - sent0,
            received,
            lost: 0,
            stage_ns,
            wall_ns: start.elapsed().as_nanos() as u64,
        }
    }

    /// Sends every flow of `gen` once through `worker`, then each one's reply (the
    /// forwarded frame 5-tuple-swapped) back in on wan0: UDP flows become ESTABLISHED.
    /// Returns how many replies came out on lan0.
    pub fn establish(&mut self, gen: &mut Generator, worker: &mut Worker) -> u64 {
        let flows = u64::from(gen.flows());
        gen.reset_counts();
        let mut out: Vec<Vec<u8>> = Vec::with_capacity(flows as usize);
        while gen.sent < flows {
            let n = (flows - gen.sent).min(BURST as u64) as usize;
            gen.send(&mut self.lan, n, 0);
            let mut stage = Stage::Worker(worker);
            self.forward(&mut stage);
            while self.wan.rx_inspect(64, |f| out.push(f.to_vec())) > 0 {}
        }
        let mut replies = 0u64;
        for chunk in out.chunks(BURST) {
            self.wan.tx_build(chunk.len(), |i, room| {
                let f = &chunk[i];
                room[..f.len()].copy_from_slice(f);
                swap5(&mut room[..f.len()]);
                f.len()
            });
            let mut stage = Stage::Worker(worker);
            self.forward(&mut stage);
            while self.lan.rx_inspect(64, |_| replies += 1) > 0 {}
        }
        gen.reset_counts();
        replies
    }
}

/// `generator` for IPv6 frames of `flows`, 84 bytes on the wire (the smallest that holds
/// the stamp; S1's IPv4 frames are 64).
pub fn generator6(flows: FlowSpec6) -> Generator {
    Generator::new(GenConfig {
        flows6: Some(flows),
        flows: FlowSpec::default(),
        sizes: Sizes::Fixed(MIN_SIZE6),
        macs: Macs {
            src: HOST_MAC,
            dst: LAN_MAC,
        },
    })
    .expect("the suite's flows are valid")
}

/// A UDP generator from the LAN host's MAC to lan0.
pub fn generator(flows: FlowSpec) -> Generator {
    Generator::new(GenConfig {
        flows6: None,
        flows,
        sizes: Sizes::Fixed(64),
        macs: Macs {
            src: HOST_MAC,
            dst: LAN_MAC,
        },
    })
    .expect("the suite's flows are valid")
}
