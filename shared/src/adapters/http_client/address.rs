//! Which IP addresses are inside the tool's network: a pure classification, used by the
//! [`super::OutboundPolicy`] on URL literals and on every address a name resolves to.
//!
//! An address is *public* (`None`) only when it is a global unicast address: everything a
//! platform has no business pointing the tool at is named by an [`AddressClass`]. IPv6 forms
//! that carry an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`,
//! IPv4-translated `::ffff:0:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`) are judged by the IPv4
//! address they carry, since that is where a connection to them can end up.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A range of addresses the tool refuses to connect to (only [`AddressClass::Loopback`] is
/// allowed, and only by [`super::OutboundPolicy::local`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressClass {
    /// `0.0.0.0` and `::`: a connection to them reaches this machine.
    Unspecified,
    /// `0.0.0.0/8`, "this network" (RFC 791, RFC 1122): not a destination.
    ThisNetwork,
    /// `127.0.0.0/8` and `::1`: this machine; on Lambda, the Runtime API.
    Loopback,
    /// `10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16` (RFC 1918): the VPC and other
    /// internal networks.
    Private,
    /// `100.64.0.0/10` (RFC 6598): carrier-grade NAT, also used inside cloud networks.
    SharedAddressSpace,
    /// `169.254.0.0/16` and `fe80::/10`: link-local, where cloud metadata and credential
    /// services live.
    LinkLocal,
    /// `169.254.169.254` and `fd00:ec2::254`: the instance metadata service (credentials).
    CloudMetadata,
    /// `192.0.0.0/24` and `2001::/23` outside the ranges named separately: IETF protocol
    /// assignments (RFC 6890), not platforms.
    ProtocolAssignments,
    /// `192.0.2.0/24`, `198.51.100.0/24`, `203.0.113.0/24`, `2001:db8::/32`, `3fff::/20`:
    /// documentation only, never routed.
    Documentation,
    /// `198.18.0.0/15` and `2001:2::/48`: benchmarking networks (RFC 2544, RFC 5180).
    Benchmarking,
    /// `224.0.0.0/4` and `ff00::/8`: multicast, not a server.
    Multicast,
    /// `255.255.255.255`: limited broadcast.
    Broadcast,
    /// `240.0.0.0/4`, `192.88.99.0/24` (the retired 6to4 relay anycast), and IPv6 outside
    /// `2000::/3` (not assigned as global unicast).
    Reserved,
    /// `fc00::/7` (RFC 4193): the IPv6 counterpart of the private ranges.
    UniqueLocal,
    /// `fec0::/10`: the deprecated site-local range (RFC 3879), still internal.
    SiteLocal,
    /// `100::/64` (RFC 6666): discard-only.
    DiscardOnly,
    /// `2002::/16` (6to4) and `2001::/32` (Teredo): tunnels that can end at any IPv4 address,
    /// internal ones included.
    Tunnel,
    /// `64:ff9b:1::/48` (RFC 8215): NAT64 for local use, which translates to internal IPv4.
    LocalNat64,
}

impl AddressClass {
    /// The ranges of this class, for messages.
    pub fn ranges(self) -> &'static str {
        match self {
            Self::Unspecified => "0.0.0.0, ::",
            Self::ThisNetwork => "0.0.0.0/8",
            Self::Loopback => "127.0.0.0/8, ::1",
            Self::Private => "10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16",
            Self::SharedAddressSpace => "100.64.0.0/10",
            Self::LinkLocal => "169.254.0.0/16, fe80::/10",
            Self::CloudMetadata => "169.254.169.254, fd00:ec2::254",
            Self::ProtocolAssignments => "192.0.0.0/24, 2001::/23",
            Self::Documentation => {
                "192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32, 3fff::/20"
            }
            Self::Benchmarking => "198.18.0.0/15, 2001:2::/48",
            Self::Multicast => "224.0.0.0/4, ff00::/8",
            Self::Broadcast => "255.255.255.255",
            Self::Reserved => "240.0.0.0/4, 192.88.99.0/24, IPv6 outside 2000::/3",
            Self::UniqueLocal => "fc00::/7",
            Self::SiteLocal => "fec0::/10",
            Self::DiscardOnly => "100::/64",
            Self::Tunnel => "2002::/16, 2001::/32",
            Self::LocalNat64 => "64:ff9b:1::/48",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Unspecified => "the unspecified address",
            Self::ThisNetwork => "a \"this network\" address",
            Self::Loopback => "a loopback address",
            Self::Private => "a private address",
            Self::SharedAddressSpace => "a carrier-grade NAT address",
            Self::LinkLocal => "a link-local address",
            Self::CloudMetadata => "the cloud metadata service",
            Self::ProtocolAssignments => "an IETF protocol address",
            Self::Documentation => "a documentation address",
            Self::Benchmarking => "a benchmarking address",
            Self::Multicast => "a multicast address",
            Self::Broadcast => "the broadcast address",
            Self::Reserved => "a reserved address",
            Self::UniqueLocal => "a unique-local address",
            Self::SiteLocal => "a site-local address",
            Self::DiscardOnly => "a discard-only address",
            Self::Tunnel => "an IPv4 tunnel address",
            Self::LocalNat64 => "a local-use NAT64 address",
        }
    }
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.ranges())
    }
}

