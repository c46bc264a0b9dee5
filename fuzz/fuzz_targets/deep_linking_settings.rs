//! Fuzzes the Deep Linking 2.0 settings claim parser (§4.4.1,
//! `https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings`): JSON into the public
//! [`DeepLinkingSettingsClaim`], whose fields take the lenient shapes platforms send (lists or
//! single strings, `accept_media_types` as a string or an array, booleans as JSON booleans or
//! `"true"`/`"false"` in any case). Inside a launch the claim is only reached after the
//! signature check, so it is fuzzed here directly.
//!
//! Checked besides "never panics":
//! * determinism: the same JSON parses to the same claim;
//! * an accepted claim has the required lists (`accept_types`,
//!   `accept_presentation_document_targets`) taken from the JSON, and a boolean field is
//!   `Some` only when the JSON member was a boolean or a `"true"`/`"false"` string;
//! * `accept_media_types` is the JSON string, or the array's strings joined with commas.

#![no_main]

use libfuzzer_sys::fuzz_target;
use lti_shared::lti13::claims::DeepLinkingSettingsClaim;
use serde_json::Value;

fn boolean_member(object: &serde_json::Map<String, Value>, name: &str, parsed: Option<bool>) {
    let expected = match object.get(name) {
        None | Some(Value::Null) => None,
        Some(Value::Bool(value)) => Some(*value),
        Some(Value::String(text)) => Some(text.trim().eq_ignore_ascii_case("true")),
        Some(other) => panic!("{name} accepted as {other:?}"),
    };
    assert_eq!(parsed, expected, "{name}");
}

fuzz_target!(|data: &[u8]| {
    let Ok(claim) = serde_json::from_slice::<DeepLinkingSettingsClaim>(data) else {
        return;
    };
    assert_eq!(
        serde_json::from_slice::<DeepLinkingSettingsClaim>(data).ok(),
        Some(claim.clone())
    );
    // An accepted claim is a JSON object (serde_json may also accept a sequence for a struct).
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    assert_eq!(
        object.get("deep_link_return_url").and_then(Value::as_str),
        Some(claim.deep_link_return_url.as_str())
    );
    assert!(object.contains_key("accept_types"));
    assert!(object.contains_key("accept_presentation_document_targets"));
    boolean_member(&object, "accept_multiple", claim.accept_multiple);
    boolean_member(&object, "accept_lineitem", claim.accept_lineitem);
    boolean_member(&object, "auto_create", claim.auto_create);
    match object.get("accept_media_types") {
        None | Some(Value::Null) => assert_eq!(claim.accept_media_types, None),
        Some(Value::String(text)) => assert_eq!(claim.accept_media_types.as_ref(), Some(text)),
        Some(Value::Array(items)) => {
            let joined: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
            assert_eq!(claim.accept_media_types, Some(joined.join(",")));
        }
        Some(other) => panic!("accept_media_types accepted as {other:?}"),
    }
});
