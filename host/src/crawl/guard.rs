//! The SSRF guard: by default trawl refuses to fetch from loopback, private, link-local
//! (cloud metadata), CGNAT, unspecified, multicast and IPv6 unique/link-local addresses,
//! including IPv4-mapped forms. It checks IP literals in URLs and, as the HTTP client's DNS
//! resolver, every resolved address, so redirects and DNS tricks are covered too.
//! An operator can open listed networks (CIDRs) or host names, or switch the guard off.

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
#[derive(Debug, Default)]
pub struct Guard {
    allow_private: bool,
    allowed_networks: Vec<ipnet::IpNet>,
    /// Lower-case host names whose addresses are not checked.
    allowed_hosts: Vec<String>,
}

impl Guard {
    /// A guard that blocks unless `allow_private`.
    pub fn new(allow_private: bool) -> Self {
        Self {
            allow_private,
            ..Self::default()
        }
    }

    /// Also let through addresses in `networks` and names in `hosts` (an operator's
    /// internal sites, or the tests' 127.0.0.1).
    pub fn allowing(mut self, networks: &[ipnet::IpNet], hosts: &[String]) -> Self {
        self.allowed_networks = networks.to_vec();
        self.allowed_hosts = hosts.iter().map(|h| h.to_ascii_lowercase()).collect();
        self
    }

    fn host_allowed(&self, host: &str) -> bool {
        self.allowed_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(host.trim_end_matches('.')))
    }

    /// Whether this guard refuses `ip`.
    pub fn refuses(&self, ip: IpAddr) -> bool {
        if self.allow_private || !is_blocked(ip) {
            return false;
        }
        let canonical = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        !self
            .allowed_networks
            .iter()
            .any(|n| n.contains(&ip) || n.contains(&canonical))
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
        if self.host_allowed(&ip.to_string()) {
            return Ok(());
        }
        if self.refuses(ip) {
            return Err(Blocked {
                host: ip.to_string(),
                addr: ip,
            }
            .to_string());
        }
        Ok(())
    }
}

/// The guard as reqwest's resolver: shared, so it is checked on every connection.
#[derive(Debug, Clone)]
pub struct GuardResolver(pub std::sync::Arc<Guard>);

impl Resolve for GuardResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.0.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            // One refused address refuses the name: otherwise a name resolving to both a
            // public and a private address would let the connection pick the private one.
            if !guard.host_allowed(&host)
                && let Some(bad) = addrs.iter().find(|a| guard.refuses(a.ip()))
            {
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

    #[test]
    fn url_literals_in_every_spelling_are_checked() {
        let guard = Guard::new(false);
        for url in [
            "http://127.0.0.1/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://[::ffff:7f00:1]/",
            "http://[::1]:8080/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[fd12::1]/",
            "http://0.0.0.0/",
        ] {
            let parsed = url::Url::parse(url).expect("url");
            assert!(guard.check_url(&parsed).is_err(), "{url} must be refused");
        }
        let public = url::Url::parse("http://93.184.216.34/").expect("url");
        assert!(guard.check_url(&public).is_ok());
        assert!(
            Guard::new(true)
                .check_url(&url::Url::parse("http://127.0.0.1/").expect("url"))
                .is_ok()
        );
    }

    #[test]
    fn allow_list_opens_only_what_it_names() {
        let net: ipnet::IpNet = "127.0.0.1/32".parse().expect("cidr");
        let guard = Guard::new(false).allowing(&[net], &["intranet.example".into()]);
        assert!(!guard.refuses("127.0.0.1".parse().expect("ip")));
        assert!(!guard.refuses("::ffff:127.0.0.1".parse().expect("ip")));
        assert!(guard.refuses("127.0.0.2".parse().expect("ip")));
        assert!(guard.refuses("10.0.0.1".parse().expect("ip")));
        assert!(guard.host_allowed("Intranet.Example."));
        assert!(!guard.host_allowed("example"));
    }
}
