//! The FTP helper (nf_conntrack_ftp): finds PORT / EPRT commands and 227 / 229 answers in
//! a control connection and expects the data connection they announce, which is then
//! RELATED; behind NAT it rewrites the announced address (nf_nat_ftp) and keeps the TCP
//! sequence numbers consistent when the text changes length.

use std::net::Ipv4Addr;

/// What a control-connection packet announced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Announce {
    /// The address in the text (`None` for EPSV, which means the server's own address).
    pub addr: Option<Ipv4Addr>,
    pub port: u16,
    /// Where the address/port text starts and how long it is, within the payload.
    pub at: usize,
    pub len: usize,
    pub kind: AnnounceKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnnounceKind {
    /// `PORT h1,h2,h3,h4,p1,p2` (client, active mode).
    Port,
    /// `EPRT |1|a.b.c.d|port|` (client, active mode).
    Eprt,
    /// `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)` (server).
    Pasv,
    /// `229 Entering Extended Passive Mode (|||port|)` (server).
    Epsv,
}

fn parse_six(text: &[u8]) -> Option<(Ipv4Addr, u16, usize)> {
    // h1,h2,h3,h4,p1,p2 : digits and commas; returns how many bytes it used.
    let mut nums = [0u32; 6];
    let mut i = 0;
    for (n, slot) in nums.iter_mut().enumerate() {
        let start = i;
        while i < text.len() && text[i].is_ascii_digit() && i - start < 3 {
            *slot = *slot * 10 + u32::from(text[i] - b'0');
            i += 1;
        }
        if i == start || *slot > 255 {
            return None;
        }
        if n < 5 {
            if text.get(i) != Some(&b',') {
                return None;
            }
            i += 1;
        }
    }
    let addr = Ipv4Addr::new(nums[0] as u8, nums[1] as u8, nums[2] as u8, nums[3] as u8);
    Some((addr, (nums[4] << 8 | nums[5]) as u16, i))
}

fn parse_eprt(text: &[u8]) -> Option<(Ipv4Addr, u16, usize)> {
    // |1|a.b.c.d|port|  (the delimiter is the first character)
    let d = *text.first()?;
    let fields: Vec<&[u8]> = text[1..].splitn(4, |b| *b == d).collect();
    if fields.len() < 4 || fields[0] != b"1" {
        return None;
    }
    let addr: Ipv4Addr = std::str::from_utf8(fields[1]).ok()?.parse().ok()?;
    let port: u16 = std::str::from_utf8(fields[2]).ok()?.parse().ok()?;
    let used = 1 + fields[0].len() + 1 + fields[1].len() + 1 + fields[2].len() + 1;
    Some((addr, port, used))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

/// Looks for an announcement in a payload: commands from the client (`reply == false`),
/// answers from the server.
pub fn parse(payload: &[u8], reply: bool) -> Option<Announce> {
    if !reply {
        if let Some(p) = find(payload, b"PORT ") {
            let at = p + 5;
            let (addr, port, len) = parse_six(&payload[at..])?;
            return Some(Announce {
                addr: Some(addr),
                port,
                at,
                len,
                kind: AnnounceKind::Port,
            });
        }
        if let Some(p) = find(payload, b"EPRT ") {
            let at = p + 5;
            let (addr, port, len) = parse_eprt(&payload[at..])?;
            return Some(Announce {
                addr: Some(addr),
                port,
                at,
                len,
                kind: AnnounceKind::Eprt,
            });
        }
        return None;
    }
    if payload.starts_with(b"227 ") {
        let open = payload.iter().position(|b| *b == b'(')?;
        let at = open + 1;
        let (addr, port, len) = parse_six(&payload[at..])?;
        return Some(Announce {
            addr: Some(addr),
            port,
            at,
            len,
            kind: AnnounceKind::Pasv,
        });
    }
    if payload.starts_with(b"229 ") {
        let open = payload.iter().position(|b| *b == b'(')?;
        let at = open + 1;
        let text = &payload[at..];
        let d = *text.first()?;
        // (|||port|)
        if text.len() < 5 || text[1] != d || text[2] != d {
            return None;
        }
        let digits: Vec<u8> = text[3..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .copied()
            .collect();
        let port: u16 = std::str::from_utf8(&digits).ok()?.parse().ok()?;
        return Some(Announce {
            addr: None,
            port,
            at: at + 3,
            len: digits.len(),
            kind: AnnounceKind::Epsv,
        });
    }
    None
}

/// The text that replaces an announcement's address and port after NAT.
pub fn render(kind: AnnounceKind, addr: Ipv4Addr, port: u16) -> String {
    let o = addr.octets();
    match kind {
        AnnounceKind::Port | AnnounceKind::Pasv => {
            format!(
                "{},{},{},{},{},{}",
                o[0],
                o[1],
                o[2],
                o[3],
                port >> 8,
                port & 0xff
            )
        }
        AnnounceKind::Eprt => format!("|1|{addr}|{port}|"),
        AnnounceKind::Epsv => port.to_string(),
    }
}

/// An expected connection: TCP from `src` (any address when `None`) to `dst:dport`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expectation {
    pub src: Option<Ipv4Addr>,
    pub dst: Ipv4Addr,
    pub dport: u16,
    pub master: u32,
    pub expires_ns: u64,
    /// Where the expected connection must be DNATed (the inside end behind NAT).
    pub nat_to: Option<(Ipv4Addr, u16)>,
}

/// Sequence-number correction of one direction after a length change at `pos`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeqAdj {
    pub pos: u32,
    pub before: i32,
    pub after: i32,
}

impl SeqAdj {
    /// The offset to add to a sequence number of this direction.
    pub fn offset(&self, seq: u32) -> i32 {
        if (seq.wrapping_sub(self.pos) as i32) > 0 {
            self.after
        } else {
            self.before
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_four_announcements() {
        let a = parse(b"PORT 192,168,1,10,156,64\r\n", false).unwrap();
        assert_eq!(
            (a.addr, a.port, a.kind),
            (
                Some(Ipv4Addr::new(192, 168, 1, 10)),
                40000,
                AnnounceKind::Port
            )
        );
        assert_eq!(
            &b"PORT 192,168,1,10,156,64\r\n"[a.at..a.at + a.len],
            b"192,168,1,10,156,64"
        );
        let e = parse(b"EPRT |1|10.0.0.2|6446|\r\n", false).unwrap();
        assert_eq!((e.addr, e.port), (Some(Ipv4Addr::new(10, 0, 0, 2)), 6446));
        assert_eq!(
            &b"EPRT |1|10.0.0.2|6446|\r\n"[e.at..e.at + e.len],
            b"|1|10.0.0.2|6446|"
        );
        let p = parse(b"227 Entering Passive Mode (10,0,0,9,195,80).\r\n", true).unwrap();
        assert_eq!((p.addr, p.port), (Some(Ipv4Addr::new(10, 0, 0, 9)), 50000));
        let s = parse(b"229 Entering Extended Passive Mode (|||50001|)\r\n", true).unwrap();
        assert_eq!((s.addr, s.port), (None, 50001));
        assert!(parse(b"PORT 300,1,1,1,1,1\r\n", false).is_none());
        assert!(parse(b"227 nonsense\r\n", true).is_none());
        assert!(parse(b"USER anonymous\r\n", false).is_none());
        assert_eq!(
            render(AnnounceKind::Port, Ipv4Addr::new(203, 0, 113, 1), 40000),
            "203,0,113,1,156,64"
        );
    }
}
