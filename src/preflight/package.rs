//! KUDO operator packages: what `kubectl kudo install` reads. A package is a folder or a .tgz
//! with `operator.yaml` (tasks, plans, versions), `params.yaml` (parameters) and `templates/`,
//! or an OperatorVersion already in the cluster (its spec carries the same parts).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::PreflightError;

/// A parameter's KUDO type (`type:` in params.yaml); `string` when absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    #[default]
    String,
    Integer,
    Number,
    Boolean,
    Array,
    Map,
}

impl ParamType {
    pub fn as_str(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Integer => "integer",
            ParamType::Number => "number",
            ParamType::Boolean => "boolean",
            ParamType::Array => "array",
            ParamType::Map => "map",
        }
    }
}

/// One parameter as declared by the package.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParamSpec {
    pub name: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Any YAML: strings mostly, numbers, and lists or maps for array/map parameters.
    #[serde(default)]
    pub default: Option<serde_json::Value>,
    #[serde(default)]
    pub required: Option<bool>,
    #[serde(default, rename = "type")]
    pub typ: ParamType,
    #[serde(default)]
    pub immutable: Option<bool>,
    #[serde(default, rename = "enum")]
    pub enum_values: Option<Vec<serde_json::Value>>,
}

/// A task: Apply/Delete/Toggle/Pipe/Dummy with its resources (template file names).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TaskSpec {
    pub name: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub spec: TaskBody,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TaskBody {
    #[serde(default, deserialize_with = "null_as_empty")]
    pub resources: Vec<String>,
    /// Toggle tasks: the boolean parameter that switches them on.
    #[serde(default)]
    pub parameter: Option<String>,
    /// Pipe tasks: the pod template that produces the piped files.
    #[serde(default)]
    pub pod: Option<String>,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PlanSpec {
    #[serde(default)]
    pub strategy: Option<String>,
    #[serde(default)]
    pub phases: Vec<PhaseSpec>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PhaseSpec {
    pub name: String,
    #[serde(default)]
    pub strategy: Option<String>,
    #[serde(default)]
    pub steps: Vec<StepSpec>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StepSpec {
    pub name: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub tasks: Vec<String>,
}

/// operator.yaml.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OperatorFile {
    name: String,
    #[serde(default)]
    operator_version: Option<String>,
    #[serde(default, deserialize_with = "scalar_string")]
    kudo_version: Option<String>,
    #[serde(default, deserialize_with = "scalar_string")]
    kubernetes_version: Option<String>,
    #[serde(default, deserialize_with = "scalar_string")]
    app_version: Option<String>,
    #[serde(default)]
    tasks: Vec<TaskSpec>,
    #[serde(default)]
    plans: BTreeMap<String, PlanSpec>,
}

/// Versions are written unquoted (`kudoVersion: 0.10.0`, `appVersion: 3.6`), which YAML may read
/// as a number: keep the text.
fn scalar_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        Some(serde_json::Value::Bool(b)) => Some(b.to_string()),
        Some(_) => None,
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
struct ParamsFile {
    #[serde(default)]
    parameters: Vec<ParamSpec>,
}

/// An operator package, whatever it was read from.
#[derive(Debug, Clone, Default)]
pub struct Package {
    /// Where it came from, for messages (`./cassandra`, `kafka.tgz`, `operatorversion/ns/name`).
    pub source: String,
    pub name: String,
    pub operator_version: Option<String>,
    pub app_version: Option<String>,
    pub kudo_version: Option<String>,
    pub kubernetes_version: Option<String>,
    pub parameters: Vec<ParamSpec>,
    pub tasks: Vec<TaskSpec>,
    pub plans: BTreeMap<String, PlanSpec>,
    /// Template file name (as tasks reference it) -> text.
    pub templates: BTreeMap<String, String>,
}

impl Package {
    /// Reads a package folder or a .tgz/.tar.gz file.
    pub fn load_path(path: &Path) -> Result<Package, PreflightError> {
        let mut files = if path.is_dir() {
            read_dir_files(path)?
        } else {
            read_tgz_files(path)?
        };
        // A .tgz usually holds one top folder (`cassandra/operator.yaml`): strip it.
        let prefix = files
            .keys()
            .filter(|k| k.ends_with("operator.yaml"))
            .map(|k| k.trim_end_matches("operator.yaml").to_string())
            .min_by_key(|p| p.len());
        let Some(prefix) = prefix else {
            return Err(PreflightError::Package(format!(
                "{} has no operator.yaml; give a KUDO operator package (a folder or .tgz with operator.yaml, params.yaml and templates/)",
                path.display()
            )));
        };
        files = files
            .into_iter()
            .filter_map(|(k, v)| k.strip_prefix(&prefix).map(|k| (k.to_string(), v)))
            .collect();
        Package::from_files(&path.display().to_string(), &files)
    }

    /// Builds a package from its files (paths relative to the package root).
    pub fn from_files(
        source: &str,
        files: &BTreeMap<String, String>,
    ) -> Result<Package, PreflightError> {
        let bad = |file: &str, e: crate::yaml::Error| {
            PreflightError::Package(format!(
                "{source}: {file} is not a valid KUDO {file}: {e}; fix the file"
            ))
        };
        let op_text = files.get("operator.yaml").ok_or_else(|| {
            PreflightError::Package(format!("{source}: operator.yaml is missing"))
        })?;
        let op: OperatorFile =
            crate::yaml::from_str(op_text).map_err(|e| bad("operator.yaml", e))?;
        let params: ParamsFile = match files.get("params.yaml") {
            Some(t) => crate::yaml::from_str(t).map_err(|e| bad("params.yaml", e))?,
            None => ParamsFile::default(),
        };
        let templates = files
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix("templates/")
                    .map(|n| (n.to_string(), v.clone()))
            })
            .collect();
        Ok(Package {
            source: source.to_string(),
            name: op.name,
            operator_version: op.operator_version,
            app_version: op.app_version,
            kudo_version: op.kudo_version,
            kubernetes_version: op.kubernetes_version,
            parameters: params.parameters,
            tasks: op.tasks,
            plans: op.plans,
            templates,
        })
    }

    /// Builds a package from an OperatorVersion object (and its Operator, for the version
    /// requirements, when it could be read).
    pub fn from_operator_version(
        ov: &serde_json::Value,
        operator: Option<&serde_json::Value>,
    ) -> Result<Package, PreflightError> {
        let name = ov["metadata"]["name"].as_str().unwrap_or_default();
        let ns = ov["metadata"]["namespace"].as_str().unwrap_or_default();
        let source = format!("operatorversion {ns}/{name}");
        let spec = &ov["spec"];
        let params: Vec<ParamSpec> = serde_json::from_value(if spec["parameters"].is_array() {
            spec["parameters"].clone()
        } else {
            serde_json::json!([])
        })
        .map_err(|e| PreflightError::Package(format!("{source}: spec.parameters: {e}")))?;
        let tasks: Vec<TaskSpec> = serde_json::from_value(if spec["tasks"].is_array() {
            spec["tasks"].clone()
        } else {
            serde_json::json!([])
        })
        .map_err(|e| PreflightError::Package(format!("{source}: spec.tasks: {e}")))?;
        let plans: BTreeMap<String, PlanSpec> =
            serde_json::from_value(if spec["plans"].is_object() {
                spec["plans"].clone()
            } else {
                serde_json::json!({})
            })
            .map_err(|e| PreflightError::Package(format!("{source}: spec.plans: {e}")))?;
        let templates = spec["templates"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let s = |v: &serde_json::Value| v.as_str().map(str::to_string);
        let op_name = spec["operator"]["name"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| name.to_string());
        Ok(Package {
            source,
            name: op_name,
            operator_version: s(&spec["version"]),
            app_version: s(&spec["appVersion"]),
            kudo_version: operator.and_then(|o| s(&o["spec"]["kudoVersion"])),
            kubernetes_version: operator.and_then(|o| s(&o["spec"]["kubernetesVersion"])),
            parameters: params,
            tasks,
            plans,
            templates,
        })
    }

    /// The template files the `deploy` plan applies, in plan order, each with the task that
    /// references it; Toggle tasks only when their parameter is true. Also the names of tasks
    /// skipped and why.
    pub fn deploy_resources(
        &self,
        is_true: impl Fn(&str) -> bool,
    ) -> Result<DeployResources, PreflightError> {
        let plan = self.plans.get("deploy").ok_or_else(|| {
            PreflightError::Package(format!(
                "{}: operator.yaml has no `deploy` plan; KUDO needs one to install",
                self.source
            ))
        })?;
        let mut out = DeployResources::default();
        for phase in &plan.phases {
            for step in &phase.steps {
                for tname in &step.tasks {
                    let task = self.tasks.iter().find(|t| &t.name == tname).ok_or_else(|| {
                        PreflightError::Package(format!(
                            "{}: step {}/{} names task {tname:?}, which operator.yaml does not define; fix the plan",
                            self.source, phase.name, step.name
                        ))
                    })?;
                    let pipe = task.kind == "Pipe";
                    let files: Vec<String> = match task.kind.as_str() {
                        "Apply" => task.spec.resources.clone(),
                        "Toggle" => {
                            let p = task.spec.parameter.clone().unwrap_or_default();
                            if is_true(&p) {
                                task.spec.resources.clone()
                            } else {
                                out.skipped
                                    .push(format!("task {tname} (Toggle: {p} is not true)"));
                                Vec::new()
                            }
                        }
                        "Pipe" => task.spec.pod.clone().into_iter().collect(),
                        "Delete" | "Dummy" => {
                            out.skipped
                                .push(format!("task {tname} ({} creates nothing)", task.kind));
                            Vec::new()
                        }
                        other => {
                            out.skipped.push(format!(
                                "task {tname} (kind {other} is not known to kudo-diag)"
                            ));
                            Vec::new()
                        }
                    };
                    for f in files {
                        if !self.templates.contains_key(&f) {
                            return Err(PreflightError::Package(format!(
                                "{}: task {tname} references templates/{f}, which the package does not have; add it or fix the task",
                                self.source
                            )));
                        }
                        out.files.push(DeployFile {
                            phase: phase.name.clone(),
                            step: step.name.clone(),
                            task: tname.clone(),
                            file: f,
                            pipe,
                        });
                    }
                }
            }
        }
        Ok(out)
    }
}

/// What the deploy plan applies.
#[derive(Debug, Clone, Default)]
pub struct DeployResources {
    /// In plan order.
    pub files: Vec<DeployFile>,
    pub skipped: Vec<String>,
}

/// One template file the deploy plan applies, and where in the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployFile {
    pub phase: String,
    pub step: String,
    pub task: String,
    pub file: String,
    /// The pod of a Pipe task (KUDO names it).
    pub pipe: bool,
}

