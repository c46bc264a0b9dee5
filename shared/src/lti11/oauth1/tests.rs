//! Unit tests of [`super`]: known-answer vectors, each refusal next to its passing case, and
//! properties of the encoders and parsers.

use proptest::prelude::*;
use url::Url;

use super::encoding::{is_unreserved, percent_decode};
use super::signature::{REQUIRED, migration_mac, sign_with_token_secret};
use super::*;
use crate::domain::secret::ConsumerSecret;

fn url(value: &str) -> Url {
    Url::parse(value).unwrap()
}

fn owned(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

/// A form body as a browser posts it (`+` for spaces), to exercise form decoding.
fn form(list: &[(&str, &str)]) -> Vec<u8> {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(list)
        .finish()
        .into_bytes()
}

fn header(list: &[(&str, &str)]) -> String {
    let parts: Vec<String> = list
        .iter()
        .map(|(name, value)| format!("{}=\"{}\"", percent_encode(name), percent_encode(value)))
        .collect();
    format!("OAuth {}", parts.join(", "))
}

fn secret(value: &str) -> ConsumerSecret {
    ConsumerSecret::new(value)
}

fn set(params: &mut [(String, String)], name: &str, value: &str) {
    for pair in params.iter_mut().filter(|(n, _)| n == name) {
        pair.1 = value.to_owned();
    }
}

fn without(params: &[(String, String)], name: &str) -> Vec<(String, String)> {
    params.iter().filter(|(n, _)| n != name).cloned().collect()
}

// -----------------------------------------------------------------------------------------
// Known-answer vectors (shared/specs/lti11-reference.md §7)
// -----------------------------------------------------------------------------------------

const V01_URL: &str = "http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b";
const V01_BODY: &[u8] = b"c2&a3=2+q";
const V01_HEADER: &str = "OAuth realm=\"Example\", oauth_consumer_key=\"9djdj82h48djs9d2\", \
    oauth_token=\"kkk9d7dh3k39sjv7\", oauth_signature_method=\"HMAC-SHA1\", \
    oauth_timestamp=\"137131201\", oauth_nonce=\"7d8f3e4a\", \
    oauth_signature=\"djosJKDKJSD8743243%2Fjdk33klY%3D\"";
const V01_BASE: &str = "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7";
const V01_CLIENT_SECRET: &str = "ECrDNoq1VYzzzzzzzzzyAK7TwZNtPnkqatqZZZZ";
const V01_TOKEN_SECRET: &str = "just-a-string    asdasd";

fn v01_params() -> Vec<(String, String)> {
    let url = url(V01_URL);
    collect_params(url.query(), Some(V01_BODY), Some(V01_HEADER)).unwrap()
}

#[test]
fn v01_normalized_parameters_match() {
    assert_eq!(
        normalized_parameters(&v01_params()),
        "a2=r%20b&a3=2%20q&a3=a&b5=%3D%253D&c%40=&c2=&oauth_consumer_key=9djdj82h48djs9d2&oauth_nonce=7d8f3e4a&oauth_signature_method=HMAC-SHA1&oauth_timestamp=137131201&oauth_token=kkk9d7dh3k39sjv7"
    );
}

#[test]
fn v01_base_string_matches() {
    assert_eq!(base_string("POST", &url(V01_URL), &v01_params()), V01_BASE);
}

#[test]
fn v01_hmac_sha1_with_token_secret_matches() {
    assert_eq!(
        sign_with_token_secret(
            SignatureMethod::HmacSha1,
            V01_BASE,
            V01_CLIENT_SECRET,
            V01_TOKEN_SECRET
        ),
        "wsdNmjGB7lvis0UJuPAmjvX/PXw="
    );
}

#[test]
fn v01_hmac_sha256_with_token_secret_matches() {
    assert_eq!(
        sign_with_token_secret(
            SignatureMethod::HmacSha256,
            V01_BASE,
            V01_CLIENT_SECRET,
            V01_TOKEN_SECRET
        ),
        "wdfdHUKXHbOnOGZP8WFAWMSAmWzN3EVBWWgXGlC/Eo4="
    );
}

#[test]
fn v01_header_realm_is_excluded() {
    let params = v01_params();
    assert!(params.iter().all(|(name, _)| name != "realm"));
    // oauth_signature is collected, and only left out when normalizing.
    assert!(
        params
            .iter()
            .any(|(name, value)| name == "oauth_signature"
                && value == "djosJKDKJSD8743243/jdk33klY=")
    );
}

const V02_KEY: &str = "dpf43f3p2l4k3l03";
const V02_SECRET: &str = "kd94hf93k423kf44";

#[test]
fn v02a_initiate_request_verifies() {
    let header = header(&[
        ("realm", "Photos"),
        ("oauth_consumer_key", V02_KEY),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", "137131200"),
        ("oauth_nonce", "wIjqoS"),
        ("oauth_callback", "http://printer.example.com/ready"),
        ("oauth_signature", "74KNZJeDHnMBp0EMJ9ZHt/XKycU="),
    ]);
    let params = collect_params(None, None, Some(&header)).unwrap();
    let request =
        SignedRequest::parse("POST", &url("https://photos.example.net/initiate"), params).unwrap();
    assert_eq!(
        request.base_string(),
        "POST&https%3A%2F%2Fphotos.example.net%2Finitiate&oauth_callback%3Dhttp%253A%252F%252Fprinter.example.com%252Fready%26oauth_consumer_key%3Ddpf43f3p2l4k3l03%26oauth_nonce%3DwIjqoS%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131200"
    );
    assert_eq!(request.verify_signature(&secret(V02_SECRET)), Ok(()));
    assert_eq!(
        signature(
            SignatureMethod::HmacSha1,
            &request.base_string(),
            V02_SECRET
        ),
        "74KNZJeDHnMBp0EMJ9ZHt/XKycU="
    );
}

#[test]
fn v02b_token_request_signature_matches() {
    let params = owned(&[
        ("oauth_consumer_key", V02_KEY),
        ("oauth_token", "hh5s93j4hdidpola"),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", "137131201"),
        ("oauth_nonce", "walatlh"),
        ("oauth_verifier", "hfdp7dh39dks9884"),
    ]);
    let base = base_string("POST", &url("https://photos.example.net/token"), &params);
    assert_eq!(
        sign_with_token_secret(
            SignatureMethod::HmacSha1,
            &base,
            V02_SECRET,
            "hdhd0244k9j7ao03"
        ),
        "gKgrFCywp7rO0OXSjdot/IHF7IU="
    );
}

fn photos_request(timestamp: &str, nonce: &str, version: Option<&str>) -> String {
    let url = url("http://photos.example.net/photos?file=vacation.jpg&size=original");
    let mut params = collect_params(url.query(), None, None).unwrap();
    params.extend(owned(&[
        ("oauth_consumer_key", V02_KEY),
        ("oauth_token", "nnch734d00sl2jdk"),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", timestamp),
        ("oauth_nonce", nonce),
    ]));
    if let Some(version) = version {
        params.extend(owned(&[("oauth_version", version)]));
    }
    base_string("GET", &url, &params)
}

#[test]
fn v02c_protected_resource_request_matches() {
    let base = photos_request("137131202", "chapoH", None);
    assert_eq!(
        base,
        "GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg%26oauth_consumer_key%3Ddpf43f3p2l4k3l03%26oauth_nonce%3DchapoH%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131202%26oauth_token%3Dnnch734d00sl2jdk%26size%3Doriginal"
    );
    assert_eq!(
        sign_with_token_secret(
            SignatureMethod::HmacSha1,
            &base,
            V02_SECRET,
            "pfkkdhi9sl3r4s00"
        ),
        "MdpQcU8iPSUjWoN/UDMsK2sui9I="
    );
}

#[test]
fn v03_oauth_core_appendix_a5_matches() {
    let base = photos_request("1191242096", "kllo9940pd9333jh", Some("1.0"));
    assert_eq!(
        base,
        "GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg%26oauth_consumer_key%3Ddpf43f3p2l4k3l03%26oauth_nonce%3Dkllo9940pd9333jh%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1191242096%26oauth_token%3Dnnch734d00sl2jdk%26oauth_version%3D1.0%26size%3Doriginal"
    );
    assert_eq!(
        sign_with_token_secret(
            SignatureMethod::HmacSha1,
            &base,
            V02_SECRET,
            "pfkkdhi9sl3r4s00"
        ),
        "tR3+Ty81lMeYAr/Fid0kMTYa/WM="
    );
}

const V04_URL: &str = "http://www.imsglobal.org/developers/LTI/test/v1p1/tool.php?foo=123&foo=bar";

fn v04_body(signature: &str) -> Vec<u8> {
    form(&[
        ("resource_link_id", "rsc1"),
        ("oauth_callback", "about:blank"),
        (
            "lis_outcome_service_url",
            "http://www.imsglobal.org/developers/LTI/test/v1p1/common/tool_consumer_outcome.php?b64=MTIzNDU6OjpzZWNyZXQ=",
        ),
        ("lis_result_sourcedid", "feb-123-456-2929::28883"),
        (
            "launch_presentation_return_url",
            "http://www.imsglobal.org/developers/LTI/test/v1p1/lms_return.php",
        ),
        ("lti_version", "LTI-1p0"),
        ("lti_message_type", "basic-lti-launch-request"),
        ("oauth_version", "1.0"),
        ("oauth_nonce", "7ee33f6dc94117e792ff529898ce3953"),
        ("oauth_timestamp", "1397708483"),
        ("oauth_consumer_key", "12345"),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_signature", signature),
    ])
}

fn v04_request(signature: &str) -> SignedRequest {
    let url = url(V04_URL);
    let params = collect_params(url.query(), Some(&v04_body(signature)), None).unwrap();
    SignedRequest::parse("POST", &url, params).unwrap()
}

#[test]
fn v04_launch_with_repeated_query_params_verifies() {
    let request = v04_request("dHORwwJqwh5hQQAlvaA9csSIOhc=");
    assert_eq!(
        request
            .params()
            .iter()
            .filter(|(name, _)| name == "foo")
            .count(),
        2
    );
    assert_eq!(request.verify_signature(&secret("secret")), Ok(()));
}

#[test]
fn v04_signature_without_query_params_is_refused() {
    // The negative control: signing without the query parameters gives PJZ9…, …
    let url = url(V04_URL);
    let body_only = collect_params(None, Some(&v04_body("")), None).unwrap();
    assert_eq!(
        signature(
            SignatureMethod::HmacSha1,
            &base_string("POST", &url, &body_only),
            "secret"
        ),
        "PJZ9sng84excDcmRAcORSeVsfFI="
    );
    // … which a request that does carry them must not accept.
    let request = v04_request("PJZ9sng84excDcmRAcORSeVsfFI=");
    assert_eq!(
        request.verify_signature(&secret("secret")),
        Err(OAuthError::BadSignature)
    );
}

const V05_URL: &str = "http://localhost/toolconsumer/launch";

fn v05_params() -> Vec<(String, String)> {
    let body = form(&[
        ("oauth_callback", "about:blank"),
        ("oauth_nonce", "f68bdf5dbed34d7aa6ff18456bf3185e"),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", "1517630398"),
        ("oauth_version", "1.0"),
        ("launch_presentation_locale", "en-US"),
        ("lti_message_type", "basic-lti-launch-request"),
        ("lti_version", "LTI-1p0"),
        ("oauth_consumer_key", "12345"),
        ("lis_person_name_full", "d'Artagnan"),
        ("resource_link_id", "link"),
        ("oauth_signature", "k2Y0+/dW5ryPlpcok1qgxosUyD4="),
    ]);
    collect_params(None, Some(&body), None).unwrap()
}

fn v05_parse(params: Vec<(String, String)>) -> Result<SignedRequest, OAuthError> {
    SignedRequest::parse("POST", &url(V05_URL), params)
}

#[test]
fn v05_launch_with_apostrophe_verifies() {
    let request = v05_parse(v05_params()).unwrap();
    assert!(
        request
            .base_string()
            .contains("lis_person_name_full%3Dd%2527Artagnan")
    );
    assert_eq!(request.verify_signature(&secret("secret")), Ok(()));
    assert_eq!(request.consumer_key(), "12345");
    assert_eq!(request.nonce(), "f68bdf5dbed34d7aa6ff18456bf3185e");
    assert_eq!(request.timestamp(), 1_517_630_398);
    assert_eq!(request.signature_method(), SignatureMethod::HmacSha1);
}

#[test]
fn v06_body_hash_of_hello_world_matches() {
    assert_eq!(body_hash(b"Hello World!"), "Lve95gjOVATpfV8EL5X4nxwjKHE=");
}

#[test]
fn v06_body_hash_of_empty_body_matches() {
    assert_eq!(body_hash(b""), "2jmj7l5rSw0yVb/vlWAYkK/YBwk=");
}

fn v07_request(
    method: &str,
    body: &[u8],
    nonce: &str,
    timestamp: &str,
    sig: &str,
) -> SignedRequest {
    let header = header(&[
        ("oauth_body_hash", &body_hash(body)),
        ("oauth_consumer_key", "consumer"),
        ("oauth_token", "token"),
        ("oauth_version", "1.0"),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_nonce", nonce),
        ("oauth_timestamp", timestamp),
        ("oauth_signature", sig),
    ]);
    let params = collect_params(None, None, Some(&header)).unwrap();
    SignedRequest::parse(method, &url("http://www.example.com/resource"), params).unwrap()
}

#[test]
fn v07_put_body_hash_first_request_verifies() {
    let request = v07_request(
        "PUT",
        b"Hello World!",
        "10288510250934",
        "1236874155",
        "t+MX8l/0S8hdbVQL99nD0X1fPnM=",
    );
    assert_eq!(request.verify_signature(&secret("con-test-secret")), Ok(()));
}

#[test]
fn v07_put_body_hash_second_request_verifies() {
    let request = v07_request(
        "PUT",
        b"Hello World!",
        "10369470270925",
        "1236874236",
        "CTFmrqJIGT7NsWJ42OrujahTtTc=",
    );
    assert_eq!(
        request.base_string(),
        "PUT&http%3A%2F%2Fwww.example.com%2Fresource&oauth_body_hash%3DLve95gjOVATpfV8EL5X4nxwjKHE%253D%26oauth_consumer_key%3Dconsumer%26oauth_nonce%3D10369470270925%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1236874236%26oauth_token%3Dtoken%26oauth_version%3D1.0"
    );
    assert_eq!(request.verify_signature(&secret("con-test-secret")), Ok(()));
}

#[test]
fn v07_get_empty_body_hash_verifies() {
    let request = v07_request(
        "GET",
        b"",
        "8628868109991",
        "1238395022",
        "Zhl++aWSP0O3/hYQ0CuBc7jv38I=",
    );
    assert_eq!(request.verify_signature(&secret("con-test-secret")), Ok(()));
}

const V08_BODY: &str = r#"<?xml version="1.0" encoding="UTF-8"?><imsx_POXEnvelopeRequest xmlns="http://www.imsglobal.org/services/ltiv1p1/xsd/imsoms_v1p0"><imsx_POXHeader><imsx_POXRequestHeaderInfo><imsx_version>V1.0</imsx_version><imsx_messageIdentifier>123456789</imsx_messageIdentifier></imsx_POXRequestHeaderInfo></imsx_POXHeader><imsx_POXBody><replaceResultRequest><resultRecord><sourcedGUID><sourcedId>261-154-728-17-784</sourcedId></sourcedGUID><result><resultScore><language>en</language><textString>0.92</textString></resultScore></result></resultRecord></replaceResultRequest></imsx_POXBody></imsx_POXEnvelopeRequest>"#;
const V08_HEADER: &str = "OAuth oauth_nonce=\"1234567890abcdef\", oauth_timestamp=\"1397708483\", oauth_version=\"1.0\", oauth_signature_method=\"HMAC-SHA1\", oauth_consumer_key=\"12345\", oauth_body_hash=\"6qJy0j2vG%2BhOFr82jjCAa6g706c%3D\", oauth_signature=\"eQ%2BnwBIaoF84GWjbV0Oq8cudkKg%3D\"";

fn v08_header() -> String {
    sign_body_request(
        &url("http://localhost/lis_grade_passback"),
        "12345",
        &secret("secret"),
        V08_BODY.as_bytes(),
        1_397_708_483,
        "1234567890abcdef",
    )
}

#[test]
fn v08_replace_result_body_hash_matches() {
    assert_eq!(V08_BODY.len(), 601);
    assert_eq!(
        body_hash(V08_BODY.as_bytes()),
        "6qJy0j2vG+hOFr82jjCAa6g706c="
    );
}

#[test]
fn v08_replace_result_header_matches() {
    assert_eq!(
        v08_header(),
        "OAuth oauth_body_hash=\"6qJy0j2vG%2BhOFr82jjCAa6g706c%3D\", oauth_consumer_key=\"12345\", oauth_nonce=\"1234567890abcdef\", oauth_signature_method=\"HMAC-SHA1\", oauth_timestamp=\"1397708483\", oauth_version=\"1.0\", oauth_signature=\"eQ%2BnwBIaoF84GWjbV0Oq8cudkKg%3D\""
    );
    // Same parameters as the reference header, whose order differs.
    let mut ours = parse_authorization_header(&v08_header()).unwrap();
    let mut reference = parse_authorization_header(V08_HEADER).unwrap();
    ours.sort();
    reference.sort();
    assert_eq!(ours, reference);
}

#[test]
fn v08_replace_result_base_string_and_signature_match() {
    let params = collect_params(None, None, Some(&v08_header())).unwrap();
    let request =
        SignedRequest::parse("POST", &url("http://localhost/lis_grade_passback"), params).unwrap();
    assert_eq!(
        request.base_string(),
        "POST&http%3A%2F%2Flocalhost%2Flis_grade_passback&oauth_body_hash%3D6qJy0j2vG%252BhOFr82jjCAa6g706c%253D%26oauth_consumer_key%3D12345%26oauth_nonce%3D1234567890abcdef%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1397708483%26oauth_version%3D1.0"
    );
    assert_eq!(
        signature(SignatureMethod::HmacSha1, &request.base_string(), "secret"),
        "eQ+nwBIaoF84GWjbV0Oq8cudkKg="
    );
    assert_eq!(request.verify_signature(&secret("secret")), Ok(()));
}

#[test]
fn v09_percent_encoding_table_matches() {
    let table = [
        ("abcABC123", "abcABC123"),
        ("-._~", "-._~"),
        ("%", "%25"),
        ("+", "%2B"),
        ("&=*", "%26%3D%2A"),
        ("\n", "%0A"),
        (" ", "%20"),
        ("\u{7f}", "%7F"),
        ("\u{80}", "%C2%80"),
        ("\u{3001}", "%E3%80%81"),
        ("!", "%21"),
        ("'", "%27"),
        ("()", "%28%29"),
        ("é", "%C3%A9"),
        ("\u{1F600}", "%F0%9F%98%80"),
    ];
    for (raw, encoded) in table {
        assert_eq!(percent_encode(raw), encoded, "encoding {raw:?}");
    }
}

#[test]
fn v09_normalization_table_matches() {
    let table: [(&[(&str, &str)], &str); 4] = [
        (&[("name", "")], "name="),
        (&[("a", "x!y"), ("a", "x y")], "a=x%20y&a=x%21y"),
        (&[("x!y", "a"), ("x", "a")], "x=a&x%21y=a"),
        (
            &[("x", "25"), ("x", "200"), ("y", "a"), ("y", "B")],
            "x=200&x=25&y=B&y=a",
        ),
    ];
    for (params, normalized) in table {
        assert_eq!(normalized_parameters(&owned(params)), normalized);
    }
}

#[test]
fn v09_base_string_uri_table_matches() {
    let table = [
        (
            "HTTP://Example.COM:80/resource?id=123",
            "http://example.com/resource",
        ),
        (
            "http://EXAMPLE.COM:80/r%20v/X?id=123",
            "http://example.com/r%20v/X",
        ),
        (
            "https://www.example.net:8080/?q=1",
            "https://www.example.net:8080/",
        ),
        ("http://example.com", "http://example.com/"),
        (
            "https://tool.example.com:443/lti/launch?x=1#frag",
            "https://tool.example.com/lti/launch",
        ),
        ("HTTP://www.example.com:443/", "http://www.example.com:443/"),
    ];
    for (input, expected) in table {
        assert_eq!(base_string_uri(&url(input)), expected, "for {input}");
    }
}

const V10_URL: &str = "https://Tool.Example.com:443/lti/launch?course=ABC%20101&flag";
const V10_SECRET: &str = "s3cr3t~+/=";

fn v10_params(signature: &str) -> Vec<(String, String)> {
    let body = form(&[
        ("lti_message_type", "basic-lti-launch-request"),
        ("lti_version", "LTI-1p0"),
        ("resource_link_id", "rl-1"),
        ("lis_person_name_full", "Zoë Ünïcødé 测试"),
        ("custom_expr", "a+b=c & d~e*f!"),
        ("context_title", "Intro  to  LTI"),
        ("roles", "Instructor,urn:lti:role:ims/lis/TeachingAssistant"),
        ("oauth_consumer_key", "12345"),
        ("oauth_nonce", "n0nce"),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", "1700000000"),
        ("oauth_version", "1.0"),
        ("oauth_callback", "about:blank"),
        ("oauth_signature", signature),
    ]);
    collect_params(url(V10_URL).query(), Some(&body), None).unwrap()
}

#[test]
fn v10_edge_case_launch_matches() {
    assert_eq!(
        format!("{}&", percent_encode(V10_SECRET)),
        "s3cr3t~%2B%2F%3D&"
    );
    let request = SignedRequest::parse(
        "POST",
        &url(V10_URL),
        v10_params("PSLVNOR0kgJ4qd1vTeQUCi+2w5Y="),
    )
    .unwrap();
    assert_eq!(
        request.base_string(),
        "POST&https%3A%2F%2Ftool.example.com%2Flti%2Flaunch&context_title%3DIntro%2520%2520to%2520%2520LTI%26course%3DABC%2520101%26custom_expr%3Da%252Bb%253Dc%2520%2526%2520d~e%252Af%2521%26flag%3D%26lis_person_name_full%3DZo%25C3%25AB%2520%25C3%259Cn%25C3%25AFc%25C3%25B8d%25C3%25A9%2520%25E6%25B5%258B%25E8%25AF%2595%26lti_message_type%3Dbasic-lti-launch-request%26lti_version%3DLTI-1p0%26oauth_callback%3Dabout%253Ablank%26oauth_consumer_key%3D12345%26oauth_nonce%3Dn0nce%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1700000000%26oauth_version%3D1.0%26resource_link_id%3Drl-1%26roles%3DInstructor%252Curn%253Alti%253Arole%253Aims%252Flis%252FTeachingAssistant"
    );
    assert_eq!(
        signature(
            SignatureMethod::HmacSha1,
            &request.base_string(),
            V10_SECRET
        ),
        "PSLVNOR0kgJ4qd1vTeQUCi+2w5Y="
    );
    assert_eq!(request.verify_signature(&secret(V10_SECRET)), Ok(()));
}

#[test]
fn v11_migration_signature_packback_matches() {
    // packback's test signs the literal strings "exp" and "nonce", so the public function
    // (whose exp is a number) cannot express it; the HMAC beneath it can.
    assert_eq!(
        migration_mac(&secret("bar"), "foo&deploymentId&iss&clientId&exp&nonce"),
        "1Ze6akG0koOVeizCVBIyQHJ78Eo3vGUXyqOM0iDqS0k="
    );
}

const V11_ISS: &str = "https://ltiadvantagevalidator.imsglobal.org";
const V11_NONCE: &str = "nonce-5e73ef2f4c6ea0.93530902";
const V11_SIGNATURE: &str = "eUlPLO6aMcbtJ1/xOte0EPJNBzHL32xndzubDrYSS98=";

#[test]
fn v11_migration_signature_self_computed_matches() {
    let secret = secret("secret");
    assert_eq!(
        migration_signature(
            &secret,
            "key",
            "testdeploy",
            V11_ISS,
            "imstester_3dfad6d",
            3_272_987_750,
            V11_NONCE
        ),
        V11_SIGNATURE
    );
    assert!(verify_migration_signature(
        &secret,
        "key",
        "testdeploy",
        V11_ISS,
        "imstester_3dfad6d",
        3_272_987_750,
        V11_NONCE,
        V11_SIGNATURE
    ));
}

#[test]
fn migration_signature_wrong_value_or_secret_is_refused() {
    let verify = |secret_value: &str, deployment: &str, exp: i64, signature: &str| {
        verify_migration_signature(
            &secret(secret_value),
            "key",
            deployment,
            V11_ISS,
            "imstester_3dfad6d",
            exp,
            V11_NONCE,
            signature,
        )
    };
    assert!(verify("secret", "testdeploy", 3_272_987_750, V11_SIGNATURE));
    assert!(!verify(
        "secreT",
        "testdeploy",
        3_272_987_750,
        V11_SIGNATURE
    ));
    assert!(!verify(
        "secret",
        "testdeploy2",
        3_272_987_750,
        V11_SIGNATURE
    ));
    assert!(!verify(
        "secret",
        "testdeploy",
        3_272_987_751,
        V11_SIGNATURE
    ));
    assert!(!verify("secret", "testdeploy", 3_272_987_750, ""));
    assert!(!verify(
        "secret",
        "testdeploy",
        3_272_987_750,
        "eUlPLO6aMcbtJ1/xOte0EPJNBzHL32xndzubDrYSS98"
    ));
}

// -----------------------------------------------------------------------------------------
// Refusals, each next to the passing case
// -----------------------------------------------------------------------------------------

#[test]
fn signature_method_plaintext_is_refused() {
    assert!(v05_parse(v05_params()).is_ok());
    let mut params = v05_params();
    set(&mut params, "oauth_signature_method", "PLAINTEXT");
    assert_eq!(
        v05_parse(params).unwrap_err(),
        OAuthError::UnsupportedSignatureMethod("PLAINTEXT".to_owned())
    );
}

#[test]
fn signature_method_rsa_sha1_is_refused() {
    assert!(v05_parse(v05_params()).is_ok());
    let mut params = v05_params();
    set(&mut params, "oauth_signature_method", "RSA-SHA1");
    assert_eq!(
        v05_parse(params).unwrap_err(),
        OAuthError::UnsupportedSignatureMethod("RSA-SHA1".to_owned())
    );
}

#[test]
fn signature_method_names_are_exact() {
    assert_eq!(
        SignatureMethod::parse("HMAC-SHA1"),
        Ok(SignatureMethod::HmacSha1)
    );
    assert_eq!(
        "HMAC-SHA256".parse::<SignatureMethod>(),
        Ok(SignatureMethod::HmacSha256)
    );
    for method in [SignatureMethod::HmacSha1, SignatureMethod::HmacSha256] {
        assert_eq!(SignatureMethod::parse(method.as_str()), Ok(method));
        assert_eq!(method.to_string(), method.as_str());
    }
    assert_eq!(
        SignatureMethod::parse("hmac-sha1"),
        Err(OAuthError::UnsupportedSignatureMethod(
            "hmac-sha1".to_owned()
        ))
    );
    let long = "X".repeat(1000);
    assert_eq!(
        SignatureMethod::parse(&long),
        Err(OAuthError::UnsupportedSignatureMethod("X".repeat(64)))
    );
}

#[test]
fn signature_method_hmac_sha256_request_verifies() {
    let mut params = v05_params();
    set(&mut params, "oauth_signature_method", "HMAC-SHA256");
    let base = base_string("POST", &url(V05_URL), &params);
    set(
        &mut params,
        "oauth_signature",
        &signature(SignatureMethod::HmacSha256, &base, "secret"),
    );
    let request = v05_parse(params).unwrap();
    assert_eq!(request.signature_method(), SignatureMethod::HmacSha256);
    assert_eq!(request.verify_signature(&secret("secret")), Ok(()));
    assert_eq!(
        request.verify_signature(&secret("secreT")),
        Err(OAuthError::BadSignature)
    );
}

#[test]
fn duplicate_oauth_nonce_is_refused() {
    assert!(v05_parse(v05_params()).is_ok());
    let mut params = v05_params();
    params.push(("oauth_nonce".to_owned(), "another".to_owned()));
    assert_eq!(
        v05_parse(params).unwrap_err(),
        OAuthError::DuplicateOAuthParameter("oauth_nonce".to_owned())
    );
}

#[test]
fn duplicate_oauth_parameter_across_body_and_header_is_refused() {
    let body = form(&[("oauth_signature", "k2Y0+/dW5ryPlpcok1qgxosUyD4=")]);
    let header = header(&[("oauth_signature", "forged")]);
    let mut params = without(&v05_params(), "oauth_signature");
    params.extend(collect_params(None, Some(&body), Some(&header)).unwrap());
    assert_eq!(
        v05_parse(params).unwrap_err(),
        OAuthError::DuplicateOAuthParameter("oauth_signature".to_owned())
    );
}

#[test]
fn duplicate_ordinary_parameter_is_kept_and_signed() {
    let request = v04_request("dHORwwJqwh5hQQAlvaA9csSIOhc=");
    assert_eq!(request.verify_signature(&secret("secret")), Ok(()));
    // Dropping one `foo` changes the base string.
    let mut params = request.params().to_vec();
    let at = params.iter().position(|(name, _)| name == "foo").unwrap();
    params.remove(at);
    let fewer = SignedRequest::parse("POST", &url(V04_URL), params).unwrap();
    assert_eq!(
        fewer.verify_signature(&secret("secret")),
        Err(OAuthError::BadSignature)
    );
}

#[test]
fn timestamp_not_a_non_negative_integer_is_refused() {
    for good in ["0", "1517630398", "0001517630398"] {
        let mut params = v05_params();
        set(&mut params, "oauth_timestamp", good);
        assert!(v05_parse(params).is_ok(), "{good:?} should parse");
    }
    for bad in [
        "12.5",
        "-1",
        "abc",
        "",
        "+5",
        " 5",
        "5 ",
        "1e9",
        "99999999999999999999",
    ] {
        let mut params = v05_params();
        set(&mut params, "oauth_timestamp", bad);
        assert_eq!(
            v05_parse(params).unwrap_err(),
            OAuthError::InvalidTimestamp,
            "{bad:?} should be refused"
        );
    }
}

#[test]
fn version_other_than_1_0_is_refused() {
    assert!(v05_parse(v05_params()).is_ok());
    assert!(v05_parse(without(&v05_params(), "oauth_version")).is_ok());
    for bad in ["2.0", "1.0a", "1", ""] {
        let mut params = v05_params();
        set(&mut params, "oauth_version", bad);
        assert_eq!(
            v05_parse(params).unwrap_err(),
            OAuthError::UnsupportedVersion,
            "{bad:?} should be refused"
        );
    }
}

#[test]
fn missing_required_parameter_is_refused() {
    assert!(v05_parse(v05_params()).is_ok());
    for name in REQUIRED {
        assert_eq!(
            v05_parse(without(&v05_params(), name)).unwrap_err(),
            OAuthError::MissingParameter(name)
        );
    }
}

#[test]
fn empty_key_nonce_or_signature_is_refused() {
    for name in ["oauth_consumer_key", "oauth_signature", "oauth_nonce"] {
        let mut params = v05_params();
        set(&mut params, name, "");
        assert_eq!(
            v05_parse(params).unwrap_err(),
            OAuthError::EmptyParameter(name)
        );
    }
    let mut params = v05_params();
    set(&mut params, "oauth_signature_method", "");
    assert_eq!(
        v05_parse(params).unwrap_err(),
        OAuthError::UnsupportedSignatureMethod(String::new())
    );
}

#[test]
fn tampered_parameter_is_bad_signature() {
    let good = v05_parse(v05_params()).unwrap();
    assert_eq!(good.verify_signature(&secret("secret")), Ok(()));
    let tampered = [
        ("resource_link_id", "other-link"),
        ("lis_person_name_full", "d'Artagnan "),
        ("oauth_nonce", "f68bdf5dbed34d7aa6ff18456bf3185f"),
        ("oauth_timestamp", "1517630399"),
        ("oauth_consumer_key", "12346"),
        ("oauth_signature", "k2Y0+/dW5ryPlpcok1qgxosUyD5="),
    ];
    for (name, value) in tampered {
        let mut params = v05_params();
        set(&mut params, name, value);
        assert_eq!(
            v05_parse(params)
                .unwrap()
                .verify_signature(&secret("secret")),
            Err(OAuthError::BadSignature),
            "tampering with {name}"
        );
    }
    let mut added = v05_params();
    added.push(("custom_admin".to_owned(), "true".to_owned()));
    assert_eq!(
        v05_parse(added)
            .unwrap()
            .verify_signature(&secret("secret")),
        Err(OAuthError::BadSignature)
    );
}

#[test]
fn tampered_method_or_url_is_bad_signature() {
    let secret = secret("secret");
    assert_eq!(
        SignedRequest::parse("post", &url(V05_URL), v05_params())
            .unwrap()
            .verify_signature(&secret),
        Ok(())
    );
    for (method, target) in [
        ("GET", V05_URL),
        ("POST", "https://localhost/toolconsumer/launch"),
        ("POST", "http://localhost:8080/toolconsumer/launch"),
        ("POST", "http://localhost/toolconsumer/launch/"),
        ("POST", "http://evil.example/toolconsumer/launch"),
    ] {
        assert_eq!(
            SignedRequest::parse(method, &url(target), v05_params())
                .unwrap()
                .verify_signature(&secret),
            Err(OAuthError::BadSignature),
            "{method} {target}"
        );
    }
}

#[test]
fn wrong_secret_is_bad_signature() {
    let request = v05_parse(v05_params()).unwrap();
    assert_eq!(request.verify_signature(&secret("secret")), Ok(()));
    for wrong in ["Secret", "secret ", "", "secret&"] {
        assert_eq!(
            request.verify_signature(&secret(wrong)),
            Err(OAuthError::BadSignature),
            "secret {wrong:?}"
        );
    }
}

#[test]
fn signed_request_debug_leaves_out_parameters() {
    let debug = format!("{:?}", v05_parse(v05_params()).unwrap());
    assert!(debug.contains("12345"));
    assert!(!debug.contains("Artagnan"));
}

// -----------------------------------------------------------------------------------------
// Collecting and parsing
// -----------------------------------------------------------------------------------------

#[test]
fn realm_is_excluded_from_header_but_kept_elsewhere() {
    let params = collect_params(
        Some("realm=q"),
        Some(b"realm=b"),
        Some("OAuth realm=\"h\", oauth_nonce=\"n\""),
    )
    .unwrap();
    assert_eq!(
        params,
        owned(&[("realm", "q"), ("realm", "b"), ("oauth_nonce", "n")])
    );
}

#[test]
fn collect_params_keeps_source_order_and_duplicates() {
    let params =
        collect_params(Some("b=1&a=2&b=3"), Some(b"a=4&&c"), Some("OAuth b=\"5\"")).unwrap();
    assert_eq!(
        params,
        owned(&[
            ("b", "1"),
            ("a", "2"),
            ("b", "3"),
            ("a", "4"),
            ("c", ""),
            ("b", "5")
        ])
    );
    assert_eq!(collect_params(None, None, None), Ok(Vec::new()));
    assert_eq!(collect_params(Some(""), Some(b""), None), Ok(Vec::new()));
}

#[test]
fn form_plus_is_space_but_header_plus_is_plus() {
    let params = collect_params(Some("q=a+b%2B"), None, Some("OAuth h=\"a+b%2B\"")).unwrap();
    assert_eq!(params, owned(&[("q", "a b+"), ("h", "a+b+")]));
}

#[test]
fn invalid_percent_encoding_is_refused() {
    assert!(collect_params(Some("a=%41"), None, None).is_ok());
    for query in ["a=%", "a=%4", "a=%zz", "%g1=x", "a=%FF", "a=%C3"] {
        assert_eq!(
            collect_params(Some(query), None, None),
            Err(OAuthError::InvalidEncoding),
            "query {query:?}"
        );
    }
    assert_eq!(
        collect_params(None, Some(b"a=\xff"), None),
        Err(OAuthError::InvalidEncoding)
    );
    assert_eq!(
        parse_authorization_header("OAuth a=\"%zz\""),
        Err(OAuthError::InvalidEncoding)
    );
}

#[test]
fn authorization_header_forms_are_accepted() {
    let expected = owned(&[("a", "1"), ("b c", "x,\"y")]);
    for header in [
        "OAuth a=\"1\", b%20c=\"x%2C%22y\"",
        "oauth a=\"1\",b%20c=\"x%2C%22y\"",
        "OAUTH\ta = \"1\" ,\tb%20c= \"x%2C%22y\" ,",
        "  OAuth , a=\"1\",, b%20c=\"x%2C%22y\"",
        "OAuth realm=\"say \\\"hi\\\", please\", a=\"1\", b%20c=\"x%2C%22y\"",
        "OAuth a=\"\\1\", b%20c=\"x%2C%22y\"",
    ] {
        assert_eq!(
            parse_authorization_header(header),
            Ok(expected.clone()),
            "header {header:?}"
        );
    }
    assert_eq!(parse_authorization_header("OAuth"), Ok(Vec::new()));
    assert_eq!(
        parse_authorization_header("OAuth realm=\"%zz\""),
        Ok(Vec::new())
    );
}

#[test]
fn malformed_authorization_header_is_refused() {
    for header in [
        "",
        "Basic dXNlcjpwYXNz",
        "Bearer abc",
        "OAuthx a=\"1\"",
        "OAuth a=1",
        "OAuth a=\"1",
        "OAuth a",
        "OAuth a=",
        "OAuth =\"1\"",
        "OAuth a=\"1\" b=\"2\"",
        "OAuth a=\"1\"x",
        "OAuth a b=\"1\"",
        "OAuth \"a\"=\"1\"",
        "OAuth a=\"1\nb\"",
        "OAuth a=\"1\\",
    ] {
        assert_eq!(
            parse_authorization_header(header),
            Err(OAuthError::MalformedHeader),
            "header {header:?}"
        );
    }
    // Through collect_params, an OAuth header that does not parse is refused …
    assert_eq!(
        collect_params(None, None, Some("OAuth a=1")),
        Err(OAuthError::MalformedHeader)
    );
    // … and a header of another scheme carries no OAuth parameters.
    assert_eq!(
        collect_params(Some("a=1"), None, Some("Basic dXNlcjpwYXNz")),
        Ok(owned(&[("a", "1")]))
    );
}

#[test]
fn sign_body_request_signs_query_parameters() {
    let target = url("https://lms.example.com/outcomes?course=7&x=a%20b");
    let body = b"<xml/>";
    let header = sign_body_request(&target, "key", &secret("s"), body, 1_700_000_000, "n1");
    let params = collect_params(target.query(), None, Some(&header)).unwrap();
    let request = SignedRequest::parse("POST", &target, params).unwrap();
    assert_eq!(request.verify_signature(&secret("s")), Ok(()));
    assert!(
        request
            .params()
            .iter()
            .any(|(name, value)| name == "oauth_body_hash" && *value == body_hash(body))
    );
    // A receiver that leaves the query out computes another base string.
    let header_only = collect_params(None, None, Some(&header)).unwrap();
    assert_eq!(
        SignedRequest::parse("POST", &target, header_only)
            .unwrap()
            .verify_signature(&secret("s")),
        Err(OAuthError::BadSignature)
    );
}

#[test]
fn fresh_nonce_is_random_hex() {
    let (a, b) = (fresh_nonce(), fresh_nonce());
    assert_eq!(a.len(), 32);
    assert!(a.bytes().all(|byte| byte.is_ascii_hexdigit()));
    assert_ne!(a, b);
}

// -----------------------------------------------------------------------------------------
// Properties
// -----------------------------------------------------------------------------------------

fn params_strategy() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec((any::<String>(), any::<String>()), 0..12)
}

