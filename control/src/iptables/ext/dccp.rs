//! libxt_dccp: `[!] --sport`/`--source-port PORT[:PORT]`, `[!] --dport`/
//! `--destination-port`, `[!] --dccp-types TYPE,...` (names in any case; `INVALID` is every
//! type from 10 on), `[!] --dccp-option 1..255`. Saved `--sport 1:2 ! --dccp-types
//! REQUEST,RESET --dccp-option 32`; listed `dccp spt:1 dpts:!2:3 ! 0,7 option=32` (names
//! unless `-n`). Port names resolve as TCP services (`--dport http`), as libxt_dccp's do;
//! empty type names are skipped.

use super::{parse_port, Args};
use dataplane::ruleset::matches::dccp::{DccpMatch, TYPES};
use dataplane::ruleset::{Inv, PortRange};

pub const OPTIONS: &[&str] = &[
    "--source-port",
    "--sport",
    "--destination-port",
    "--dport",
    "--dccp-types",
    "--dccp-option",
];

/// libxt_dccp's ports: `a`, `a:b`, `:b`, `a:`; no check that `a <= b`.
fn ports(s: &str) -> Result<PortRange, String> {
    Ok(match s.split_once(':') {
        None => PortRange::single(parse_port(s, "tcp")?),
        Some((lo, hi)) => PortRange {
            lo: if lo.is_empty() {
                0
            } else {
                parse_port(lo, "tcp")?
            },
            hi: if hi.is_empty() {
                65535
            } else {
                parse_port(hi, "tcp")?
            },
        },
    })
}

fn types(s: &str) -> Result<u16, String> {
    let mut mask = 0u16;
    for name in s.split(',').filter(|n| !n.is_empty()) {
        let i = TYPES
            .iter()
            .position(|t| t.eq_ignore_ascii_case(name))
            .ok_or_else(|| format!("Unknown DCCP type `{name}'"))?;
        mask |= if i == 10 { !0u16 << 10 } else { 1 << i };
    }
    Ok(mask)
}

/// `print_types`: each set bit, by name (the first from 10 on as INVALID, then no more)
/// or by number.
fn type_list(mask: u16, numeric: bool) -> String {
    let mut out = Vec::new();
    for (i, name) in (0..16).map(|i| (i, TYPES[i.min(10)])) {
        if mask >> i & 1 == 1 {
            if numeric {
                out.push(i.to_string());
            } else {
                out.push(name.to_string());
                if i >= 10 {
                    break;
                }
            }
        }
    }
    out.join(",")
}

fn range(r: PortRange) -> String {
    if r.lo == r.hi {
        r.lo.to_string()
    } else {
        format!("{}:{}", r.lo, r.hi)
    }
}

impl super::MatchText for DccpMatch {
    fn new(_name: &str) -> Self {
        Default::default()
    }

    fn options(&self) -> &'static [&'static str] {
        OPTIONS
    }

    fn parse(
        &mut self,
        o: &str,
        inv: bool,
        args: &mut Args,
        _ctx: &super::Ctx,
    ) -> Result<(), String> {
        let m = self;
        let v = args.value(o)?;
        let twice = |set: bool| if set { Err(Self::repeated(o)) } else { Ok(()) };
        match o {
            "--source-port" | "--sport" => {
                twice(m.sport.is_some())?;
                m.sport = Some(Inv::new(inv, ports(&v)?));
            }
            "--destination-port" | "--dport" => {
                twice(m.dport.is_some())?;
                m.dport = Some(Inv::new(inv, ports(&v)?));
            }
            "--dccp-types" => {
                twice(m.types.is_some())?;
                m.types = Some(Inv::new(inv, types(&v)?));
            }
            _ => {
                twice(m.option.is_some())?;
                let n = super::parse_uint(&v)
                    .filter(|n| (1..=255).contains(n))
                    .ok_or_else(|| {
                        "dccp: bad value for option \"--dccp-option\", or out of range (1-255)."
                            .to_string()
                    })?;
                m.option = Some(Inv::new(inv, n as u8));
            }
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        for (name, r) in [("--sport", &self.sport), ("--dport", &self.dport)] {
            if let Some(r) = r {
                if r.inv {
                    out.push_str(" !");
                }
                out.push_str(&format!(" {name} {}", range(r.val)));
            }
        }
        if let Some(t) = self.types {
            if t.inv {
                out.push_str(" !");
            }
            out.push_str(" --dccp-types ");
            out.push_str(&type_list(t.val, false));
        }
        if let Some(o) = self.option {
            out.push_str(if o.inv {
                " ! --dccp-option "
            } else {
                " --dccp-option "
            });
            out.push_str(&o.val.to_string());
        }
    }

    fn list(&self, numeric: bool, out: &mut String) {
        out.push_str(" dccp");
        super::sctp::list_ports(&self.sport, &self.dport, out);
        if let Some(t) = self.types {
            if t.inv {
                out.push_str(" !");
            }
            out.push(' ');
            out.push_str(&type_list(t.val, numeric));
        }
        if let Some(o) = self.option {
            out.push_str(&format!(
                " option={}{}",
                if o.inv { "!" } else { "" },
                o.val
            ));
        }
    }

    /// What libxt_dccp (its guided option parser) says of an option given twice.
    fn repeated(opt: &str) -> String {
        let name = match opt {
            "--sport" | "--source-port" => "--source-port",
            "--dport" | "--destination-port" => "--destination-port",
            o => o,
        };
        format!("dccp: option \"{name}\" can only be used once.\n")
    }
}
