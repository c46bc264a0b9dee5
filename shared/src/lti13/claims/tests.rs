//! Unit tests of [`super`], on the recorded launches of `shared/tests/data/claims/`.

use super::*;
use serde_json::json;

const CANVAS: &str = include_str!("../../../tests/data/claims/canvas_resource_link.json");
const MOODLE_DL: &str = include_str!("../../../tests/data/claims/moodle_deep_linking.json");
const BLACKBOARD: &str = include_str!("../../../tests/data/claims/blackboard_resource_link.json");
const D2L: &str = include_str!("../../../tests/data/claims/d2l_resource_link.json");
const ANONYMOUS: &str = include_str!("../../../tests/data/claims/anonymous_launch.json");

/// The smallest payload that deserializes, built from the [`uri`] constants.
fn minimal() -> Value {
    let mut payload = json!({
        "iss": "https://platform.example.edu",
        "aud": "tool-client-id",
        "exp": 1_700_000_300,
        "iat": 1_700_000_000,
        "nonce": "n-0S6_WzA2Mj",
    });
    payload[uri::MESSAGE_TYPE] = json!("LtiResourceLinkRequest");
    payload[uri::VERSION] = json!("1.3.0");
    payload[uri::DEPLOYMENT_ID] = json!("deployment-1");
    payload
}

fn parse(payload: Value) -> Result<IdTokenClaims, serde_json::Error> {
    serde_json::from_value(payload)
}

fn with(claim: &str, value: Value) -> Result<IdTokenClaims, serde_json::Error> {
    let mut payload = minimal();
    payload[claim] = value;
    parse(payload)
}

#[test]
fn canvas_resource_link_fixture_parses_every_claim() {
    let claims: IdTokenClaims = serde_json::from_str(CANVAS).unwrap();

    assert_eq!(claims.iss.as_str(), "https://canvas.instructure.com");
    assert_eq!(claims.aud, Audience::Single("10000000000042".into()));
    assert_eq!(
        claims.azp.as_ref().map(ClientId::as_str),
        Some("10000000000042")
    );
    assert_eq!(
        (claims.iat, claims.exp, claims.nbf),
        (1_749_758_209, 1_749_761_809, None)
    );
    assert_eq!(claims.message_kind(), Some(MessageType::ResourceLink));
    assert_eq!(
        claims.deployment_id.as_str(),
        "12:8865aa05b4b79b64a91a86042e43af5ea8ae79eb"
    );
    let link = claims.resource_link.as_ref().unwrap();
    assert_eq!(link.id, "4dde05e8ca1973bcca9bffc13e1548820eee93a3");
    assert_eq!(link.title.as_deref(), Some("Week 3 quiz"));
    assert_eq!(link.description, None);
    assert_eq!(claims.roles.as_ref().map(Vec::len), Some(3));
    let context = claims.context.as_ref().unwrap();
    assert_eq!(context.label.as_deref(), Some("MATH101"));
    assert_eq!(
        context.types,
        ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"]
    );
    let presentation = claims.launch_presentation.as_ref().unwrap();
    assert_eq!(
        (presentation.height, presentation.width),
        (Some(400), Some(800))
    );
    assert_eq!(
        claims
            .tool_platform
            .as_ref()
            .unwrap()
            .product_family_code
            .as_deref(),
        Some("canvas")
    );
    let lis = claims.lis.as_ref().unwrap();
    assert_eq!(
        lis.course_offering_sourcedid.as_deref(),
        Some("$CourseSection.sourcedId")
    );
    assert_eq!(claims.custom_str("canvas_course_id").as_deref(), Some("42"));
    assert_eq!(
        claims.custom_str("canvas_user_is_root_admin").as_deref(),
        Some("false")
    );
    let ags = claims.ags_endpoint.as_ref().unwrap();
    assert_eq!(ags.scope.len(), 5);
    assert_eq!(
        ags.lineitem.as_deref(),
        Some("https://canvas.example.edu/api/lti/courses/42/line_items/7")
    );
    assert_eq!(claims.nrps.as_ref().unwrap().service_versions, ["2.0"]);
    let lti1p1 = claims.lti1p1.as_ref().unwrap();
    assert_eq!(
        lti1p1.user_id.as_deref(),
        Some("c0ddd6c90cbe1ef0f32fbce5c3bf654204be186c")
    );
    assert_eq!(
        lti1p1.oauth_consumer_key_sign.as_deref(),
        Some("FPR9uW9niYZZTkodpKrJCfjktJ51YJhc6m44c4kzKNk=")
    );
    assert_eq!(claims.deep_linking_settings, None);
    assert!(!claims.is_anonymous());
}

