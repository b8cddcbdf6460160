//! The `diagnostics` key's redaction, on top of the built-in rules: `bundle.redact[]` entries
//! (`spec.regex`, or `spec.objectRef` + `spec.jsonPath` naming values in a cluster object) and
//! `redactSecrets` (every value of the instance's Secrets, and its base64 form). The result is
//! one [`Redactor`] for `RunConfig::redactor`, so the bundle's redactions.json reports these
//! rules like the built-in ones (`pattern-N` for regexes, `literal` for values).

use serde_json::Value;

use super::plan::Sourced;
use crate::bundle::redact::Redactor;
use crate::kubeapi::path;

/// Whether a redact entry is usable; the error says how to fix it.
pub fn check_entry(spec: &Value) -> Result<(), String> {
    if let Some(re) = spec.get("regex") {
        let re = re.as_str().ok_or("spec.regex must be a string")?;
        return regex::bytes::Regex::new(re)
            .map(|_| ())
            .map_err(|e| format!("spec.regex {re:?} is not a valid regular expression ({}); fix it (Rust regex syntax)", e.to_string().lines().last().unwrap_or("")));
    }
    let oref = spec
        .get("objectRef")
        .ok_or("give spec.regex, or spec.objectRef with spec.jsonPath")?;
    for k in ["kind", "name"] {
        if oref
            .get(k)
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(format!("spec.objectRef.{k} is missing"));
        }
    }
    let jp = spec
        .get("jsonPath")
        .and_then(Value::as_str)
        .ok_or("spec.jsonPath is missing: name the values to redact, e.g. {.data.password}")?;
    parse_json_path(jp).map(|_| ())
}

/// `{.data.password}`, `$.data['a.b']`, `.spec.items[0].x`, `.data.*`: Kubernetes' JSONPath.
fn parse_json_path(jp: &str) -> Result<crate::jsonpath::Template, String> {
    crate::jsonpath::Template::parse(jp)
        .map_err(|e| format!("spec.jsonPath {jp:?}: {e}; write it like {{.data.password}}"))
}

/// The string values `jp` names in `obj` (numbers and booleans as text; objects contribute
/// their leaves).
pub fn json_path_values(obj: &Value, jp: &str) -> Result<Vec<String>, String> {
    let cur = parse_json_path(jp)?.values(obj);
    let mut out = Vec::new();
    fn leaves(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Number(n) => out.push(n.to_string()),
            Value::Bool(b) => out.push(b.to_string()),
            Value::Array(a) => a.iter().for_each(|v| leaves(v, out)),
            Value::Object(m) => m.values().for_each(|v| leaves(v, out)),
            Value::Null => {}
        }
    }
    cur.iter().for_each(|v| leaves(v, &mut out));
    Ok(out)
}

/// What the key's redaction adds to the built-in rules.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Extra {
    /// Regular expressions (`spec.regex`).
    pub patterns: Vec<String>,
    /// Values that must never appear (object reference values, Secret values).
    pub literals: Vec<String>,
    /// Entries that could not be applied, one line each.
    pub problems: Vec<String>,
}

impl Extra {
    /// The built-in rules plus these.
    pub fn redactor(&self) -> Redactor {
        Redactor::new(&self.patterns, &self.literals).expect("patterns were checked by check_entry")
    }
}

/// Whether the instance's Secret values are redacted: yes unless every source turns it off.
pub fn redact_secrets(sources: &[Sourced]) -> bool {
    sources.is_empty() || sources.iter().any(|s| s.diagnostics.redact_secrets)
}

async fn get_json(client: &kube::Client, url: &str) -> Result<Value, String> {
    get_as(client, url).await
}

/// `url`'s answer read into `T` (a type that keeps only the fields it names).
async fn get_as<T: serde::de::DeserializeOwned>(
    client: &kube::Client,
    url: &str,
) -> Result<T, String> {
    let req = hyper::Request::get(url)
        .body(Vec::new())
        .map_err(|e| e.to_string())?;
    // Transient failures are retried: a Secret left unread would leave its values unredacted.
    crate::kubeapi::retrying(|| client.request::<T>(req.clone()))
        .await
        .map_err(|e| e.to_string())
}

