//! `kudo.versions`: `versions.yaml`, the versions of every component KEP-22 asks a bundle to
//! report: the collector, Kubernetes, KUDO (the manager's image tag), the operator and its
//! OperatorVersion, the application (OperatorVersion `appVersion` and the images the instance's
//! pods run) and tools, when the pipeline names them: `tools: {kubectl: v1.32.0}` records a
//! value as given, `tools: {nodetool: {container: cassandra, command: [nodetool, version]}}`
//! runs the command in the first running pod of the instance that has that container and
//! records what it printed.
//!
//! Each part is looked up on its own: a part that cannot be found (no KUDO manager in
//! `kudoNamespace`, no permission to read OperatorVersions) is written as `error: why` and
//! the rest is still reported. Only transient API errors fail the task, so the engine retries it.
//!
//! ```yaml
//! collector: {name: kudo-diag, version: 0.1.0, gitCommit: abc123}
//! kubernetes: {version: v1.32.4, platform: linux/amd64}
//! kudo: {version: 0.19.0, image: kudobuilder/controller:v0.19.0, namespace: kudo-system}
//! operator: {name: cassandra, version: 1.0.0, operatorVersion: cassandra-3.11.6-1.0.0, kudoVersion: 0.10.0}
//! application: {name: cassandra, version: 3.11.6, images: [mesosphere/cassandra:3.11.6-1.0.0]}
//! tools: {nodetool: "ReleaseVersion: 3.11.6"}
//! ```

use std::collections::BTreeSet;

use kube::core::params::ListParams;
use serde_json::{json, Map, Value};

use crate::collect::kinds::{exec, get, list, version};
use crate::collect::{object, params, resources, retry};
use crate::engine::{ParamSpec, TaskContext, TaskError, TaskKind, TaskOutput};

pub struct Versions;

const PARAMS: &[ParamSpec] = &[
    ParamSpec::optional(
        "instance",
        "the instance's name (default: the run's `instance`)",
    ),
    ParamSpec::optional("namespace", "the instance's namespace (default: the run's)"),
    ParamSpec::optional(
        "kudoNamespace",
        "where the KUDO manager runs (default: the run's `kudoNamespace`, else kudo-system)",
    ),
    ParamSpec::optional(
        "tools",
        "tool versions to record as they are, e.g. {kubectl: v1.32.0}",
    ),
];

/// The tag of an image reference (`repo/name:tag@digest` -> `tag`); `latest` when it has none.
pub fn image_tag(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, tag)) => tag,
        None => "latest",
    }
}

/// `Ok(v)` stays, a permanent error becomes `{error: message}`, a transient one is returned.
fn soft(r: Result<Value, TaskError>) -> Result<Value, TaskError> {
    match r {
        Ok(v) => Ok(v),
        Err(e) if e.is_transient() => Err(e),
        Err(e) => Ok(json!({"error": e.message})),
    }
}

/// Hands each pod of `ns` (with `selector`) to `f` as the list's pages come in; none is kept.
async fn for_each_pod(
    ctx: &TaskContext,
    ns: &str,
    selector: Option<&str>,
    mut f: impl FnMut(&Value),
) -> Result<(), TaskError> {
    let r = resources::lookup("v1", Some("Pod"), None).expect("pods are in the table");
    let mut lp = ListParams::default();
    if let Some(s) = selector {
        lp = lp.labels(s);
    }
    let what = format!("list pods in namespace {ns}");
    list::for_each_object(
        ctx,
        &r,
        &resources::collection_path(&r, Some(ns)),
        lp,
        &what,
        |p| {
            f(&p);
            Ok(())
        },
    )
    .await
}

/// What this kind keeps of the instance's pods, however many there are: every image, and each
/// pod (slim) that is the first running one with one of its containers' names, where a tool's
/// command runs. Every pod kept, even slim, was about 3.3 KB a pod: 66 MB at 20,000 pods, held
/// through the task.
#[derive(Default)]
struct PodDigest {
    images: BTreeSet<String>,
    runners: Vec<Value>,
}

