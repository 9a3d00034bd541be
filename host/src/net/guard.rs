//! The SSRF guard: by default trawl refuses to fetch from loopback, private, link-local
//! (cloud metadata), CGNAT, unspecified, multicast and IPv6 unique/link-local addresses,
//! including IPv4-mapped forms. It checks IP literals in URLs and, as the HTTP client's DNS
//! resolver, every resolved address, so redirects and DNS tricks are covered too.
//! An operator can open listed networks (CIDRs) or host names, or switch the guard off.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// A fetch refused by the guard.
#[derive(Debug, thiserror::Error)]
#[error(
    "{host} resolves to {addr}, a private or reserved address that trawl does not fetch \
     (an operator opens it with TRAWL_ALLOW_NETWORKS={addr}, or TRAWL_ALLOW_HOSTS={host})"
)]
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
            IpAddr::V6(v6) => embedded_v4(v6).map_or(ip, IpAddr::V4),
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

impl Guard {
    /// Resolve `host` and refuse it if one of its addresses is refused: for a request a
    /// proxy will resolve, whose connection this guard never sees. A name that does not
    /// resolve here is let through: the proxy may know names this host does not, and what
    /// it reaches with them is its own network's.
    pub async fn check_name(&self, host: &str) -> Result<(), String> {
        if self.allow_private || self.host_allowed(host) {
            return Ok(());
        }
        let Ok(addrs) = tokio::net::lookup_host((host, 0)).await else {
            return Ok(());
        };
        for addr in addrs {
            if self.refuses(addr.ip()) {
                return Err(Blocked {
                    host: host.to_owned(),
                    addr: addr.ip(),
                }
                .to_string());
            }
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

/// Whether an address is one the guard refuses. An IPv6 address that embeds an IPv4
/// address is judged by the IPv4 address it carries: whatever route the network gives
/// the form (a dual stack, a NAT64 gateway, a 6to4 relay) may deliver it there.
pub fn is_blocked(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => blocked_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => blocked_v4(v4) || blocked_v6(v6),
            None => blocked_v6(v6),
        },
    }
}

/// The IPv4 address an IPv6 address carries, in every form that has one: IPv4-mapped
/// (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`, deprecated), IPv4-translated
/// (`::ffff:0:a.b.c.d`, RFC 2765), NAT64 (`64:ff9b::a.b.c.d` and the local-use
/// `64:ff9b:1::/48`, RFC 6052 and 8215) and 6to4 (`2002:aabb:ccdd::/48`, RFC 3056).
pub fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        // ::ffff:a.b.c.d
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(low),
        // ::ffff:0:a.b.c.d
        [0, 0, 0, 0, 0xffff, 0, _, _] => Some(low),
        // ::a.b.c.d, but not :: and ::1, which are IPv6's own
        [0, 0, 0, 0, 0, 0, _, _] if u32::from(low) > 1 => Some(low),
        // 64:ff9b::a.b.c.d
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(low),
        // 64:ff9b:1::/48, local-use translation: the address sits in the last 32 bits
        [0x64, 0xff9b, 1, ..] => Some(low),
        // 2002:aabb:ccdd::/48
        [0x2002, hi, lo, ..] => Some(Ipv4Addr::new(
            (hi >> 8) as u8,
            hi as u8,
            (lo >> 8) as u8,
            lo as u8,
        )),
        _ => None,
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

    /// Every IPv6 form that carries an IPv4 address is judged by that address: the
    /// private and reserved ones refused, the public ones let through. Unit tests only:
    /// traffic is never sent to an address the guard might fail to stop.
    #[test]
    fn ipv6_forms_of_ipv4_addresses_are_judged_by_the_ipv4_address() {
        for ip in [
            "::ffff:127.0.0.1",
            "::ffff:0:127.0.0.1",
            "::ffff:0:7f00:1",
            "::ffff:0:10.0.0.1",
            "::ffff:0:169.254.169.254",
            "::127.0.0.1",
            "::10.1.2.3",
            "64:ff9b::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::192.168.0.1",
            "64:ff9b:1::10.0.0.1",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
            "2002:c0a8:101:1::1",
            "2002:a00:1::",
        ] {
            let addr: Ipv6Addr = ip.parse().expect("ip");
            assert!(embedded_v4(addr).is_some(), "{ip} carries an IPv4 address");
            assert!(is_blocked(IpAddr::V6(addr)), "{ip} must be blocked");
        }
        for ip in [
            "::ffff:93.184.216.34",
            "::ffff:0:93.184.216.34",
            "64:ff9b::93.184.216.34",
            "2002:5db8:d822::1",
        ] {
            assert!(!is_blocked(ip.parse().expect("ip")), "{ip} must be allowed");
        }
        // IPv6's own loopback and unspecified addresses are not IPv4-compatible forms.
        for ip in ["::1", "::"] {
            let addr: Ipv6Addr = ip.parse().expect("ip");
            assert_eq!(embedded_v4(addr), None);
            assert!(is_blocked(IpAddr::V6(addr)), "{ip} must be blocked");
        }
        // A URL spelling each form is refused before any request.
        let guard = Guard::new(false);
        for url in [
            "http://[::ffff:0:127.0.0.1]/",
            "http://[64:ff9b::7f00:1]/",
            "http://[2002:7f00:1::]/",
            "http://[::7f00:1]/",
        ] {
            let parsed = url::Url::parse(url).expect("url");
            assert!(guard.check_url(&parsed).is_err(), "{url} must be refused");
        }
        // An allowed IPv4 network covers its embedded forms too.
        let net: ipnet::IpNet = "127.0.0.1/32".parse().expect("cidr");
        let open = Guard::new(false).allowing(&[net], &[]);
        assert!(!open.refuses("::ffff:0:127.0.0.1".parse().expect("ip")));
        assert!(!open.refuses("64:ff9b::127.0.0.1".parse().expect("ip")));
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
