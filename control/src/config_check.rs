//! `nfdp config --check FILE`: what the daemon checks before it starts the EAL, without
//! starting anything. The config is loaded as `nfdp --config` loads it (`Config::load`:
//! ports, addresses, routes, policies, neighbours, conntrack tunables, EAL arguments, every
//! error `FILE:LINE: message`); the rules file it names is parsed as the daemon parses it and
//! compiled for the configured ports within `[dataplane] classifier_memory`, as the daemon's
//! first publication is; the API token file, when there is one, is read. The machine itself
//! (its cores, NICs and hugepages) is not looked at: a config can be checked anywhere.

use std::path::Path;

use crate::config::Config;
use dataplane::pipeline::CompiledRuleset;
use dataplane::ruleset::Ruleset;

/// What a config that passed describes, for the one line `config --check` prints.
#[derive(Debug)]
pub struct Checked {
    pub config: Config,
    pub rules: Ruleset,
}

impl Checked {
    /// `FILE: ok (2 ports, 1 route, ...; rules FILE: N rules[; sets FILE: N sets]
    /// [; rules6 FILE: N rules])`.
    pub fn summary(&self) -> String {
        let c = &self.config;
        let count =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let rules = match &c.rules_file {
            Some(p) => format!(
                "rules {}: {}",
                p.display(),
                count(rule_count(&self.rules), "rule", "rules")
            ),
            None => "no rules file (an empty ruleset)".to_string(),
        };
        let sets = match &c.ipset_file {
            Some(p) => format!(
                "; sets {}: {}",
                p.display(),
                count(self.rules.sets.iter().count(), "set", "sets")
            ),
            None => String::new(),
        };
        let rules6 = match (&c.rules_file6, &self.rules.ip6) {
            (Some(p), Some(rs6)) => format!(
                "; rules6 {}: {}",
                p.display(),
                count(rule_count(rs6), "rule", "rules")
            ),
            _ => String::new(),
        };
        format!(
            "{}: ok ({}, {}, {}, {}, {}; {rules}{sets}{rules6})",
            c.path.display(),
            count(c.ports.len(), "port", "ports"),
            count(c.workers.len(), "worker", "workers"),
            count(c.routes.len() + c.routes6.len(), "route", "routes"),
            count(c.policies.len(), "policy rule", "policy rules"),
            count(c.neighbors.len(), "neighbor", "neighbors"),
        )
    }
}

fn rule_count(rs: &Ruleset) -> usize {
    rs.tables
        .iter()
        .flat_map(|t| &t.chains)
        .map(|c| c.rules.len())
        .sum()
}

/// The line of `[api] token_file` (the config is kept without it: only this check needs it).
fn token_file_line(path: &Path) -> Option<usize> {
    #[derive(serde::Deserialize)]
    struct File {
        api: Api,
    }
    #[derive(serde::Deserialize)]
    struct Api {
        token_file: toml::Spanned<String>,
    }
    let src = crate::input_file::read_text(path, crate::config::CONFIG_FILE_LIMIT).ok()?;
    let file: File = toml::from_str(&src).ok()?;
    let start = file.api.token_file.span().start.min(src.len());
    Some(
        src.as_bytes()[..start]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1,
    )
}

/// Checks the config at `path` and everything it names; the error is the line to print.
pub fn check(path: &Path) -> Result<Checked, String> {
    let config = Config::load(path).map_err(|e| e.to_string())?;
    let rules = crate::daemon::load_config_rules(&config, None, None)?;
    let ports: Vec<String> = config.ports.iter().map(|p| p.name.clone()).collect();
    if let Err(e) =
        CompiledRuleset::try_compile_for_ports(&rules, 1, &ports, config.classifier_memory)
    {
        let origin = config
            .rules_file
            .as_deref()
            .unwrap_or(config.path.as_path());
        return Err(format!("{}: {e}", origin.display()));
    }
    if let Some(token) = &config.api_token_file {
        crate::api::server::read_token(token).map_err(|e| {
            let at = token_file_line(path).map_or(String::new(), |l| format!(":{l}"));
            format!("{}{at}: {e}", config.path.display())
        })?;
    }
    Ok(Checked { config, rules })
}
