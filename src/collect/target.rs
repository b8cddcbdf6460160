//! Before a collection starts: find the instance and what it runs, so the run can pick its
//! pipeline, fill the template variables and redact the instance's secrets.
//!
//! Everything here happens before the output folder is created, so a wrong instance name, a
//! cluster without KUDO or an unreachable API server fails fast and leaves nothing behind.

use std::time::Duration;

use base64::Engine as _;
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{json, Value};

use super::retry::retrying;
use crate::pipeline;

/// What the run needs to know about its target.
#[derive(Debug, Clone)]
pub struct Target {
    pub namespace: String,
    pub instance: String,
    /// The KUDO Operator's name (`cassandra`), when the instance names one.
    pub operator: Option<String>,
    /// The OperatorVersion's name (`cassandra-1.0.0`).
    pub operator_version: Option<String>,
    pub app_version: Option<String>,
    /// The built-in pipeline chosen for the operator (`kudo` when none is specific to it).
    pub pipeline: String,
    /// Every value of the namespace's Secrets, decoded: redacted wherever they appear.
    pub secret_values: Vec<String>,
    /// Notes for the user (e.g. Secrets that could not be read).
    pub notes: Vec<String>,
}

impl Target {
    /// The template variables of a run (`pipeline::template::GLOBALS`).
    pub fn globals(&self, kudo_namespace: &str) -> Value {
        json!({
            "instance": self.instance,
            "namespace": self.namespace,
            "kudoNamespace": kudo_namespace,
            "operator": self.operator.clone().unwrap_or_default(),
            "operatorVersion": self.operator_version.clone().unwrap_or_default(),
            "appVersion": self.app_version.clone().unwrap_or_default(),
            "kudoVersion": "",
        })
    }
}

/// Errors before the collection starts, each with what to do.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("cannot reach the Kubernetes API server at {server}: {reason}; check that the cluster is up and that --kubeconfig/--context point at it (nothing was written)")]
    Unreachable { server: String, reason: String },
    #[error("the Kubernetes API server at {server} rejected the credentials ({reason}); check the user and context with `kubectl config view --minify`, and log in again (a token or client certificate may have expired)")]
    Credentials { server: String, reason: String },
    #[error("this cluster has no KUDO: the API group kudo.dev/v1beta1 (instances.kudo.dev) is not served; install KUDO (`kubectl kudo init`) or point --context at a cluster that runs it")]
    NoKudo,
    #[error("instance {instance:?} not found in namespace {namespace:?}; {choices}")]
    NoInstance {
        instance: String,
        namespace: String,
        choices: String,
    },
    #[error("{0}")]
    Api(String),
}

fn instance_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("kudo.dev", "v1beta1", "Instance"),
        "instances",
    )
}

fn operator_version_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("kudo.dev", "v1beta1", "OperatorVersion"),
        "operatorversions",
    )
}

/// Finds the instance and its operator; `timeout` bounds each request so an unreachable server
/// fails within it.
pub async fn resolve(
    client: &kube::Client,
    server: &str,
    namespace: &str,
    instance: &str,
    timeout: Duration,
) -> Result<Target, TargetError> {
    let ask = Asker { server, timeout };
    // The three questions need nothing from each other: asked at once, they cost one round
    // trip instead of four (the OperatorVersion follows the instance without waiting for the
    // discovery). Their answers are judged in the order a user needs them: no server or no
    // KUDO first, then no such instance.
    let mut notes = Vec::new();
    let (kudo, found, secrets) = tokio::join!(
        ask.serves_kudo(client),
        ask.instance_and_operator(client, namespace, instance, &mut notes),
        secret_values(client, namespace, timeout),
    );
    kudo?;
    let (ov_name, operator, app_version) = found?;
    let pipeline = operator
        .as_deref()
        .and_then(pipeline::select_for_operator)
        .unwrap_or("kudo")
        .to_string();

    let (mut secret_values, note) = secrets;
    notes.extend(note);
    if drop_public_names(
        &mut secret_values,
        &[Some(instance), Some(namespace), operator.as_deref()],
    ) {
        notes.push(format!(
            "a Secret in namespace {namespace} holds the name of the instance, its operator or its namespace as a value (a default password?); that value is redacted in Secret objects but not wherever the name appears"
        ));
    }
    Ok(Target {
        namespace: namespace.to_string(),
        instance: instance.to_string(),
        operator,
        operator_version: ov_name,
        app_version,
        pipeline,
        secret_values,
        notes,
    })
}

