//! `k8s.list`: every object of a resource matching label and field selectors, in one namespace,
//! all namespaces (`allNamespaces: true`) or cluster-wide (cluster-scoped resources).
//!
//! Paged with `limit=500` + `continue`, and each page is written out before the next is asked
//! for, so the artifact never has to be held in memory whole. The `output` artifact is a
//! kubectl-compatible `kind: List` (readable by `kubectl get -f` and by `kudo-diag serve`);
//! `outputEach` additionally writes one YAML file per object, with `{name}`, `{namespace}` and
//! `{kind}` placeholders in single braces (double braces are pipeline templates, rendered before
//! the task runs, when the objects are not known yet).
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

use std::io::Write;

use kube::core::params::ListParams;
use serde_json::Value;

use crate::bundle::sink::ArtifactWriter;
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
];

/// Writes a `kind: List` incrementally: the `items:` sequence grows one object at a time.
struct ListWriter {
    out: Option<ArtifactWriter>,
    count: usize,
}

impl ListWriter {
    fn push(&mut self, obj: &Value) -> std::io::Result<()> {
        let Some(w) = self.out.as_mut() else {
            return Ok(());
        };
        if self.count == 0 {
            w.write_all(b"apiVersion: v1\nkind: List\nitems:\n")?;
        }
        // A one-element sequence serializes as "- key: ..." with its lines indented for a
        // sequence element: exactly an entry of `items:`.
        let doc = serde_yaml::to_string(&[obj]).expect("JSON serializes to YAML");
        w.write_all(doc.as_bytes())?;
        self.count += 1;
        Ok(())
    }

    fn finish(self) -> Result<(), TaskError> {
        if let Some(mut w) = self.out {
            if self.count == 0 {
                w.write_all(b"apiVersion: v1\nkind: List\nitems: []\n")
                    .map_err(io_err)?;
            }
            w.finish()
                .map_err(|e| TaskError::permanent(e.to_string()))?;
        }
        Ok(())
    }
}

fn io_err(e: std::io::Error) -> TaskError {
    TaskError::permanent(format!("writing the artifact failed: {e}"))
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
            .map_err(|e| TaskError::permanent(format!("{what}: {e}")))?;
        let mut page = api::send_json(ctx, req, what).await?;
        let page_items = match page.get_mut("items").map(Value::take) {
            Some(Value::Array(a)) => a,
            Some(Value::Null) | None => Vec::new(),
            Some(_) => {
                return Err(TaskError::permanent(format!(
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
                TaskError::permanent(format!(
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
        if let Some(l) = params::str_opt(p, "labelSelector")? {
            lp = lp.labels(l);
        }
        if let Some(f) = params::str_opt(p, "fieldSelector")? {
            lp = lp.fields(f);
        }
        let plural = &r.resource.plural;
        let what = match ns {
            Some(ns) => format!("list {plural} in namespace {ns}"),
            None => format!("list {plural}"),
        };
        let out = match &ctx.output {
            Some(path) => Some(
                ctx.sink
                    .create(path)
                    .map_err(|e| TaskError::permanent(e.to_string()))?,
            ),
            None => None,
        };
        let owned_by = filter_ref(ctx, "ownedBy").await?;
        let owners_of = filter_ref(ctx, "ownersOf").await?;
        let mut writer = ListWriter { out, count: 0 };
        let mut items = Vec::new();
        let url = resources::collection_path(&r, ns);
        for_each_object(ctx, &r, &url, lp, &what, |obj| {
            if !keep(owned_by.as_ref(), owners_of.as_ref(), &obj) {
                return Ok(());
            }
            writer.push(&obj).map_err(io_err)?;
            if let Some(pattern) = each {
                ctx.sink
                    .put(&each_path(pattern, &obj), &object::to_yaml(&obj))
                    .map_err(|e| TaskError::permanent(e.to_string()))?;
            }
            if return_items {
                items.push(obj);
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
