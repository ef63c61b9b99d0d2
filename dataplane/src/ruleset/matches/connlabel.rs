//! `-m connlabel [!] --label N [--set]` (xt_connlabel): bit `N` (0-127) of the packet's
//! connection's labels. A connection carries labels when it started while a ruleset with
//! a connlabel rule was installed (the kernel adds the labels extension to connections
//! created while `nf_connlabels_get` holds it); a packet without a connection, or whose
//! connection has no labels, matches only when inverted. `--set` sets the bit (and then
//! matches, `!` or not, as `connlabel_mt` answers `!invert` after setting it).

/// Label bits a connection holds (`XT_CONNLABEL_MAXBIT` + 1).
pub const LABEL_BITS: u16 = 128;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConnlabelMatch {
    /// The bit as iptables hands it over (a `u16`; the kernel refuses 128 and up).
    pub bit: u16,
    pub inv: bool,
    pub set: bool,
}

impl ConnlabelMatch {
    /// The kernel's `checkentry` (`nf_connlabels_get`: `-ERANGE` past the last bit).
    pub fn validate(&self) -> Result<(), String> {
        if self.bit >= LABEL_BITS {
            return Err(format!(
                "connlabel: label {} out of range (Numerical result out of range)",
                self.bit
            ));
        }
        Ok(())
    }

    fn mask(&self) -> u128 {
        1u128 << (self.bit % LABEL_BITS)
    }

    /// `connlabel_mt` on a connection's labels (`None`: no connection, or one without
    /// labels). Returns whether the match holds and, when `--set` changed them, the
    /// connection's new labels.
    pub fn eval(&self, labels: Option<u128>) -> (bool, Option<u128>) {
        let Some(l) = labels else {
            return (self.inv, None);
        };
        if l & self.mask() != 0 {
            return (!self.inv, None);
        }
        if self.set {
            return (!self.inv, Some(l | self.mask()));
        }
        (self.inv, None)
    }
}

impl crate::ruleset::ext::MatchExt for ConnlabelMatch {
    /// xt_connlabel is NFPROTO_UNSPEC: IPv6 connections carry labels as IPv4 ones do.
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    const NAME: &'static str = "connlabel";
    const REVISION: u8 = 0;

    fn validate(&self, _spec: &crate::ruleset::RuleSpec) -> Result<(), String> {
        ConnlabelMatch::validate(self)
    }
}

impl crate::ruleset::ext::WorkerMatch for ConnlabelMatch {
    fn decide<A: crate::ruleset::ext::ConnFamily>(
        &self,
        _view: &crate::ruleset::packet::PacketView<'_>,
        env: &mut crate::ruleset::ext::MatchEnv<'_, A>,
        _st: &mut crate::ruleset::ext::RuleState,
    ) -> bool {
        // `--set` changes the connection's labels whether the rule matches or not.
        let (hit, set) = self.eval(env.labels());
        if set.is_some() {
            env.labels_set = set;
        }
        hit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(bit: u16, inv: bool, set: bool) -> ConnlabelMatch {
        ConnlabelMatch { bit, inv, set }
    }

    #[test]
    fn tests_one_bit() {
        let l = Some(1u128 << 5 | 1u128 << 127);
        assert_eq!(m(5, false, false).eval(l), (true, None));
        assert_eq!(m(127, false, false).eval(l), (true, None));
        assert_eq!(m(6, false, false).eval(l), (false, None));
        assert_eq!(m(5, true, false).eval(l), (false, None));
        assert_eq!(m(6, true, false).eval(l), (true, None));
        assert_eq!(m(0, false, false).eval(Some(0)), (false, None));
    }

    #[test]
    fn set_sets_and_matches_even_inverted() {
        let l = Some(1u128);
        assert_eq!(m(3, false, true).eval(l), (true, Some(0b1001)));
        // `! --label 3 --set`: the bit is set and the match fails (`!invert`).
        assert_eq!(m(3, true, true).eval(l), (false, Some(0b1001)));
        // Already set: nothing to change.
        assert_eq!(m(0, false, true).eval(l), (true, None));
        assert_eq!(m(0, true, true).eval(l), (false, None));
        assert_eq!(m(127, false, true).eval(Some(0)), (true, Some(1 << 127)));
    }

    #[test]
    fn without_labels_only_the_inverted_match_holds() {
        for set in [false, true] {
            assert_eq!(m(1, false, set).eval(None), (false, None));
            assert_eq!(m(1, true, set).eval(None), (true, None));
        }
    }

    #[test]
    fn bits_past_127_are_refused() {
        assert!(m(127, false, false).validate().is_ok());
        let e = m(128, false, false).validate().unwrap_err();
        assert!(e.contains("(Numerical result out of range)"), "{e}");
        assert!(m(u16::MAX, false, true).validate().is_err());
    }
}