/// The IPv6 form an IPv4 address was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ipv6Form {
    /// `::ffff:a.b.c.d` (RFC 4291 §2.5.5.2).
    Mapped,
    /// `::a.b.c.d` (deprecated, RFC 4291 §2.5.5.1).
    Compatible,
    /// `::ffff:0:a.b.c.d` (SIIT, RFC 6052 / RFC 7915).
    Translated,
    /// `64:ff9b::a.b.c.d` (well-known NAT64 prefix, RFC 6052).
    Nat64,
}

impl fmt::Display for Ipv6Form {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Mapped => "IPv4-mapped",
            Self::Compatible => "IPv4-compatible",
            Self::Translated => "IPv4-translated",
            Self::Nat64 => "NAT64",
        })
    }
}

/// Why an address is not public: its class, and the IPv6 form when it carries an IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Inside {
    /// The range it is in.
    pub class: AddressClass,
    /// The IPv4 address it carries and the form it was written in, when it is one of those
    /// IPv6 forms.
    pub carried: Option<(Ipv4Addr, Ipv6Form)>,
}

impl Inside {
    const fn plain(class: AddressClass) -> Self {
        Self {
            class,
            carried: None,
        }
    }
}

impl fmt::Display for Inside {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.carried {
            Some((v4, form)) => write!(f, "{form} form of {v4}, {}", self.class),
            None => write!(f, "{}", self.class),
        }
    }
}

/// Where `ip` is, when it is not a public (global unicast) address.
pub fn classify(ip: IpAddr) -> Option<Inside> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4).map(Inside::plain),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

/// Whether `ip` is in `net/prefix`.
fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

/// Whether `ip` is in `net/prefix`.
fn in_v6(ip: Ipv6Addr, net: [u16; 8], prefix: u32) -> bool {
    let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
    u128::from(ip) & mask == u128::from(Ipv6Addr::from(net)) & mask
}

fn classify_v4(ip: Ipv4Addr) -> Option<AddressClass> {
    use AddressClass::*;
    // Most specific first: the metadata address inside link-local, broadcast inside 240/4.
    let table: &[([u8; 4], u32, AddressClass)] = &[
        ([0, 0, 0, 0], 32, Unspecified),
        ([0, 0, 0, 0], 8, ThisNetwork),
        ([127, 0, 0, 0], 8, Loopback),
        ([10, 0, 0, 0], 8, Private),
        ([172, 16, 0, 0], 12, Private),
        ([192, 168, 0, 0], 16, Private),
        ([100, 64, 0, 0], 10, SharedAddressSpace),
        ([169, 254, 169, 254], 32, CloudMetadata),
        ([169, 254, 0, 0], 16, LinkLocal),
        ([192, 0, 0, 0], 24, ProtocolAssignments),
        ([192, 0, 2, 0], 24, Documentation),
        ([198, 51, 100, 0], 24, Documentation),
        ([203, 0, 113, 0], 24, Documentation),
        ([198, 18, 0, 0], 15, Benchmarking),
        ([192, 88, 99, 0], 24, Reserved),
        ([224, 0, 0, 0], 4, Multicast),
        ([255, 255, 255, 255], 32, Broadcast),
        ([240, 0, 0, 0], 4, Reserved),
    ];
    table
        .iter()
        .find(|(net, prefix, _)| in_v4(ip, *net, *prefix))
        .map(|(_, _, class)| *class)
}