impl PodDigest {
    fn add(&mut self, pod: &Value) {
        self.images.extend(images(std::slice::from_ref(pod)));
        let running = pod.pointer("/status/phase").and_then(Value::as_str) == Some("Running");
        let adds_a_container = || {
            pod.pointer("/spec/containers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|c| c.get("name").and_then(Value::as_str))
                .any(|name| pod_with_container(&self.runners, name).is_none())
        };
        if running && adds_a_container() {
            self.runners.push(slim_pod(pod));
        }
    }
}

/// The parts of a Pod this kind reads (name, namespace, labels, phase, node, containers' names
/// and images). Whole Pods, about 14 KiB each as values, held for the whole task were 80 MiB at the
/// heap peak of a 5,000-pod collection (docs/PERFORMANCE.md, Collection).
fn slim_pod(p: &Value) -> Value {
    let containers = |field: &str| -> Vec<Value> {
        p.pointer(&format!("/spec/{field}"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|c| {
                // Only the keys the container has: `kudo_part` tells containers apart by
                // whether they have an image.
                let keep = ["name", "image"]
                    .into_iter()
                    .filter_map(|k| c.get(k).map(|v| (k.to_string(), v.clone())));
                Value::Object(keep.collect())
            })
            .collect()
    };
    json!({
        "metadata": {
            "name": p.pointer("/metadata/name"),
            "namespace": p.pointer("/metadata/namespace"),
            "labels": p.pointer("/metadata/labels"),
        },
        "spec": {"nodeName": p.pointer("/spec/nodeName"), "initContainers": containers("initContainers"), "containers": containers("containers")},
        "status": {"phase": p.pointer("/status/phase")},
    })
}

fn images(pods: &[Value]) -> BTreeSet<String> {
    pods.iter()
        .flat_map(|p| {
            ["initContainers", "containers"]
                .into_iter()
                .flat_map(move |f| {
                    p.pointer(&format!("/spec/{f}"))
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                })
        })
        .filter_map(|c| c.get("image").and_then(Value::as_str).map(str::to_string))
        .collect()
}

/// The KUDO manager: a pod in `ns` whose container is called `manager` (KUDO's statefulset
/// `kudo-controller-manager`), else any pod labelled `app: kudo-manager`.
async fn kudo_part(ctx: &TaskContext, ns: &str) -> Result<Value, TaskError> {
    let mut manager: Option<String> = None;
    for_each_pod(ctx, ns, None, |p| {
        if manager.is_none() {
            manager = manager_image(p).map(str::to_string);
        }
    })
    .await?;
    match manager {
        Some(image) => Ok(json!({
            "version": image_tag(&image).trim_start_matches('v'),
            "image": image,
            "namespace": ns,
        })),
        None => Err(TaskError::failed(format!(
            "no KUDO manager pod found in namespace {ns}: is KUDO installed there? (set kudoNamespace)"
        ))),
    }
}

/// The image of the KUDO manager's container if `p` is the manager's pod: a container called
/// `manager`, or any container with an image in a pod named `kudo-controller-manager...` or
/// labelled `app: kudo-manager`.
fn manager_image(p: &Value) -> Option<&str> {
    let name = object::name_of(p);
    let is_manager = name.starts_with("kudo-controller-manager")
        || p.pointer("/metadata/labels/app").and_then(Value::as_str) == Some("kudo-manager");
    p.pointer("/spec/containers")
        .and_then(Value::as_array)?
        .iter()
        .find(|c| {
            c.get("name").and_then(Value::as_str) == Some("manager")
                || (is_manager && c.get("image").is_some())
        })
        .and_then(|c| c.get("image").and_then(Value::as_str))
}

/// Longest tool output kept in versions.yaml: a version, not a report.
const MAX_TOOL_OUTPUT: usize = 4096;

/// The first running pod that has `container`.
fn pod_with_container<'a>(pods: &'a [Value], container: &str) -> Option<&'a Value> {
    pods.iter().find(|p| {
        p.pointer("/status/phase").and_then(Value::as_str) == Some("Running")
            && p.pointer("/spec/containers")
                .and_then(Value::as_array)
                .is_some_and(|cs| {
                    cs.iter()
                        .any(|c| c.get("name").and_then(Value::as_str) == Some(container))
                })
    })
}

