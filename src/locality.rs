//! Local networks (CIDR lists) and the flow direction they imply.

use std::net::IpAddr;
use std::str::FromStr;

use crate::Direction;

/// One network in CIDR notation, e.g. `192.168.0.0/16` or `fd00::/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether `ip` is inside this network (an IPv4 address never matches an IPv6 network).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                mask_eq(u32::from(net).into(), u32::from(ip).into(), self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                mask_eq(u128::from(net), u128::from(ip), self.prefix, 128)
            }
            _ => false,
        }
    }
}

fn mask_eq(a: u128, b: u128, prefix: u8, bits: u8) -> bool {
    let shift = u32::from(bits - prefix);
    a.checked_shr(shift).unwrap_or(0) == b.checked_shr(shift).unwrap_or(0)
}

impl FromStr for Cidr {
    type Err = String;

    /// Parses `ADDR/PREFIX`; a bare address is a host network (/32 or /128).
    fn from_str(text: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("bad CIDR {text:?}: {why}");
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = addr.trim().parse().map_err(|_| bad("not an IP address"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| bad(&format!("prefix must be 0..={max}")))?,
            None => max,
        };
        Ok(Cidr { network, prefix })
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// The direction of a client→server pair given the local networks, evaluated in ntopng's
/// order; [`Direction::Unknown`] when no local network is configured.
pub fn direction(local: &[Cidr], client: IpAddr, server: IpAddr) -> Direction {
    if local.is_empty() {
        return Direction::Unknown;
    }
    let is_local = |ip: IpAddr| local.iter().any(|net| net.contains(ip));
    match (is_local(client), is_local(server)) {
        (false, false) => Direction::RemoteToRemote,
        (true, false) => Direction::LocalToRemote,
        (false, true) => Direction::RemoteToLocal,
        (true, true) => Direction::LocalToLocal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_matches_v4_and_v6() {
        let net: Cidr = "192.168.0.0/16".parse().unwrap();
        assert!(net.contains("192.168.44.1".parse().unwrap()));
        assert!(!net.contains("192.169.0.1".parse().unwrap()));
        assert!(!net.contains("::1".parse().unwrap()));
        let v6: Cidr = "fd00::/8".parse().unwrap();
        assert!(
            v6.contains("fd12::1".parse().unwrap()) && !v6.contains("fe80::1".parse().unwrap())
        );
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("8.8.8.8".parse().unwrap()));
        let host: Cidr = "10.1.2.3".parse().unwrap();
        assert_eq!(host.to_string(), "10.1.2.3/32");
    }

    #[test]
    fn rejects_bad_input_with_a_message() {
        for bad in ["10.0.0.0/33", "nonsense/8", "::/129", "10.0.0.0/x", ""] {
            let err = bad.parse::<Cidr>().unwrap_err();
            assert!(err.contains("bad CIDR"), "{err}");
        }
    }

    #[test]
    fn direction_follows_ntopng_order() {
        let local = ["10.0.0.0/8".parse().unwrap()];
        let (l, r) = ("10.0.0.1".parse().unwrap(), "8.8.8.8".parse().unwrap());
        assert_eq!(direction(&local, l, r), Direction::LocalToRemote);
        assert_eq!(direction(&local, r, l), Direction::RemoteToLocal);
        assert_eq!(direction(&local, l, l), Direction::LocalToLocal);
        assert_eq!(direction(&local, r, r), Direction::RemoteToRemote);
        assert_eq!(direction(&[], l, r), Direction::Unknown);
    }
}
