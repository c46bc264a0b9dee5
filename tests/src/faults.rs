//! Fault injection shared by the loopback AGS platform ([`crate::ags`]) and Basic Outcomes
//! service ([`crate::outcomes11_service`]).
//!
//! A [`FaultPlan`] holds rules a test programs while the server runs, from any thread:
//!
//! - [`FaultPlan::push`] / [`FaultPlan::push_n`]: the next `n` requests to an endpoint get this
//!   fault. Queued rules are used first-in first-out among those whose target matches.
//! - [`FaultPlan::random`]: each request to an endpoint gets one of `faults` with probability
//!   `p`, drawn from a seeded generator, so a benchmark run is reproducible request for request
//!   (as long as requests arrive in the same order).
//!
//! Every fault that fired is logged ([`FaultPlan::injected`]), so a test can assert that the
//! failure it meant to provoke really happened before it asserts how the client recovered.
//!
//! Faults either stop the request before the server looks at it (the state is unchanged: the
//! client must retry) or let the server apply it and then lose the answer
//! ([`Fault::SlowResponse`], [`Fault::CloseAfterProcessing`]): the state changed but the
//! client cannot know, which is what tests of idempotent delivery need.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// One injected failure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    /// Answers this HTTP status (500, 502, 503...) with a short error body. Not processed.
    Status(u16),
    /// Answers 429 Too Many Requests with `Retry-After: <retry_after>` (seconds). Not processed.
    TooManyRequests {
        /// The `Retry-After` value, in seconds.
        retry_after: u64,
    },
    /// Answers 401 as if the access token had expired, although it is valid (AGS: `invalid_token`
    /// with `WWW-Authenticate: Bearer error="invalid_token"`; on the token endpoint:
    /// `invalid_client`; Basic Outcomes: a bare 401). Not processed. The client must get a new
    /// token once and retry.
    ExpiredToken,
    /// Waits this long, then answers 504 without processing: longer than the client's timeout,
    /// this is a timeout with nothing applied.
    Hang(Duration),
    /// Processes the request, then waits this long before answering: longer than the client's
    /// timeout, the change is applied but the client sees a timeout.
    SlowResponse(Duration),
    /// Closes the connection without answering. Not processed.
    Close,
    /// Processes the request, then closes the connection without answering: the change is
    /// applied but the client sees a broken connection.
    CloseAfterProcessing,
    /// Basic Outcomes: HTTP 200 with `imsx_codeMajor` `failure`. Not processed. On AGS
    /// endpoints: a 400 JSON `invalid_request` error.
    CodeMajorFailure,
}

impl Fault {
    /// Whether the server applies the request before the fault hits the answer.
    pub fn processes(&self) -> bool {
        matches!(self, Fault::SlowResponse(_) | Fault::CloseAfterProcessing)
    }
}

/// What a fault rule targets: an endpoint kind, with a wildcard.
pub trait FaultTarget: Copy + PartialEq + fmt::Debug + Send + 'static {
    /// Whether a rule for `self` applies to a request to `endpoint`.
    fn matches(self, endpoint: Self) -> bool;
}

/// A fault that fired, on which endpoint.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Injected<K> {
    /// The endpoint the request went to.
    pub endpoint: K,
    /// The fault it got.
    pub fault: Fault,
}

struct Queued<K> {
    target: K,
    fault: Fault,
    remaining: usize,
}

struct RandomRule<K> {
    target: K,
    probability: f64,
    faults: Vec<Fault>,
    rng: SplitMix64,
}

struct PlanState<K> {
    queued: VecDeque<Queued<K>>,
    random: Vec<RandomRule<K>>,
    injected: Vec<Injected<K>>,
}

/// The faults programmed for a server; thread-safe, changed at any time.
pub struct FaultPlan<K> {
    state: Mutex<PlanState<K>>,
}

impl<K: FaultTarget> Default for FaultPlan<K> {
    fn default() -> Self {
        Self {
            state: Mutex::new(PlanState {
                queued: VecDeque::new(),
                random: Vec::new(),
                injected: Vec::new(),
            }),
        }
    }
}

impl<K: FaultTarget> fmt::Debug for FaultPlan<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("FaultPlan")
            .field("queued", &state.queued.len())
            .field("random", &state.random.len())
            .field("injected", &state.injected.len())
            .finish()
    }
}