fn read_dir_files(root: &Path) -> Result<BTreeMap<String, String>, PreflightError> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let rd = std::fs::read_dir(&dir).map_err(|e| io_err(&dir, e))?;
        for entry in rd {
            let entry = entry.map_err(|e| io_err(&dir, e))?;
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                let text = std::fs::read_to_string(&p).map_err(|e| io_err(&p, e))?;
                let rel = p
                    .strip_prefix(root)
                    .unwrap_or(&p)
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, text);
            }
        }
    }
    Ok(out)
}

fn io_err(p: &Path, e: std::io::Error) -> PreflightError {
    PreflightError::Package(format!(
        "failed to read {}: {e}; give a readable KUDO package folder or .tgz",
        p.display()
    ))
}

/// Reads the regular files of a gzip-compressed tar (ustar, GNU long names and pax headers).
/// Small enough to own rather than add a dependency: KUDO packages are a few dozen files.
fn read_tgz_files(path: &Path) -> Result<BTreeMap<String, String>, PreflightError> {
    let f = std::fs::File::open(path).map_err(|e| io_err(path, e))?;
    let mut data = Vec::new();
    flate2::read::GzDecoder::new(f)
        .read_to_end(&mut data)
        .map_err(|e| {
            PreflightError::Package(format!(
                "{} is neither a folder nor a gzip-compressed tar ({e}); give a KUDO package folder or .tgz",
                path.display()
            ))
        })?;
    parse_tar(&data).map_err(|m| {
        PreflightError::Package(format!("{}: {m}; the archive is damaged", path.display()))
    })
}