#[test]
fn moodle_deep_linking_fixture_reads_string_booleans_and_media_type_list() {
    let claims: IdTokenClaims = serde_json::from_str(MOODLE_DL).unwrap();

    assert_eq!(claims.message_kind(), Some(MessageType::DeepLinking));
    assert_eq!(claims.aud, Audience::Single("Kj3abX9qWzT1pLm".into()));
    assert_eq!(claims.resource_link, None);
    let settings = claims.deep_linking_settings.as_ref().unwrap();
    assert_eq!(settings.accept_multiple, Some(true));
    assert_eq!(settings.auto_create, Some(false));
    assert_eq!(settings.accept_lineitem, None);
    assert_eq!(settings.accept_types, ["ltiResourceLink"]);
    assert_eq!(
        settings.accept_presentation_document_targets,
        ["frame", "iframe", "window"]
    );
    assert_eq!(
        settings.accept_media_types.as_deref(),
        Some("application/vnd.ims.lti.v1.ltilink")
    );
    assert_eq!(settings.data, None);
    assert_eq!(settings.title.as_deref(), Some(""));
    let presentation = claims.launch_presentation.as_ref().unwrap();
    assert_eq!(presentation.height, Some(400));
    assert_eq!(presentation.width, None);
    let platform = claims.tool_platform.as_ref().unwrap();
    assert_eq!(platform.product_family_code, None);
    assert_eq!(platform.guid.as_deref(), Some("moodle.example.edu"));
    assert_eq!(claims.context.as_ref().unwrap().types, ["CourseSection"]);
    assert_eq!(
        claims.nrps.as_ref().unwrap().service_versions,
        ["1.0", "2.0"]
    );
    assert_eq!(claims.custom_str("level").as_deref(), Some("2"));
}

#[test]
fn blackboard_resource_link_fixture_ignores_vendor_claims() {
    let claims: IdTokenClaims = serde_json::from_str(BLACKBOARD).unwrap();

    assert_eq!(claims.iss.as_str(), "https://blackboard.com");
    assert!(claims.aud.contains("53c4573a-1ac8-4484-b036-a7b22b557e8c"));
    assert_eq!(claims.resource_link.as_ref().unwrap().id, "_18938_1");
    let presentation = claims.launch_presentation.as_ref().unwrap();
    assert_eq!(presentation.document_target, None);
    assert!(presentation.return_url.is_some());
    let lis = claims.lis.as_ref().unwrap();
    assert_eq!(
        lis.course_section_sourcedid.as_deref(),
        Some("HIST200-FA24-001")
    );
    assert_eq!(lis.course_offering_sourcedid, None);
    assert_eq!(
        claims
            .tool_platform
            .as_ref()
            .unwrap()
            .contact_email
            .as_deref(),
        Some("lms-admin@example.edu")
    );
    assert_eq!(claims.nrps.as_ref().unwrap().service_versions, ["2.0"]);
    assert_eq!(claims.middle_name, None);
}

