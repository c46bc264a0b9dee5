//! The DNS resolver of every outbound client: resolves a host name, then refuses it when any
//! address it resolves to is one the [`OutboundPolicy`] refuses. reqwest connects only to the
//! addresses a resolver returns, so this is the check at connect time, after DNS, that a name
//! pointing inside (`internal.example.com` → `10.0.0.5`, or a rebinding name that changes
//! its answer between two requests) cannot pass.
//!
//! A name with any refused address is refused as a whole, rather than filtered to its public
//! addresses: a platform's public name has no business resolving inside, and the outcome does
//! not depend on which address the connector would have tried first.

use std::net::{IpAddr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::{OutboundError, OutboundPolicy, Refusal};

/// Where names are looked up.
#[derive(Clone)]
pub(crate) enum Lookup {
    /// The system resolver (`getaddrinfo` on a blocking thread, as reqwest's default).
    System,
    /// A fixed table, for tests: names map to the addresses given, others do not resolve.
    #[cfg(test)]
    Fixed(std::sync::Arc<std::collections::HashMap<String, Vec<IpAddr>>>),
}

impl Lookup {
    async fn addresses(&self, host: &str) -> std::io::Result<Vec<SocketAddr>> {
        match self {
            Self::System => Ok(tokio::net::lookup_host((host, 0)).await?.collect()),
            #[cfg(test)]
            Self::Fixed(table) => table
                .get(host)
                .map(|ips| ips.iter().map(|ip| SocketAddr::new(*ip, 0)).collect())
                .ok_or_else(|| std::io::Error::other("no such name in the test table")),
        }
    }
}

/// A resolver that applies `policy` to every address.
#[derive(Clone)]
pub(crate) struct PolicyResolver {
    policy: OutboundPolicy,
    lookup: Lookup,
}

impl PolicyResolver {
    pub(crate) fn new(policy: OutboundPolicy, lookup: Lookup) -> Self {
        Self { policy, lookup }
    }

    /// The addresses of `host`, or the refusal of the first address the policy refuses.
    pub(crate) async fn resolve_checked(
        &self,
        host: &str,
    ) -> Result<Vec<SocketAddr>, Box<dyn std::error::Error + Send + Sync>> {
        let addresses = self.lookup.addresses(host).await?;
        if addresses.is_empty() {
            return Err(format!("{host} has no address").into());
        }
        for address in &addresses {
            let ip: IpAddr = address.ip();
            // Boxed as the `OutboundError` itself (not a box of it), so that
            // `OutboundError::from_reqwest` finds it among the reqwest error's causes.
            self.policy.check_ip(ip).map_err(|inside| {
                OutboundError::Refused(Refusal::Resolved {
                    host: host.chars().take(255).collect(),
                    ip,
                    inside,
                })
            })?;
        }
        Ok(addresses)
    }
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let resolver = self.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addresses = resolver.resolve_checked(&host).await?;
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use super::*;
    use crate::adapters::http_client::address::classify;

    /// A resolver over a fixed table: nothing here connects anywhere, the addresses are only
    /// judged.
    fn resolver(policy: OutboundPolicy, table: &[(&str, &[&str])]) -> PolicyResolver {
        let table: HashMap<String, Vec<IpAddr>> = table
            .iter()
            .map(|(name, ips)| {
                (
                    (*name).to_owned(),
                    ips.iter().map(|ip| ip.parse().unwrap()).collect(),
                )
            })
            .collect();
        PolicyResolver::new(policy, Lookup::Fixed(Arc::new(table)))
    }

    fn refused(
        result: Result<Vec<SocketAddr>, Box<dyn std::error::Error + Send + Sync>>,
    ) -> Refusal {
        let error = result.expect_err("the name should be refused");
        match error.downcast::<OutboundError>().map(|e| *e) {
            Ok(OutboundError::Refused(refusal)) => refusal,
            other => panic!("not a refusal: {other:?}"),
        }
    }

    fn resolved_refusal(host: &str, ip: &str) -> Refusal {
        let ip: IpAddr = ip.parse().unwrap();
        Refusal::Resolved {
            host: host.into(),
            ip,
            inside: classify(ip).unwrap(),
        }
    }

    #[tokio::test]
    async fn names_resolving_inside_are_refused_naming_the_address() {
        let table: &[(&str, &[&str])] = &[
            ("metadata.test", &["169.254.169.254"]),
            ("internal.test", &["10.0.0.5"]),
            ("loopback.test", &["127.0.0.1"]),
            ("ula.test", &["fd00::1"]),
            ("imds6.test", &["fd00:ec2::254"]),
            ("mapped.test", &["::ffff:10.0.0.5"]),
            ("cgnat.test", &["100.64.1.1"]),
            ("linklocal6.test", &["fe80::1"]),
        ];
        let strict = resolver(OutboundPolicy::lambda(), table);
        for (name, ips) in table {
            assert_eq!(
                refused(strict.resolve_checked(name).await),
                resolved_refusal(name, ips[0]),
                "{name}"
            );
        }
        // The local policy allows loopback only.
        let local = resolver(OutboundPolicy::local(), table);
        assert!(local.resolve_checked("loopback.test").await.is_ok());
        for (name, ips) in table.iter().filter(|(name, _)| *name != "loopback.test") {
            assert_eq!(
                refused(local.resolve_checked(name).await),
                resolved_refusal(name, ips[0]),
                "{name}"
            );
        }
    }

    #[tokio::test]
    async fn a_name_with_one_inside_address_among_public_ones_is_refused() {
        let strict = resolver(
            OutboundPolicy::lambda(),
            &[(
                "mixed.test",
                &["93.184.216.34", "2606:4700::1111", "10.0.0.5"],
            )],
        );
        assert_eq!(
            refused(strict.resolve_checked("mixed.test").await),
            resolved_refusal("mixed.test", "10.0.0.5")
        );
    }

    #[tokio::test]
    async fn public_names_resolve_to_their_addresses() {
        let strict = resolver(
            OutboundPolicy::lambda(),
            &[("lms.test", &["93.184.216.34", "2606:4700::1111"])],
        );
        let addresses = strict.resolve_checked("lms.test").await.unwrap();
        let ips: Vec<IpAddr> = addresses.iter().map(SocketAddr::ip).collect();
        assert_eq!(
            ips,
            vec![
                "93.184.216.34".parse::<IpAddr>().unwrap(),
                "2606:4700::1111".parse().unwrap()
            ]
        );
    }

    #[tokio::test]
    async fn the_reqwest_resolve_entry_point_applies_the_policy() {
        let strict = resolver(
            OutboundPolicy::lambda(),
            &[("internal.test", &["10.0.0.5"])],
        );
        let name: Name = "internal.test".parse().unwrap();
        let error = match strict.resolve(name).await {
            Ok(_) => panic!("internal.test should be refused"),
            Err(error) => error,
        };
        assert_eq!(
            error.to_string(),
            "points inside the tool's network (internal.test resolves to 10.0.0.5: a private \
             address (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)); refused"
        );
    }

    #[tokio::test]
    async fn unknown_names_fail_without_a_refusal() {
        let strict = resolver(OutboundPolicy::lambda(), &[]);
        let error = strict.resolve_checked("nowhere.test").await.unwrap_err();
        assert!(error.downcast_ref::<OutboundError>().is_none(), "{error}");
    }
}