fn url_strategy() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just("http"), Just("https"), Just("HTTP"), Just("HttpS")],
        "[a-zA-Z][a-zA-Z0-9-]{0,8}(\\.[a-zA-Z]{2,4}){0,2}",
        prop::option::of(any::<u16>()),
        "(/[a-zA-Z0-9%._~!$&'()*+,;=:@ -]{0,6}){0,3}",
        prop::option::of("[a-z0-9=&%+]{0,8}"),
        prop::option::of("[a-z/]{0,5}"),
    )
        .prop_map(|(scheme, host, port, path, query, fragment)| {
            let mut out = format!("{scheme}://{host}");
            if let Some(port) = port {
                out.push_str(&format!(":{port}"));
            }
            out.push_str(&path);
            if let Some(query) = query {
                out.push_str(&format!("?{query}"));
            }
            if let Some(fragment) = fragment {
                out.push_str(&format!("#{fragment}"));
            }
            out
        })
}

proptest! {
    #[test]
    fn percent_encode_round_trips_through_decoding(value in any::<String>()) {
        let encoded = percent_encode(&value);
        prop_assert_eq!(percent_decode(encoded.as_bytes(), false), Ok(value.clone()));
        prop_assert_eq!(percent_decode(encoded.as_bytes(), true), Ok(value));
    }

    #[test]
    fn percent_encode_emits_only_unreserved_and_upper_hex(value in any::<String>()) {
        let encoded = percent_encode(&value);
        let bytes = encoded.as_bytes();
        let mut at = 0;
        while at < bytes.len() {
            if bytes[at] == b'%' {
                prop_assert!(at + 2 < bytes.len(), "truncated escape in {}", encoded);
                let hex = &bytes[at + 1..at + 3];
                prop_assert!(
                    hex.iter().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(b)),
                    "bad escape in {}", encoded
                );
                at += 3;
            } else {
                prop_assert!(is_unreserved(bytes[at]), "reserved byte in {}", encoded);
                at += 1;
            }
        }
    }

    #[test]
    fn normalization_ignores_input_order(
        (params, shuffled) in params_strategy()
            .prop_flat_map(|params| (Just(params.clone()), Just(params).prop_shuffle()))
    ) {
        prop_assert_eq!(normalized_parameters(&params), normalized_parameters(&shuffled));
    }

    #[test]
    fn base_string_uri_is_idempotent(input in url_strategy()) {
        let parsed = Url::parse(&input);
        prop_assume!(parsed.is_ok());
        let once = base_string_uri(&parsed.unwrap());
        let twice = base_string_uri(&Url::parse(&once).unwrap());
        prop_assert_eq!(once, twice);
    }

    #[test]
    fn authorization_header_round_trips(
        pairs in prop::collection::vec(
            (any::<String>().prop_filter("named, not realm", |n| !n.is_empty() && n != "realm"),
             any::<String>()),
            0..8,
        )
    ) {
        let list: Vec<(&str, &str)> =
            pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        prop_assert_eq!(parse_authorization_header(&header(&list)), Ok(pairs));
    }

    #[test]
    fn signed_form_launch_verifies_and_detects_tampering(
        params in prop::collection::vec(("[a-z_]{1,12}", any::<String>()), 0..8),
        secret_value in any::<String>(),
        timestamp in 0_i64..=i64::MAX,
        sha256 in any::<bool>(),
    ) {
        let method = if sha256 { SignatureMethod::HmacSha256 } else { SignatureMethod::HmacSha1 };
        let target = url("https://tool.example.com/lti/launch?from=query");
        let mut all: Vec<(String, String)> =
            params.into_iter().filter(|(n, _)| !n.starts_with("oauth_")).collect();
        all.extend(owned(&[
            ("oauth_consumer_key", "key"),
            ("oauth_nonce", "nonce"),
            ("oauth_signature_method", method.as_str()),
            ("oauth_timestamp", &timestamp.to_string()),
        ]));
        let mut with_query = collect_params(target.query(), None, None).unwrap();
        with_query.extend(all.clone());
        let signed = signature(method, &base_string("POST", &target, &with_query), &secret_value);
        all.push(("oauth_signature".to_owned(), signed));
        let list: Vec<(&str, &str)> = all.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let collected = collect_params(target.query(), Some(&form(&list)), None).unwrap();
        let request = SignedRequest::parse("POST", &target, collected.clone()).unwrap();
        prop_assert_eq!(request.timestamp(), timestamp);
        prop_assert_eq!(request.verify_signature(&secret(&secret_value)), Ok(()));
        let mut tampered = collected;
        tampered.push(("extra".to_owned(), String::new()));
        let request = SignedRequest::parse("POST", &target, tampered).unwrap();
        prop_assert_eq!(
            request.verify_signature(&secret(&secret_value)),
            Err(OAuthError::BadSignature)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// sign_form_request: the outgoing form post (Content-Item `ContentItemSelection`)
// ---------------------------------------------------------------------------------------------

/// The value of `name` in a list of fields.
fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn sign_form_request_v05_known_answer() {
    // V-05: the launch's non-protocol fields (and its oauth_callback) signed as a form.
    let params = owned(&[
        ("oauth_callback", "about:blank"),
        ("launch_presentation_locale", "en-US"),
        ("lti_message_type", "basic-lti-launch-request"),
        ("lti_version", "LTI-1p0"),
        ("lis_person_name_full", "d'Artagnan"),
        ("resource_link_id", "link"),
    ]);
    let oauth = sign_form_request(
        &url(V05_URL),
        &params,
        "12345",
        &secret("secret"),
        1_517_630_398,
        "f68bdf5dbed34d7aa6ff18456bf3185e",
    );
    let names: Vec<&str> = oauth.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "oauth_consumer_key",
            "oauth_nonce",
            "oauth_signature_method",
            "oauth_timestamp",
            "oauth_version",
            "oauth_signature"
        ]
    );
    assert_eq!(field(&oauth, "oauth_signature_method"), Some("HMAC-SHA1"));
    assert_eq!(field(&oauth, "oauth_version"), Some("1.0"));
    assert_eq!(
        field(&oauth, "oauth_signature"),
        Some("k2Y0+/dW5ryPlpcok1qgxosUyD4=")
    );
}

