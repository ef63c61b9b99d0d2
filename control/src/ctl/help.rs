//! The help texts of iptables / ip6tables (`-h`, `--help`, on stdout) and of
//! iptables-restore / ip6tables-restore (`-h`, on stderr), as 1.8.9 (nf_tables) prints
//! them (captures in tests/golden/help). `{P}` stands for the program's name.

use crate::iptables::cli::program;
use dataplane::ruleset::Family;

const MAIN: &str = concat!(
    "{P} v1.8.9 (nf_tables)\n",
    "\n",
    "Usage: {P} -[ACD] chain rule-specification [options]\n",
    "       {P} -I chain [rulenum] rule-specification [options]\n",
    "       {P} -R chain rulenum rule-specification [options]\n",
    "       {P} -D chain rulenum [options]\n",
    "       {P} -[LS] [chain [rulenum]] [options]\n",
    "       {P} -[FZ] [chain] [options]\n",
    "       {P} -[NX] chain\n",
    "       {P} -E old-chain-name new-chain-name\n",
    "       {P} -P chain target [options]\n",
    "       {P} -h (print this help information)\n",
    "\n",
    "Commands:\n",
    "Either long or short options are allowed.\n",
    "  --append  -A chain\t\tAppend to chain\n",
    "  --check   -C chain\t\tCheck for the existence of a rule\n",
    "  --delete  -D chain\t\tDelete matching rule from chain\n",
    "  --delete  -D chain rulenum\n",
    "\t\t\t\tDelete rule rulenum (1 = first) from chain\n",
    "  --insert  -I chain [rulenum]\n",
    "\t\t\t\tInsert in chain as rulenum (default 1=first)\n",
    "  --replace -R chain rulenum\n",
    "\t\t\t\tReplace rule rulenum (1 = first) in chain\n",
    "  --list    -L [chain [rulenum]]\n",
    "\t\t\t\tList the rules in a chain or all chains\n",
    "  --list-rules -S [chain [rulenum]]\n",
    "\t\t\t\tPrint the rules in a chain or all chains\n",
    "  --flush   -F [chain]\t\tDelete all rules in  chain or all chains\n",
    "  --zero    -Z [chain [rulenum]]\n",
    "\t\t\t\tZero counters in chain or all chains\n",
    "  --new     -N chain\t\tCreate a new user-defined chain\n",
    "  --delete-chain\n",
    "            -X [chain]\t\tDelete a user-defined chain\n",
    "  --policy  -P chain target\n",
    "\t\t\t\tChange policy on chain to target\n",
    "  --rename-chain\n",
    "            -E old-chain new-chain\n",
    "\t\t\t\tChange chain name, (moving any references)\n",
    "\n",
    "Options:\n",
    "{IPV4}",
    "{IPV6}",
    "[!] --protocol\t-p proto\tprotocol: by number or name, eg. `tcp'\n",
    "[!] --source\t-s address[/mask][...]\n",
    "\t\t\t\tsource specification\n",
    "[!] --destination -d address[/mask][...]\n",
    "\t\t\t\tdestination specification\n",
    "[!] --in-interface -i input name[+]\n",
    "\t\t\t\tnetwork interface name ([+] for wildcard)\n",
    " --jump\t-j target\n",
    "\t\t\t\ttarget for rule (may load target extension)\n",
    "  --goto      -g chain\n",
    "\t\t\t       jump to chain with no return\n",
    "  --match\t-m match\n",
    "\t\t\t\textended match (may load extension)\n",
    "  --numeric\t-n\t\tnumeric output of addresses and ports\n",
    "[!] --out-interface -o output name[+]\n",
    "\t\t\t\tnetwork interface name ([+] for wildcard)\n",
    "  --table\t-t table\ttable to manipulate (default: `filter')\n",
    "  --verbose\t-v\t\tverbose mode\n",
    "  --wait\t-w [seconds]\tmaximum wait to acquire xtables lock before give up\n",
    "  --line-numbers\t\tprint line numbers when listing\n",
    "  --exact\t-x\t\texpand numbers (display exact values)\n",
    "{FRAG}",
    "  --modprobe=<command>\t\ttry to insert modules using this command\n",
    "  --set-counters -c PKTS BYTES\tset the counter during insert/append\n",
    "[!] --version\t-V\t\tprint package version.\n",
);

const RESTORE: &str =
    "Usage: {P}-restore [-c] [-v] [-V] [-t] [-h] [-n] [-T table] [-M command] [-4] [-6] [file]\n\
\t   [ --counters ]\n\
\t   [ --verbose ]\n\
\t   [ --version]\n\
\t   [ --test ]\n\
\t   [ --help ]\n\
\t   [ --noflush ]\n\
\t   [ --table=<TABLE> ]\n\
\t   [ --modprobe=<command> ]\n\
\t   [ --ipv4 ]\n\
\t   [ --ipv6 ]\n";

/// `iptables -h` or `ip6tables -h` (no extension loaded).
pub fn main_help(family: Family) -> String {
    // The family options say what the other family's restore does with the line, and
    // ip6tables has no -f.
    let (ipv4, ipv6, frag) = match family {
        Family::V4 => (
            "Nothing (line is ignored by ip6tables-restore)",
            "Error (line is ignored by iptables-restore)",
            "[!] --fragment\t-f\t\tmatch second or further fragments only\n",
        ),
        Family::V6 => (
            "Error (line is ignored by ip6tables-restore)",
            "Nothing (line is ignored by iptables-restore)",
            "",
        ),
    };
    MAIN.replace("{P}", program(family))
        .replace("{IPV4}", &format!("    --ipv4\t-4\t\t{ipv4}\n"))
        .replace("{IPV6}", &format!("    --ipv6\t-6\t\t{ipv6}\n"))
        .replace("{FRAG}", frag)
}

/// `iptables-restore -h` or `ip6tables-restore -h`.
pub fn restore_help(family: Family) -> String {
    RESTORE.replace("{P}", program(family))
}

/// Whether `iptables ARGS` prints the help: `-h` / `--help` before any option that
/// loads an extension (whose help iptables would add; nfdp leaves those to the daemon).
pub fn asks_for_help(args: &[String]) -> bool {
    for a in args {
        match a.as_str() {
            "-h" | "--help" => return true,
            "-m" | "--match" | "-p" | "--protocol" | "-j" | "--jump" | "-g" | "--goto" => {
                return false
            }
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn golden(name: &str) -> String {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/golden/help")
            .join(name);
        std::fs::read_to_string(p).expect("help golden")
    }

    #[test]
    fn help_is_what_the_tools_print() {
        assert_eq!(main_help(Family::V4), golden("iptables.txt"));
        assert_eq!(main_help(Family::V6), golden("ip6tables.txt"));
        assert_eq!(restore_help(Family::V4), golden("iptables-restore.txt"));
        assert_eq!(restore_help(Family::V6), golden("ip6tables-restore.txt"));
    }

    #[test]
    fn help_only_before_an_extension() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(asks_for_help(&v(&["-h"])));
        assert!(asks_for_help(&v(&["-L", "--help"])));
        assert!(!asks_for_help(&v(&["-p", "tcp", "-h"])));
        assert!(!asks_for_help(&v(&["-L"])));
    }
}