/// The questions asked before a collection, each bounded by `timeout`.
struct Asker<'a> {
    server: &'a str,
    timeout: Duration,
}

impl Asker<'_> {
    fn unreachable(&self, reason: String) -> TargetError {
        TargetError::Unreachable {
            server: self.server.to_string(),
            reason,
        }
    }

    fn timed_out(&self, what: &str) -> TargetError {
        self.unreachable(format!(
            "no answer to {what} within {}",
            humantime::format_duration(self.timeout)
        ))
    }

    /// The server answers at all, and serves KUDO.
    async fn serves_kudo(&self, client: &kube::Client) -> Result<(), TargetError> {
        // The Instance CRD is asked for at the same time as the groups (see below).
        let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
            Api::all(client.clone());
        let (groups, crd) = tokio::join!(
            tokio::time::timeout(self.timeout, retrying(|| client.list_api_groups())),
            tokio::time::timeout(
                self.timeout,
                retrying(|| crds.get_opt("instances.kudo.dev"))
            ),
        );
        let groups = groups
            .map_err(|_| self.timed_out("the API group discovery"))?
            .map_err(|e| match &e {
                // Answered, but not as this user: a credentials problem, not a network one.
                kube::Error::Api(s) if s.code == 401 || s.code == 403 => TargetError::Credentials {
                    server: self.server.to_string(),
                    reason: format!("{} {}", s.code, s.message),
                },
                _ => self.unreachable(e.to_string()),
            })?;
        let kudo = groups
            .groups
            .iter()
            .any(|g| g.name == "kudo.dev" && g.versions.iter().any(|v| v.version == "v1beta1"));
        if !kudo {
            return Err(TargetError::NoKudo);
        }
        // The group is served exactly when KUDO's CRDs are installed; ask for the Instance CRD
        // too, so an API server that serves the group without the CRD (a half-removed KUDO)
        // says so. Not being allowed to read CRDs is not a reason to stop.
        if let Ok(Ok(None)) = crd {
            return Err(TargetError::NoKudo);
        }
        Ok(())
    }

    /// The Instance object, or the instances there are to choose from.
    async fn instance(
        &self,
        client: &kube::Client,
        namespace: &str,
        instance: &str,
    ) -> Result<Value, TargetError> {
        let instances: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), namespace, &instance_resource());
        let inst = tokio::time::timeout(self.timeout, retrying(|| instances.get_opt(instance)))
            .await
            .map_err(|_| self.timed_out("the instance lookup"))?
            .map_err(|e| TargetError::Api(format!("failed to get instance {instance}: {e}")))?;
        let Some(inst) = inst else {
            let all = ListParams::default();
            let names: Vec<String> = match retrying(|| instances.list(&all)).await {
                Ok(l) => l
                    .items
                    .into_iter()
                    .filter_map(|o| o.metadata.name)
                    .collect(),
                Err(_) => Vec::new(),
            };
            let choices = if names.is_empty() {
                format!("namespace {namespace:?} has no KUDO instances; pick another with -n")
            } else {
                format!("instances there: {}", names.join(", "))
            };
            return Err(TargetError::NoInstance {
                instance: instance.to_string(),
                namespace: namespace.to_string(),
                choices,
            });
        };
        Ok(serde_json::to_value(&inst).unwrap_or(Value::Null))
    }

    /// The instance's OperatorVersion name, its operator (from the OperatorVersion, else the
    /// instance's `kudo.dev/operator` label) and the application's version.
    async fn instance_and_operator(
        &self,
        client: &kube::Client,
        namespace: &str,
        instance: &str,
        notes: &mut Vec<String>,
    ) -> Result<(Option<String>, Option<String>, Option<String>), TargetError> {
        let inst = self.instance(client, namespace, instance).await?;
        let ov_name = inst["spec"]["operatorVersion"]["name"]
            .as_str()
            .map(str::to_string);
        let label = inst["metadata"]["labels"]["kudo.dev/operator"]
            .as_str()
            .map(str::to_string);
        let Some(ov) = &ov_name else {
            return Ok((None, label, None));
        };
        let (operator, app_version) = self.operator_version(client, namespace, ov, notes).await;
        Ok((ov_name, operator.or(label), app_version))
    }

    /// The operator's name and the application's version from the OperatorVersion `ov`; what
    /// cannot be read is noted, not fatal.
    async fn operator_version(
        &self,
        client: &kube::Client,
        namespace: &str,
        ov: &str,
        notes: &mut Vec<String>,
    ) -> (Option<String>, Option<String>) {
        let ovs: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), namespace, &operator_version_resource());
        match tokio::time::timeout(self.timeout, retrying(|| ovs.get_opt(ov))).await {
            Ok(Ok(Some(o))) => {
                let o = serde_json::to_value(&o).unwrap_or(Value::Null);
                let operator = o["spec"]["operator"]["name"].as_str().map(str::to_string);
                let app_version = o["spec"]["appVersion"].as_str().map(str::to_string);
                return (operator, app_version);
            }
            Ok(Ok(None)) => notes.push(format!(
                "the instance's OperatorVersion {ov} is missing from namespace {namespace}"
            )),
            Ok(Err(e)) => notes.push(format!("could not read OperatorVersion {ov}: {e}")),
            Err(_) => notes.push(format!("no answer reading OperatorVersion {ov}")),
        }
        (None, None)
    }
}

