//! Unit tests of [`super`].

use super::*;
use crate::lti11::oauth1;

/// V-08's body: replaceResult of 0.92 for `261-154-728-17-784`, message `123456789`.
const V08_BODY: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8"?>"#,
    r#"<imsx_POXEnvelopeRequest xmlns="http://www.imsglobal.org/services/ltiv1p1/xsd/imsoms_v1p0">"#,
    "<imsx_POXHeader><imsx_POXRequestHeaderInfo><imsx_version>V1.0</imsx_version>",
    "<imsx_messageIdentifier>123456789</imsx_messageIdentifier></imsx_POXRequestHeaderInfo>",
    "</imsx_POXHeader><imsx_POXBody><replaceResultRequest><resultRecord><sourcedGUID>",
    "<sourcedId>261-154-728-17-784</sourcedId></sourcedGUID><result><resultScore>",
    "<language>en</language><textString>0.92</textString></resultScore></result>",
    "</resultRecord></replaceResultRequest></imsx_POXBody></imsx_POXEnvelopeRequest>",
);

const MOODLE_SOURCEDID: &str = r#"{"data":{"instanceid":"2","userid":"3","typeid":"1","launchid":1234567890},"hash":"4c5e8c1b0c0f3e6b2f1d9a7e5c3b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b"}"#;

fn score(value: f64) -> Score {
    Score::new(value).unwrap()
}

/// An answer shaped like instructure/ims-lti `spec/outcome_response_spec.rb`.
fn answer(code_major: &str, message_ref: &str, operation_ref: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<imsx_POXEnvelopeResponse xmlns="http://www.imsglobal.org/services/ltiv1p1/xsd/imsoms_v1p0">
  <imsx_POXHeader>
    <imsx_POXResponseHeaderInfo>
      <imsx_version>V1.0</imsx_version>
      <imsx_messageIdentifier>4560</imsx_messageIdentifier>
      <imsx_statusInfo>
        <imsx_codeMajor>{code_major}</imsx_codeMajor>
        <imsx_severity>status</imsx_severity>
        <imsx_description>An &amp; description</imsx_description>
        <imsx_messageRefIdentifier>{message_ref}</imsx_messageRefIdentifier>
        <imsx_operationRefIdentifier>{operation_ref}</imsx_operationRefIdentifier>
      </imsx_statusInfo>
    </imsx_POXResponseHeaderInfo>
  </imsx_POXHeader>
  <imsx_POXBody>
    {body}
  </imsx_POXBody>
</imsx_POXEnvelopeResponse>"#
    )
}

fn read_answer(text_string: &str) -> String {
    answer(
        "success",
        "123456789",
        "readResult",
        &format!(
            "<readResultResponse><result><resultScore><language>en</language>\
             {text_string}</resultScore></result></readResultResponse>"
        ),
    )
}

fn parse(xml: &str, operation: Operation) -> Result<ParsedResponse, OutcomeError> {
    parse_response(xml.as_bytes(), "123456789", operation)
}

/// The text of the first element named `name` in `xml`, references resolved, as a
/// platform's parser would read it.
fn element_text(xml: &[u8], name: &str) -> Option<String> {
    let mut reader = Reader::from_str(std::str::from_utf8(xml).unwrap());
    let mut inside = false;
    let mut text = String::new();
    loop {
        match reader.read_event().unwrap() {
            Event::Start(start) if start.local_name().as_ref() == name => {
                inside = true;
            }
            Event::End(end) if inside && end.local_name().as_ref() == name => {
                return Some(text);
            }
            Event::Text(t) if inside => text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) if inside => text.push(resolve_reference(&r).unwrap()),
            Event::Eof => return None,
            _ => {}
        }
    }
}

// --- Scores -----------------------------------------------------------------------------

#[test]
fn score_zero_formats_as_0() {
    assert_eq!(score(0.0).to_string(), "0");
}

#[test]
fn score_one_formats_as_1() {
    assert_eq!(score(1.0).to_string(), "1");
}

#[test]
fn score_half_formats_with_dot() {
    assert_eq!(score(0.5).to_string(), "0.5");
    assert_eq!(score(0.92).to_string(), "0.92");
}

#[test]
fn score_third_formats_with_roundtrip_digits() {
    let third = score(1.0 / 3.0).to_string();
    assert_eq!(third, "0.3333333333333333");
    assert_eq!(third.parse::<f64>().unwrap(), 1.0 / 3.0);
}

