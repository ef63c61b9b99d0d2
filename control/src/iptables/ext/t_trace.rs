//! libxt_TRACE: `-j TRACE` takes no options.

impl super::TargetText for dataplane::ruleset::targets::trace::TraceTarget {
    fn new() -> Self {
        dataplane::ruleset::targets::trace::TraceTarget
    }

    fn options(&self) -> &'static [&'static str] {
        &[]
    }

    fn parse(&mut self, opt: &str, _inv: bool, _args: &mut super::Args) -> Result<(), String> {
        Err(format!("unknown option \"{opt}\""))
    }

    fn save(&self, out: &mut String) {
        let _ = out;
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        let _ = out;
    }
}
