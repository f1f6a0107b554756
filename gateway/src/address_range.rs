//! IPv4 address ranges for printer discovery by range (FAQ Q6, "IP范围"): a CIDR block
//! (`10.0.0.0/24`) or a dash range (`10.0.0.10-40`, or `10.0.0.10-10.0.1.20`), at most
//! [`MAX_RANGE_ADDRESSES`] addresses. Pure functions, built with the protocol, so the server
//! refuses a range with the gateway's own rule before it queues the command.

use std::net::Ipv4Addr;

/// The most addresses one range may name: a /22. A bigger scan takes minutes of the site's
/// network for printers an admin would rather find by subnet.
pub const MAX_RANGE_ADDRESSES: u64 = 1024;

/// Why a range is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    /// Not `a.b.c.d/len` nor `a.b.c.d-e` / `a.b.c.d-a.b.c.e` with the end not before the start.
    #[error("not an IPv4 range (10.0.0.0/24 or 10.0.0.10-40)")]
    Syntax,
    /// More addresses than [`MAX_RANGE_ADDRESSES`].
    #[error("the range names {addresses} addresses; at most {MAX_RANGE_ADDRESSES} are scanned at once")]
    TooBig { addresses: u64 },
}

/// The addresses of `text`, in order. A CIDR block of 4 or more addresses leaves out its
/// network and broadcast addresses (no printer has them); host bits set in a CIDR address are
/// ignored (`10.0.0.7/24` is `10.0.0.0/24`), as routers and scanners take it.
pub fn parse_range(text: &str) -> Result<Vec<Ipv4Addr>, RangeError> {
    let (first, last) = bounds(text.trim())?;
    let count = u64::from(u32::from(last)) - u64::from(u32::from(first)) + 1;
    if count > MAX_RANGE_ADDRESSES {
        return Err(RangeError::TooBig { addresses: count });
    }
    Ok((u32::from(first)..=u32::from(last)).map(Ipv4Addr::from).collect())
}

/// The first and last address scanned.
fn bounds(text: &str) -> Result<(Ipv4Addr, Ipv4Addr), RangeError> {
    if let Some((address, length)) = text.split_once('/') {
        let address: Ipv4Addr = address.trim().parse().map_err(|_| RangeError::Syntax)?;
        let length: u32 = length.trim().parse().map_err(|_| RangeError::Syntax)?;
        if length > 32 || length.to_string() != length_text(text) {
            return Err(RangeError::Syntax);
        }
        let mask = u32::MAX.checked_shl(32 - length).unwrap_or(0);
        let network = u32::from(address) & mask;
        let broadcast = network | !mask;
        // /31 and /32 have no network or broadcast address to leave out (RFC 3021).
        let (first, last) = if length <= 30 { (network + 1, broadcast - 1) } else { (network, broadcast) };
        return Ok((Ipv4Addr::from(first), Ipv4Addr::from(last)));
    }
    let (start, end) = text.split_once('-').ok_or(RangeError::Syntax)?;
    let start: Ipv4Addr = start.trim().parse().map_err(|_| RangeError::Syntax)?;
    let end = end.trim();
    let end: Ipv4Addr = match end.parse::<u8>() {
        // `a.b.c.d-e`: the last octet runs from d to e.
        Ok(octet) if !end.starts_with('+') => {
            let [a, b, c, _] = start.octets();
            Ipv4Addr::new(a, b, c, octet)
        }
        _ => end.parse().map_err(|_| RangeError::Syntax)?,
    };
    if end < start {
        return Err(RangeError::Syntax);
    }
    Ok((start, end))
}

/// The prefix length as written after the slash (to refuse `/024` and `/+8`).
fn length_text(text: &str) -> &str {
    text.rsplit_once('/').map_or("", |(_, l)| l.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> Ipv4Addr {
        text.parse().unwrap_or(Ipv4Addr::UNSPECIFIED)
    }

    #[test]
    fn cidr_blocks_leave_out_network_and_broadcast() {
        let block = parse_range("192.168.1.0/24").unwrap_or_default();
        assert_eq!(block.len(), 254);
        assert_eq!((block[0], block[253]), (ip("192.168.1.1"), ip("192.168.1.254")));
        assert_eq!(parse_range(" 10.0.0.7/30 "), Ok(vec![ip("10.0.0.5"), ip("10.0.0.6")]), "host bits ignored");
        assert_eq!(parse_range("10.0.0.6/31"), Ok(vec![ip("10.0.0.6"), ip("10.0.0.7")]));
        assert_eq!(parse_range("10.0.0.9/32"), Ok(vec![ip("10.0.0.9")]));
        assert_eq!(parse_range("10.0.0.0/22").map(|r| r.len()), Ok(1022));
    }

    #[test]
    fn dash_ranges_by_last_octet_or_full_address() {
        assert_eq!(parse_range("10.0.0.10-12"), Ok(vec![ip("10.0.0.10"), ip("10.0.0.11"), ip("10.0.0.12")]));
        assert_eq!(parse_range("10.0.0.10 - 10"), Ok(vec![ip("10.0.0.10")]));
        let across = parse_range("10.0.0.250-10.0.1.5").unwrap_or_default();
        assert_eq!((across.len(), across[0], across[11]), (12, ip("10.0.0.250"), ip("10.0.1.5")));
    }

    #[test]
    fn more_than_1024_addresses_are_refused() {
        assert_eq!(parse_range("10.0.0.0/21"), Err(RangeError::TooBig { addresses: 2046 }));
        assert_eq!(parse_range("0.0.0.0/0"), Err(RangeError::TooBig { addresses: (1 << 32) - 2 }));
        assert_eq!(parse_range("10.0.0.0-10.0.4.0"), Err(RangeError::TooBig { addresses: 1025 }));
        assert_eq!(parse_range("10.0.0.0-10.0.3.255").map(|r| r.len()), Ok(1024));
    }

    #[test]
    fn anything_else_is_not_a_range() {
        for text in [
            "",
            "10.0.0.1",
            "printer.local",
            "10.0.0.0/33",
            "10.0.0.0/",
            "10.0.0.0/024",
            "10.0.0.0/+8",
            "10.0.0.300-4",
            "10.0.0.40-10",
            "10.0.0.10-256",
            "10.0.0.10-+20",
            "10.0.0.10-",
            "fe80::/64",
            "10.0.0.1-10.0.0.0",
        ] {
            assert_eq!(parse_range(text), Err(RangeError::Syntax), "{text:?}");
        }
    }
}