#[test]
fn d2l_resource_link_fixture_reads_audience_array_and_nbf() {
    let claims: IdTokenClaims = serde_json::from_str(D2L).unwrap();

    assert_eq!(claims.aud.len(), 1);
    assert!(claims.aud.contains("48828118-0ba0-4851-9e26-7c532c7d1868"));
    assert_eq!(claims.nbf, Some(1_730_507_998));
    assert_eq!(claims.resource_link.as_ref().unwrap().description, None);
    assert_eq!(
        claims
            .ags_endpoint
            .as_ref()
            .unwrap()
            .lineitem
            .as_deref()
            .map(|url| url.ends_with("/31")),
        Some(true)
    );
    assert_eq!(claims.custom_str("grade_scale").as_deref(), Some("100"));
    assert_eq!(claims.lti1p1, None);
}

#[test]
fn anonymous_launch_without_user_claims_parses_as_anonymous() {
    let claims: IdTokenClaims = serde_json::from_str(ANONYMOUS).unwrap();

    assert!(claims.is_anonymous());
    assert_eq!(claims.sub, None);
    assert_eq!(
        (&claims.name, &claims.email, &claims.given_name),
        (&None, &None, &None)
    );
    assert_eq!(claims.roles, Some(vec![]));
    assert_eq!(claims.aud.len(), 2);
    assert_eq!(claims.context.as_ref().unwrap().types, Vec::<String>::new());
    assert_eq!(claims.custom, None);
    assert_eq!(claims.custom_str("anything"), None);
}

#[test]
fn minimal_payload_without_optional_claims_parses() {
    let claims = parse(minimal()).unwrap();

    assert_eq!(claims.deployment_id.as_str(), "deployment-1");
    assert_eq!(claims.version, "1.3.0");
    assert_eq!(claims.roles, None);
    assert_eq!(claims.resource_link, None);
    assert_eq!(claims.target_link_uri, None);
    assert_eq!(claims.nbf, None);
}

#[test]
fn claim_uris_every_constant_is_read_into_its_field() {
    let mut payload = minimal();
    payload[uri::TARGET_LINK_URI] = json!("https://tool.example.com/launch");
    payload[uri::RESOURCE_LINK] = json!({ "id": "rl-1" });
    payload[uri::ROLES] = json!([]);
    payload[uri::ROLE_SCOPE_MENTOR] = json!(["u-1"]);
    payload[uri::CONTEXT] = json!({ "id": "ctx-1" });
    payload[uri::TOOL_PLATFORM] = json!({ "guid": "g-1" });
    payload[uri::LAUNCH_PRESENTATION] = json!({ "document_target": "window" });
    payload[uri::LIS] = json!({ "course_offering_sourcedid": "c-1" });
    payload[uri::CUSTOM] = json!({ "k": "v" });
    payload[uri::AGS_ENDPOINT] = json!({ "scope": [] });
    payload[uri::NRPS] = json!({ "context_memberships_url": "https://p.example/m" });
    payload[uri::DEEP_LINKING_SETTINGS] = json!({
        "deep_link_return_url": "https://p.example/dl",
        "accept_types": ["link"],
        "accept_presentation_document_targets": ["iframe"],
    });
    payload[uri::LTI1P1] = json!({ "user_id": "old-1" });

    let claims = parse(payload).unwrap();

    assert!(claims.target_link_uri.is_some());
    assert!(claims.resource_link.is_some());
    assert!(claims.roles.is_some());
    assert!(claims.role_scope_mentor.is_some());
    assert!(claims.context.is_some());
    assert!(claims.tool_platform.is_some());
    assert!(claims.launch_presentation.is_some());
    assert!(claims.lis.is_some());
    assert!(claims.custom.is_some());
    assert!(claims.ags_endpoint.is_some());
    assert!(claims.nrps.is_some());
    assert!(claims.deep_linking_settings.is_some());
    assert!(claims.lti1p1.is_some());
}

#[test]
fn deployment_id_missing_fails_naming_the_claim() {
    let mut payload = minimal();
    payload.as_object_mut().unwrap().remove(uri::DEPLOYMENT_ID);

    let error = parse(payload).unwrap_err();

    assert!(error.to_string().contains(uri::DEPLOYMENT_ID), "{error}");
}