#[test]
fn score_tiny_formats_without_exponent() {
    assert_eq!(score(1e-7).to_string(), "0.0000001");
}

#[test]
fn score_negative_zero_formats_as_0() {
    assert_eq!(score(-0.0).to_string(), "0");
}

#[test]
fn score_below_zero_is_refused() {
    assert!(matches!(Score::new(-0.01), Err(OutcomeError::InvalidScore(v)) if v == -0.01));
}

#[test]
fn score_above_one_is_refused() {
    assert!(matches!(Score::new(1.01), Err(OutcomeError::InvalidScore(v)) if v == 1.01));
}

#[test]
fn score_nan_is_refused() {
    assert!(matches!(Score::new(f64::NAN), Err(OutcomeError::InvalidScore(v)) if v.is_nan()));
}

#[test]
fn score_infinities_are_refused() {
    assert!(matches!(
        Score::new(f64::INFINITY),
        Err(OutcomeError::InvalidScore(_))
    ));
    assert!(matches!(
        Score::new(f64::NEG_INFINITY),
        Err(OutcomeError::InvalidScore(_))
    ));
}

// --- Request envelopes ------------------------------------------------------------------

#[test]
fn request_body_replace_matches_v08_bytes() {
    let body = request_body(
        &OutcomeRequest::ReplaceResult(score(0.92)),
        "261-154-728-17-784",
        "123456789",
    )
    .unwrap();
    assert_eq!(String::from_utf8(body.clone()).unwrap(), V08_BODY);
    assert_eq!(body.len(), 601);
}

#[test]
fn request_body_v08_has_reference_body_hash() {
    assert_eq!(
        oauth1::body_hash(V08_BODY.as_bytes()),
        "6qJy0j2vG+hOFr82jjCAa6g706c="
    );
}