/// The plural REST path of a kind for an object reference.
fn object_url(ns: &str, oref: &Value) -> Result<String, String> {
    let kind = oref["kind"].as_str().unwrap_or("");
    let name = oref["name"].as_str().unwrap_or("");
    let ns = oref.get("namespace").and_then(Value::as_str).unwrap_or(ns);
    let api_version = oref
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("v1");
    let plural = match kind {
        "ConfigMap" => "configmaps".to_string(),
        "Secret" => "secrets".to_string(),
        "Service" => "services".to_string(),
        "Pod" => "pods".to_string(),
        k => format!("{}s", k.to_ascii_lowercase()),
    };
    Ok(path::object(api_version, Some(ns), &plural, name))
}

/// Reads the cluster for what the sources' redaction names: the objects of `objectRef`
/// entries; and takes (unless turned off) the values of the instance's Secrets, read by the
/// caller with [`secret_values`]: those labelled `kudo.dev/instance=INSTANCE` and those its
/// pods mount or read in env.
pub async fn gather(
    client: &kube::Client,
    namespace: &str,
    instance: &str,
    sources: &[Sourced],
    instance_secrets: Result<Vec<String>, String>,
) -> Extra {
    let mut extra = Extra::default();
    for s in sources {
        for (i, r) in s.diagnostics.bundle.redact.iter().enumerate() {
            let name = r
                .name
                .clone()
                .unwrap_or_else(|| format!("redact-{}", i + 1));
            if check_entry(&r.spec).is_err() {
                continue; // reported by plan() as a failing task
            }
            if let Some(re) = r.spec.get("regex").and_then(Value::as_str) {
                extra.patterns.push(re.to_string());
                continue;
            }
            // KUDO's template forms name the instance's objects (`{{ .Name }}-credentials`).
            let spec = super::plan::kudo_templates(&r.spec);
            let mut oref = spec["objectRef"].clone();
            if let Some(m) = oref.as_object_mut() {
                for v in m.values_mut() {
                    if let Some(t) = v.as_str() {
                        *v = Value::String(
                            t.replace("{{instance}}", instance)
                                .replace("{{namespace}}", namespace),
                        );
                    }
                }
            }
            let oref = &oref;
            let jp = r.spec["jsonPath"].as_str().unwrap_or("");
            let got = match object_url(namespace, oref) {
                Ok(url) => get_json(client, &url).await,
                Err(e) => Err(e),
            };
            match got.and_then(|obj| json_path_values(&decode_secret(obj), jp)) {
                Ok(vals) if vals.is_empty() => extra.problems.push(format!(
                    "{}: redact entry {name}: {jp} names no value in {} {}; fix spec.jsonPath",
                    s.origin,
                    oref["kind"].as_str().unwrap_or(""),
                    oref["name"].as_str().unwrap_or("")
                )),
                Ok(vals) => extra.literals.extend(vals),
                Err(e) => extra.problems.push(format!(
                    "{}: redact entry {name}: reading {} {}: {e}; fix spec.objectRef",
                    s.origin,
                    oref["kind"].as_str().unwrap_or(""),
                    oref["name"].as_str().unwrap_or("")
                )),
            }
        }
    }
    if redact_secrets(sources) {
        match instance_secrets {
            Ok(v) => extra.literals.extend(v),
            Err(e) => extra.problems.push(format!(
                "redactSecrets: listing the instance's Secrets in namespace {namespace} failed: {e}; Secret values are only caught by the built-in rules"
            )),
        }
    }
    extra.literals.sort();
    extra.literals.dedup();
    extra
}

/// A Secret's `data` decoded, so JSONPath values are the clear values an artifact would hold.
fn decode_secret(mut obj: Value) -> Value {
    use base64::Engine as _;
    if obj.get("kind").and_then(Value::as_str) == Some("Secret") {
        if let Some(m) = obj.get_mut("data").and_then(Value::as_object_mut) {
            for v in m.values_mut() {
                if let Some(s) = v.as_str() {
                    if let Ok(b) = base64::engine::general_purpose::STANDARD.decode(s) {
                        *v = Value::String(String::from_utf8_lossy(&b).into_owned());
                    }
                }
            }
        }
    }
    obj
}

