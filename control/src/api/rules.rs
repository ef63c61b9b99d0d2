//! The Rules service: iptables-restore, iptables, iptables-save and `iptables -Z` against
//! the running ruleset, and their ip6tables forms against ip6tables' tables (`Ruleset::ip6`)
//! for requests of the IPv6 family. Every accepted change is written back (with persist)
//! and then published with one swap; a refused one changes nothing.

use super::pb::rules_server::Rules;
use super::pb::{
    ExecReply, ExecRequest, IpFamily, RestoreReply, RestoreRequest, SaveReply, SaveRequest,
    ZeroReply, ZeroRequest,
};
use super::{blocking, workers_status};
use crate::daemon::core::names_a_table;
use crate::daemon::metrics::ruleset_with_counters;
use crate::daemon::worker::Command as WorkerCommand;
use crate::daemon::{Control, PublishError};
use crate::iptables::cli::{
    exec_refusal_in, parse_refusal_in, program, restore_refusal_in, Refusal,
};
use crate::iptables::command::{parse_command_in, Command, Source};
use crate::iptables::{execute_typed, restore, save_ruleset, save_table, RestoreOptions};
use dataplane::pipeline::compile::SlotOwner;
use dataplane::ruleset::Family;
use dataplane::ruleset::{Counters, Ruleset, TableKind};
use std::sync::Arc;
use tonic::metadata::MetadataValue;
use tonic::{Request, Response, Status};

pub struct RulesService {
    control: Arc<Control>,
}

impl RulesService {
    pub fn new(control: Arc<Control>) -> RulesService {
        RulesService { control }
    }
}

/// A ruleset the data plane refused (its classifier is over the memory budget) is the
/// client's INVALID_ARGUMENT; a rules file that could not be written is INTERNAL. Either
/// way nothing changed.
fn publish_status(e: PublishError) -> Status {
    match e {
        PublishError::Refused(e) => Status::invalid_argument(e.to_string()),
        PublishError::Failed(e) => Status::internal(e),
    }
}

/// The family a request names; a value this daemon does not know is refused rather than
/// taken for IPv4.
pub fn family_of(v: i32) -> Result<Family, Status> {
    match IpFamily::try_from(v) {
        Ok(IpFamily::Ipv4) => Ok(Family::V4),
        Ok(IpFamily::Ipv6) => Ok(Family::V6),
        Err(_) => Err(Status::invalid_argument(format!(
            "unknown address family {v}"
        ))),
    }
}

/// `family`'s tables in `rs`, to change in place: `rs` itself, or ip6tables' (empty ones
/// when none were loaded).
fn tables_mut(rs: &mut Ruleset, family: Family) -> &mut Ruleset {
    match family {
        Family::V4 => rs,
        Family::V6 => Arc::make_mut(
            rs.ip6
                .get_or_insert_with(|| Arc::new(Ruleset::new(Family::V6))),
        ),
    }
}

/// Whether `family`'s tables differ between `a` and `b` (no ip6tables tables and empty
/// ones are the same: creating them alone publishes nothing).
fn family_changed(a: &Ruleset, b: &Ruleset, family: Family) -> bool {
    match family {
        Family::V4 => a != b,
        Family::V6 => {
            let empty = Ruleset::new(Family::V6);
            a.ip6.as_deref().unwrap_or(&empty) != b.ip6.as_deref().unwrap_or(&empty)
        }
    }
}

/// INVALID_ARGUMENT with the program's stderr as the message and its exit status in the
/// `nfdp-exit-code` metadata.
pub fn refused(r: Refusal) -> Status {
    let mut s = Status::invalid_argument(r.stderr);
    s.metadata_mut()
        .insert("nfdp-exit-code", MetadataValue::from(r.code));
    s
}

/// `-T TABLE`: the text with every other table's section blanked (line numbers kept).
/// A TABLE that is no table is no error of its own, as in iptables-restore 1.8.9: a text
/// without its section restores nothing, a `*TABLE` line is refused where it stands.
/// Public for the API fuzz target (fuzz/).
pub fn only_table(text: &str, table: &str) -> String {
    let mut keep = false;
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let t = line.trim();
        if let Some(name) = t.strip_prefix('*') {
            keep = name.trim() == table;
        }
        if keep {
            out.push_str(line);
        }
        if keep && t == "COMMIT" {
            keep = false;
        }
        out.push('\n');
    }
    out
}