impl<K: FaultTarget> FaultPlan<K> {
    fn lock(&self) -> MutexGuard<'_, PlanState<K>> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The next request to `target` gets `fault`.
    pub fn push(&self, target: K, fault: Fault) {
        self.push_n(target, fault, 1);
    }

    /// The next `times` requests to `target` get `fault`.
    pub fn push_n(&self, target: K, fault: Fault, times: usize) {
        if times > 0 {
            self.lock().queued.push_back(Queued {
                target,
                fault,
                remaining: times,
            });
        }
    }

    /// From now on, each request to `target` that no queued rule caught gets one of `faults`
    /// (uniformly) with probability `probability`, drawn from a generator seeded with `seed`.
    pub fn random(&self, target: K, probability: f64, seed: u64, faults: &[Fault]) {
        assert!(
            (0.0..=1.0).contains(&probability),
            "probability {probability}"
        );
        assert!(!faults.is_empty(), "a random rule needs at least one fault");
        self.lock().random.push(RandomRule {
            target,
            probability,
            faults: faults.to_vec(),
            rng: SplitMix64(seed),
        });
    }

    /// Removes every rule (queued and random). The log of injected faults is kept.
    pub fn clear(&self) {
        let mut state = self.lock();
        state.queued.clear();
        state.random.clear();
    }

    /// How many queued faults have not fired yet.
    pub fn pending(&self) -> usize {
        self.lock().queued.iter().map(|q| q.remaining).sum()
    }

    /// Every fault that fired, in order.
    pub fn injected(&self) -> Vec<Injected<K>> {
        self.lock().injected.clone()
    }

    /// How many faults fired on requests to `target` (a wildcard target counts them all).
    pub fn injected_count(&self, target: K) -> usize {
        self.lock()
            .injected
            .iter()
            .filter(|i| target.matches(i.endpoint))
            .count()
    }

    /// The fault for a request to `endpoint`, if any, logged as injected.
    pub(crate) fn next(&self, endpoint: K) -> Option<Fault> {
        let mut state = self.lock();
        let mut fault = None;
        if let Some(index) = state.queued.iter().position(|q| q.target.matches(endpoint)) {
            let queued = &mut state.queued[index];
            fault = Some(queued.fault);
            queued.remaining -= 1;
            if queued.remaining == 0 {
                state.queued.remove(index);
            }
        } else {
            for rule in state
                .random
                .iter_mut()
                .filter(|r| r.target.matches(endpoint))
            {
                if rule.rng.next_f64() < rule.probability {
                    let pick = rule.rng.next_u64() % rule.faults.len() as u64;
                    fault = rule.faults.get(pick as usize).copied();
                    break;
                }
            }
        }
        if let Some(fault) = fault {
            state.injected.push(Injected { endpoint, fault });
        }
        fault
    }
}

/// SplitMix64 (Steele, Lea and Flood, 2014): tiny, seedable, good enough to pick faults.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Kind {
        Any,
        A,
        B,
    }

    impl FaultTarget for Kind {
        fn matches(self, endpoint: Self) -> bool {
            self == Kind::Any || self == endpoint
        }
    }

    #[test]
    fn queued_faults_fire_n_times_on_their_target_only() {
        let plan = FaultPlan::default();
        plan.push_n(Kind::A, Fault::Status(503), 2);
        assert_eq!(plan.next(Kind::B), None);
        assert_eq!(plan.next(Kind::A), Some(Fault::Status(503)));
        assert_eq!(plan.next(Kind::A), Some(Fault::Status(503)));
        assert_eq!(plan.next(Kind::A), None);
        assert_eq!(plan.injected_count(Kind::Any), 2);
        assert_eq!(plan.pending(), 0);
    }

    #[test]
    fn random_faults_are_reproducible_and_near_their_probability() {
        let draw = || {
            let plan = FaultPlan::default();
            plan.random(Kind::Any, 0.2, 7, &[Fault::Status(500), Fault::Close]);
            (0..10_000).map(|_| plan.next(Kind::B)).collect::<Vec<_>>()
        };
        let first = draw();
        assert_eq!(first, draw());
        let hits = first.iter().filter(|f| f.is_some()).count();
        assert!((1_800..2_200).contains(&hits), "{hits}");
    }
}