/// Clear values of the instance's Secrets.
pub async fn secret_values(
    client: &kube::Client,
    namespace: &str,
    instance: &str,
) -> Result<Vec<String>, String> {
    let sel = format!("kudo.dev/instance={instance}");
    let labelled = |plural: &str| {
        path::with_query(
            &path::collection("v1", Some(namespace), plural),
            &[("labelSelector", &sel)],
        )
    };
    // The pods' list (page by page) and the labelled Secrets are asked at once, then the
    // Secrets the pods name that are not labelled, each at once.
    let secrets_url = labelled("secrets");
    let (names, labelled) = tokio::join!(
        secrets_pods_read(client, namespace, &sel),
        get_json(client, &secrets_url)
    );
    let mut names = names?;
    let mut secrets: Vec<Value> = labelled?["items"].as_array().cloned().unwrap_or_default();
    names.sort();
    names.dedup();
    names.retain(|n| {
        !secrets
            .iter()
            .any(|s| s.pointer("/metadata/name").and_then(Value::as_str) == Some(n))
    });
    let referenced = futures::future::join_all(names.iter().map(|n| {
        let url = path::object("v1", Some(namespace), "secrets", n);
        async move { get_json(client, &url).await }
    }))
    .await;
    // A referenced Secret may be missing (the pod would not start); that is not our error.
    secrets.extend(referenced.into_iter().flatten());
    let mut out = Vec::new();
    for s in secrets {
        let d = decode_secret(s);
        for key in ["data", "stringData"] {
            if let Some(m) = d.get(key).and_then(Value::as_object) {
                out.extend(m.values().filter_map(Value::as_str).map(str::to_string));
            }
        }
    }
    Ok(out)
}

/// Pods asked for per page of the instance's pods list.
const PODS_PAGE: &str = "500";

/// Names of the Secrets the pods labelled `sel` read, listed page by page (`limit`, following
/// `continue`) and read into only the fields that name Secrets: the whole list read as values
/// at once (about 14 KiB a Pod) made 117 MiB of the start of a 5,000-Pod collection.
async fn secrets_pods_read(
    client: &kube::Client,
    namespace: &str,
    sel: &str,
) -> Result<Vec<String>, String> {
    let base = path::collection("v1", Some(namespace), "pods");
    let mut names = Vec::new();
    let mut next = String::new();
    loop {
        let url = path::with_query(
            &base,
            &[
                ("labelSelector", sel),
                ("limit", PODS_PAGE),
                ("continue", &next),
            ],
        );
        let page: PodPage = get_as(client, &url).await?;
        for pod in page.items.iter().flatten() {
            if let Some(spec) = &pod.spec {
                spec.secret_names(&mut names);
            }
        }
        match page.metadata.and_then(|m| m.next) {
            Some(c) if !c.is_empty() => next = c,
            _ => return Ok(names),
        }
    }
}

/// One page of a Pod list, with only what names a Secret (serde skips the rest as it reads).
#[derive(serde::Deserialize)]
struct PodPage {
    #[serde(default)]
    items: Option<Vec<SecretRefs>>,
    #[serde(default)]
    metadata: Option<PageMeta>,
}

#[derive(serde::Deserialize, Default)]
struct PageMeta {
    #[serde(rename = "continue")]
    next: Option<String>,
}