#[test]
fn request_body_v08_signs_to_reference_signature() {
    let body = request_body(
        &OutcomeRequest::ReplaceResult(score(0.92)),
        "261-154-728-17-784",
        "123456789",
    )
    .unwrap();
    let header = oauth1::sign_body_request(
        &Url::parse("http://localhost/lis_grade_passback").unwrap(),
        "12345",
        &ConsumerSecret::new("secret"),
        &body,
        1_397_708_483,
        "1234567890abcdef",
    );
    assert!(header.starts_with("OAuth "), "{header}");
    assert!(
        header.contains(r#"oauth_body_hash="6qJy0j2vG%2BhOFr82jjCAa6g706c%3D""#),
        "{header}"
    );
    assert!(
        header.contains(r#"oauth_signature="eQ%2BnwBIaoF84GWjbV0Oq8cudkKg%3D""#),
        "{header}"
    );
}

#[test]
fn request_body_read_carries_only_sourcedid() {
    let body = request_body(&OutcomeRequest::ReadResult, "261-154-728-17-784", "m1").unwrap();
    let expected = concat!(
        r#"<?xml version="1.0" encoding="UTF-8"?>"#,
        r#"<imsx_POXEnvelopeRequest xmlns="http://www.imsglobal.org/services/ltiv1p1/xsd/imsoms_v1p0">"#,
        "<imsx_POXHeader><imsx_POXRequestHeaderInfo><imsx_version>V1.0</imsx_version>",
        "<imsx_messageIdentifier>m1</imsx_messageIdentifier></imsx_POXRequestHeaderInfo>",
        "</imsx_POXHeader><imsx_POXBody><readResultRequest><resultRecord><sourcedGUID>",
        "<sourcedId>261-154-728-17-784</sourcedId></sourcedGUID></resultRecord>",
        "</readResultRequest></imsx_POXBody></imsx_POXEnvelopeRequest>",
    );
    assert_eq!(String::from_utf8(body).unwrap(), expected);
}

#[test]
fn request_body_delete_carries_only_sourcedid() {
    let body = request_body(&OutcomeRequest::DeleteResult, "261-154-728-17-784", "m2").unwrap();
    let expected = concat!(
        r#"<?xml version="1.0" encoding="UTF-8"?>"#,
        r#"<imsx_POXEnvelopeRequest xmlns="http://www.imsglobal.org/services/ltiv1p1/xsd/imsoms_v1p0">"#,
        "<imsx_POXHeader><imsx_POXRequestHeaderInfo><imsx_version>V1.0</imsx_version>",
        "<imsx_messageIdentifier>m2</imsx_messageIdentifier></imsx_POXRequestHeaderInfo>",
        "</imsx_POXHeader><imsx_POXBody><deleteResultRequest><resultRecord><sourcedGUID>",
        "<sourcedId>261-154-728-17-784</sourcedId></sourcedGUID></resultRecord>",
        "</deleteResultRequest></imsx_POXBody></imsx_POXEnvelopeRequest>",
    );
    assert_eq!(String::from_utf8(body).unwrap(), expected);
}

#[test]
fn request_body_markup_sourcedid_is_escaped_and_reads_back_identical() {
    let sourcedid = r#"<"&'>"#;
    let body = request_body(&OutcomeRequest::ReadResult, sourcedid, "m").unwrap();
    let text = String::from_utf8(body.clone()).unwrap();
    assert!(
        text.contains(r#"<sourcedId>&lt;"&amp;'&gt;</sourcedId>"#),
        "{text}"
    );
    assert_eq!(element_text(&body, "sourcedId").unwrap(), sourcedid);
}

#[test]
fn request_body_moodle_json_sourcedid_reads_back_identical() {
    let body = request_body(
        &OutcomeRequest::ReplaceResult(score(1.0)),
        MOODLE_SOURCEDID,
        "m",
    )
    .unwrap();
    assert_eq!(element_text(&body, "sourcedId").unwrap(), MOODLE_SOURCEDID);
}

#[test]
fn request_body_whitespace_sourcedid_reads_back_identical() {
    let sourcedid = "a\r\nb\tc\rd é 测试 😀";
    let body = request_body(&OutcomeRequest::DeleteResult, sourcedid, "m").unwrap();
    assert!(!body.contains(&b'\r'));
    assert_eq!(element_text(&body, "sourcedId").unwrap(), sourcedid);
}

#[test]
fn request_body_empty_sourcedid_is_refused() {
    let result = request_body(&OutcomeRequest::ReadResult, "", "m");
    assert!(
        matches!(result, Err(OutcomeError::InvalidSourcedId(_))),
        "{result:?}"
    );
}

#[test]
fn request_body_control_character_sourcedid_is_refused() {
    for bad in ["a\u{1}b", "a\u{0}", "\u{FFFE}"] {
        let result = request_body(&OutcomeRequest::ReadResult, bad, "m");
        assert!(
            matches!(result, Err(OutcomeError::InvalidSourcedId(_))),
            "{result:?}"
        );
    }
}

// --- Answers ----------------------------------------------------------------------------

#[test]
fn parse_response_replace_success_is_accepted() {
    let xml = answer(
        "success",
        "123456789",
        "replaceResult",
        "<replaceResultResponse/>",
    );
    let parsed = parse(&xml, Operation::ReplaceResult).unwrap();
    assert_eq!(
        parsed,
        ParsedResponse {
            code_major: Accepted::Success,
            severity: Some("status".into()),
            description: "An & description".into(),
            message_ref_identifier: "123456789".into(),
            operation_ref_identifier: Some("replaceResult".into()),
            score: None,
        }
    );
}

#[test]
fn parse_response_delete_success_is_accepted() {
    let xml = answer(
        "success",
        "123456789",
        "deleteResult",
        "<deleteResultResponse/>",
    );
    let parsed = parse(&xml, Operation::DeleteResult).unwrap();
    assert_eq!(parsed.code_major, Accepted::Success);
    assert_eq!(parsed.score, None);
}

#[test]
fn parse_response_read_score_is_returned() {
    let xml = read_answer("<textString>0.91</textString>");
    let parsed = parse(&xml, Operation::ReadResult).unwrap();
    assert_eq!(parsed.score, Some(score(0.91)));
}

#[test]
fn parse_response_read_empty_text_string_is_none() {
    for text_string in [
        "<textString></textString>",
        "<textString/>",
        "<textString> \n</textString>",
        "",
    ] {
        let parsed = parse(&read_answer(text_string), Operation::ReadResult).unwrap();
        assert_eq!(parsed.score, None, "{text_string}");
    }
}

#[test]
fn parse_response_read_zero_is_zero_not_none() {
    let parsed = parse(
        &read_answer("<textString>0</textString>"),
        Operation::ReadResult,
    )
    .unwrap();
    assert_eq!(parsed.score, Some(score(0.0)));
}

#[test]
fn parse_response_read_out_of_range_score_is_malformed() {
    for bad in ["1.5", "-0.1", "NaN", "inf", "0,5", "1e-1", "abc"] {
        let xml = read_answer(&format!("<textString>{bad}</textString>"));
        let result = parse(&xml, Operation::ReadResult);
        assert!(
            matches!(result, Err(OutcomeError::Malformed(_))),
            "{bad}: {result:?}"
        );
    }
}

#[test]
fn parse_response_read_without_read_result_response_is_malformed() {
    let xml = answer("success", "123456789", "readResult", "");
    let result = parse(&xml, Operation::ReadResult);
    assert!(
        matches!(result, Err(OutcomeError::Malformed(_))),
        "{result:?}"
    );
}

#[test]
fn parse_response_processing_is_accepted() {
    let xml = answer("processing", "123456789", "replaceResult", "");
    let parsed = parse(&xml, Operation::ReplaceResult).unwrap();
    assert_eq!(parsed.code_major, Accepted::Processing);
}

#[test]
fn parse_response_failure_on_200_is_failure() {
    let xml = answer("failure", "123456789", "replaceResult", "");
    let result = parse(&xml, Operation::ReplaceResult);
    assert_eq!(
        result,
        Err(OutcomeError::Failure {
            code_major: "failure".into(),
            description: "An & description".into(),
        })
    );
}

#[test]
fn parse_response_unknown_code_major_is_failure() {
    let xml = answer("maybe", "123456789", "replaceResult", "");
    let result = parse(&xml, Operation::ReplaceResult);
    assert!(
        matches!(&result, Err(OutcomeError::Failure { code_major, .. }) if code_major == "maybe"),
        "{result:?}"
    );
}

#[test]
fn parse_response_unsupported_is_unsupported() {
    let xml = answer("unsupported", "123456789", "deleteResult", "");
    let result = parse(&xml, Operation::DeleteResult);
    assert_eq!(
        result,
        Err(OutcomeError::Unsupported {
            operation: Operation::DeleteResult,
            description: "An & description".into(),
        })
    );
}

#[test]
fn parse_response_failure_with_other_message_ref_is_still_failure() {
    let xml = answer("failure", "someone-else", "replaceResult", "");
    let result = parse(&xml, Operation::ReplaceResult);
    assert!(
        matches!(result, Err(OutcomeError::Failure { .. })),
        "{result:?}"
    );
}

#[test]
fn parse_response_success_with_other_message_ref_is_mismatch() {
    let xml = answer(
        "success",
        "987654321",
        "replaceResult",
        "<replaceResultResponse/>",
    );
    let result = parse(&xml, Operation::ReplaceResult);
    assert_eq!(
        result,
        Err(OutcomeError::MessageIdMismatch {
            expected: "123456789".into(),
            found: Some("987654321".into()),
        })
    );
}

#[test]
fn parse_response_success_without_message_ref_is_mismatch() {
    let xml = answer("success", "", "replaceResult", "<replaceResultResponse/>");
    let result = parse(&xml, Operation::ReplaceResult);
    assert_eq!(
        result,
        Err(OutcomeError::MessageIdMismatch {
            expected: "123456789".into(),
            found: None,
        })
    );
}

#[test]
fn parse_response_external_entity_dtd_is_refused() {
    let xml = format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE imsx_POXEnvelopeResponse [\n  <!ENTITY xxe SYSTEM \
         \"file:///etc/passwd\">\n]>\n{}",
        answer("success", "123456789", "replaceResult", "&xxe;")
            .trim_start_matches(r#"<?xml version="1.0" encoding="UTF-8"?>"#)
    );
    assert_eq!(
        parse(&xml, Operation::ReplaceResult),
        Err(OutcomeError::DtdRefused)
    );
}

#[test]
fn parse_response_entity_expansion_dtd_is_refused() {
    let xml = r#"<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><imsx_POXEnvelopeResponse>&lol2;</imsx_POXEnvelopeResponse>"#;
    assert_eq!(
        parse(xml, Operation::ReplaceResult),
        Err(OutcomeError::DtdRefused)
    );
}

#[test]
fn parse_response_external_dtd_without_subset_is_refused() {
    let xml = format!(
        r#"<!DOCTYPE imsx_POXEnvelopeResponse SYSTEM "http://evil.example/x.dtd">{}"#,
        answer("success", "123456789", "replaceResult", "")
            .trim_start_matches(r#"<?xml version="1.0" encoding="UTF-8"?>"#)
    );
    assert_eq!(
        parse(&xml, Operation::ReplaceResult),
        Err(OutcomeError::DtdRefused)
    );
}

#[test]
fn parse_response_undefined_entity_is_malformed() {
    let xml = answer("success&xxe;", "123456789", "replaceResult", "");
    let result = parse(&xml, Operation::ReplaceResult);
    assert!(
        matches!(result, Err(OutcomeError::Malformed(_))),
        "{result:?}"
    );
}

#[test]
fn parse_response_character_references_and_cdata_are_read() {
    let xml = answer("succ&#101;ss", "<![CDATA[123456789]]>", "replaceResult", "");
    let parsed = parse(&xml, Operation::ReplaceResult).unwrap();
    assert_eq!(parsed.code_major, Accepted::Success);
}

#[test]
fn parse_response_prefixed_namespace_is_read() {
    let xml = r#"<ims:imsx_POXEnvelopeResponse xmlns:ims="http://www.imsglobal.org/services/ltiv1p1/xsd/imsoms_v1p0"><ims:imsx_POXHeader><ims:imsx_POXResponseHeaderInfo><ims:imsx_statusInfo><ims:imsx_codeMajor>success</ims:imsx_codeMajor><ims:imsx_messageRefIdentifier>123456789</ims:imsx_messageRefIdentifier></ims:imsx_statusInfo></ims:imsx_POXResponseHeaderInfo></ims:imsx_POXHeader><ims:imsx_POXBody><ims:readResultResponse><ims:result><ims:resultScore><ims:textString>0.25</ims:textString></ims:resultScore></ims:result></ims:readResultResponse></ims:imsx_POXBody></ims:imsx_POXEnvelopeResponse>"#;
    let parsed = parse(xml, Operation::ReadResult).unwrap();
    assert_eq!(parsed.score, Some(score(0.25)));
    assert_eq!(parsed.severity, None);
    assert_eq!(parsed.description, "");
}

#[test]
fn parse_response_unclosed_document_is_malformed() {
    let xml = answer("success", "123456789", "replaceResult", "");
    let cut = &xml[..xml.len() - 30];
    let result = parse(cut, Operation::ReplaceResult);
    assert!(
        matches!(result, Err(OutcomeError::Malformed(_))),
        "{result:?}"
    );
}

#[test]
fn parse_response_mismatched_end_tag_is_malformed() {
    let xml = answer("success", "123456789", "replaceResult", "<a></b>");
    let result = parse(&xml, Operation::ReplaceResult);
    assert!(
        matches!(result, Err(OutcomeError::Malformed(_))),
        "{result:?}"
    );
}

#[test]
fn parse_response_html_error_page_is_malformed() {
    let result = parse(
        "<html><body>Bad Gateway</body></html>",
        Operation::ReplaceResult,
    );
    assert!(
        matches!(result, Err(OutcomeError::Malformed(_))),
        "{result:?}"
    );
}

#[test]
fn parse_response_empty_document_is_malformed() {
    for xml in ["", "   ", "not xml at all"] {
        let result = parse(xml, Operation::ReplaceResult);
        assert!(
            matches!(result, Err(OutcomeError::Malformed(_))),
            "{xml:?}: {result:?}"
        );
    }
}

#[test]
fn parse_response_second_root_is_malformed() {
    let one = answer("success", "123456789", "replaceResult", "");
    let xml = format!("{one}<imsx_POXEnvelopeResponse/>");
    let result = parse(&xml, Operation::ReplaceResult);
    assert!(
        matches!(result, Err(OutcomeError::Malformed(_))),
        "{result:?}"
    );
}

#[test]
fn parse_response_without_code_major_is_malformed() {
    let xml = answer("success", "123456789", "replaceResult", "")
        .replace("<imsx_codeMajor>success</imsx_codeMajor>", "");
    let result = parse(&xml, Operation::ReplaceResult);
    assert!(
        matches!(result, Err(OutcomeError::Malformed(_))),
        "{result:?}"
    );
}

#[test]
fn parse_response_duplicate_code_major_is_malformed() {
    let xml = answer("success", "123456789", "replaceResult", "").replace(
        "<imsx_codeMajor>success</imsx_codeMajor>",
        "<imsx_codeMajor>failure</imsx_codeMajor><imsx_codeMajor>success</imsx_codeMajor>",
    );
    let result = parse(&xml, Operation::ReplaceResult);
    assert!(
        matches!(result, Err(OutcomeError::Malformed(_))),
        "{result:?}"
    );
}

#[test]
fn parse_response_code_major_outside_status_info_is_ignored() {
    let xml = answer(
        "failure",
        "123456789",
        "replaceResult",
        "<imsx_codeMajor>success</imsx_codeMajor>",
    );
    let result = parse(&xml, Operation::ReplaceResult);
    assert!(
        matches!(result, Err(OutcomeError::Failure { .. })),
        "{result:?}"
    );
}

#[test]
fn parse_response_not_utf8_is_malformed() {
    let mut xml = answer("success", "123456789", "replaceResult", "").into_bytes();
    xml.extend_from_slice(&[0xff, 0xfe]);
    let result = parse_response(&xml, "123456789", Operation::ReplaceResult);
    assert!(
        matches!(result, Err(OutcomeError::Malformed(_))),
        "{result:?}"
    );
}

#[test]
fn parse_response_byte_order_mark_is_accepted() {
    let xml = format!(
        "\u{FEFF}{}",
        answer("success", "123456789", "replaceResult", "")
    );
    assert!(parse(&xml, Operation::ReplaceResult).is_ok());
}

#[test]
fn parse_response_too_large_is_refused() {
    let xml = vec![b' '; MAX_RESPONSE_BYTES + 1];
    let result = parse_response(&xml, "123456789", Operation::ReplaceResult);
    assert_eq!(result, Err(OutcomeError::ResponseTooLarge));
}

#[test]
fn parse_response_deep_nesting_is_malformed() {
    let body = format!("{}{}", "<a>".repeat(MAX_DEPTH), "</a>".repeat(MAX_DEPTH));
    let xml = answer("success", "123456789", "replaceResult", &body);
    let result = parse(&xml, Operation::ReplaceResult);
    assert!(
        matches!(result, Err(OutcomeError::Malformed(_))),
        "{result:?}"
    );
}

#[test]
fn parse_response_description_control_characters_are_cleaned() {
    let long = "x".repeat(1000);
    let xml = answer("failure", "123456789", "replaceResult", "").replace(
        "An &amp; description",
        &format!("line1\nline2\u{1b}[31m{long}"),
    );
    let Err(OutcomeError::Failure { description, .. }) = parse(&xml, Operation::ReplaceResult)
    else {
        panic!("expected a failure");
    };
    assert!(description.starts_with("line1 line2 [31m"), "{description}");
    assert!(!description.chars().any(char::is_control));
    assert_eq!(description.chars().count(), MAX_ECHOED_CHARS + 1);
}

// --- Operator-facing text ---------------------------------------------------------------

#[test]
fn outcome_target_debug_hides_secret_and_query() {
    let target = OutcomeTarget {
        service_url: Url::parse("https://user:pw@lms.example/outcomes?b64=MTIzNDU6OjpzZWNyZXQ=#f")
            .unwrap(),
        sourcedid: "s".into(),
        consumer_key: ConsumerKey::parse("12345").unwrap(),
        secret: ConsumerSecret::new("hunter2-hunter2"),
    };
    let shown = format!("{target:?}");
    assert!(shown.contains("https://lms.example/outcomes?…"), "{shown}");
    for hidden in ["hunter2", "MTIzNDU6OjpzZWNyZXQ", "pw"] {
        assert!(!shown.contains(hidden), "{shown}");
    }
}

#[test]
fn outcome_target_new_non_http_url_is_refused() {
    let outcome = BasicOutcome {
        service_url: "ftp://lms.example/outcomes".into(),
        sourcedid: "s".into(),
    };
    let result = OutcomeTarget::new(
        &outcome,
        ConsumerKey::parse("k").unwrap(),
        ConsumerSecret::new("secret"),
    );
    assert!(
        matches!(result, Err(OutcomeError::InvalidServiceUrl(_))),
        "{result:?}"
    );
}

#[test]
fn outcome_target_new_valid_outcome_is_accepted() {
    let outcome = BasicOutcome {
        service_url: "https://lms.example/outcomes?type=x".into(),
        sourcedid: MOODLE_SOURCEDID.into(),
    };
    let target = OutcomeTarget::new(
        &outcome,
        ConsumerKey::parse("k").unwrap(),
        ConsumerSecret::new("secret"),
    )
    .unwrap();
    assert_eq!(target.service_url.query(), Some("type=x"));
    assert_eq!(target.sourcedid, MOODLE_SOURCEDID);
}

#[test]
fn http_error_display_names_what_to_check() {
    assert!(
        OutcomeError::Http(401)
            .to_string()
            .contains("consumer key and secret")
    );
    assert!(OutcomeError::Http(404).to_string().contains("relaunch"));
    assert!(OutcomeError::Http(302).to_string().contains("redirect"));
    assert!(OutcomeError::Http(500).to_string().contains("HTTP 500"));
}
