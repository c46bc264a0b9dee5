//! LTI substitution variables left unexpanded.
//!
//! A tool asks for values through custom parameters such as
//! `resource_link_id_history=$ResourceLink.id.history` (LTI Core 1.3 §5.4.6 and Appendix C;
//! LTI 1.1 Implementation Guide §B), and the platform replaces each `$Name` it supports with the
//! value. A platform that does not support a variable sends it through unchanged: Moodle 4.4,
//! for one, sends the literal `"$ResourceLink.id.history"`. Such a value is not data; the tool
//! treats it as absent ([`expanded`]), and says so once per platform and parameter at debug level
//! ([`note_unexpanded`]) so an operator can see which variables a platform lacks.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

/// Whether `value` is a substitution variable the platform did not expand: `$` followed by a
/// dotted name whose parts are letters, digits and underscores, each starting with a letter
/// (`$User.id`, `$ResourceLink.id.history`, `$Canvas.course.id`). A dollar amount (`$5`), a
/// bare `$` or text with spaces is a value.
pub fn is_unexpanded(value: &str) -> bool {
    let Some(name) = value.strip_prefix('$') else {
        return false;
    };
    !name.is_empty()
        && name.split('.').all(|part| {
            let mut chars = part.chars();
            chars.next().is_some_and(|c| c.is_ascii_alphabetic())
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

/// `value` when it is data, `None` when it is an unexpanded variable.
pub fn expanded(value: Option<String>) -> Option<String> {
    value.filter(|v| !is_unexpanded(v))
}

/// Logs, once per `(platform, parameter)` for the life of the process, that `platform` sent
/// `parameter` unexpanded. The platform is named by its issuer or consumer key (no personal
/// data); the set is bounded so a stream of made-up names cannot grow it without limit.
pub fn note_unexpanded(platform: &str, parameter: &str, value: &str) {
    const MAX_REMEMBERED: usize = 1024;
    static SEEN: OnceLock<Mutex<HashSet<(String, String)>>> = OnceLock::new();
    let seen = SEEN.get_or_init(|| Mutex::new(HashSet::new()));
    let mut seen = seen
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if seen.len() >= MAX_REMEMBERED {
        return;
    }
    if seen.insert((platform.to_owned(), parameter.to_owned())) {
        tracing::debug!(
            platform,
            parameter,
            variable = value,
            "the platform does not expand this substitution variable; treated as absent"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_unexpanded_moodle_shapes_are_variables() {
        for value in [
            "$ResourceLink.id.history",
            "$Context.id.history",
            "$User.id",
            "$Canvas.course.id",
            "$Person.name.given",
            "$com.instructure.User.student_view",
        ] {
            assert!(is_unexpanded(value), "{value}");
        }
    }

    #[test]
    fn is_unexpanded_values_are_data() {
        for value in [
            "",
            "$",
            "$5",
            "$ 5",
            "$User.",
            "$.id",
            "42",
            "quiz-1",
            "price: $User.id",
            "$User.id and more",
            "abc$User.id",
        ] {
            assert!(!is_unexpanded(value), "{value:?}");
        }
    }

    #[test]
    fn expanded_drops_variables_and_keeps_values() {
        assert_eq!(expanded(Some("$ResourceLink.id.history".into())), None);
        assert_eq!(
            expanded(Some("link-1,link-0".into())),
            Some("link-1,link-0".into())
        );
        assert_eq!(expanded(Some(String::new())), Some(String::new()));
        assert_eq!(expanded(None), None);
    }
}