#[derive(serde::Deserialize, Default)]
struct SecretRefs {
    #[serde(default)]
    spec: Option<PodSecretRefs>,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct PodSecretRefs {
    volumes: Option<Vec<VolumeRef>>,
    containers: Option<Vec<ContainerRefs>>,
    init_containers: Option<Vec<ContainerRefs>>,
    ephemeral_containers: Option<Vec<ContainerRefs>>,
    image_pull_secrets: Option<Vec<NameRef>>,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct VolumeRef {
    secret: Option<SecretVolume>,
    projected: Option<ProjectedVolume>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct ProjectedVolume {
    sources: Option<Vec<ProjectedSource>>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct ProjectedSource {
    secret: Option<NameRef>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct SecretVolume {
    secret_name: Option<String>,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ContainerRefs {
    env: Option<Vec<EnvRef>>,
    env_from: Option<Vec<EnvFromRef>>,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct EnvRef {
    value_from: Option<EnvSource>,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct EnvSource {
    secret_key_ref: Option<NameRef>,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct EnvFromRef {
    secret_ref: Option<NameRef>,
}

#[derive(serde::Deserialize)]
struct NameRef {
    name: Option<String>,
}

impl PodSecretRefs {
    /// Names of Secrets a pod reads: secret and projected volumes, env `secretKeyRef`,
    /// `envFrom.secretRef` (of every kind of container), and `imagePullSecrets`.
    fn secret_names(&self, out: &mut Vec<String>) {
        let volumes = self.volumes.iter().flatten();
        let secret_volumes = volumes
            .clone()
            .filter_map(|v| v.secret.as_ref()?.secret_name.as_deref());
        let projected = volumes.flat_map(|v| {
            v.projected
                .iter()
                .flat_map(|p| p.sources.iter().flatten())
                .filter_map(|s| s.secret.as_ref()?.name.as_deref())
        });
        let pull = self
            .image_pull_secrets
            .iter()
            .flatten()
            .filter_map(|r| r.name.as_deref());
        let containers = self
            .containers
            .iter()
            .chain(&self.init_containers)
            .chain(&self.ephemeral_containers)
            .flatten();
        let env = containers.clone().flat_map(|c| {
            c.env.iter().flatten().filter_map(|e| {
                e.value_from
                    .as_ref()?
                    .secret_key_ref
                    .as_ref()?
                    .name
                    .as_deref()
            })
        });
        let env_from = containers.flat_map(|c| {
            c.env_from
                .iter()
                .flatten()
                .filter_map(|e| e.secret_ref.as_ref()?.name.as_deref())
        });
        out.extend(
            secret_volumes
                .chain(projected)
                .chain(pull)
                .chain(env)
                .chain(env_from)
                .map(str::to_string),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_pod_page_keeps_the_names_of_the_secrets_its_pods_read_and_nothing_else() {
        let page = json!({
            "kind": "PodList",
            "metadata": {"resourceVersion": "7", "continue": "next-page"},
            "items": [
                {"metadata": {"name": "p0", "labels": {"a": "b"}},
                 "spec": {
                    "volumes": [
                        {"name": "certs", "secret": {"secretName": "tls-certs"}},
                        {"name": "conf", "configMap": {"name": "not-a-secret"}},
                        {"name": "bundle", "projected": {"sources": [
                            {"serviceAccountToken": {"path": "token"}},
                            {"secret": {"name": "projected-creds", "items": [{"key": "k", "path": "k"}]}},
                            {"configMap": {"name": "not-a-secret-either"}}
                        ]}},
                        {"name": "data", "emptyDir": {}}
                    ],
                    "initContainers": [{"name": "init", "envFrom": [{"secretRef": {"name": "init-env"}}, {"configMapRef": {"name": "cm"}}]}],
                    "ephemeralContainers": [{"name": "debug", "env": [{"name": "T", "valueFrom": {"secretKeyRef": {"name": "debug-token", "key": "t"}}}]}],
                    "imagePullSecrets": [{"name": "registry-auth"}],
                    "containers": [{"name": "app", "image": "x", "env": [
                        {"name": "A", "value": "plain"},
                        {"name": "B", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
                        {"name": "C", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
                    ]}]
                 },
                 "status": {"phase": "Running"}},
                {"metadata": {"name": "p1"}, "spec": null},
                {"metadata": {"name": "p2"}, "spec": {"containers": [{"name": "app", "env": null}]}}
            ]
        });
        let page: PodPage = serde_json::from_value(page).unwrap();
        assert_eq!(
            page.metadata.and_then(|m| m.next).as_deref(),
            Some("next-page")
        );
        let mut names = Vec::new();
        for spec in page.items.iter().flatten().filter_map(|p| p.spec.as_ref()) {
            spec.secret_names(&mut names);
        }
        names.sort();
        assert_eq!(
            names,
            [
                "creds",
                "debug-token",
                "init-env",
                "projected-creds",
                "registry-auth",
                "tls-certs"
            ]
        );
        // The last page has no continue token.
        let last: PodPage = serde_json::from_value(json!({"metadata": {}, "items": []})).unwrap();
        assert_eq!(last.metadata.and_then(|m| m.next), None);
    }

    #[test]
    fn json_paths_name_values() {
        let cm = json!({"data": {"password": "p4ss", "a.b": "x"}, "list": [{"v": 1}, {"v": 2}]});
        assert_eq!(json_path_values(&cm, "{.data.password}").unwrap(), ["p4ss"]);
        assert_eq!(json_path_values(&cm, "$.data['a.b']").unwrap(), ["x"]);
        assert_eq!(json_path_values(&cm, ".list[*].v").unwrap(), ["1", "2"]);
        assert!(json_path_values(&cm, "data")
            .unwrap_err()
            .contains("must start with"));
    }

    #[test]
    fn entries_are_checked() {
        assert!(check_entry(&json!({"regex": "a+"})).is_ok());
        assert!(check_entry(&json!({"regex": "(a"}))
            .unwrap_err()
            .contains("not a valid regular expression"));
        assert!(
            check_entry(&json!({"objectRef": {"kind": "ConfigMap", "name": "x"}}))
                .unwrap_err()
                .contains("jsonPath")
        );
        assert!(check_entry(&json!({})).is_err());
    }
}
