//! `kudo.operatorversion`: an instance's OperatorVersion with its parameters, plans and tasks,
//! and its templates apart. The templates are the operator package's whole text (263 KiB for
//! Cassandra's) and the same for every instance of that version: they go to one file named by
//! the OperatorVersion (`operatorversions/NAME/templates.yaml`, a map of template file name to
//! text, as in `spec.templates`), and the object in `output` keeps everything else, so the file a
//! person opens to read the instance's parameters and plans is small.
//!
//! Takes the parameters of `k8s.get` (typically `nameFrom` the Instance's
//! `/spec/operatorVersion/name`).

use serde_json::{json, Value};

use crate::collect::kinds::get;
use crate::collect::{object, params};
use crate::engine::{ParamSpec, TaskContext, TaskError, TaskKind, TaskOutput};

pub struct OperatorVersion;

const PARAMS: &[ParamSpec] = &[
    ParamSpec::required("apiVersion", "kudo.dev/v1beta1"),
    ParamSpec::optional("kind", "OperatorVersion"),
    ParamSpec::optional("resource", "operatorversions (this or `kind`)"),
    ParamSpec::optional(
        "namespace",
        "the OperatorVersion's namespace (default: the run's)",
    ),
    ParamSpec::optional("name", "its name (this or `nameFrom`)"),
    ParamSpec::optional(
        "nameFrom",
        "{apiVersion, kind, name, field}: take the name from a field of that object",
    ),
    ParamSpec::optional(
        "templatesOutput",
        "where the templates go; {name} is the OperatorVersion's (default operatorversions/{name}/templates.yaml)",
    ),
];

/// Takes `spec.templates` out of an OperatorVersion: the object without them, and the templates
/// (a map of file name to text; empty when it has none).
pub fn split_templates(mut ov: Value) -> (Value, Value) {
    let templates = ov
        .pointer_mut("/spec")
        .and_then(Value::as_object_mut)
        .and_then(|spec| spec.remove("templates"))
        .unwrap_or_else(|| json!({}));
    (ov, templates)
}

#[async_trait::async_trait]
impl TaskKind for OperatorVersion {
    fn name(&self) -> &'static str {
        "kudo.operatorversion"
    }
    fn description(&self) -> &'static str {
        "an OperatorVersion without its templates to `output`, its templates once per OperatorVersion"
    }
    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    async fn run(&self, ctx: &TaskContext) -> Result<TaskOutput, TaskError> {
        let pattern = params::str_opt(&ctx.params, "templatesOutput")?
            .unwrap_or("operatorversions/{name}/templates.yaml");
        let ov = get::fetch(ctx).await?;
        let name = object::name_of(&ov).to_string();
        let (ov, templates) = split_templates(ov);
        let put = |path: &str, v: &Value| {
            ctx.sink
                .put(path, &object::to_yaml(v))
                .map_err(|e| TaskError::failed(e.to_string()))
        };
        if let Some(out) = &ctx.output {
            put(out, &ov)?;
        }
        if templates.as_object().is_some_and(|t| !t.is_empty()) {
            put(&pattern.replace("{name}", &name), &templates)?;
        }
        Ok(TaskOutput {
            items: vec![ov].into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_taken_out_and_the_rest_kept() {
        let ov = json!({"kind": "OperatorVersion", "metadata": {"name": "cassandra-3.11.7-1.0.3"},
            "spec": {"parameters": [{"name": "NODE_COUNT"}], "plans": {"deploy": {}},
                     "templates": {"statefulset.yaml": "kind: StatefulSet\n"}}});
        let (rest, templates) = split_templates(ov);
        assert_eq!(
            templates,
            json!({"statefulset.yaml": "kind: StatefulSet\n"})
        );
        assert!(rest["spec"].get("templates").is_none());
        assert_eq!(rest["spec"]["parameters"][0]["name"], "NODE_COUNT");
        assert!(rest["spec"]["plans"]["deploy"].is_object());
        let (_, none) = split_templates(json!({"spec": {}}));
        assert_eq!(none, json!({}));
    }
}