pub fn restore_text(control: &Control, req: RestoreRequest) -> Result<RestoreReply, Status> {
    let family = family_of(req.family)?;
    let text = if req.table.is_empty() {
        req.text
    } else {
        only_table(&req.text, &req.table)
    };
    let _g = control.lock_changes();
    let (current, _) = control.shared.current_rules();
    let mut rs = (*current).clone();
    rs.with_family(family, |t| {
        restore(
            &text,
            t,
            RestoreOptions {
                noflush: req.noflush,
                counters: req.counters,
                packet_path: true,
            },
        )
    })
    .map_err(|e| refused(restore_refusal_in(&text, &e, family)))?;
    if req.test || !names_a_table(&text) {
        return Ok(RestoreReply { generation: 0 });
    }
    let generation = control.commit_family(rs, family).map_err(publish_status)?;
    if req.counters {
        // -c: the restored tables count from the text's values, not from the workers'
        // carried-over counts.
        let named: Vec<TableKind> = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix('*'))
            .filter_map(|n| TableKind::from_name(n.trim()))
            .collect();
        let (_, compiled) = control.shared.current_rules();
        let slots: Vec<usize> = compiled
            .slots
            .iter()
            .enumerate()
            .filter(|(_, owner)| match owner {
                SlotOwner::Policy { table, .. } | SlotOwner::Rule { table, .. } => {
                    owner.family() == family && named.contains(table)
                }
            })
            .map(|(i, _)| i)
            .collect();
        zero_counters(control, compiled.generation, &slots)?;
    }
    Ok(RestoreReply { generation })
}

/// Has every worker zero the counters of rule `slots` of ruleset `generation`.
fn zero_counters(control: &Control, generation: u64, slots: &[usize]) -> Result<(), Status> {
    control
        .workers
        .broadcast(|done| WorkerCommand::ZeroCounters {
            generation,
            slots: slots.to_vec(),
            done,
        })
        .map_err(workers_status)
}

fn reply(stdout: String, r: Option<Refusal>, generation: u64) -> ExecReply {
    match r {
        None => ExecReply {
            stdout,
            stderr: String::new(),
            exit_code: 0,
            generation,
        },
        Some(r) => ExecReply {
            stdout,
            stderr: r.stderr,
            exit_code: r.code,
            generation: 0,
        },
    }
}

pub fn exec_args(control: &Control, args: Vec<String>) -> Result<ExecReply, Status> {
    exec_args_in(control, args, Family::V4)
}

/// One iptables (`Family::V4`) or ip6tables (`Family::V6`) command line against that
/// family's tables.
pub fn exec_args_in(
    control: &Control,
    args: Vec<String>,
    family: Family,
) -> Result<ExecReply, Status> {
    let parse_refusal = |m: &str| parse_refusal_in(m, family);
    if args.is_empty() {
        return Ok(reply(
            String::new(),
            Some(parse_refusal("no command specified")),
            0,
        ));
    }
    let parsed = match parse_command_in(args, Source::CommandLine, family) {
        Ok(p) => p,
        Err(m) => return Ok(reply(String::new(), Some(parse_refusal(&m)), 0)),
    };
    let refusal = |e| Some(exec_refusal_in(&parsed, &e, family));
    match &parsed.command {
        Command::List { .. } | Command::ListRules { .. } => {
            // Listings show the workers' live counters, summed.
            let reports = control.workers.reports(false).map_err(workers_status)?;
            let mut rs = ruleset_with_counters(&control.shared, &reports);
            Ok(
                match rs.with_family(family, |t| execute_typed(t, parsed.clone())) {
                    Ok(out) => reply(out, None, 0),
                    Err(e) => reply(String::new(), refusal(e), 0),
                },
            )
        }
        Command::Check { .. } => {
            let (current, _) = control.shared.current_rules();
            let mut rs = (*current).clone();
            Ok(
                match rs.with_family(family, |t| execute_typed(t, parsed.clone())) {
                    Ok(out) => reply(out, None, 0),
                    Err(e) => reply(String::new(), refusal(e), 0),
                },
            )
        }
        Command::Zero { chain, rule } => {
            let r = zero_in(
                control,
                family,
                parsed.table,
                chain.as_deref(),
                rule.unwrap_or(0),
            )?;
            Ok(reply(String::new(), r, 0))
        }
        cmd => {
            // What the IPv6 packet path cannot run yet is refused, not added unenforced.
            if family == Family::V6 {
                if let Err(m) = cmd.check_ipv6_path() {
                    return Ok(reply(String::new(), Some(parse_refusal(&m)), 0));
                }
            }
            let _g = control.lock_changes();
            let (current, _) = control.shared.current_rules();
            let mut rs = (*current).clone();
            match rs.with_family(family, |t| execute_typed(t, parsed.clone())) {
                Err(e) => Ok(reply(String::new(), refusal(e), 0)),
                Ok(out) if !family_changed(&rs, &current, family) => Ok(reply(out, None, 0)),
                Ok(out) => {
                    let g = control.commit_family(rs, family).map_err(publish_status)?;
                    Ok(reply(out, None, g))
                }
            }
        }
    }
}

/// `iptables [-t table] -Z [chain [rule]]` on the live counters: the model's own counters
/// and every worker's slots of those rules (and of the chains' policies when no rule is
/// named). `Some` is iptables' refusal.
pub fn zero(
    control: &Control,
    table: TableKind,
    chain: Option<&str>,
    rule: usize,
) -> Result<Option<Refusal>, Status> {
    zero_in(control, Family::V4, table, chain, rule)
}

