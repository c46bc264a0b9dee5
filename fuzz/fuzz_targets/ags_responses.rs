//! Fuzzes what the tool reads from a platform's AGS and NRPS answers (AGS 2.0, NRPS 2.0):
//! the `Link` header's `rel="next"` target ([`next_link`], RFC 8288), the `Retry-After` header
//! ([`parse_retry_after`], RFC 9110 §10.2.3) and an NRPS [`Member`] (JSON). The membership
//! page and line item answer types are `pub(crate)` in lti-shared and so are not fuzzed here.
//!
//! The first byte picks the parser; the rest is the header value or body. Checked besides
//! "never panics":
//! * determinism for all three;
//! * `next_link` returns the text between `<` and `>` of one link of the header, i.e. a
//!   substring of it without `,` (links are split at commas) or surrounding `<`/`>`, and
//!   finds nothing in a header without `next` in it;
//! * `parse_retry_after` on a plain number of seconds is exactly that many seconds; on an HTTP
//!   date it is never more than the date's distance from `now` (and zero for a past date);
//! * a [`Member`] survives a serde round trip.

#![no_main]

use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use lti_shared::lti13::ags::{Member, next_link, parse_retry_after};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    match selector % 3 {
        0 => {
            let Ok(header) = std::str::from_utf8(rest) else {
                return;
            };
            let found = next_link(header);
            assert_eq!(found, next_link(header));
            if let Some(target) = found {
                assert!(!target.contains(','), "{target:?}");
                assert!(header.contains(&format!("<{target}>")), "{target:?}");
                assert!(header.to_ascii_lowercase().contains("next"));
            }
        }
        1 => {
            let Ok(value) = std::str::from_utf8(rest) else {
                return;
            };
            let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_772_366_400);
            let delay = parse_retry_after(value, now);
            assert_eq!(delay, parse_retry_after(value, now));
            if let Ok(seconds) = value.trim().parse::<u64>() {
                assert_eq!(delay, Some(Duration::from_secs(seconds)));
            } else if let Some(delay) = delay {
                let at = httpdate_like(value.trim());
                if let Some(at) = at {
                    let expected = at.duration_since(now).unwrap_or(Duration::ZERO);
                    assert_eq!(delay, expected);
                }
            }
        }
        _ => {
            let Ok(member) = serde_json::from_slice::<Member>(rest) else {
                return;
            };
            assert_eq!(serde_json::from_slice::<Member>(rest).ok(), Some(member.clone()));
            let text = serde_json::to_string(&member).expect("a member serializes");
            let back: Member = serde_json::from_str(&text).expect("a member parses back");
            assert_eq!(back, member);
        }
    }
});

/// The instant of an IMF-fixdate `Retry-After`, recomputed independently when the value has
/// that exact shape (`Sun, 06 Nov 1994 08:49:37 GMT`); `None` for other shapes.
fn httpdate_like(value: &str) -> Option<SystemTime> {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let parsed = time::PrimitiveDateTime::parse(value, &format).ok()?;
    let seconds = u64::try_from(parsed.assume_utc().unix_timestamp()).ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds))
}
