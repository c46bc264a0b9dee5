//! Comparing what a client meant to deliver with what a loopback service accepted: delivered,
//! lost, duplicated, out of order. Used by [`crate::ags::AgsPlatform::delivery_report`] and
//! [`crate::outcomes11_service::Outcomes11Service::delivery_report`].

use std::collections::BTreeMap;
use std::fmt;

/// What arrived, compared with what was expected, per result (a line item and user for AGS,
/// a sourcedid for Basic Outcomes).
///
/// Scores are matched per result as multisets: `delivered` counts expected scores that
/// arrived, `lost` those that did not, `duplicated` accepted scores beyond the expected ones
/// (a retry applied twice, or a score nobody expected). A result is out of order when its
/// accepted scores, in arrival order, are not exactly its expected scores in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Scores expected, in total.
    pub expected: usize,
    /// Scores accepted by the service, in total.
    pub accepted: usize,
    /// Expected scores that were accepted.
    pub delivered: usize,
    /// Expected scores that were not accepted.
    pub lost: usize,
    /// Accepted scores beyond the expected ones.
    pub duplicated: usize,
    /// Results whose accepted scores differ from the expected sequence (by order or content),
    /// as `result: expected [..] got [..]`, at most 20.
    pub mismatches: Vec<String>,
    /// How many results differ (all of them, not only the first 20).
    pub mismatched_results: usize,
}

impl DeliveryReport {
    /// Nothing lost, nothing duplicated, every result in order.
    pub fn is_exact(&self) -> bool {
        self.lost == 0 && self.duplicated == 0 && self.mismatched_results == 0
    }

    /// Compares `expected` with `accepted`, both `(result key, score)` in the order sent or
    /// received.
    pub fn compare<K: Ord + fmt::Debug>(expected: &[(K, f64)], accepted: &[(K, f64)]) -> Self {
        let mut by_key: BTreeMap<&K, (Vec<u64>, Vec<u64>)> = BTreeMap::new();
        for (key, score) in expected {
            by_key.entry(key).or_default().0.push(bits(*score));
        }
        for (key, score) in accepted {
            by_key.entry(key).or_default().1.push(bits(*score));
        }
        let mut report = DeliveryReport {
            expected: expected.len(),
            accepted: accepted.len(),
            ..Self::default()
        };
        for (key, (want, got)) in by_key {
            let mut unmatched = got.clone();
            let mut matched = 0;
            for score in &want {
                if let Some(at) = unmatched.iter().position(|s| s == score) {
                    unmatched.swap_remove(at);
                    matched += 1;
                }
            }
            report.delivered += matched;
            report.lost += want.len() - matched;
            report.duplicated += got.len() - matched;
            if want != got {
                report.mismatched_results += 1;
                if report.mismatches.len() < 20 {
                    let show = |v: &[u64]| v.iter().map(|b| f64::from_bits(*b)).collect::<Vec<_>>();
                    report.mismatches.push(format!(
                        "{key:?}: expected {:?} got {:?}",
                        show(&want),
                        show(&got)
                    ));
                }
            }
        }
        report
    }

    /// Panics with the details unless [`Self::is_exact`].
    pub fn assert_exact(&self) {
        assert!(
            self.is_exact(),
            "delivery was not exactly once, in order: {self}"
        );
    }
}

/// `-0.0` and `0.0` are the same score.
fn bits(score: f64) -> u64 {
    if score == 0.0 { 0 } else { score.to_bits() }
}

impl fmt::Display for DeliveryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "expected {}, accepted {}, delivered {}, lost {}, duplicated {}, \
             results out of order or wrong {}",
            self.expected,
            self.accepted,
            self.delivered,
            self.lost,
            self.duplicated,
            self.mismatched_results
        )?;
        for mismatch in &self.mismatches {
            write!(f, "\n  {mismatch}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_counts_lost_duplicated_and_reordered() {
        let expected = [("a", 1.0), ("a", 2.0), ("b", 3.0), ("c", 4.0)];
        let accepted = [("a", 2.0), ("a", 1.0), ("b", 3.0), ("b", 3.0)];
        let report = DeliveryReport::compare(&expected, &accepted);
        assert_eq!(report.delivered, 3);
        assert_eq!(report.lost, 1);
        assert_eq!(report.duplicated, 1);
        assert_eq!(report.mismatched_results, 3);
        assert!(!report.is_exact());
    }

    #[test]
    fn compare_identical_sequences_is_exact() {
        let expected = [("a", 1.0), ("b", 0.0), ("a", 2.0)];
        let accepted = [("b", -0.0), ("a", 1.0), ("a", 2.0)];
        let report = DeliveryReport::compare(&expected, &accepted);
        assert!(report.is_exact(), "{report}");
        assert_eq!(report.delivered, 3);
    }
}