fn classify_v6(ip: Ipv6Addr) -> Option<Inside> {
    use AddressClass::*;
    let s = ip.segments();
    let carried_v4 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    let carried = |form: Ipv6Form| {
        classify_v4(carried_v4).map(|class| Inside {
            class,
            carried: Some((carried_v4, form)),
        })
    };
    if ip == Ipv6Addr::UNSPECIFIED {
        return Some(Inside::plain(Unspecified));
    }
    if ip == Ipv6Addr::LOCALHOST {
        return Some(Inside::plain(Loopback));
    }
    // IPv4-mapped: the socket connects to the IPv4 address itself, so a public one is fine.
    if s[..6] == [0, 0, 0, 0, 0, 0xffff] {
        return carried(Ipv6Form::Mapped);
    }
    // The well-known NAT64 prefix reaches the IPv4 address it carries (in an IPv6-only
    // network with DNS64 that is how public platforms are reached).
    if in_v6(ip, [0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96) {
        return carried(Ipv6Form::Nat64);
    }
    // IPv4-compatible and IPv4-translated: never routed as public addresses, so refused
    // even when what they carry is public.
    if s[..6] == [0; 6] {
        return Some(carried(Ipv6Form::Compatible).unwrap_or(Inside {
            class: Reserved,
            carried: Some((carried_v4, Ipv6Form::Compatible)),
        }));
    }
    if s[..6] == [0, 0, 0, 0, 0xffff, 0] {
        return Some(carried(Ipv6Form::Translated).unwrap_or(Inside {
            class: Reserved,
            carried: Some((carried_v4, Ipv6Form::Translated)),
        }));
    }
    // Most specific first: the metadata address inside fc00::/7, the named 2001:: ranges
    // inside 2001::/23, then everything outside 2000::/3.
    let table: &[([u16; 8], u32, AddressClass)] = &[
        ([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48, LocalNat64),
        ([0x100, 0, 0, 0, 0, 0, 0, 0], 64, DiscardOnly),
        ([0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254], 128, CloudMetadata),
        ([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, UniqueLocal),
        ([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, LinkLocal),
        ([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10, SiteLocal),
        ([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, Multicast),
        ([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32, Documentation),
        ([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20, Documentation),
        ([0x2001, 0x2, 0, 0, 0, 0, 0, 0], 48, Benchmarking),
        ([0x2001, 0, 0, 0, 0, 0, 0, 0], 32, Tunnel),
        ([0x2002, 0, 0, 0, 0, 0, 0, 0], 16, Tunnel),
        ([0x2001, 0, 0, 0, 0, 0, 0, 0], 23, ProtocolAssignments),
    ];
    if let Some((_, _, class)) = table
        .iter()
        .find(|(net, prefix, _)| in_v6(ip, *net, *prefix))
    {
        return Some(Inside::plain(*class));
    }
    if !in_v6(ip, [0x2000, 0, 0, 0, 0, 0, 0, 0], 3) {
        return Some(Inside::plain(Reserved));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::AddressClass::*;
    use super::*;

    fn class_of(text: &str) -> Option<AddressClass> {
        classify(text.parse().unwrap()).map(|inside| inside.class)
    }

    /// Every range: its first and last address and one inside are refused with its class, and
    /// the addresses just outside it are not in it.
    #[test]
    fn ipv4_ranges_first_last_and_middle_are_refused_with_their_class() {
        let cases: &[(&str, &str, &str, AddressClass)] = &[
            ("0.0.0.1", "0.1.2.3", "0.255.255.255", ThisNetwork),
            ("127.0.0.0", "127.0.0.1", "127.255.255.255", Loopback),
            ("10.0.0.0", "10.0.0.5", "10.255.255.255", Private),
            ("172.16.0.0", "172.20.1.1", "172.31.255.255", Private),
            ("192.168.0.0", "192.168.1.1", "192.168.255.255", Private),
            (
                "100.64.0.0",
                "100.100.100.200",
                "100.127.255.255",
                SharedAddressSpace,
            ),
            ("169.254.0.0", "169.254.170.2", "169.254.255.255", LinkLocal),
            (
                "192.0.0.0",
                "192.0.0.192",
                "192.0.0.255",
                ProtocolAssignments,
            ),
            ("192.0.2.0", "192.0.2.1", "192.0.2.255", Documentation),
            (
                "198.51.100.0",
                "198.51.100.7",
                "198.51.100.255",
                Documentation,
            ),
            ("203.0.113.0", "203.0.113.9", "203.0.113.255", Documentation),
            ("198.18.0.0", "198.18.5.5", "198.19.255.255", Benchmarking),
            ("192.88.99.0", "192.88.99.1", "192.88.99.255", Reserved),
            ("224.0.0.0", "239.1.2.3", "239.255.255.255", Multicast),
            ("240.0.0.0", "250.1.2.3", "255.255.255.254", Reserved),
        ];
        for (first, middle, last, class) in cases {
            for ip in [first, middle, last] {
                assert_eq!(class_of(ip), Some(*class), "{ip}");
            }
        }
        assert_eq!(class_of("0.0.0.0"), Some(Unspecified));
        assert_eq!(class_of("169.254.169.254"), Some(CloudMetadata));
        assert_eq!(class_of("255.255.255.255"), Some(Broadcast));
    }

    #[test]
    fn ipv4_neighbours_of_the_ranges_are_public() {
        for ip in [
            "1.0.0.0",
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "126.255.255.255",
            "128.0.0.0",
            "169.253.255.255",
            "169.255.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.1.0",
            "192.0.3.0",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "198.51.99.255",
            "203.0.112.255",
            "223.255.255.255",
            "8.8.8.8",
            "93.184.216.34",
        ] {
            assert_eq!(class_of(ip), None, "{ip}");
        }
    }

    #[test]
    fn ipv6_ranges_are_refused_with_their_class() {
        let cases: &[(&str, AddressClass)] = &[
            ("::", Unspecified),
            ("::1", Loopback),
            ("fe80::1", LinkLocal),
            ("febf:ffff::1", LinkLocal),
            ("fd00:ec2::254", CloudMetadata),
            ("fd00:ec2::253", UniqueLocal),
            ("fc00::", UniqueLocal),
            ("fd00::1", UniqueLocal),
            ("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", UniqueLocal),
            ("fec0::1", SiteLocal),
            ("ff02::1", Multicast),
            ("ff0e::1", Multicast),
            ("2001:db8::1", Documentation),
            ("3fff:fff::1", Documentation),
            ("2001:2::1", Benchmarking),
            ("2001::1", Tunnel),
            ("2002:a00:5::1", Tunnel),
            ("2001:1::1", ProtocolAssignments),
            ("2001:1ff:ffff::1", ProtocolAssignments),
            ("100::1", DiscardOnly),
            ("64:ff9b:1::a00:5", LocalNat64),
            ("1::1", Reserved),
            ("4000::1", Reserved),
            ("fbff::1", Reserved),
            ("::2:0:0:1", Reserved),
        ];
        for (ip, class) in cases {
            assert_eq!(class_of(ip), Some(*class), "{ip}");
        }
    }

    #[test]
    fn ipv6_global_unicast_is_public() {
        for ip in [
            "2001:200::1",
            "2001:4860:4860::8888",
            "2606:4700::1111",
            "2a00:1450:4001::1",
            "3ffe::1",
            "3fff:1000::1",
            "2003::1",
            "64:ff9b::808:808",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(classify(ip.parse().unwrap()), None, "{ip}");
        }
    }

    #[test]
    fn ipv6_forms_of_internal_ipv4_are_refused_as_what_they_carry() {
        let cases: &[(&str, Ipv4Addr, Ipv6Form, AddressClass)] = &[
            (
                "::ffff:10.0.0.1",
                [10, 0, 0, 1].into(),
                Ipv6Form::Mapped,
                Private,
            ),
            (
                "::ffff:127.0.0.1",
                [127, 0, 0, 1].into(),
                Ipv6Form::Mapped,
                Loopback,
            ),
            (
                "::ffff:169.254.169.254",
                [169, 254, 169, 254].into(),
                Ipv6Form::Mapped,
                CloudMetadata,
            ),
            (
                "::ffff:0.0.0.0",
                [0, 0, 0, 0].into(),
                Ipv6Form::Mapped,
                Unspecified,
            ),
            (
                "::10.0.0.1",
                [10, 0, 0, 1].into(),
                Ipv6Form::Compatible,
                Private,
            ),
            (
                "::127.0.0.1",
                [127, 0, 0, 1].into(),
                Ipv6Form::Compatible,
                Loopback,
            ),
            (
                "::8.8.8.8",
                [8, 8, 8, 8].into(),
                Ipv6Form::Compatible,
                Reserved,
            ),
            (
                "::ffff:0:192.168.1.1",
                [192, 168, 1, 1].into(),
                Ipv6Form::Translated,
                Private,
            ),
            (
                "::ffff:0:8.8.8.8",
                [8, 8, 8, 8].into(),
                Ipv6Form::Translated,
                Reserved,
            ),
            (
                "64:ff9b::10.0.0.5",
                [10, 0, 0, 5].into(),
                Ipv6Form::Nat64,
                Private,
            ),
            (
                "64:ff9b::169.254.169.254",
                [169, 254, 169, 254].into(),
                Ipv6Form::Nat64,
                CloudMetadata,
            ),
        ];
        for (ip, v4, form, class) in cases {
            assert_eq!(
                classify(ip.parse().unwrap()),
                Some(Inside {
                    class: *class,
                    carried: Some((*v4, *form)),
                }),
                "{ip}"
            );
        }
    }

    #[test]
    fn inside_display_names_the_form_and_the_range() {
        let inside = classify("::ffff:10.0.0.1".parse().unwrap()).unwrap();
        assert_eq!(
            inside.to_string(),
            "IPv4-mapped form of 10.0.0.1, a private address \
             (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)"
        );
        assert_eq!(
            classify("169.254.169.254".parse().unwrap())
                .unwrap()
                .to_string(),
            "the cloud metadata service (169.254.169.254, fd00:ec2::254)"
        );
    }
}