#[test]
fn deployment_id_null_fails() {
    let error = with(uri::DEPLOYMENT_ID, Value::Null).unwrap_err();

    assert!(
        error.to_string().starts_with("invalid type: null"),
        "{error}"
    );
}

#[test]
fn message_type_missing_fails_naming_the_claim() {
    let mut payload = minimal();
    payload.as_object_mut().unwrap().remove(uri::MESSAGE_TYPE);

    let error = parse(payload).unwrap_err();

    assert!(error.to_string().contains(uri::MESSAGE_TYPE), "{error}");
}

#[test]
fn message_type_unknown_is_kept_verbatim_and_unparsed() {
    let claims = with(uri::MESSAGE_TYPE, json!("LtiSubmissionReviewRequest")).unwrap();

    assert_eq!(claims.message_type, "LtiSubmissionReviewRequest");
    assert_eq!(claims.message_kind(), None);
}

#[test]
fn message_type_from_claim_round_trips_and_is_case_sensitive() {
    for kind in [MessageType::ResourceLink, MessageType::DeepLinking] {
        assert_eq!(MessageType::from_claim(kind.as_str()), Some(kind));
        assert_eq!(kind.to_string(), kind.as_str());
    }
    assert_eq!(MessageType::from_claim("ltiresourcelinkrequest"), None);
}

#[test]
fn time_claims_fractional_seconds_are_truncated() {
    let mut payload = minimal();
    payload["iat"] = json!(1_700_000_000.987);
    payload["exp"] = json!(1.7000003e9);
    payload["nbf"] = json!(1_699_999_999.5);

    let claims = parse(payload).unwrap();

    assert_eq!(claims.iat, 1_700_000_000);
    assert_eq!(claims.exp, 1_700_000_300);
    assert_eq!(claims.nbf, Some(1_699_999_999));
}

#[test]
fn time_claim_string_is_refused() {
    for claim in ["exp", "iat", "nbf"] {
        let error = with(claim, json!("1700000000")).unwrap_err();
        assert!(
            error.to_string().starts_with("invalid type: string"),
            "{claim}: {error}"
        );
    }
}

#[test]
fn time_claim_out_of_range_is_refused() {
    let error = with("exp", json!(1e300)).unwrap_err();
    assert!(error.to_string().starts_with("invalid value"), "{error}");

    let error = with("iat", json!(u64::MAX)).unwrap_err();
    assert!(error.to_string().starts_with("invalid value"), "{error}");
}

#[test]
fn time_claim_missing_fails() {
    let mut payload = minimal();
    payload.as_object_mut().unwrap().remove("exp");

    let error = parse(payload).unwrap_err();

    assert!(error.to_string().contains("missing field `exp`"), "{error}");
}

#[test]
fn nbf_null_is_absent() {
    assert_eq!(with("nbf", Value::Null).unwrap().nbf, None);
}

#[test]
fn audience_single_string_acts_as_one_element_list() {
    let audience = with("aud", json!("tool-client-id")).unwrap().aud;

    assert!(audience.contains("tool-client-id"));
    assert!(!audience.contains("TOOL-CLIENT-ID"));
    assert_eq!(audience.len(), 1);
    assert!(!audience.is_empty());
    assert_eq!(audience.as_slice(), ["tool-client-id".to_owned()]);
    assert_eq!(audience.iter().count(), 1);
}

#[test]
fn audience_array_contains_each_member() {
    let audience = with("aud", json!(["tool-client-id", "other"])).unwrap().aud;

    assert!(audience.contains("tool-client-id"));
    assert!(audience.contains("other"));
    assert!(!audience.contains("third"));
    assert_eq!(audience.len(), 2);
    assert_eq!(
        (&audience).into_iter().collect::<Vec<_>>(),
        ["tool-client-id", "other"]
    );
}

#[test]
fn audience_empty_array_parses_and_contains_nothing() {
    let audience = with("aud", json!([])).unwrap().aud;

    assert!(audience.is_empty());
    assert!(!audience.contains("tool-client-id"));
}

