//! The route table (`lti_shared::web::routes::ROUTES`, which `ltictl serve` dispatches through)
//! is the one the other two routers use:
//!
//! * `cargo lambda watch`: `[workspace.metadata.lambda.watch.router]` in the root Cargo.toml;
//! * CloudFront: the distribution's `CacheBehaviors` in template.yaml, each behaviour's origin
//!   followed to the function URL and the SAM function (`Metadata.BuildProperties.Binary`)
//!   behind it;
//!
//! and every function it names is a binary of a function crate (`functions/<name>`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use lti_shared::web::routes::{Function, ROUTES, route};
use serde_yaml_ng::Value;

const TABLE: &str = "ROUTES in shared/src/web/routes.rs";
const ROUTER: &str = "[workspace.metadata.lambda.watch.router] in Cargo.toml";
const BEHAVIORS: &str = "the Distribution's CacheBehaviors in template.yaml";

/// (pattern, function name) pairs, patterns in the table's notation (`/outcomes/*`).
type Pairs = BTreeSet<(String, String)>;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(relative: &str) -> String {
    let path = root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn table() -> Pairs {
    ROUTES
        .iter()
        .map(|r| (r.pattern.to_owned(), r.function.name().to_owned()))
        .collect()
}

/// Fails listing every pair one side has and the other lacks, with where to fix it.
fn assert_same(other: &Pairs, other_name: &str, how_to_write: &dyn Fn(&str, &str) -> String) {
    let table = table();
    let mut problems = Vec::new();
    for (pattern, function) in table.difference(other) {
        problems.push(format!(
            "{pattern} -> {function} is in {TABLE} but not in {other_name}: add {}",
            how_to_write(pattern, function)
        ));
    }
    for (pattern, function) in other.difference(&table) {
        let known = route(pattern.trim_end_matches('*'))
            .map(|r| format!(" (the table sends it to {})", r.function.name()))
            .unwrap_or_default();
        problems.push(format!(
            "{pattern} -> {function} is in {other_name} but not in {TABLE}{known}: fix or remove \
             it there, or add the route to the table (and then to every router)"
        ));
    }
    assert!(
        problems.is_empty(),
        "the routers drifted apart:\n  {}",
        problems.join("\n  ")
    );
}

/// A cargo-lambda (matchit) route in the table's notation: a final catch-all segment
/// `{*name}` is the table's `*`. Anything else with a parameter has no table equivalent.
fn from_matchit(path: &str) -> Result<String, String> {
    let Some((head, last)) = path.rsplit_once('/') else {
        return Err(format!("{path:?} does not start with /"));
    };
    if head.contains('{') || head.contains('}') {
        return Err(format!(
            "{path:?}: only the last segment may be a parameter (the table has prefixes, `/x/*`)"
        ));
    }
    match last.strip_prefix('{').and_then(|l| l.strip_suffix('}')) {
        Some(param) if param.starts_with('*') => Ok(format!("{head}/*")),
        Some(_) => Err(format!(
            "{path:?}: a `{{name}}` parameter matches one segment only, the table's `{head}/*` \
             matches any path under {head}/; write it `{head}/{{*rest}}`"
        )),
        None if last.contains('{') || last.contains('}') => {
            Err(format!("{path:?}: a parameter must be a whole segment"))
        }
        None => Ok(path.to_owned()),
    }
}

#[test]
fn routes_cargo_lambda_router_matches_table() {
    let manifest: toml::Table = read("Cargo.toml").parse().unwrap();
    let router = manifest
        .get("workspace")
        .and_then(|w| w.get("metadata"))
        .and_then(|m| m.get("lambda"))
        .and_then(|l| l.get("watch"))
        .and_then(|w| w.get("router"))
        .and_then(toml::Value::as_table)
        .unwrap_or_else(|| panic!("Cargo.toml has no {ROUTER} table"));
    let mut pairs = Pairs::new();
    let mut problems = Vec::new();
    for (path, function) in router {
        let Some(function) = function.as_str() else {
            problems.push(format!(
                "{path:?} in {ROUTER}: expected one function name (per-method routes are not \
                 part of the table)"
            ));
            continue;
        };
        match from_matchit(path) {
            Ok(pattern) => {
                pairs.insert((pattern, function.to_owned()));
            }
            Err(problem) => problems.push(format!("{ROUTER}: {problem}")),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_same(&pairs, ROUTER, &|pattern, function| {
        let path = match pattern.strip_suffix('*') {
            Some(prefix) => format!("{prefix}{{*rest}}"),
            None => pattern.to_owned(),
        };
        format!("`\"{path}\" = \"{function}\"` to {ROUTER}")
    });
}

/// The logical id in a `!GetAtt Id.Attr` / `Fn::GetAtt: [Id, Attr]` found anywhere in `value`.
fn get_att(value: &Value) -> Option<(String, String)> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "GetAtt" => match &tagged.value {
            Value::String(text) => text
                .split_once('.')
                .map(|(id, attr)| (id.to_owned(), attr.to_owned())),
            Value::Sequence(items) => match items.as_slice() {
                [Value::String(id), Value::String(attr)] => Some((id.clone(), attr.clone())),
                _ => None,
            },
            _ => None,
        },
        Value::Tagged(tagged) => get_att(&tagged.value),
        Value::Mapping(map) => match map.get("Fn::GetAtt") {
            Some(inner) => get_att(&Value::Tagged(Box::new(
                serde_yaml_ng::value::TaggedValue {
                    tag: serde_yaml_ng::value::Tag::new("GetAtt"),
                    value: inner.clone(),
                },
            ))),
            None => map.values().find_map(get_att),
        },
        Value::Sequence(items) => items.iter().find_map(get_att),
        _ => None,
    }
}

/// The template's CloudFront behaviours as (pattern, function name), and the default
/// behaviour's function. An origin is followed through its function URL
/// (`!GetAtt <Function>Url.FunctionUrl`, the URL SAM makes for `FunctionUrlConfig`) to the SAM
/// function and its `BuildProperties.Binary`.
fn template_behaviors() -> (Pairs, String) {
    let template: Value = serde_yaml_ng::from_str(&read("template.yaml")).unwrap();
    let resources = template["Resources"].as_mapping().unwrap();
    let distributions: Vec<(&Value, &Value)> = resources
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::CloudFront::Distribution")
        .collect();
    assert_eq!(
        distributions.len(),
        1,
        "exactly one CloudFront distribution in template.yaml"
    );
    let config = &distributions[0].1["Properties"]["DistributionConfig"];

    let mut origins = BTreeMap::new();
    for origin in config["Origins"].as_sequence().unwrap() {
        let id = origin["Id"].as_str().unwrap().to_owned();
        let (url_id, attr) = get_att(&origin["DomainName"]).unwrap_or_else(|| {
            panic!("template.yaml: origin {id}'s DomainName has no !GetAtt <Function>Url")
        });
        assert_eq!(attr, "FunctionUrl", "template.yaml: origin {id}");
        let function_id = url_id.strip_suffix("Url").unwrap_or_else(|| {
            panic!("template.yaml: origin {id} points at {url_id}, not a <Function>Url")
        });
        let binary = resources
            .get(function_id)
            .and_then(|f| f["Metadata"]["BuildProperties"]["Binary"].as_str())
            .unwrap_or_else(|| {
                panic!(
                    "template.yaml: origin {id} -> {url_id}: no function {function_id} with \
                     Metadata.BuildProperties.Binary"
                )
            });
        origins.insert(id, binary.to_owned());
    }
    let function_of = |behavior: &Value, what: &str| -> String {
        let target = behavior["TargetOriginId"]
            .as_str()
            .unwrap_or_else(|| panic!("template.yaml: {what} has no TargetOriginId"));
        origins.get(target).cloned().unwrap_or_else(|| {
            panic!("template.yaml: {what} targets origin {target}, which is not in Origins")
        })
    };

    let mut pairs = Pairs::new();
    for behavior in config["CacheBehaviors"].as_sequence().unwrap() {
        let pattern = behavior["PathPattern"]
            .as_str()
            .unwrap_or_else(|| panic!("template.yaml: a CacheBehavior without PathPattern"));
        let function = function_of(behavior, &format!("CacheBehavior {pattern}"));
        assert!(
            pairs.insert((pattern.to_owned(), function)),
            "template.yaml: PathPattern {pattern} appears twice"
        );
    }
    let default = function_of(&config["DefaultCacheBehavior"], "DefaultCacheBehavior");
    (pairs, default)
}

#[test]
fn routes_cloudfront_behaviors_match_table() {
    let (pairs, default) = template_behaviors();
    assert_same(&pairs, BEHAVIORS, &|pattern, function| {
        format!(
            "a CacheBehavior `PathPattern: {pattern}` with the {function} origin to {BEHAVIORS}"
        )
    });
    assert!(
        Function::ALL.iter().any(|f| f.name() == default),
        "template.yaml: DefaultCacheBehavior goes to {default}, which is not an HTTP function of \
         {TABLE}"
    );
}

/// Binary targets of the crate in `dir` (its `[[bin]]`s, and `src/main.rs` named after the
/// package); `src/bin/` is not used by the function crates.
fn crate_binaries(dir: &Path) -> BTreeSet<String> {
    let manifest: toml::Table = std::fs::read_to_string(dir.join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let package = manifest["package"]["name"].as_str().unwrap().to_owned();
    let declared: Vec<&toml::Value> = manifest
        .get("bin")
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    let mut binaries: BTreeSet<String> = declared
        .iter()
        .filter_map(|b| b.get("name").and_then(toml::Value::as_str))
        .map(str::to_owned)
        .collect();
    // src/main.rs is the binary named after the package unless a [[bin]] claims it.
    let main_claimed = declared
        .iter()
        .any(|b| b.get("path").and_then(toml::Value::as_str) == Some("src/main.rs"));
    if dir.join("src/main.rs").is_file() && !main_claimed {
        binaries.insert(package);
    }
    binaries
}

#[test]
fn routes_functions_are_function_binaries() {
    let mut problems = Vec::new();
    for f in Function::ALL {
        let dir = root().join("functions").join(f.name());
        if !dir.join("Cargo.toml").is_file() {
            problems.push(format!(
                "{} ({f:?}): there is no functions/{}/Cargo.toml; fix Function::name in \
                 shared/src/web/routes.rs",
                f.name(),
                f.name()
            ));
        } else if !crate_binaries(&dir).contains(f.name()) {
            problems.push(format!(
                "{} ({f:?}): functions/{}/Cargo.toml has no binary of that name",
                f.name(),
                f.name()
            ));
        }
    }
    for r in ROUTES {
        assert!(
            Function::ALL.contains(&r.function),
            "{}: Function::ALL lacks {:?}",
            r.pattern,
            r.function
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn routes_matchit_translation() {
    assert_eq!(from_matchit("/launch").unwrap(), "/launch");
    assert_eq!(from_matchit("/views/{*rest}").unwrap(), "/views/*");
    assert!(from_matchit("/views/{rest}").is_err());
    assert!(from_matchit("/a/{b}/c").is_err());
    assert!(from_matchit("/a/x{b}").is_err());
}