#[test]
fn sign_form_request_v04_signs_the_urls_query_without_posting_it() {
    // V-04: the query (foo=123&foo=bar) stays in the URL and is signed; the form has the rest.
    let params = owned(&[
        ("resource_link_id", "rsc1"),
        ("oauth_callback", "about:blank"),
        (
            "lis_outcome_service_url",
            "http://www.imsglobal.org/developers/LTI/test/v1p1/common/tool_consumer_outcome.php?b64=MTIzNDU6OjpzZWNyZXQ=",
        ),
        ("lis_result_sourcedid", "feb-123-456-2929::28883"),
        (
            "launch_presentation_return_url",
            "http://www.imsglobal.org/developers/LTI/test/v1p1/lms_return.php",
        ),
        ("lti_version", "LTI-1p0"),
        ("lti_message_type", "basic-lti-launch-request"),
    ]);
    let oauth = sign_form_request(
        &url(V04_URL),
        &params,
        "12345",
        &secret("secret"),
        1_397_708_483,
        "7ee33f6dc94117e792ff529898ce3953",
    );
    assert_eq!(
        field(&oauth, "oauth_signature"),
        Some("dHORwwJqwh5hQQAlvaA9csSIOhc=")
    );
    assert!(oauth.iter().all(|(name, _)| name.starts_with("oauth_")));
}

