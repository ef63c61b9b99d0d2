//! `-j MARK`: set the packet mark. Every spelling reduces to the kernel's
//! `mark = (mark & !mask) ^ value` (what `--set-xmark value/mask` says).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarkTarget {
    pub value: u32,
    pub mask: u32,
}

impl MarkTarget {
    #[inline]
    pub fn apply(&self, mark: u32) -> u32 {
        (mark & !self.mask) ^ self.value
    }
}

impl crate::ruleset::ext::TargetExt for MarkTarget {
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    const NAME: &'static str = "MARK";
    const REVISION: u8 = 2;
    const TERMINAL: bool = false;

    fn run(
        &self,
        cx: &mut crate::ruleset::ext::TargetCx<'_>,
    ) -> crate::ruleset::ext::TargetOutcome {
        cx.set_mark(self.apply(cx.mark()));
        crate::ruleset::ext::TargetOutcome::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xmark_covers_set_and_or_xor() {
        // --set-mark 0x10/0xf0 is set-xmark 0x10/0xf0: clear the masked bits, then xor.
        assert_eq!(
            MarkTarget {
                value: 0x10,
                mask: 0xf0
            }
            .apply(0xffff_ffff),
            0xffff_ff1f
        );
        // --and-mark 0x0f is 0x0/0xfffffff0.
        assert_eq!(
            MarkTarget {
                value: 0,
                mask: !0x0f
            }
            .apply(0xab),
            0x0b
        );
        // --or-mark 0x100 is 0x100/0x100.
        assert_eq!(
            MarkTarget {
                value: 0x100,
                mask: 0x100
            }
            .apply(0x1),
            0x101
        );
        // --xor-mark 0x3 is 0x3/0x0.
        assert_eq!(
            MarkTarget {
                value: 0x3,
                mask: 0
            }
            .apply(0x1),
            0x2
        );
    }
}