/// `zero` of iptables' (`Family::V4`) or ip6tables' (`Family::V6`) counters.
pub fn zero_in(
    control: &Control,
    family: Family,
    table: TableKind,
    chain: Option<&str>,
    rule: usize,
) -> Result<Option<Refusal>, Status> {
    let _g = control.lock_changes();
    let (rules, compiled) = control.shared.current_rules();
    if let Some(c) = chain {
        let tables = match family {
            Family::V4 => Some(&*rules),
            Family::V6 => rules.ip6.as_deref(),
        };
        let kernel = |msg: &str| {
            Ok(Some(Refusal {
                stderr: format!("{}: {msg}\n", program(family)),
                code: 1,
            }))
        };
        match tables
            .and_then(|rs| rs.table(table))
            .and_then(|t| t.chain(c))
        {
            None => return kernel("No chain/target/match by that name."),
            Some(c) if rule > c.rules.len() => {
                return kernel("Bad rule (does a matching rule exist in that chain?).")
            }
            Some(_) => {}
        }
    }
    let picked = |t: &TableKind, c: &str, index: Option<usize>| {
        *t == table && chain.is_none_or(|want| want == c) && (rule == 0 || index == Some(rule - 1))
    };
    let slots: Vec<usize> = compiled
        .slots
        .iter()
        .enumerate()
        .filter(|(_, owner)| owner.family() == family)
        .filter(|(_, owner)| match owner {
            SlotOwner::Policy { table, chain, .. } => picked(table, chain, None),
            SlotOwner::Rule {
                table,
                chain,
                index,
                ..
            } => picked(table, chain, Some(*index)),
        })
        .map(|(i, _)| i)
        .collect();
    zero_counters(control, compiled.generation, &slots)?;
    control.shared.edit_model_counters(|rs: &mut Ruleset| {
        let rs = match family {
            Family::V4 => rs,
            Family::V6 => match rs.ip6.as_mut() {
                Some(r) => Arc::make_mut(r),
                None => return,
            },
        };
        let Some(t) = rs.tables.iter_mut().find(|t| t.kind == table) else {
            return;
        };
        for c in t.chains.iter_mut() {
            if chain.is_some_and(|want| want != c.name) {
                continue;
            }
            if rule == 0 {
                c.counters = Counters::default();
                c.rules
                    .iter_mut()
                    .for_each(|r| r.counters = Counters::default());
            } else if let Some(r) = c.rules.get_mut(rule - 1) {
                r.counters = Counters::default();
            }
        }
    });
    Ok(None)
}

pub fn save(control: &Control, req: &SaveRequest) -> Result<SaveReply, Status> {
    let family = family_of(req.family)?;
    let mut rs = if req.counters {
        let reports = control.workers.reports(false).map_err(workers_status)?;
        ruleset_with_counters(&control.shared, &reports)
    } else {
        (*control.shared.current_rules().0).clone()
    };
    let rs = tables_mut(&mut rs, family);
    if req.table.is_empty() {
        return Ok(SaveReply {
            text: save_ruleset(rs, req.counters),
        });
    }
    // What iptables-save and ip6tables-save 1.8.9 print, without their name.
    let kind = TableKind::from_name(&req.table).ok_or_else(|| {
        refused(Refusal {
            stderr: format!("Table `{}' does not exist\n", req.table),
            code: 1,
        })
    })?;
    let mut text = String::new();
    if let Some(t) = rs.table(kind) {
        save_table(t, req.counters, &mut text);
    }
    Ok(SaveReply { text })
}

#[tonic::async_trait]
impl Rules for RulesService {
    async fn restore(
        &self,
        request: Request<RestoreRequest>,
    ) -> Result<Response<RestoreReply>, Status> {
        let c = Arc::clone(&self.control);
        let req = request.into_inner();
        blocking(move || restore_text(&c, req))
            .await
            .map(Response::new)
    }

    async fn exec(&self, request: Request<ExecRequest>) -> Result<Response<ExecReply>, Status> {
        let c = Arc::clone(&self.control);
        let req = request.into_inner();
        let family = family_of(req.family)?;
        blocking(move || exec_args_in(&c, req.args, family))
            .await
            .map(Response::new)
    }

    async fn save(&self, request: Request<SaveRequest>) -> Result<Response<SaveReply>, Status> {
        let c = Arc::clone(&self.control);
        let req = request.into_inner();
        blocking(move || save(&c, &req)).await.map(Response::new)
    }

    async fn zero(&self, request: Request<ZeroRequest>) -> Result<Response<ZeroReply>, Status> {
        let c = Arc::clone(&self.control);
        let req = request.into_inner();
        let family = family_of(req.family)?;
        let table = if req.table.is_empty() {
            TableKind::Filter
        } else {
            TableKind::from_name(&req.table).ok_or_else(|| {
                refused(parse_refusal_in(
                    &format!(
                        "can't initialize iptables table `{}': Table does not exist",
                        req.table
                    ),
                    family,
                ))
            })?
        };
        blocking(move || {
            let chain = (!req.chain.is_empty()).then_some(req.chain.as_str());
            match zero_in(&c, family, table, chain, req.rule as usize)? {
                None => Ok(ZeroReply {}),
                Some(r) => Err(refused(r)),
            }
        })
        .await
        .map(Response::new)
    }
}
