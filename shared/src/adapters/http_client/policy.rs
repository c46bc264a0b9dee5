//! The outbound policy: which URLs and addresses the tool may call. See
//! [`crate::adapters::http_client`] for the rules and their reasons.

use std::fmt;
use std::net::IpAddr;
use std::sync::OnceLock;

use url::{Host, Url};

use super::OutboundError;
use super::address::{AddressClass, Inside, classify};

/// Which destinations outbound requests may have. Two policies exist:
///
/// - [`OutboundPolicy::lambda`], the strict one and the default: `https://` only, and no
///   address inside the tool's network (loopback included: on Lambda it is the Runtime API).
/// - [`OutboundPolicy::local`], for `ltictl` (`ltictl serve` and the operator commands, which
///   run on a developer's or operator's machine) and tests: the same, except that loopback
///   (`127.0.0.0/8`, `::1`) is allowed, and plain `http://` is allowed to a loopback host
///   (`localhost` or a loopback address literal), so platforms on this machine work.
///
/// Clients built without a policy take [`OutboundPolicy::process_default`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboundPolicy {
    local: bool,
}

/// The policy [`OutboundPolicy::process_default`] returns once one has been installed.
static PROCESS_DEFAULT: OnceLock<OutboundPolicy> = OnceLock::new();

impl OutboundPolicy {
    /// The strict policy, for the Lambda functions: https only, nothing inside the network.
    pub const fn lambda() -> Self {
        Self { local: false }
    }

    /// The local-run policy: [`Self::lambda`] plus loopback, over http or https.
    pub const fn local() -> Self {
        Self { local: true }
    }

    /// Whether this is the local-run policy.
    pub fn allows_loopback(&self) -> bool {
        self.local
    }

    /// The policy of clients built without one: [`Self::lambda`] unless a local run has
    /// installed another with [`Self::install_process_default`]. The Lambda functions never
    /// install one, so they are strict whatever the configuration says.
    pub fn process_default() -> Self {
        PROCESS_DEFAULT.get().copied().unwrap_or_default()
    }

    /// Makes `self` the process default for clients built from now on. It can be set once:
    /// installing the policy already installed is accepted, another is refused with the one
    /// in force. Only local runs (`ltictl`, tests) call this.
    pub fn install_process_default(self) -> Result<(), OutboundPolicy> {
        let installed = *PROCESS_DEFAULT.get_or_init(|| self);
        if installed == self {
            Ok(())
        } else {
            Err(installed)
        }
    }

    /// Whether the tool may connect to `ip`.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), Inside> {
        match classify(ip) {
            None => Ok(()),
            Some(inside) if inside.class == AddressClass::Loopback && self.local => Ok(()),
            Some(inside) => Err(inside),
        }
    }

    /// Whether a request to `url` may be sent: run on every URL before its request is sent
    /// (by [`super::OutboundClient`]). A host that is an IP address literal is judged here,
    /// as such URLs never reach the DNS resolver; a host name is judged again at connect
    /// time, on the addresses it resolves to.
    pub fn check_url(&self, url: &Url) -> Result<(), OutboundError> {
        self.check(url).map_err(OutboundError::Refused)
    }

    fn check(&self, url: &Url) -> Result<(), Refusal> {
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refusal::Credentials);
        }
        let literal = match url.host() {
            None => return Err(Refusal::NoHost),
            Some(Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            Some(Host::Domain(_)) => None,
        };
        let loopback_host = match (literal, url.host_str()) {
            (Some(ip), _) => classify(ip).is_some_and(|i| i.class == AddressClass::Loopback),
            (None, Some(name)) => name.eq_ignore_ascii_case("localhost"),
            (None, None) => false,
        };
        match url.scheme() {
            "https" => {}
            "http" if self.local && loopback_host => {}
            "http" => return Err(Refusal::PlainHttp),
            other => {
                return Err(Refusal::NotHttps {
                    scheme: other.chars().take(20).collect(),
                });
            }
        }
        if let Some(ip) = literal {
            self.check_ip(ip)
                .map_err(|inside| Refusal::Address { ip, inside })?;
        }
        Ok(())
    }
}

/// Which rule refused a destination. Nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The scheme is neither `https` nor `http`.
    NotHttps {
        /// The scheme, cut short.
        scheme: String,
    },
    /// Plain `http://` to anything but a loopback host in a local run.
    PlainHttp,
    /// The URL carries a user name or password.
    Credentials,
    /// The URL has no host.
    NoHost,
    /// The host is an address literal inside the tool's network.
    Address {
        /// The address.
        ip: IpAddr,
        /// Where it is.
        inside: Inside,
    },
    /// The host name resolved (at connect time) to an address inside the tool's network.
    Resolved {
        /// The host name.
        host: String,
        /// The refused address it resolved to.
        ip: IpAddr,
        /// Where it is.
        inside: Inside,
    },
}

