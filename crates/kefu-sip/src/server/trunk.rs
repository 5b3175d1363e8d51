//! SIP trunks: the carriers (and test tools) kefu exchanges calls with, and the IP allow-list
//! that decides whether an INVITE without credentials is a trunk call.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::str::FromStr;

/// Transport to reach a trunk with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrunkTransport {
    /// SIP over UDP.
    Udp,
    /// SIP over TCP.
    Tcp,
}

/// An IP network (`192.0.2.0/24`, `127.0.0.1`, `2001:db8::/32`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

/// Text that is not an IP address or network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an IP address or network (write 192.0.2.7 or 192.0.2.0/24)")]
pub struct BadIpNet(pub String);

impl FromStr for IpNet {
    type Err = BadIpNet;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || BadIpNet(text.to_owned());
        let (ip, prefix) = match text.trim().split_once('/') {
            Some((ip, prefix)) => (ip, Some(prefix)),
            None => (text.trim(), None),
        };
        let addr: IpAddr = ip.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
            None => max,
        };
        Ok(IpNet { addr, prefix })
    }
}

impl IpNet {
    /// Whether `ip` lies in this network (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// A configured SIP peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trunk {
    /// Name shown in events and logs.
    pub name: String,
    /// Where outbound calls go.
    pub host: String,
    /// Its SIP port.
    pub port: u16,
    /// Its transport.
    pub transport: TrunkTransport,
    /// Digest user for calls we send it, if it challenges.
    pub auth_username: Option<String>,
    /// Digest password for calls we send it (never logged).
    pub auth_password: Option<String>,
    /// Sources allowed to send us calls as this trunk.
    pub allow_from: Vec<IpNet>,
    /// Dialled number (DID) → kefu target (an extension); `*` matches any number.
    pub inbound_routes: BTreeMap<String, String>,
    /// Caller id presented on outbound calls.
    pub caller_id: Option<String>,
}

impl Trunk {
    /// Whether a request from `ip` belongs to this trunk.
    pub fn allows(&self, ip: IpAddr) -> bool {
        self.allow_from.iter().any(|net| net.contains(ip))
    }

    /// Where a call to `did` goes: the exact route, else `*`.
    pub fn route(&self, did: &str) -> Option<&str> {
        self.inbound_routes.get(did).or_else(|| self.inbound_routes.get("*")).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_match_addresses_inside_them_only() {
        let net: IpNet = "192.0.2.0/24".parse().unwrap();
        assert!(net.contains("192.0.2.77".parse().unwrap()));
        assert!(!net.contains("192.0.3.1".parse().unwrap()));
        let host: IpNet = "127.0.0.1".parse().unwrap();
        assert!(host.contains("127.0.0.1".parse().unwrap()));
        assert!(host.contains("::ffff:127.0.0.1".parse().unwrap()), "v4-mapped v6 is the same host");
        assert!(!host.contains("127.0.0.2".parse().unwrap()));
        let any: IpNet = "0.0.0.0/0".parse().unwrap();
        assert!(any.contains("203.0.113.9".parse().unwrap()));
        let v6: IpNet = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains("2001:db8:1::5".parse().unwrap()));
        assert!(!v6.contains("2001:db9::5".parse().unwrap()));
        for bad in ["", "300.1.1.1", "10.0.0.0/33", "10.0.0.0/x", "host.example"] {
            assert!(bad.parse::<IpNet>().is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn inbound_routes_prefer_the_exact_number() {
        let trunk = Trunk {
            name: "t".into(),
            host: "127.0.0.1".into(),
            port: 5080,
            transport: TrunkTransport::Udp,
            auth_username: None,
            auth_password: None,
            allow_from: vec!["127.0.0.1".parse().unwrap()],
            inbound_routes: [("4000".to_owned(), "1002".to_owned()), ("*".to_owned(), "1001".to_owned())]
                .into_iter()
                .collect(),
            caller_id: None,
        };
        assert_eq!(trunk.route("4000"), Some("1002"));
        assert_eq!(trunk.route("9999"), Some("1001"));
        assert!(trunk.allows("127.0.0.1".parse().unwrap()));
        assert!(!trunk.allows("10.0.0.1".parse().unwrap()));
    }
}