fn parse_tar(data: &[u8]) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    let mut pos = 0usize;
    let mut long_name: Option<String> = None;
    while pos + 512 <= data.len() {
        let h = &data[pos..pos + 512];
        if h.iter().all(|b| *b == 0) {
            break;
        }
        let field = |a: usize, b: usize| {
            let f = &h[a..b];
            let end = f.iter().position(|c| *c == 0).unwrap_or(f.len());
            String::from_utf8_lossy(&f[..end]).into_owned()
        };
        let size_text = field(124, 136);
        let size = usize::from_str_radix(size_text.trim(), 8)
            .map_err(|_| format!("bad tar entry size {size_text:?}"))?;
        let typ = h[156];
        let body_start = pos + 512;
        let body_end = body_start + size;
        if body_end > data.len() {
            return Err("tar entry runs past the end of the archive".into());
        }
        let body = &data[body_start..body_end];
        let mut name = field(0, 100);
        let prefix = field(345, 500);
        if field(257, 262) == "ustar" && !prefix.is_empty() {
            name = format!("{prefix}/{name}");
        }
        match typ {
            b'L' => {
                long_name = Some(
                    String::from_utf8_lossy(body)
                        .trim_end_matches('\0')
                        .to_string(),
                )
            }
            b'x' => {
                // pax: "LEN path=NAME\n" records.
                let text = String::from_utf8_lossy(body);
                for rec in text.lines() {
                    if let Some(p) = rec.split_once(" path=").map(|(_, p)| p) {
                        long_name = Some(p.to_string());
                    }
                }
            }
            b'0' | 0 => {
                let n = long_name.take().unwrap_or(name);
                let n = n.trim_start_matches("./").to_string();
                out.insert(n, String::from_utf8_lossy(body).into_owned());
            }
            _ => long_name = None,
        }
        pos = body_start + size.div_ceil(512) * 512;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_entry(name: &str, body: &str) -> Vec<u8> {
        let mut h = vec![0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        let size = format!("{:011o}\0", body.len());
        h[124..136].copy_from_slice(size.as_bytes());
        h[156] = b'0';
        h[257..262].copy_from_slice(b"ustar");
        let mut out = h;
        out.extend_from_slice(body.as_bytes());
        out.resize(512 + body.len().div_ceil(512) * 512, 0);
        out
    }

    #[test]
    fn a_tgz_with_a_top_folder_loads_like_a_folder() {
        let op = "name: demo\noperatorVersion: 0.1.0\nkudoVersion: 0.10.0\ntasks:\n- name: app\n  kind: Apply\n  spec:\n    resources: [d.yaml]\nplans:\n  deploy:\n    phases:\n    - name: p\n      steps:\n      - name: s\n        tasks: [app]\n";
        let mut tar = Vec::new();
        tar.extend(tar_entry("demo/operator.yaml", op));
        tar.extend(tar_entry(
            "demo/params.yaml",
            "parameters:\n- name: X\n  default: 1\n",
        ));
        tar.extend(tar_entry("demo/templates/d.yaml", "kind: Pod\n"));
        tar.extend(vec![0u8; 1024]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("demo.tgz");
        let f = std::fs::File::create(&path).unwrap();
        let mut gz = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &tar).unwrap();
        gz.finish().unwrap();
        let p = Package::load_path(&path).unwrap();
        assert_eq!(p.name, "demo");
        assert_eq!(p.kudo_version.as_deref(), Some("0.10.0"));
        assert_eq!(p.parameters[0].name, "X");
        let d = p.deploy_resources(|_| false).unwrap();
        assert_eq!(d.files.len(), 1);
        assert_eq!(
            (d.files[0].task.as_str(), d.files[0].file.as_str()),
            ("app", "d.yaml")
        );
    }

    #[test]
    fn a_file_that_is_not_a_package_says_what_to_give() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.tgz");
        std::fs::write(&path, b"not gzip").unwrap();
        let e = Package::load_path(&path).unwrap_err().to_string();
        assert!(
            e.contains("neither a folder nor a gzip-compressed tar"),
            "{e}"
        );
        let e = Package::load_path(dir.path()).unwrap_err().to_string();
        assert!(e.contains("has no operator.yaml"), "{e}");
    }
}