/// One `tools` entry: a value as given, or the output of a command run in the instance's pods.
async fn tool_version(
    ctx: &TaskContext,
    ns: Option<&str>,
    pods: &[Value],
    spec: &Value,
) -> Result<Value, TaskError> {
    let Some(obj) = spec.as_object() else {
        return Ok(spec.clone());
    };
    let container = obj.get("container").and_then(Value::as_str);
    let argv = params::string_list(spec, "command");
    let (Some(container), Ok(argv)) = (container, argv) else {
        return Ok(json!({"error": "a tool is a value or {container, command: [argv...]}"}));
    };
    let (Some(ns), Some(pod)) = (ns, pod_with_container(pods, container)) else {
        return Ok(
            json!({"error": format!("no running pod of the instance has a container {container}")}),
        );
    };
    // The pod is chosen here, not in the plan: the command takes its pod's and node's slots
    // now, so it never runs beside another of our commands in that pod.
    let load =
        crate::collect::api::pod_stream(&json!({"pod": pod, "namespace": ns}), &json!({}), true);
    let _slots = match &load {
        Some(l) => Some(crate::engine::acquire_stream(l).await),
        None => None,
    };
    // Each attempt starts a fresh buffer: a dropped connection may have sent part of the output.
    let r = retry::within(ctx, || async {
        let mut out = Vec::new();
        exec::run_command(
            ctx,
            ns,
            object::name_of(pod),
            Some(container),
            &argv,
            &mut out,
        )
        .await
        .map(|_| out)
    })
    .await;
    soft(r.map(|out| {
        let text = String::from_utf8_lossy(&out);
        Value::String(crate::collect::api::truncate(text.trim(), MAX_TOOL_OUTPUT).to_string())
    }))
}

