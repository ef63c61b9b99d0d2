//! libxt_CONNMARK (rev 1): set (as `--set-xmark`), `--save-mark`, `--restore-mark`
//! with `--nfmask`/`--ctmask` (`--mask` sets both).

use super::t_mark::parse_xmark;
use super::{parse_u32, Args};
use dataplane::ruleset::targets::connmark::ConnmarkTarget;
use std::fmt::Write;

pub const OPTIONS: &[&str] = &[
    "--set-xmark",
    "--set-mark",
    "--and-mark",
    "--or-mark",
    "--xor-mark",
    "--save-mark",
    "--restore-mark",
    "--mask",
    "--nfmask",
    "--ctmask",
];

pub fn parse(t: &mut ConnmarkTarget, o: &str, args: &mut Args) -> Result<(), String> {
    let set_masks = |t: &mut ConnmarkTarget, nf: Option<u32>, ct: Option<u32>| match t {
        ConnmarkTarget::Save { nfmask, ctmask } | ConnmarkTarget::Restore { nfmask, ctmask } => {
            if let Some(n) = nf {
                *nfmask = n;
            }
            if let Some(c) = ct {
                *ctmask = c;
            }
            Ok(())
        }
        _ => Err(
            "CONNMARK: --mask, --nfmask and --ctmask need --save-mark or --restore-mark"
                .to_string(),
        ),
    };
    match o {
        "--save-mark" => {
            *t = ConnmarkTarget::Save {
                nfmask: u32::MAX,
                ctmask: u32::MAX,
            }
        }
        "--restore-mark" => {
            *t = ConnmarkTarget::Restore {
                nfmask: u32::MAX,
                ctmask: u32::MAX,
            }
        }
        "--mask" => {
            let m = parse_u32(&args.value(o)?, o)?;
            set_masks(t, Some(m), Some(m))?
        }
        "--nfmask" => {
            let m = parse_u32(&args.value(o)?, o)?;
            set_masks(t, Some(m), None)?
        }
        "--ctmask" => {
            let m = parse_u32(&args.value(o)?, o)?;
            set_masks(t, None, Some(m))?
        }
        _ => {
            let (value, mask) = parse_xmark(o, &args.value(o)?)?;
            *t = ConnmarkTarget::SetXmark { value, mask };
        }
    }
    Ok(())
}

impl super::TargetText for ConnmarkTarget {
    fn new() -> Self {
        ConnmarkTarget::SetXmark { value: 0, mask: 0 }
    }

    fn options(&self) -> &'static [&'static str] {
        OPTIONS
    }

    fn parse(&mut self, opt: &str, inv: bool, args: &mut Args) -> Result<(), String> {
        super::no_inv(inv, opt)?;
        parse(self, opt, args)
    }

    fn finish(&mut self, seen: &[&'static str]) -> Result<(), String> {
        let modes = seen
            .iter()
            .filter(|o| !matches!(**o, "--mask" | "--nfmask" | "--ctmask"))
            .count();
        match modes {
            0 => Err("CONNMARK target: No operation specified".into()),
            1 => Ok(()),
            _ => Err(
                "CONNMARK target: Only one of --set-xmark, --save-mark or --restore-mark may be given"
                    .into(),
            ),
        }
    }

    fn save(&self, out: &mut String) {
        let _ = match self {
            ConnmarkTarget::SetXmark { value, mask } => {
                write!(out, " --set-xmark 0x{value:x}/0x{mask:x}")
            }
            ConnmarkTarget::Save { nfmask, ctmask } => {
                write!(
                    out,
                    " --save-mark --nfmask 0x{nfmask:x} --ctmask 0x{ctmask:x}"
                )
            }
            ConnmarkTarget::Restore { nfmask, ctmask } => {
                write!(
                    out,
                    " --restore-mark --nfmask 0x{nfmask:x} --ctmask 0x{ctmask:x}"
                )
            }
        };
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        let _ = match *self {
            ConnmarkTarget::SetXmark { value, mask } => {
                super::t_mark::list_xmark(out, "CONNMARK", value, mask);
                Ok(())
            }
            ConnmarkTarget::Save { nfmask, ctmask } => {
                if nfmask == u32::MAX && ctmask == u32::MAX {
                    write!(out, " CONNMARK save")
                } else if nfmask == ctmask {
                    write!(out, " CONNMARK save mask 0x{nfmask:x}")
                } else {
                    write!(
                        out,
                        " CONNMARK save nfmask 0x{nfmask:x} ctmask ~0x{ctmask:x}"
                    )
                }
            }
            ConnmarkTarget::Restore { nfmask, ctmask } => {
                if nfmask == u32::MAX && ctmask == u32::MAX {
                    write!(out, " CONNMARK restore")
                } else if nfmask == ctmask {
                    write!(out, " CONNMARK restore mask 0x{ctmask:x}")
                } else {
                    write!(
                        out,
                        " CONNMARK restore ctmask 0x{ctmask:x} nfmask ~0x{nfmask:x}"
                    )
                }
            }
        };
    }
}