#[test]
fn sign_form_request_verifies_and_a_changed_field_or_secret_does_not() {
    let target = url("https://lms.example.edu/mod/lti/contentitem_return.php?course=5&id=2");
    let params = owned(&[
        ("lti_message_type", "ContentItemSelection"),
        ("lti_version", "LTI-1p0"),
        (
            "content_items",
            r#"{"@context":"http://purl.imsglobal.org/ctx/lti/v1/ContentItem","@graph":[]}"#,
        ),
        ("data", "opaque & \"quoted\" ✓ +1"),
    ]);
    let oauth = sign_form_request(
        &target,
        &params,
        "moodle-main",
        &secret("s3cret&+/="),
        1_700_000_000,
        &fresh_nonce(),
    );
    let mut posted = params.clone();
    posted.extend(oauth);
    let list: Vec<(&str, &str)> = posted
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let body = form(&list);
    let received = collect_params(target.query(), Some(&body), None).unwrap();
    let request = SignedRequest::parse("POST", &target, received.clone()).unwrap();
    assert_eq!(request.verify_signature(&secret("s3cret&+/=")), Ok(()));
    assert_eq!(
        request.verify_signature(&secret("another")),
        Err(OAuthError::BadSignature)
    );
    let changed: Vec<(String, String)> = received
        .into_iter()
        .map(|(n, v)| {
            if n == "data" {
                (n, "changed".to_owned())
            } else {
                (n, v)
            }
        })
        .collect();
    let request = SignedRequest::parse("POST", &target, changed).unwrap();
    assert_eq!(
        request.verify_signature(&secret("s3cret&+/=")),
        Err(OAuthError::BadSignature)
    );
    // Posted to another return URL (the query is signed): refused.
    let other = url("https://lms.example.edu/mod/lti/contentitem_return.php?course=6&id=2");
    let moved = collect_params(other.query(), Some(&body), None).unwrap();
    let request = SignedRequest::parse("POST", &other, moved).unwrap();
    assert_eq!(
        request.verify_signature(&secret("s3cret&+/=")),
        Err(OAuthError::BadSignature)
    );
}