impl Refusal {
    /// The rule, as a fixed phrase that completes "the platform's … URL " (for errors that
    /// carry a `&'static str`; the `Display` text names the address too).
    pub fn rule(&self) -> &'static str {
        match self {
            Self::NotHttps { .. } => "must be an https:// URL",
            Self::PlainHttp => {
                "must be an https:// URL (plain http is allowed only to this machine, in local runs)"
            }
            Self::Credentials => "must not carry a user name or password",
            Self::NoHost => "has no host",
            Self::Address { .. } | Self::Resolved { .. } => "points inside the tool's network",
        }
    }

    /// Whether the refusal depends on what a name resolves to now (DNS answers change, so a
    /// later try may differ), rather than on the URL alone.
    pub fn depends_on_dns(&self) -> bool {
        matches!(self, Self::Resolved { .. })
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotHttps { scheme } => {
                write!(f, "uses the {scheme}: scheme; only https:// is allowed")
            }
            Self::PlainHttp => f.write_str(
                "uses plain http://; only https:// is allowed (plain http only to this \
                 machine, in local runs)",
            ),
            Self::Credentials => f.write_str("carries a user name or password"),
            Self::NoHost => f.write_str("has no host"),
            Self::Address { ip, inside } => {
                write!(f, "points inside the tool's network ({ip}: {inside})")
            }
            Self::Resolved { host, ip, inside } => write!(
                f,
                "points inside the tool's network ({host} resolves to {ip}: {inside})"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(policy: OutboundPolicy, url: &str) -> Option<Refusal> {
        match policy.check_url(&Url::parse(url).unwrap()) {
            Ok(()) => None,
            Err(OutboundError::Refused(refusal)) => Some(refusal),
            Err(other) => panic!("{url}: {other:?}"),
        }
    }

    fn address(ip: &str) -> Refusal {
        let ip: IpAddr = ip.parse().unwrap();
        Refusal::Address {
            ip,
            inside: classify(ip).unwrap(),
        }
    }

    #[test]
    fn lambda_policy_accepts_https_to_public_hosts() {
        for url in [
            "https://canvas.instructure.com/api/lti/courses/1/line_items/2",
            "https://lms.example.edu:8443/mod/lti/services.php/2/lineitems?type_id=3",
            "https://93.184.216.34/jwks",
            "https://[2606:4700::1111]/token",
        ] {
            assert_eq!(refusal(OutboundPolicy::lambda(), url), None, "{url}");
        }
    }

    #[test]
    fn lambda_policy_refuses_plain_http_everywhere() {
        for url in [
            "http://canvas.instructure.com/lineitems",
            "http://93.184.216.34/",
            "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next",
            "http://localhost:8080/",
            "http://[::1]/",
        ] {
            assert_eq!(
                refusal(OutboundPolicy::lambda(), url),
                Some(Refusal::PlainHttp),
                "{url}"
            );
        }
    }

    #[test]
    fn lambda_policy_refuses_internal_literals_with_their_range() {
        for (url, ip) in [
            (
                "https://169.254.169.254/latest/meta-data/",
                "169.254.169.254",
            ),
            ("https://10.0.0.5/lineitems", "10.0.0.5"),
            ("https://127.0.0.1:9001/", "127.0.0.1"),
            ("https://[::1]/", "::1"),
            ("https://[fd00:ec2::254]/", "fd00:ec2::254"),
            ("https://[fd00::1]/", "fd00::1"),
            ("https://[::ffff:10.0.0.5]/", "::ffff:10.0.0.5"),
            ("https://[fe80::1]/", "fe80::1"),
            ("https://100.64.0.1/", "100.64.0.1"),
            ("https://0.0.0.0/", "0.0.0.0"),
            ("https://255.255.255.255/", "255.255.255.255"),
            ("https://224.0.0.1/", "224.0.0.1"),
        ] {
            assert_eq!(
                refusal(OutboundPolicy::lambda(), url),
                Some(address(ip)),
                "{url}"
            );
        }
    }

    /// The URL parser turns the shorthand IPv4 forms into addresses, so they are judged as
    /// literals too.
    #[test]
    fn ipv4_shorthand_forms_are_judged_as_the_address_they_mean() {
        for url in [
            "https://2130706433/",
            "https://0x7f.1/",
            "https://127.1/",
            "https://0177.0.0.1/",
        ] {
            assert_eq!(
                refusal(OutboundPolicy::lambda(), url),
                Some(address("127.0.0.1")),
                "{url}"
            );
        }
        assert_eq!(
            refusal(OutboundPolicy::lambda(), "https://0xa000005/"),
            Some(address("10.0.0.5"))
        );
    }

    #[test]
    fn other_schemes_credentials_and_hostless_urls_are_refused() {
        let lambda = OutboundPolicy::lambda();
        let local = OutboundPolicy::local();
        for policy in [lambda, local] {
            assert_eq!(
                refusal(policy, "ftp://lms.example/x"),
                Some(Refusal::NotHttps {
                    scheme: "ftp".into()
                })
            );
            assert_eq!(refusal(policy, "file:///etc/passwd"), Some(Refusal::NoHost));
            assert_eq!(
                refusal(policy, "https://user:pass@lms.example/x"),
                Some(Refusal::Credentials)
            );
            assert_eq!(
                refusal(policy, "https://user@lms.example/x"),
                Some(Refusal::Credentials)
            );
        }
        assert_eq!(
            refusal(lambda, "gopher://127.0.0.1:6379/_x"),
            Some(Refusal::NotHttps {
                scheme: "gopher".into()
            })
        );
    }

    #[test]
    fn local_policy_allows_exactly_loopback_over_http() {
        let local = OutboundPolicy::local();
        for url in [
            "http://127.0.0.1:8080/jwks",
            "http://127.0.0.2/",
            "http://localhost:3000/token",
            "http://LOCALHOST/",
            "http://[::1]:9000/",
            "http://[::ffff:127.0.0.1]/",
            "https://127.0.0.1/",
            "https://lms.example.edu/",
        ] {
            assert_eq!(refusal(local, url), None, "{url}");
        }
        // Plain http to anything else, and every other internal range, stay refused.
        assert_eq!(
            refusal(local, "http://lms.example.edu/"),
            Some(Refusal::PlainHttp)
        );
        assert_eq!(
            refusal(local, "http://localhost.evil.example/"),
            Some(Refusal::PlainHttp)
        );
        assert_eq!(refusal(local, "http://10.0.0.5/"), Some(Refusal::PlainHttp));
        assert_eq!(
            refusal(local, "http://0.0.0.0:8080/"),
            Some(Refusal::PlainHttp)
        );
        for ip in ["169.254.169.254", "10.0.0.5", "192.168.1.1", "0.0.0.0"] {
            assert_eq!(
                refusal(local, &format!("https://{ip}/")),
                Some(address(ip)),
                "{ip}"
            );
        }
        assert_eq!(
            refusal(local, "https://[fd00:ec2::254]/"),
            Some(address("fd00:ec2::254"))
        );
    }

    #[test]
    fn check_ip_allows_loopback_only_in_the_local_policy() {
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        let private: IpAddr = "10.0.0.5".parse().unwrap();
        let public: IpAddr = "93.184.216.34".parse().unwrap();
        let lambda = OutboundPolicy::lambda();
        let local = OutboundPolicy::local();
        assert_eq!(lambda.check_ip(loopback), Err(classify(loopback).unwrap()));
        assert_eq!(lambda.check_ip(mapped), Err(classify(mapped).unwrap()));
        assert_eq!(local.check_ip(loopback), Ok(()));
        assert_eq!(local.check_ip(mapped), Ok(()));
        assert_eq!(local.check_ip(private), Err(classify(private).unwrap()));
        assert_eq!(lambda.check_ip(public), Ok(()));
        assert_eq!(local.check_ip(public), Ok(()));
    }

    #[test]
    fn refusal_text_names_the_rule_and_the_address() {
        let refused = OutboundPolicy::lambda()
            .check_url(&Url::parse("https://10.0.0.5/lineitems/1").unwrap())
            .unwrap_err();
        assert_eq!(
            refused.to_string(),
            "points inside the tool's network (10.0.0.5: a private address (10.0.0.0/8, \
             172.16.0.0/12, 192.168.0.0/16)); refused"
        );
        let Err(OutboundError::Refused(refusal)) =
            OutboundPolicy::lambda().check_url(&Url::parse("https://10.0.0.5/").unwrap())
        else {
            panic!("not refused")
        };
        assert_eq!(refusal.rule(), "points inside the tool's network");
        assert!(!refusal.depends_on_dns());
    }

    #[test]
    fn default_policy_is_the_strict_one() {
        assert_eq!(OutboundPolicy::default(), OutboundPolicy::lambda());
        assert!(!OutboundPolicy::default().allows_loopback());
        assert!(OutboundPolicy::local().allows_loopback());
    }
}