#[async_trait::async_trait]
impl TaskKind for Versions {
    fn name(&self) -> &'static str {
        "kudo.versions"
    }
    fn description(&self) -> &'static str {
        "versions.yaml: collector, Kubernetes, KUDO, operator, application and tool versions"
    }
    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    async fn run(&self, ctx: &TaskContext) -> Result<TaskOutput, TaskError> {
        let p = &ctx.params;
        let var = |k: &str| {
            ctx.vars
                .get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        let instance = params::str_opt(p, "instance")?.or(var("instance"));
        let ns = params::namespace(p, &ctx.vars)?;
        let kudo_ns = params::str_opt(p, "kudoNamespace")?
            .or(var("kudoNamespace"))
            .unwrap_or("kudo-system");

        let mut doc = Map::new();
        doc.insert(
            "collector".into(),
            json!({"name": "kudo-diag", "version": crate::VERSION, "gitCommit": crate::GIT_COMMIT}),
        );
        let k8s = soft(
            retry::within(ctx, || version::server_version(ctx))
                .await
                .map(|v| {
                    json!({
                        "version": v.get("gitVersion").cloned().unwrap_or(Value::Null),
                        "platform": v.get("platform").cloned().unwrap_or(Value::Null),
                    })
                }),
        )?;
        doc.insert("kubernetes".into(), k8s);
        doc.insert(
            "kudo".into(),
            soft(retry::within(ctx, || kudo_part(ctx, kudo_ns)).await)?,
        );

        let mut instance_pods = Vec::new();
        let (operator, application) = match (instance, ns) {
            (Some(inst), Some(ns)) => {
                let inst_obj = soft(
                    retry::within(ctx, || {
                        get::get_named(ctx, "kudo.dev/v1beta1", "Instance", Some(ns), inst)
                    })
                    .await,
                )?;
                let ov_name = inst_obj
                    .pointer("/spec/operatorVersion/name")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                let ov = match &ov_name {
                    Some(n) => soft(
                        retry::within(ctx, || {
                            get::get_named(ctx, "kudo.dev/v1beta1", "OperatorVersion", Some(ns), n)
                        })
                        .await,
                    )?,
                    None => {
                        json!({"error": inst_obj.get("error").cloned().unwrap_or(json!("the instance names no operatorVersion"))})
                    }
                };
                let spec = ov.get("spec").cloned().unwrap_or(Value::Null);
                let operator = if let Some(err) = ov.get("error") {
                    json!({"operatorVersion": ov_name, "error": err})
                } else {
                    json!({
                        "name": spec.pointer("/operator/name"),
                        "version": spec.get("version"),
                        "operatorVersion": ov_name,
                        "kudoVersion": spec.get("kudoVersion"),
                    })
                };
                let selector = format!("kudo.dev/instance={inst}");
                let digest = retry::within(ctx, || async {
                    let mut d = PodDigest::default();
                    for_each_pod(ctx, ns, Some(&selector), |p| d.add(p)).await?;
                    Ok(d)
                })
                .await;
                let imgs = match digest {
                    Ok(d) => {
                        instance_pods = d.runners;
                        json!(d.images)
                    }
                    Err(e) if e.is_transient() => return Err(e),
                    Err(e) => json!({"error": e.message}),
                };
                let application = json!({
                    "name": spec.pointer("/operator/name"),
                    "version": spec.get("appVersion"),
                    "images": imgs,
                });
                (operator, application)
            }
            _ => {
                let why =
                    json!({"error": "no instance given: run with --instance and --namespace"});
                (why.clone(), why)
            }
        };
        doc.insert("operator".into(), operator);
        doc.insert("application".into(), application);
        if let Some(tools) = p.get("tools").and_then(Value::as_object) {
            let mut out = Map::new();
            for (name, spec) in tools {
                out.insert(
                    name.clone(),
                    tool_version(ctx, ns, &instance_pods, spec).await?,
                );
            }
            doc.insert("tools".into(), Value::Object(out));
        }
        let doc = Value::Object(doc);
        let out = ctx.output.as_deref().unwrap_or("versions.yaml");
        ctx.sink
            .put(out, &object::to_yaml(&doc))
            .map_err(|e| TaskError::failed(e.to_string()))?;
        Ok(TaskOutput {
            items: vec![doc].into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slim_pod_keeps_what_versions_reads() {
        let pod = json!({
            "metadata": {"name": "c-0", "namespace": "db", "labels": {"app": "kudo-manager"},
                         "annotations": {"big": "x"}},
            "spec": {"containers": [{"name": "cassandra", "image": "cassandra:3.11", "env": [{"name": "A"}]}],
                     "nodeName": "n1", "volumes": [{"name": "v"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready"}]},
        });
        let slim = slim_pod(&pod);
        // Its node keys the command's slots (engine::streams).
        assert_eq!(slim["spec"]["nodeName"], "n1");
        let pods = vec![slim.clone()];
        assert!(pod_with_container(&pods, "cassandra").is_some());
        assert_eq!(
            images(&pods).into_iter().collect::<Vec<_>>(),
            ["cassandra:3.11"]
        );
        assert_eq!(object::name_of(&slim), "c-0");
        assert_eq!(
            slim.pointer("/metadata/labels/app"),
            Some(&json!("kudo-manager"))
        );
        assert!(slim.pointer("/metadata/annotations").is_none());
        assert!(slim.pointer("/spec/volumes").is_none());
        assert!(slim.pointer("/spec/containers/0/env").is_none());
    }

    #[test]
    fn image_tags() {
        assert_eq!(image_tag("kudobuilder/controller:v0.19.0"), "v0.19.0");
        assert_eq!(image_tag("registry:5000/cassandra"), "latest");
        assert_eq!(
            image_tag("registry:5000/mesosphere/cassandra:3.11.6-1.0.0@sha256:ab"),
            "3.11.6-1.0.0"
        );
    }

    #[test]
    fn tools_run_in_the_first_running_pod_with_the_container() {
        let pods = vec![
            json!({"metadata": {"name": "a"}, "status": {"phase": "Pending"}, "spec": {"containers": [{"name": "cassandra"}]}}),
            json!({"metadata": {"name": "b"}, "status": {"phase": "Running"}, "spec": {"containers": [{"name": "exporter"}]}}),
            json!({"metadata": {"name": "c"}, "status": {"phase": "Running"}, "spec": {"containers": [{"name": "cassandra"}]}}),
        ];
        let p = pod_with_container(&pods, "cassandra").unwrap();
        assert_eq!(p["metadata"]["name"], "c");
        assert!(pod_with_container(&pods, "nodetool").is_none());
    }

    #[test]
    fn the_digest_keeps_every_image_and_the_pods_tools_run_in_however_many_pods() {
        let pod = |name: &str, phase: &str, containers: &[(&str, &str)]| {
            let cs: Vec<Value> = containers
                .iter()
                .map(|(n, i)| json!({"name": n, "image": i, "env": [{"name": "X"}]}))
                .collect();
            json!({"metadata": {"name": name}, "status": {"phase": phase}, "spec": {"containers": cs}})
        };
        let mut d = PodDigest::default();
        d.add(&pod("a", "Pending", &[("cassandra", "c:1")]));
        for i in 0..1_000 {
            d.add(&pod(&format!("n-{i}"), "Running", &[("cassandra", "c:2")]));
        }
        d.add(&pod(
            "x",
            "Running",
            &[("cassandra", "c:2"), ("exporter", "e:1")],
        ));
        d.add(&pod("y", "Running", &[("exporter", "e:2")]));
        assert_eq!(
            d.images.iter().map(String::as_str).collect::<Vec<_>>(),
            ["c:1", "c:2", "e:1", "e:2"]
        );
        // The first running pod with each container, and nothing else.
        let names: Vec<&str> = d.runners.iter().map(object::name_of).collect();
        assert_eq!(names, ["n-0", "x"]);
        assert_eq!(
            object::name_of(pod_with_container(&d.runners, "cassandra").unwrap()),
            "n-0"
        );
        assert_eq!(
            object::name_of(pod_with_container(&d.runners, "exporter").unwrap()),
            "x"
        );
        assert!(
            d.runners[0].pointer("/spec/containers/0/env").is_none(),
            "kept slim"
        );
    }

    #[test]
    fn the_manager_is_found_by_container_name_pod_name_or_label() {
        let by_container = json!({"metadata": {"name": "x"}, "spec": {"containers": [{"name": "manager", "image": "kudo:v0.19.0"}]}});
        let by_name = json!({"metadata": {"name": "kudo-controller-manager-0"}, "spec": {"containers": [{"name": "c", "image": "kudo:v0.18.0"}]}});
        let by_label = json!({"metadata": {"name": "m", "labels": {"app": "kudo-manager"}}, "spec": {"containers": [{"name": "c", "image": "kudo:v0.17.0"}]}});
        let other = json!({"metadata": {"name": "web"}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
        assert_eq!(manager_image(&by_container), Some("kudo:v0.19.0"));
        assert_eq!(manager_image(&by_name), Some("kudo:v0.18.0"));
        assert_eq!(manager_image(&by_label), Some("kudo:v0.17.0"));
        assert_eq!(manager_image(&other), None);
    }

    #[test]
    fn images_are_unique_and_include_init_containers() {
        let pods = vec![
            json!({"spec": {"initContainers": [{"image": "busybox:1"}], "containers": [{"image": "c:3"}]}}),
            json!({"spec": {"containers": [{"image": "c:3"}]}}),
        ];
        assert_eq!(
            images(&pods).into_iter().collect::<Vec<_>>(),
            vec!["busybox:1", "c:3"]
        );
    }
}