#[test]
fn audience_number_or_mixed_array_is_refused() {
    let error = with("aud", json!(42)).unwrap_err();
    assert!(
        error.to_string().starts_with("invalid type: integer"),
        "{error}"
    );

    let error = with("aud", json!(["tool-client-id", 42])).unwrap_err();
    assert!(
        error.to_string().starts_with("invalid type: integer"),
        "{error}"
    );
}

#[test]
fn optional_claims_null_are_absent() {
    let mut payload = minimal();
    for claim in [
        "sub",
        "azp",
        "name",
        "given_name",
        "family_name",
        "middle_name",
        "email",
        "picture",
        "locale",
        uri::TARGET_LINK_URI,
        uri::RESOURCE_LINK,
        uri::ROLES,
        uri::ROLE_SCOPE_MENTOR,
        uri::CONTEXT,
        uri::TOOL_PLATFORM,
        uri::LAUNCH_PRESENTATION,
        uri::LIS,
        uri::CUSTOM,
        uri::AGS_ENDPOINT,
        uri::NRPS,
        uri::DEEP_LINKING_SETTINGS,
        uri::LTI1P1,
    ] {
        payload[claim] = Value::Null;
    }

    let claims = parse(payload).unwrap();

    assert_eq!(claims, parse(minimal()).unwrap());
}

#[test]
fn roles_empty_array_is_present_and_empty() {
    assert_eq!(with(uri::ROLES, json!([])).unwrap().roles, Some(vec![]));
}

#[test]
fn roles_string_is_refused() {
    let error = with(uri::ROLES, json!("Instructor")).unwrap_err();

    assert!(
        error.to_string().starts_with("invalid type: string"),
        "{error}"
    );
}

#[test]
fn role_scope_mentor_comma_string_is_split() {
    let claims = with(uri::ROLE_SCOPE_MENTOR, json!("u-1, u-2,,u-3")).unwrap();

    assert_eq!(
        claims.role_scope_mentor,
        Some(vec!["u-1".into(), "u-2".into(), "u-3".into()])
    );
}

#[test]
fn resource_link_without_id_fails() {
    let error = with(uri::RESOURCE_LINK, json!({ "title": "Quiz" })).unwrap_err();

    assert!(error.to_string().contains("missing field `id`"), "{error}");
}

#[test]
fn context_not_an_object_fails() {
    for value in [json!("ctx-1"), json!(["ctx-1", "label"])] {
        let error = with(uri::CONTEXT, value).unwrap_err();
        assert!(
            error.to_string().starts_with("invalid type: ")
                && error.to_string().ends_with("expected a JSON object"),
            "{error}"
        );
    }
}

#[test]
fn context_type_single_string_becomes_one_element_list() {
    let claims = with(uri::CONTEXT, json!({ "id": "c", "type": "CourseOffering" })).unwrap();

    assert_eq!(claims.context.unwrap().types, ["CourseOffering"]);
}

#[test]
fn launch_presentation_string_is_treated_as_absent() {
    let claims = with(uri::LAUNCH_PRESENTATION, json!("iframe")).unwrap();

    assert_eq!(claims.launch_presentation, None);
}

#[test]
fn launch_presentation_dimensions_accept_numeric_strings_and_drop_bad_values() {
    let read = |value: Value| {
        with(
            uri::LAUNCH_PRESENTATION,
            json!({ "height": value, "width": 640 }),
        )
        .unwrap()
        .launch_presentation
        .unwrap()
    };

    assert_eq!(read(json!(" 480 ")).height, Some(480));
    assert_eq!(read(json!(480.9)).height, Some(480));
    assert_eq!(read(json!("480.5")).height, Some(480));
    assert_eq!(read(json!("100%")).height, None);
    assert_eq!(read(json!(-1)).height, None);
    assert_eq!(read(json!(5_000_000_000_u64)).height, None);
    assert_eq!(read(json!(true)).height, None);
    assert_eq!(read(json!(null)).height, None);
    assert_eq!(read(json!("480")).width, Some(640));
}