/// Removes from `values` those equal (ignoring case) to one of `names`, and says whether any was.
///
/// A Secret value that is also the name of the instance, its operator or its namespace (the
/// Cassandra operator's default keystore password is `cassandra`) would erase every mention of
/// the thing being diagnosed. Such a value is public anyway: keep the names.
pub fn drop_public_names(values: &mut Vec<String>, names: &[Option<&str>]) -> bool {
    let names: Vec<String> = names
        .iter()
        .flatten()
        .map(|n| n.to_ascii_lowercase())
        .collect();
    let before = values.len();
    values.retain(|v| !names.contains(&v.to_ascii_lowercase()));
    values.len() < before
}

/// Values shorter than this are not redacted as literals: they would match everywhere (`true`,
/// `1`) and hide nothing worth hiding.
const MIN_SECRET_LEN: usize = 4;

/// Every value held in the namespace's Secrets, decoded, so the redactor can remove them from
/// logs and command output too. A namespace whose Secrets cannot be read is noted, not fatal:
/// the objects are still redacted by key.
pub async fn secret_values(
    client: &kube::Client,
    namespace: &str,
    timeout: Duration,
) -> (Vec<String>, Option<String>) {
    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(client.clone(), namespace);
    let all = ListParams::default();
    let list = match tokio::time::timeout(
        timeout,
        retrying(|| secrets.list(&all)),
    ).await {
        Ok(Ok(l)) => l,
        Ok(Err(e)) => {
            return (
                Vec::new(),
                Some(format!(
                    "could not read the Secrets of namespace {namespace} ({e}); their values are redacted in objects but cannot be looked for in logs"
                )),
            )
        }
        Err(_) => return (Vec::new(), Some("no answer listing Secrets".into())),
    };
    let mut values = Vec::new();
    for s in list.items {
        for v in s.data.into_iter().flat_map(|d| d.into_values()) {
            if let Ok(text) = String::from_utf8(v.0) {
                push_value(&mut values, text);
            }
        }
        for v in s.string_data.into_iter().flat_map(|d| d.into_values()) {
            push_value(&mut values, v);
        }
    }
    values.sort();
    values.dedup();
    (values, None)
}

fn push_value(values: &mut Vec<String>, v: String) {
    let t = v.trim();
    if t.len() >= MIN_SECRET_LEN {
        values.push(t.to_string());
        // A base64 value stored as text (double-encoded) is also worth catching.
        if let Ok(inner) = base64::engine::general_purpose::STANDARD.decode(t) {
            if let Ok(inner) = String::from_utf8(inner) {
                if inner.trim().len() >= MIN_SECRET_LEN && inner.is_ascii() {
                    values.push(inner.trim().to_string());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_are_not_literals_and_nested_base64_is_decoded() {
        let mut v = Vec::new();
        push_value(&mut v, "ab".into());
        push_value(&mut v, "  hunter22 ".into());
        push_value(&mut v, "c2VjcmV0LXZhbHVl".into()); // "secret-value"
        assert_eq!(v, vec!["hunter22", "c2VjcmV0LXZhbHVl", "secret-value"]);
    }

    #[test]
    fn globals_name_every_run_variable() {
        let t = Target {
            namespace: "prod".into(),
            instance: "cassandra".into(),
            operator: Some("cassandra".into()),
            operator_version: Some("cassandra-1.0.0".into()),
            app_version: None,
            pipeline: "cassandra".into(),
            secret_values: vec![],
            notes: vec![],
        };
        let g = t.globals("kudo-system");
        for name in crate::pipeline::template::GLOBALS {
            assert!(g.get(*name).is_some(), "missing global {name}");
        }
        assert_eq!(g["operator"], "cassandra");
        assert_eq!(g["appVersion"], "");
    }
}
