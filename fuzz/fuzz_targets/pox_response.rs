//! Fuzzes the LTI 1.1 Basic Outcomes answer parser (LTI 1.1 §6, IMS POX
//! `imsx_POXEnvelopeResponse`) with bodies a hostile or broken outcome service could send.
//!
//! The first byte picks the operation (`replaceResult`, `readResult`, `deleteResult`); the rest
//! is the answer. Besides "never panics" it checks what [`parse_response`] promises: an `Ok`
//! refers to the request's message identifier, carries a score only for `readResult` and only
//! from 0.0 to 1.0, and platform-supplied text in an error is free of control characters and
//! bounded. The same input is also used as a `lis_result_sourcedid` for the request builder,
//! whose output must be UTF-8 without a literal carriage return.

#![no_main]

use libfuzzer_sys::fuzz_target;
use lti_shared::lti11::pox::{
    MAX_RESPONSE_BYTES, Operation, OutcomeError, OutcomeRequest, parse_response, request_body,
};

const MESSAGE_ID: &str = "123456789";

/// Platform text kept in an error: no control characters, at most 300 characters plus `…`.
fn check_echoed(text: &str) {
    assert!(!text.chars().any(char::is_control), "{text:?}");
    assert!(
        text.chars().count() <= 301,
        "{} characters",
        text.chars().count()
    );
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, xml)) = data.split_first() else {
        return;
    };
    let operation = match selector % 3 {
        0 => Operation::ReplaceResult,
        1 => Operation::ReadResult,
        _ => Operation::DeleteResult,
    };

    let result = parse_response(xml, MESSAGE_ID, operation);
    assert_eq!(result, parse_response(xml, MESSAGE_ID, operation));
    match &result {
        Ok(parsed) => {
            assert_eq!(parsed.message_ref_identifier, MESSAGE_ID);
            if operation != Operation::ReadResult {
                assert_eq!(parsed.score, None);
            }
            if let Some(score) = parsed.score {
                assert!((0.0..=1.0).contains(&score.value()));
            }
            check_echoed(&parsed.description);
        }
        Err(OutcomeError::Failure {
            code_major,
            description,
        }) => {
            check_echoed(code_major);
            check_echoed(description);
        }
        Err(OutcomeError::Unsupported {
            operation: reported,
            description,
        }) => {
            assert_eq!(*reported, operation);
            check_echoed(description);
        }
        Err(OutcomeError::MessageIdMismatch { expected, found }) => {
            assert_eq!(expected, MESSAGE_ID);
            assert_ne!(found.as_deref(), Some(MESSAGE_ID));
        }
        Err(OutcomeError::ResponseTooLarge) => assert!(xml.len() > MAX_RESPONSE_BYTES),
        Err(OutcomeError::Malformed(_) | OutcomeError::DtdRefused) => {}
        Err(other) => panic!("parse_response returned {other:?}"),
    }

    if let Ok(sourcedid) = std::str::from_utf8(xml) {
        if let Ok(body) = request_body(&OutcomeRequest::ReadResult, sourcedid, MESSAGE_ID) {
            assert!(std::str::from_utf8(&body).is_ok());
            assert!(!body.contains(&b'\r'));
        }
    }
});