#[test]
fn tool_platform_malformed_is_treated_as_absent() {
    let claims = with(uri::TOOL_PLATFORM, json!({ "guid": 7, "name": "LMS" })).unwrap();

    assert_eq!(claims.tool_platform, None);
}

#[test]
fn lis_malformed_is_treated_as_absent() {
    assert_eq!(with(uri::LIS, json!(["a"])).unwrap().lis, None);
}

#[test]
fn lti1p1_integer_values_render_as_strings() {
    let claims = with(
        uri::LTI1P1,
        json!({ "user_id": 27, "oauth_consumer_key": 12345, "resource_link_id": "rl" }),
    )
    .unwrap();

    let lti1p1 = claims.lti1p1.unwrap();
    assert_eq!(lti1p1.user_id.as_deref(), Some("27"));
    assert_eq!(lti1p1.oauth_consumer_key.as_deref(), Some("12345"));
    assert_eq!(lti1p1.resource_link_id.as_deref(), Some("rl"));
    assert_eq!(lti1p1.oauth_consumer_key_sign, None);
}

#[test]
fn lti1p1_malformed_is_treated_as_absent() {
    let claims = with(uri::LTI1P1, json!({ "user_id": { "id": 1 } })).unwrap();

    assert_eq!(claims.lti1p1, None);
}

#[test]
fn ags_endpoint_string_fails() {
    let error = with(uri::AGS_ENDPOINT, json!("https://p.example/lineitems")).unwrap_err();

    assert!(
        error.to_string().starts_with("invalid type: string"),
        "{error}"
    );
}

#[test]
fn ags_endpoint_blank_lineitem_is_absent_and_missing_scope_is_empty() {
    let claims = with(
        uri::AGS_ENDPOINT,
        json!({ "lineitem": "", "lineitems": "https://p.example/lineitems" }),
    )
    .unwrap();

    let ags = claims.ags_endpoint.unwrap();
    assert_eq!(ags.lineitem, None);
    assert_eq!(
        ags.lineitems.as_deref(),
        Some("https://p.example/lineitems")
    );
    assert!(ags.scope.is_empty());
}

#[test]
fn nrps_without_memberships_url_fails() {
    let error = with(uri::NRPS, json!({ "service_versions": ["2.0"] })).unwrap_err();

    assert!(
        error
            .to_string()
            .contains("missing field `context_memberships_url`"),
        "{error}"
    );
}

fn settings(extra: Value) -> Value {
    let mut settings = json!({
        "deep_link_return_url": "https://p.example/dl",
        "accept_types": ["ltiResourceLink"],
        "accept_presentation_document_targets": ["iframe"],
    });
    if let (Some(settings), Value::Object(extra)) = (settings.as_object_mut(), extra) {
        settings.extend(extra);
    }
    settings
}

#[test]
fn deep_linking_settings_boolean_strings_parse_in_any_case() {
    let claims = with(
        uri::DEEP_LINKING_SETTINGS,
        settings(json!({
            "accept_multiple": "TRUE",
            "accept_lineitem": true,
            "auto_create": " false ",
        })),
    )
    .unwrap();

    let settings = claims.deep_linking_settings.unwrap();
    assert_eq!(settings.accept_multiple, Some(true));
    assert_eq!(settings.accept_lineitem, Some(true));
    assert_eq!(settings.auto_create, Some(false));
}

#[test]
fn deep_linking_settings_unrecognised_boolean_fails() {
    for value in [json!("yes"), json!(1)] {
        let error = with(
            uri::DEEP_LINKING_SETTINGS,
            settings(json!({ "accept_multiple": value })),
        )
        .unwrap_err();
        assert!(error.to_string().starts_with("invalid "), "{error}");
    }
}

