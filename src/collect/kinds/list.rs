//! `k8s.list`: every object of a resource matching label and field selectors, in one namespace,
//! all namespaces (`allNamespaces: true`) or cluster-wide (cluster-scoped resources).
//!
//! Paged with `limit=500` + `continue`, and each page is written out before the next is asked
//! for, so the artifact never has to be held in memory whole. The `output` artifact is a
//! kubectl-compatible `kind: List` (readable by `kubectl get -f` and by `kudo-diag serve`);
//! `outputEach` additionally writes one YAML file per object, with `{name}`, `{namespace}` and
//! `{kind}` placeholders in single braces (double braces are pipeline templates, rendered before
//! the task runs, when the objects are not known yet). A list that finds nothing writes no file:
//! the manifest records its path in `emptyLists` (docs/bundle-layout.md), so readers tell an
//! empty list from one that was not collected.
//!
//! The objects are returned as items for fan-out, sanitized like every object (no
//! `managedFields`, no Secret values). `returnItems: false` keeps them out of the journal for
//! lists nothing fans out over (events can be tens of thousands).
//!
//! Two filters express what label selectors cannot, for KUDO's instance dependencies, which are
//! marked by ownerReferences: `ownedBy: REF` keeps objects with an ownerReference to that
//! object's uid (child instances), `ownersOf: REF` keeps the objects that object names in its
//! ownerReferences (the parent instance). REF is the object itself (`"{{inst}}"`) or a reference
//! `{apiVersion, kind, name}`, fetched first.
//!
//! `claimedBy: PODSELECTOR` finds storage that labels do not: a StatefulSet's claims carry its
//! pod template's labels (KUDO's cassandra: `app`, `cassandra`), not the instance label. For
//! PersistentVolumeClaims it keeps the claims the selected pods mount (`spec.volumes[]
//! .persistentVolumeClaim.claimName`) and, when `labelSelector` is given too, those it matches;
//! for PersistentVolumes it keeps the volumes bound (`spec.claimRef`) to those claims.

use std::io::Write;

use kube::core::params::ListParams;
use serde_json::Value;

use crate::bundle::sink::{ArtifactWriter, NodeSink};
use crate::collect::kinds::get;
use crate::collect::{api, object, params, resources};
use crate::engine::{ParamSpec, TaskContext, TaskError, TaskKind, TaskOutput};

pub struct List;

/// Objects per page: the value kubectl uses, small enough for a stressed server.
pub const PAGE_SIZE: u32 = 500;

const PARAMS: &[ParamSpec] = &[
    ParamSpec::required("apiVersion", "API group/version, e.g. v1, apps/v1"),
    ParamSpec::optional("kind", "the objects' kind, e.g. Pod (this or `resource`)"),
    ParamSpec::optional("resource", "the plural resource name (this or `kind`)"),
    ParamSpec::optional(
        "namespace",
        "namespace to list in (default: the run's namespace)",
    ),
    ParamSpec::optional("allNamespaces", "list across all namespaces (true/false)"),
    ParamSpec::optional("labelSelector", "e.g. kudo.dev/instance={{instance}}"),
    ParamSpec::optional("fieldSelector", "e.g. involvedObject.kind=Pod"),
    ParamSpec::optional(
        "outputEach",
        "one file per object, e.g. workload/pods/{name}.yaml",
    ),
    ParamSpec::optional(
        "returnItems",
        "return the objects for fan-out (default true)",
    ),
    ParamSpec::optional(
        "ownedBy",
        "keep only objects owned by this object (its uid in ownerReferences)",
    ),
    ParamSpec::optional(
        "ownersOf",
        "keep only the objects this object lists in its ownerReferences",
    ),
    ParamSpec::optional(
        "claimedBy",
        "PersistentVolumeClaim/PersistentVolume only: the claims pods with these labels mount (or / and the volumes bound to them)",
    ),
];

/// Writes a `kind: List` incrementally: the `items:` sequence grows one object at a time. The
/// artifact is started with the first object; a list that found nothing writes no file and is
/// recorded as empty in the manifest (`emptyLists`).
struct ListWriter<'a> {
    sink: &'a NodeSink,
    path: Option<&'a str>,
    out: Option<ArtifactWriter>,
    count: usize,
}

