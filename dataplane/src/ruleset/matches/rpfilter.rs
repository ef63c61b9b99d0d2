//! `-m rpfilter [--loose] [--validmark] [--accept-local] [--invert]`: reverse path
//! filtering (xt_rpfilter, raw and mangle PREROUTING only): the route back to the
//! packet's source must leave by the port it arrived on (`--loose`: any route will do;
//! `--validmark`: the route for the packet's mark; `--accept-local`: a source that is one
//! of the appliance's own addresses counts, on the port that has it). The lookup itself is
//! the pipeline's (`eval::rpfilter_matches`), which has the FIB.

use crate::ruleset::ext::MatchEnv;
use crate::ruleset::packet::PacketView;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RpfilterMatch {
    pub loose: bool,
    pub validmark: bool,
    pub accept_local: bool,
    pub invert: bool,
}

/// `-m rpfilter` (rpfilter_mt): the FIB's route back to the packet's source.
pub fn rpfilter_matches<A>(
    r: &RpfilterMatch,
    view: &PacketView<'_>,
    env: &MatchEnv<'_, A>,
) -> bool {
    use crate::route::AddrType;
    let (src, dst) = (view.src, view.dst);
    // DHCP and the like: from 0.0.0.0/8 to the limited broadcast or 224.0.0.0/24.
    let zeronet_ok = src.octets()[0] == 0
        && (dst == std::net::Ipv4Addr::BROADCAST || u32::from(dst) >> 8 == 0xe0_00_00);
    let ok = zeronet_ok
        || match env.fib.addr_type(src, None) {
            // A local route is good with --accept-local, by the port holding the address
            // (127/8 has none: only --loose takes it).
            AddrType::Local => {
                r.accept_local && (r.loose || env.fib.local_port(src) == env.in_port)
            }
            AddrType::Unicast => {
                let mark = if r.validmark { env.mark } else { 0 };
                env.fib
                    .lookup(src, mark)
                    .is_some_and(|hop| r.loose || Some(hop.port) == env.in_port)
            }
            _ => false,
        };
    ok != r.invert
}

impl crate::ruleset::ext::MatchExt for RpfilterMatch {
    const NAME: &'static str = "rpfilter";
    const REVISION: u8 = 0;

    fn usable(&self) -> crate::ruleset::Usable {
        crate::ruleset::Usable::hooks(&[crate::ruleset::Hook::Prerouting])
    }

    fn tables(&self) -> Option<&'static [crate::ruleset::TableKind]> {
        use crate::ruleset::TableKind;
        Some(&[TableKind::Raw, TableKind::Mangle])
    }
}

impl crate::ruleset::ext::WorkerMatch for RpfilterMatch {
    fn decide<A: crate::ruleset::ext::ConnFamily>(
        &self,
        view: &PacketView<'_>,
        env: &mut MatchEnv<'_, A>,
        _st: &mut crate::ruleset::ext::RuleState,
    ) -> bool {
        rpfilter_matches(self, view, env)
    }
}
