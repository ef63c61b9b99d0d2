//! nfdpctl's conntrack formatter and argument parser against captures of the real
//! conntrack 1.4.7 (tests/golden/conntrack, made by its gen.sh on the kernel): the
//! entries of the capture, written as the daemon sends them, must print byte for byte as
//! conntrack printed them. The captures' timeout column was normalised to 100 by gen.sh
//! (it is time-dependent); the entries here carry timeout 100.

use control::api::pb::{ConntrackEntry, ConntrackFilter, ConntrackWorkerStats};
use control::ctl::ct_args::{self, CtCommand};
use control::ctl::ct_format::{self, Format};
use std::path::PathBuf;

fn golden(name: &str) -> (String, String, i32, Vec<String>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/golden/conntrack");
    let read = |ext: &str| {
        std::fs::read_to_string(dir.join(format!("{name}.{ext}")))
            .unwrap_or_else(|e| panic!("{name}.{ext}: {e}"))
    };
    let rc = read("rc").trim().parse().expect("rc");
    let cmd = read("cmd");
    let args = cmd.split_whitespace().skip(1).map(str::to_string).collect();
    (read("out"), read("err"), rc, args)
}

mod support;

use ct_entries::{flow, listing};
use support::ct_entries;

fn lines(entries: &[ConntrackEntry], f: Format) -> String {
    entries
        .iter()
        .map(|e| ct_format::entry_line(e, f) + "\n")
        .collect()
}

/// The captures of listings (-L, -G), printed from the entries of `listing`.
const LISTINGS: [&str; 14] = [
    "list",
    "list_extended",
    "list_tcp_dport",
    "list_udp",
    "list_mark",
    "list_src",
    "list_reply_dst",
    "list_state",
    "list_status_assured",
    "list_none",
    "list_empty",
    "list_after_delete",
    "get",
    "list_acct",
];

#[test]
fn listings_print_as_conntrack_does() {
    for name in LISTINGS {
        let (out, err, rc, args) = golden(name);
        let inv = ct_args::parse(&args).expect(name);
        let entries = listing(name);
        assert_eq!(
            lines(
                &entries,
                Format {
                    extended: inv.extended,
                    event: false
                }
            ),
            out,
            "{name}: stdout"
        );
        assert_eq!(
            ct_format::shown(entries.len()) + "\n",
            err,
            "{name}: stderr"
        );
        assert_eq!(rc, 0, "{name}");
    }
}

#[test]
fn deletions_print_as_conntrack_does() {
    for name in ["delete", "delete_tcp", "delete_none"] {
        let (out, err, rc, args) = golden(name);
        let inv = ct_args::parse(&args).expect(name);
        assert_eq!(inv.command, Some(CtCommand::Delete));
        let entries = listing(name);
        assert_eq!(lines(&entries, Format::default()), out, "{name}: stdout");
        assert_eq!(
            ct_format::deleted(entries.len() as u64) + "\n",
            err,
            "{name}: stderr"
        );
        // conntrack -D that deletes nothing exits 1.
        assert_eq!(rc, if entries.is_empty() { 1 } else { 0 }, "{name}");
    }
}

#[test]
fn events_print_as_conntrack_does() {
    let (out, err, _, args) = golden("events");
    let inv = ct_args::parse(&args).expect("events");
    assert_eq!(inv.command, Some(CtCommand::Events));
    assert_eq!(inv.filter.proto, Some(17));
    let new = flow(17, 40005, 5354, &[], "", 7);
    let replied = flow(17, 40005, 5354, &["SEEN_REPLY", "CONFIRMED"], "", 7);
    let got = [("NEW", &new), ("UPDATE", &replied), ("DESTROY", &replied)]
        .iter()
        .map(|(k, e)| ct_format::event_line(k, e, false) + "\n")
        .collect::<String>();
    assert_eq!(got, out);
    assert_eq!(ct_format::events_shown(3) + "\n", err);
}