impl ListWriter<'_> {
    fn push(&mut self, obj: &Value) -> Result<(), TaskError> {
        let Some(path) = self.path else {
            return Ok(());
        };
        let w = match &mut self.out {
            Some(w) => w,
            None => {
                let mut w = self
                    .sink
                    .create(path)
                    .map_err(|e| TaskError::failed(e.to_string()))?;
                w.write_all(b"apiVersion: v1\nkind: List\nitems:\n")
                    .map_err(io_err)?;
                self.out.insert(w)
            }
        };
        // A one-element sequence serializes as "- key: ..." with its lines indented for a
        // sequence element: exactly an entry of `items:`.
        let doc = crate::yaml::to_string(&[obj]).expect("JSON serializes to YAML");
        w.write_all(doc.as_bytes()).map_err(io_err)?;
        self.count += 1;
        Ok(())
    }

    fn finish(self) -> Result<(), TaskError> {
        match (self.out, self.path) {
            (Some(w), _) => w.finish().map(drop),
            (None, Some(path)) => self.sink.record_empty_list(path).map(drop),
            (None, None) => Ok(()),
        }
        .map_err(|e| TaskError::failed(e.to_string()))
    }
}

fn io_err(e: std::io::Error) -> TaskError {
    TaskError::failed(format!("writing the artifact failed: {e}"))
}

/// Fills `{name}`, `{namespace}`, `{kind}` in an `outputEach` pattern.
pub fn each_path(pattern: &str, obj: &Value) -> String {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    pattern
        .replace("{name}", object::name_of(obj))
        .replace("{namespace}", object::namespace_of(obj))
        .replace("{kind}", &kind.to_lowercase())
}

