//! Plaintext is allowed on loopback only: 127.0.0.0/8, ::1 (and an IPv4-mapped 127.x) or
//! `localhost`. Everything that crosses a network is TLS.

use std::net::IpAddr;

/// Whether `ip` is a loopback address.
pub fn is_loopback_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
}

/// Whether a URL's host is loopback (`localhost` by name, or a loopback address).
pub fn is_loopback_host(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(v4) => is_loopback_ip(IpAddr::V4(*v4)),
        url::Host::Ipv6(v6) => is_loopback_ip(IpAddr::V6(*v6)),
    }
}

/// The host of `url` as a TLS server name: a DNS name, or an IP address without brackets.
pub fn server_name(host: &url::Host<&str>) -> String {
    match host {
        url::Host::Domain(name) => (*name).to_owned(),
        url::Host::Ipv4(v4) => v4.to_string(),
        url::Host::Ipv6(v6) => v6.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host_of(url: &str) -> bool {
        is_loopback_host(&url::Url::parse(url).unwrap().host().unwrap())
    }

    #[test]
    fn loopback_is_127_8_ipv6_one_and_localhost_only() {
        for yes in
            ["http://127.0.0.1:1", "http://127.3.2.1", "http://[::1]:8200", "http://localhost:1", "http://LOCALHOST"]
        {
            assert!(host_of(yes), "{yes}");
        }
        assert!(host_of("http://[::ffff:127.0.0.1]:1"));
        for no in [
            "http://10.1.2.3:8200",
            "http://0.0.0.0:1",
            "http://[::]:1",
            "http://vault.internal",
            "http://localhost.evil.com",
            "http://128.0.0.1",
        ] {
            assert!(!host_of(no), "{no}");
        }
        assert!(!is_loopback_ip("0.0.0.0".parse().unwrap()));
        assert_eq!(server_name(&url::Url::parse("https://[::1]:9").unwrap().host().unwrap()), "::1");
    }
}