#[test]
fn flush_count_and_stats_print_as_conntrack_does() {
    let (out, err, rc, args) = golden("flush");
    assert_eq!(
        ct_args::parse(&args).unwrap().command,
        Some(CtCommand::Flush)
    );
    assert_eq!(
        (out.as_str(), err, rc),
        ("", ct_format::emptied() + "\n", 0)
    );

    let (out, _, _, args) = golden("count");
    assert_eq!(
        ct_args::parse(&args).unwrap().command,
        Some(CtCommand::Count)
    );
    assert_eq!(out, "5\n");

    let (out, err, rc, args) = golden("stats");
    assert_eq!(
        ct_args::parse(&args).unwrap().command,
        Some(CtCommand::Stats)
    );
    let w = |worker| ConntrackWorkerStats {
        worker,
        ..Default::default()
    };
    assert_eq!(
        format!(
            "{}\n{}\n",
            ct_format::stats_line(&w(0)),
            ct_format::stats_line(&w(1))
        ),
        out
    );
    assert_eq!((err.as_str(), rc), ("", 0));
}

#[test]
fn refused_command_lines_match_conntrack() {
    for name in [
        "bad_option",
        "bad_proto",
        "bad_two_commands",
        "bad_dport_without_proto",
        "get_missing_args",
    ] {
        let (out, err, rc, args) = golden(name);
        let e = ct_args::parse(&args).expect_err(name);
        assert_eq!(e.to_string(), err, "{name}: stderr");
        assert_eq!(e.exit_code(), rc, "{name}: exit status");
        assert_eq!(out, "", "{name}");
    }
}

#[test]
fn capture_command_lines_parse_into_their_filters() {
    let f = |name: &str| ct_args::parse(&golden(name).3).unwrap().filter;
    assert_eq!(f("list"), ConntrackFilter::default());
    assert_eq!(
        f("list_tcp_dport"),
        ConntrackFilter {
            proto: Some(6),
            orig_dport: Some(8080),
            ..Default::default()
        }
    );
    assert_eq!(
        f("list_mark"),
        ConntrackFilter {
            mark: Some(7),
            ..Default::default()
        }
    );
    assert_eq!(
        f("list_src"),
        ConntrackFilter {
            orig_src: Some("10.0.1.2".into()),
            family: Some(4),
            proto: Some(1),
            ..Default::default()
        }
    );
    assert_eq!(
        f("list_reply_dst"),
        ConntrackFilter {
            reply_dst: Some("10.0.2.1".into()),
            family: Some(4),
            proto: Some(6),
            reply_sport: Some(9090),
            ..Default::default()
        }
    );
    assert_eq!(
        f("list_state"),
        ConntrackFilter {
            proto: Some(6),
            tcp_state: vec!["ESTABLISHED".into()],
            ..Default::default()
        }
    );
    assert_eq!(
        f("list_status_assured"),
        ConntrackFilter {
            status: vec!["ASSURED".into()],
            ..Default::default()
        }
    );
    assert_eq!(
        f("get"),
        ConntrackFilter {
            proto: Some(6),
            orig_src: Some("10.0.1.2".into()),
            family: Some(4),
            orig_dst: Some("10.0.2.2".into()),
            orig_sport: Some(40001),
            orig_dport: Some(8080),
            ..Default::default()
        }
    );
    assert_eq!(
        f("delete_tcp"),
        ConntrackFilter {
            proto: Some(6),
            orig_src: Some("10.0.1.2".into()),
            family: Some(4),
            orig_dport: Some(9090),
            ..Default::default()
        }
    );
    assert!(ct_args::parse(&golden("list_extended").3).unwrap().extended);
}

#[test]
fn every_capture_is_checked() {
    // Checked here, or (get_missing, list_status_unset: errors the daemon reports) by
    // tests/nfdpctl.rs through a fake daemon.
    let checked = [
        "delete",
        "delete_tcp",
        "delete_none",
        "events",
        "flush",
        "count",
        "stats",
        "bad_option",
        "bad_proto",
        "bad_two_commands",
        "bad_dport_without_proto",
        "get_missing_args",
        "get_missing",
        "list_status_unset",
    ];
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/golden/conntrack");
    let mut captured: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .to_str()?
                .strip_suffix(".cmd")
                .map(str::to_string)
        })
        .collect();
    captured.sort();
    let mut checked: Vec<String> = LISTINGS
        .iter()
        .chain(&checked)
        .map(|s| s.to_string())
        .collect();
    checked.sort();
    assert_eq!(captured, checked);
}