fn owner_uids(obj: &Value) -> Vec<&str> {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(|refs| {
            refs.iter()
                .filter_map(|r| r.get("uid").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default()
}

fn uid_of(obj: &Value) -> Option<&str> {
    obj.pointer("/metadata/uid").and_then(Value::as_str)
}

/// The ownerReference filters, as a predicate over resolved objects.
fn keep(owner: Option<&Value>, child: Option<&Value>, obj: &Value) -> bool {
    if let Some(owner) = owner {
        match uid_of(owner) {
            Some(uid) if owner_uids(obj).contains(&uid) => {}
            _ => return false,
        }
    }
    if let Some(child) = child {
        match uid_of(obj) {
            Some(uid) if owner_uids(child).contains(&uid) => {}
            _ => return false,
        }
    }
    true
}

/// Whether `obj`'s labels satisfy an equality-based selector (`a=b,c==d,e!=f`); set-based
/// selectors (`in`, `notin`, `!key`) are refused with the fix.
fn labels_match(selector: &str, obj: &Value) -> Result<bool, TaskError> {
    let labels = obj.pointer("/metadata/labels");
    for term in selector.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let (key, want, equal) = if let Some((k, v)) = term.split_once("!=") {
            (k, v, false)
        } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
            (k, v, true)
        } else {
            return Err(TaskError::failed(format!(
                "labelSelector {selector:?} with claimedBy: only key=value and key!=value terms are supported; list the labels as key=value"
            )));
        };
        let have = labels
            .and_then(|l| l.get(key.trim()))
            .and_then(Value::as_str);
        if (have == Some(want.trim())) != equal {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The claims the pods matching `selector` in `ns` mount, sorted.
async fn claims_of_pods(
    ctx: &TaskContext,
    ns: &str,
    selector: &str,
) -> Result<Vec<String>, TaskError> {
    let r = resources::lookup("v1", Some("Pod"), None).expect("pods are in the table");
    let what = format!("list pods with labels {selector} in namespace {ns} (claimedBy)");
    let mut claims = Vec::new();
    for_each_object(
        ctx,
        &r,
        &resources::collection_path(&r, Some(ns)),
        ListParams::default().labels(selector),
        &what,
        |pod| {
            for v in pod
                .pointer("/spec/volumes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(c) = v
                    .pointer("/persistentVolumeClaim/claimName")
                    .and_then(Value::as_str)
                {
                    claims.push(c.to_string());
                }
            }
            Ok(())
        },
    )
    .await?;
    claims.sort();
    claims.dedup();
    Ok(claims)
}

/// The `claimedBy` filter, once its claims are known.
enum Claimed {
    /// Claims in the namespace that the pods mount, or (when set) labelled by the selector.
    Claims {
        names: Vec<String>,
        labelled: Option<String>,
    },
    /// Volumes bound to one of these claims of namespace `ns`.
    Volumes { ns: String, names: Vec<String> },
}

impl Claimed {
    fn keeps(&self, obj: &Value) -> Result<bool, TaskError> {
        match self {
            Claimed::Claims { names, labelled } => {
                if names
                    .binary_search(&object::name_of(obj).to_string())
                    .is_ok()
                {
                    return Ok(true);
                }
                labelled
                    .as_deref()
                    .map_or(Ok(false), |sel| labels_match(sel, obj))
            }
            Claimed::Volumes { ns, names } => {
                let r = obj.pointer("/spec/claimRef");
                let in_ns =
                    r.and_then(|r| r.get("namespace")).and_then(Value::as_str) == Some(ns.as_str());
                let name = r.and_then(|r| r.get("name")).and_then(Value::as_str);
                Ok(in_ns && name.is_some_and(|n| names.binary_search(&n.to_string()).is_ok()))
            }
        }
    }
}

async fn filter_ref(ctx: &TaskContext, name: &str) -> Result<Option<Value>, TaskError> {
    match ctx.params.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(r) => get::resolve_ref(ctx, name, r).await.map(Some),
    }
}

/// Lists page by page (`limit` from `lp`, following `continue`), handing each object, sanitized
/// and with its apiVersion/kind filled in, to `f` before the next page is requested.
pub async fn for_each_object(
    ctx: &TaskContext,
    r: &resources::Resolved,
    url: &str,
    mut lp: ListParams,
    what: &str,
    mut f: impl FnMut(Value) -> Result<(), TaskError>,
) -> Result<(), TaskError> {
    if lp.limit.is_none() {
        lp = lp.limit(PAGE_SIZE);
    }
    loop {
        let req = kube::core::Request::new(url)
            .list(&lp)
            .map_err(|e| TaskError::failed(format!("{what}: {e}")))?;
        let mut page = api::send_json(ctx, req, what).await?;
        let page_items = match page.get_mut("items").map(Value::take) {
            Some(Value::Array(a)) => a,
            Some(Value::Null) | None => Vec::new(),
            Some(_) => {
                return Err(TaskError::failed(format!(
                    "{what}: the answer's `items` is not a list; is this a Kubernetes API server?"
                )))
            }
        };
        for mut obj in page_items {
            // List items carry no apiVersion/kind on a real server; put them back so each
            // object stands alone in the bundle.
            if let Some(m) = obj.as_object_mut() {
                m.entry("apiVersion")
                    .or_insert_with(|| Value::String(r.resource.api_version.clone()));
                m.entry("kind")
                    .or_insert_with(|| Value::String(r.resource.kind.clone()));
            }
            object::sanitize(&mut obj);
            f(obj)?;
        }
        let token = page
            .pointer("/metadata/continue")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        match token {
            Some(t) => lp = lp.continue_token(&t),
            None => return Ok(()),
        }
    }
}

#[async_trait::async_trait]
impl TaskKind for List {
    fn name(&self) -> &'static str {
        "k8s.list"
    }
    fn description(&self) -> &'static str {
        "list Kubernetes objects (paged) as a kind: List and/or one file each; returns them"
    }
    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    async fn run(&self, ctx: &TaskContext) -> Result<TaskOutput, TaskError> {
        let p = &ctx.params;
        let r = resources::resolve(ctx).await?;
        let all = params::bool_opt(p, "allNamespaces")?.unwrap_or(false);
        let ns = if r.namespaced && !all {
            Some(params::namespace(p, &ctx.vars)?.ok_or_else(|| {
                TaskError::failed(format!(
                    "{} is namespaced but the task has no namespace: add `namespace`, `allNamespaces: true`, or run with --namespace",
                    r.resource.kind
                ))
            })?)
        } else {
            None
        };
        let return_items = params::bool_opt(p, "returnItems")?.unwrap_or(true);
        let each = params::str_opt(p, "outputEach")?;
        let mut lp = ListParams::default().limit(PAGE_SIZE);
        let claimed_by = params::str_opt(p, "claimedBy")?;
        let label_selector = params::str_opt(p, "labelSelector")?;
        if let Some(l) = label_selector {
            // With claimedBy the selector widens the claims kept, so it filters here instead.
            if claimed_by.is_none() {
                lp = lp.labels(l);
            }
        }
        if let Some(f) = params::str_opt(p, "fieldSelector")? {
            lp = lp.fields(f);
        }
        let plural = &r.resource.plural;
        let what = match ns {
            Some(ns) => format!("list {plural} in namespace {ns}"),
            None => format!("list {plural}"),
        };
        let claimed = match claimed_by {
            None => None,
            Some(pods) => {
                let pod_ns = params::namespace(p, &ctx.vars)?.ok_or_else(|| {
                    TaskError::failed(
                        "claimedBy needs the pods' namespace: add `namespace` or run with --namespace",
                    )
                })?;
                let names = claims_of_pods(ctx, pod_ns, pods).await?;
                Some(match r.resource.kind.as_str() {
                    "PersistentVolumeClaim" => Claimed::Claims {
                        names,
                        labelled: label_selector.map(str::to_string),
                    },
                    "PersistentVolume" => Claimed::Volumes {
                        ns: pod_ns.to_string(),
                        names,
                    },
                    other => {
                        return Err(TaskError::failed(format!(
                            "claimedBy applies to PersistentVolumeClaim and PersistentVolume, not {other}; remove it or use labelSelector"
                        )))
                    }
                })
            }
        };
        let owned_by = filter_ref(ctx, "ownedBy").await?;
        let owners_of = filter_ref(ctx, "ownersOf").await?;
        let mut writer = ListWriter {
            sink: &ctx.sink,
            path: ctx.output.as_deref(),
            out: None,
            count: 0,
        };
        // Each kept object is serialized into `items` at once and its value dropped with the
        // page: a list of 5,000 Pods held as values cost 40 MiB, as text about 8.5 MB.
        let mut items = ctx.items();
        let url = resources::collection_path(&r, ns);
        for_each_object(ctx, &r, &url, lp, &what, |obj| {
            if !keep(owned_by.as_ref(), owners_of.as_ref(), &obj) {
                return Ok(());
            }
            if let Some(c) = &claimed {
                if !c.keeps(&obj)? {
                    return Ok(());
                }
            }
            writer.push(&obj)?;
            if let Some(pattern) = each {
                // An object whose name cannot be a file name (`..`, `a/../..`: only a hostile
                // API server sends these) loses only its own file: it is still in the list's
                // output, and the nodes that fan out over it fail with the reason.
                let name = object::name_of(&obj);
                if crate::bundle::sink::is_path_segment(name) {
                    ctx.sink
                        .put(&each_path(pattern, &obj), &object::to_yaml(&obj))
                        .map_err(|e| TaskError::failed(e.to_string()))?;
                } else {
                    tracing::warn!(
                        node = %ctx.node,
                        "object name {name:?} is not a valid Kubernetes name: its own file is not written"
                    );
                }
            }
            if return_items {
                items.push(&obj);
            }
            Ok(())
        })
        .await?;
        writer.finish()?;
        Ok(TaskOutput { items })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_path_fills_placeholders() {
        let o = json!({"kind": "Pod", "metadata": {"name": "c-0", "namespace": "db"}});
        assert_eq!(
            each_path("workload/{kind}s/{namespace}/{name}.yaml", &o),
            "workload/pods/db/c-0.yaml"
        );
    }

    #[test]
    fn claimed_by_keeps_mounted_or_labelled_claims_and_their_volumes() {
        let claims = Claimed::Claims {
            names: vec!["data-c-0".into(), "data-c-1".into()],
            labelled: Some("kudo.dev/instance=c".into()),
        };
        let pvc = |name: &str, labels: Value| json!({"metadata": {"name": name, "labels": labels}});
        assert!(claims.keeps(&pvc("data-c-1", json!({"app": "c"}))).unwrap());
        assert!(claims
            .keeps(&pvc("other", json!({"kudo.dev/instance": "c"})))
            .unwrap());
        assert!(!claims.keeps(&pvc("other", json!({"app": "c"}))).unwrap());
        let volumes = Claimed::Volumes {
            ns: "prod".into(),
            names: vec!["data-c-0".into()],
        };
        let pv =
            |ns: &str, name: &str| json!({"spec": {"claimRef": {"namespace": ns, "name": name}}});
        assert!(volumes.keeps(&pv("prod", "data-c-0")).unwrap());
        assert!(!volumes.keeps(&pv("test", "data-c-0")).unwrap());
        assert!(!volumes.keeps(&pv("prod", "data-c-9")).unwrap());
        assert!(!volumes.keeps(&json!({"spec": {}})).unwrap());
        let o = pvc("x", json!({"a": "1", "b": "2"}));
        assert!(labels_match("a=1, b==2", &o).unwrap());
        assert!(!labels_match("a=1,b!=2", &o).unwrap());
        assert!(labels_match("c!=3", &o).unwrap());
        assert!(labels_match("a in (1)", &o)
            .unwrap_err()
            .message
            .contains("key=value"));
    }

    #[test]
    fn owner_filters_find_children_and_parents() {
        let parent = json!({"metadata": {"name": "zk", "uid": "u-parent"}});
        let child = json!({"metadata": {"name": "zk-child", "uid": "u-child", "ownerReferences": [{"uid": "u-parent"}]}});
        let other = json!({"metadata": {"name": "x", "uid": "u-x"}});
        assert!(keep(Some(&parent), None, &child));
        assert!(!keep(Some(&parent), None, &other));
        assert!(!keep(Some(&parent), None, &parent));
        assert!(keep(None, Some(&child), &parent));
        assert!(!keep(None, Some(&child), &other));
        assert!(keep(None, None, &other));
    }
}
