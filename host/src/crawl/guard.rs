//! The SSRF guard: by default trawl refuses to fetch from loopback, private, link-local
//! (cloud metadata), CGNAT, unspecified, multicast and IPv6 unique/link-local addresses,
//! including IPv4-mapped forms. It checks IP literals in URLs and, as the HTTP client's DNS
//! resolver, every resolved address, so redirects and DNS tricks are covered too.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// A fetch refused by the guard.
#[derive(Debug, thiserror::Error)]
#[error("{host} resolves to {addr}, a private or reserved address that trawl does not fetch")]
pub struct Blocked {
    host: String,
    addr: IpAddr,
}

/// The guard; `allow_private` turns it off (tests, local use).
#[derive(Debug)]
pub struct Guard {
    allow_private: bool,
}

impl Guard {
    /// A guard that blocks unless `allow_private`.
    pub fn new(allow_private: bool) -> Self {
        Self { allow_private }
    }

    /// Refuse a URL whose host is a blocked IP literal.
    pub fn check_url(&self, url: &url::Url) -> Result<(), String> {
        if self.allow_private {
            return Ok(());
        }
        let ip = match url.host() {
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
            _ => return Ok(()),
        };
        if is_blocked(ip) {
            return Err(Blocked {
                host: ip.to_string(),
                addr: ip,
            }
            .to_string());
        }
        Ok(())
    }
}

impl Resolve for Guard {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !allow_private && let Some(bad) = addrs.iter().find(|a| is_blocked(a.ip())) {
                return Err(Box::new(Blocked {
                    host,
                    addr: bad.ip(),
                })
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Whether an address is one the guard refuses.
pub fn is_blocked(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => blocked_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => blocked_v4(v4),
            None => blocked_v6(v6),
        },
    }
}

fn blocked_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast()
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64/10
        || a == 0
        || a >= 240
}

fn blocked_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (first & 0xffc0) == 0xfe80 // link local fe80::/10
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_private_and_reserved() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "224.0.0.1",
        ] {
            assert!(is_blocked(ip.parse().expect("ip")), "{ip} must be blocked");
        }
        for ip in [
            "93.184.216.34",
            "2606:2800:220:1::1",
            "100.128.0.1",
            "172.32.0.1",
        ] {
            assert!(!is_blocked(ip.parse().expect("ip")), "{ip} must be allowed");
        }
    }
}