#[test]
fn deep_linking_settings_missing_accept_types_fails() {
    let mut value = settings(json!({}));
    value.as_object_mut().unwrap().remove("accept_types");

    let error = with(uri::DEEP_LINKING_SETTINGS, value).unwrap_err();

    assert!(
        error.to_string().contains("missing field `accept_types`"),
        "{error}"
    );
}

#[test]
fn deep_linking_settings_null_document_targets_fails() {
    let error = with(
        uri::DEEP_LINKING_SETTINGS,
        settings(json!({ "accept_presentation_document_targets": null })),
    )
    .unwrap_err();

    assert!(
        error.to_string().starts_with("invalid type: null"),
        "{error}"
    );
}

#[test]
fn deep_linking_settings_media_type_forms_are_read() {
    let read = |value: Value| {
        with(
            uri::DEEP_LINKING_SETTINGS,
            settings(json!({ "accept_media_types": value })),
        )
        .unwrap()
        .deep_linking_settings
        .unwrap()
        .accept_media_types
    };

    assert_eq!(
        read(json!(["image/*", "text/html"])).as_deref(),
        Some("image/*,text/html")
    );
    assert_eq!(
        read(json!("image/*,text/html")).as_deref(),
        Some("image/*,text/html")
    );
    assert_eq!(read(json!(null)), None);
}

#[test]
fn custom_non_object_fails() {
    let error = with(uri::CUSTOM, json!("level=2")).unwrap_err();

    assert!(
        error.to_string().starts_with("invalid type: string"),
        "{error}"
    );
}

#[test]
fn custom_empty_array_is_an_empty_map() {
    let claims = with(uri::CUSTOM, json!([])).unwrap();

    assert_eq!(claims.custom, Some(Map::new()));
}

#[test]
fn custom_str_renders_scalars_and_skips_structures() {
    let claims = with(
        uri::CUSTOM,
        json!({
            "text": "abc",
            "empty": "",
            "count": 2,
            "ratio": 1.5,
            "admin": true,
            "nothing": null,
            "list": ["a"],
            "object": { "a": 1 },
        }),
    )
    .unwrap();

    assert_eq!(claims.custom_str("text").as_deref(), Some("abc"));
    assert_eq!(claims.custom_str("empty").as_deref(), Some(""));
    assert_eq!(claims.custom_str("count").as_deref(), Some("2"));
    assert_eq!(claims.custom_str("ratio").as_deref(), Some("1.5"));
    assert_eq!(claims.custom_str("admin").as_deref(), Some("true"));
    assert_eq!(claims.custom_str("nothing"), None);
    assert_eq!(claims.custom_str("list"), None);
    assert_eq!(claims.custom_str("object"), None);
    assert_eq!(claims.custom_str("absent"), None);
}

#[test]
fn debug_output_omits_personal_data() {
    let mut claims: IdTokenClaims = serde_json::from_str(CANVAS).unwrap();
    claims.middle_name = Some("Augusta".into());
    claims.role_scope_mentor = Some(vec!["mentee-4711".into()]);
    let blackboard: IdTokenClaims = serde_json::from_str(BLACKBOARD).unwrap();

    let printed = format!("{claims:?} {claims:#?} {blackboard:?}");

    for personal in [
        "Ada",
        "Lovelace",
        "Augusta",
        "ada.lovelace@example.edu",
        "avatar.png",
        "e77934e7-4e98-4055-b4b4-3a8431e4f22a",
        "SIS-7858675309",
        "mentee-4711",
        "c0ddd6c90cbe1ef0f32fbce5c3bf654204be186c",
        "canvas.example.edu\"",
        "Joe",
        "jcool@example.edu",
        "lms-admin@example.edu",
        "9283749283749",
    ] {
        assert!(!printed.contains(personal), "Debug shows {personal}");
    }
    assert!(printed.contains("sub: Some([redacted])"));
    assert!(printed.contains("\"canvas_course_id\": [redacted]"));
    assert!(printed.contains("role_scope_mentor: Some([redacted; 1])"));
    assert!(printed.contains("12:8865aa05b4b79b64a91a86042e43af5ea8ae79eb"));
}
