//! The built-in resources a Kubernetes API server serves, per minor version: every group,
//! version and resource (subresources too) that a cluster of that minor answers discovery with
//! when only default-enabled APIs are on, in the order the server lists groups.
//!
//! The table follows the upstream API removal and graduation schedule (the Kubernetes
//! "Deprecated API Migration Guide" and each release's changelog): a line is served from its
//! first minor through its last. It was checked against the discovery a v1.24 cluster
//! recorded (tests/fixtures/troubleshoot-k3s/resources.json, compared in the tests below).

/// One line of the table, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltinResource {
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub kind: &'static str,
    pub short_names: Vec<&'static str>,
    pub namespaced: bool,
    pub verbs: &'static [&'static str],
    pub categories: Vec<&'static str>,
}

/// `group/version resource Kind shortNames scope verbs categories first-last`; `-` is empty; a
/// missing last minor means still served. Verb sets: `rw` every verb, `rwn` all but
/// deletecollection, `st` get/patch/update (status, scale), `c` create, `cg` create/get,
/// `px` proxy verbs, `gl` get/list, `g` get, `u` update.
const TABLE: &str = "
v1 bindings Binding - N c - 0-
v1 componentstatuses ComponentStatus cs C gl - 0-
v1 configmaps ConfigMap cm N rw - 0-
v1 endpoints Endpoints ep N rw - 0-
v1 events Event ev N rw - 0-
v1 limitranges LimitRange limits N rw - 0-
v1 namespaces Namespace ns C rwn - 0-
v1 namespaces/finalize Namespace - C u - 0-
v1 namespaces/status Namespace - C st - 0-
v1 nodes Node no C rw - 0-
v1 nodes/proxy NodeProxyOptions - C px - 0-
v1 nodes/status Node - C st - 0-
v1 persistentvolumeclaims PersistentVolumeClaim pvc N rw - 0-
v1 persistentvolumeclaims/status PersistentVolumeClaim - N st - 0-
v1 persistentvolumes PersistentVolume pv C rw - 0-
v1 persistentvolumes/status PersistentVolume - C st - 0-
v1 pods Pod po N rw all 0-
v1 pods/attach PodAttachOptions - N cg - 0-
v1 pods/binding Binding - N c - 0-
v1 pods/ephemeralcontainers Pod - N st - 23-
v1 pods/eviction Eviction - N c - 0-
v1 pods/exec PodExecOptions - N cg - 0-
v1 pods/log Pod - N g - 0-
v1 pods/portforward PodPortForwardOptions - N cg - 0-
v1 pods/proxy PodProxyOptions - N px - 0-
v1 pods/resize Pod - N st - 33-
v1 pods/status Pod - N st - 0-
v1 podtemplates PodTemplate - N rw - 0-
v1 replicationcontrollers ReplicationController rc N rw all 0-
v1 replicationcontrollers/scale Scale - N st - 0-
v1 replicationcontrollers/status ReplicationController - N st - 0-
v1 resourcequotas ResourceQuota quota N rw - 0-
v1 resourcequotas/status ResourceQuota - N st - 0-
v1 secrets Secret - N rw - 0-
v1 serviceaccounts ServiceAccount sa N rw - 0-
v1 serviceaccounts/token TokenRequest - N c - 0-
v1 services Service svc N rw all 0-
v1 services/proxy ServiceProxyOptions - N px - 0-
v1 services/status Service - N st - 0-
apiregistration.k8s.io/v1 apiservices APIService - C rw api-extensions 0-
apiregistration.k8s.io/v1 apiservices/status APIService - C st - 0-
apps/v1 controllerrevisions ControllerRevision - N rw - 0-
apps/v1 daemonsets DaemonSet ds N rw all 0-
apps/v1 daemonsets/status DaemonSet - N st - 0-
apps/v1 deployments Deployment deploy N rw all 0-
apps/v1 deployments/scale Scale - N st - 0-
apps/v1 deployments/status Deployment - N st - 0-
apps/v1 replicasets ReplicaSet rs N rw all 0-
apps/v1 replicasets/scale Scale - N st - 0-
apps/v1 replicasets/status ReplicaSet - N st - 0-
apps/v1 statefulsets StatefulSet sts N rw all 0-
apps/v1 statefulsets/scale Scale - N st - 0-
apps/v1 statefulsets/status StatefulSet - N st - 0-
events.k8s.io/v1 events Event ev N rw - 19-
events.k8s.io/v1beta1 events Event ev N rw - 0-24
authentication.k8s.io/v1 selfsubjectreviews SelfSubjectReview - C c - 28-
authentication.k8s.io/v1 tokenreviews TokenReview - C c - 0-
authentication.k8s.io/v1beta1 selfsubjectreviews SelfSubjectReview - C c - 27-28
authorization.k8s.io/v1 localsubjectaccessreviews LocalSubjectAccessReview - N c - 0-
authorization.k8s.io/v1 selfsubjectaccessreviews SelfSubjectAccessReview - C c - 0-
authorization.k8s.io/v1 selfsubjectrulesreviews SelfSubjectRulesReview - C c - 0-
authorization.k8s.io/v1 subjectaccessreviews SubjectAccessReview - C c - 0-
autoscaling/v2 horizontalpodautoscalers HorizontalPodAutoscaler hpa N rw all 23-
autoscaling/v2 horizontalpodautoscalers/status HorizontalPodAutoscaler - N st - 23-
autoscaling/v1 horizontalpodautoscalers HorizontalPodAutoscaler hpa N rw all 0-
autoscaling/v1 horizontalpodautoscalers/status HorizontalPodAutoscaler - N st - 0-
autoscaling/v2beta1 horizontalpodautoscalers HorizontalPodAutoscaler hpa N rw all 0-24
autoscaling/v2beta1 horizontalpodautoscalers/status HorizontalPodAutoscaler - N st - 0-24
autoscaling/v2beta2 horizontalpodautoscalers HorizontalPodAutoscaler hpa N rw all 0-25
autoscaling/v2beta2 horizontalpodautoscalers/status HorizontalPodAutoscaler - N st - 0-25
batch/v1 cronjobs CronJob cj N rw all 21-
batch/v1 cronjobs/status CronJob - N st - 21-
batch/v1 jobs Job - N rw all 0-
batch/v1 jobs/status Job - N st - 0-
batch/v1beta1 cronjobs CronJob cj N rw all 0-24
batch/v1beta1 cronjobs/status CronJob - N st - 0-24
certificates.k8s.io/v1 certificatesigningrequests CertificateSigningRequest csr C rw - 19-
certificates.k8s.io/v1 certificatesigningrequests/approval CertificateSigningRequest - C st - 19-
certificates.k8s.io/v1 certificatesigningrequests/status CertificateSigningRequest - C st - 19-
networking.k8s.io/v1 ingressclasses IngressClass - C rw - 19-
networking.k8s.io/v1 ingresses Ingress ing N rw - 19-
networking.k8s.io/v1 ingresses/status Ingress - N st - 19-
networking.k8s.io/v1 ipaddresses IPAddress ip C rw - 33-
networking.k8s.io/v1 networkpolicies NetworkPolicy netpol N rw - 0-
networking.k8s.io/v1 networkpolicies/status NetworkPolicy - N st - 24-
networking.k8s.io/v1 servicecidrs ServiceCIDR - C rw - 33-
networking.k8s.io/v1 servicecidrs/status ServiceCIDR - C st - 33-
policy/v1 poddisruptionbudgets PodDisruptionBudget pdb N rw - 21-
policy/v1 poddisruptionbudgets/status PodDisruptionBudget - N st - 21-
policy/v1beta1 poddisruptionbudgets PodDisruptionBudget pdb N rw - 0-24
policy/v1beta1 poddisruptionbudgets/status PodDisruptionBudget - N st - 0-24
policy/v1beta1 podsecuritypolicies PodSecurityPolicy psp C rw - 0-24
rbac.authorization.k8s.io/v1 clusterrolebindings ClusterRoleBinding - C rw - 0-
rbac.authorization.k8s.io/v1 clusterroles ClusterRole - C rw - 0-
rbac.authorization.k8s.io/v1 rolebindings RoleBinding - N rw - 0-
rbac.authorization.k8s.io/v1 roles Role - N rw - 0-
storage.k8s.io/v1 csidrivers CSIDriver - C rw - 0-
storage.k8s.io/v1 csinodes CSINode - C rw - 0-
storage.k8s.io/v1 csistoragecapacities CSIStorageCapacity - N rw - 24-
storage.k8s.io/v1 storageclasses StorageClass sc C rw - 0-
storage.k8s.io/v1 volumeattachments VolumeAttachment - C rw - 0-
storage.k8s.io/v1 volumeattachments/status VolumeAttachment - C st - 0-
storage.k8s.io/v1 volumeattributesclasses VolumeAttributesClass vac C rw - 34-
storage.k8s.io/v1beta1 csistoragecapacities CSIStorageCapacity - N rw - 0-26
admissionregistration.k8s.io/v1 mutatingwebhookconfigurations MutatingWebhookConfiguration - C rw api-extensions 0-
admissionregistration.k8s.io/v1 validatingadmissionpolicies ValidatingAdmissionPolicy - C rw api-extensions 30-
admissionregistration.k8s.io/v1 validatingadmissionpolicies/status ValidatingAdmissionPolicy - C st - 30-
admissionregistration.k8s.io/v1 validatingadmissionpolicybindings ValidatingAdmissionPolicyBinding - C rw api-extensions 30-
admissionregistration.k8s.io/v1 validatingwebhookconfigurations ValidatingWebhookConfiguration - C rw api-extensions 0-
apiextensions.k8s.io/v1 customresourcedefinitions CustomResourceDefinition crd,crds C rw api-extensions 0-
apiextensions.k8s.io/v1 customresourcedefinitions/status CustomResourceDefinition - C st - 0-
scheduling.k8s.io/v1 priorityclasses PriorityClass pc C rw - 0-
coordination.k8s.io/v1 leases Lease - N rw - 0-
node.k8s.io/v1 runtimeclasses RuntimeClass - C rw - 20-
node.k8s.io/v1beta1 runtimeclasses RuntimeClass - C rw - 0-24
discovery.k8s.io/v1 endpointslices EndpointSlice - N rw - 21-
discovery.k8s.io/v1beta1 endpointslices EndpointSlice - N rw - 0-24
flowcontrol.apiserver.k8s.io/v1 flowschemas FlowSchema - C rw - 29-
flowcontrol.apiserver.k8s.io/v1 flowschemas/status FlowSchema - C st - 29-
flowcontrol.apiserver.k8s.io/v1 prioritylevelconfigurations PriorityLevelConfiguration - C rw - 29-
flowcontrol.apiserver.k8s.io/v1 prioritylevelconfigurations/status PriorityLevelConfiguration - C st - 29-
flowcontrol.apiserver.k8s.io/v1beta3 flowschemas FlowSchema - C rw - 26-31
flowcontrol.apiserver.k8s.io/v1beta3 flowschemas/status FlowSchema - C st - 26-31
flowcontrol.apiserver.k8s.io/v1beta3 prioritylevelconfigurations PriorityLevelConfiguration - C rw - 26-31
flowcontrol.apiserver.k8s.io/v1beta3 prioritylevelconfigurations/status PriorityLevelConfiguration - C st - 26-31
flowcontrol.apiserver.k8s.io/v1beta2 flowschemas FlowSchema - C rw - 23-28
flowcontrol.apiserver.k8s.io/v1beta2 flowschemas/status FlowSchema - C st - 23-28
flowcontrol.apiserver.k8s.io/v1beta2 prioritylevelconfigurations PriorityLevelConfiguration - C rw - 23-28
flowcontrol.apiserver.k8s.io/v1beta2 prioritylevelconfigurations/status PriorityLevelConfiguration - C st - 23-28
flowcontrol.apiserver.k8s.io/v1beta1 flowschemas FlowSchema - C rw - 20-25
flowcontrol.apiserver.k8s.io/v1beta1 flowschemas/status FlowSchema - C st - 20-25
flowcontrol.apiserver.k8s.io/v1beta1 prioritylevelconfigurations PriorityLevelConfiguration - C rw - 20-25
flowcontrol.apiserver.k8s.io/v1beta1 prioritylevelconfigurations/status PriorityLevelConfiguration - C st - 20-25
resource.k8s.io/v1 deviceclasses DeviceClass - C rw - 34-
resource.k8s.io/v1 resourceclaims ResourceClaim - N rw - 34-
resource.k8s.io/v1 resourceclaims/status ResourceClaim - N st - 34-
resource.k8s.io/v1 resourceclaimtemplates ResourceClaimTemplate - N rw - 34-
resource.k8s.io/v1 resourceslices ResourceSlice - C rw - 34-
";

const RW: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
const RWN: &[&str] = &[
    "create", "delete", "get", "list", "patch", "update", "watch",
];
const ST: &[&str] = &["get", "patch", "update"];
const PX: &[&str] = &["create", "delete", "get", "patch", "update"];

fn verbs(code: &str) -> &'static [&'static str] {
    match code {
        "rw" => RW,
        "rwn" => RWN,
        "st" => ST,
        "c" => &["create"],
        "cg" => &["create", "get"],
        "px" => PX,
        "gl" => &["get", "list"],
        "g" => &["get"],
        "u" => &["update"],
        other => panic!("unknown verb set {other:?} in the built-in resource table"),
    }
}

fn list(field: &'static str) -> Vec<&'static str> {
    if field == "-" {
        Vec::new()
    } else {
        field.split(',').collect()
    }
}

/// Every built-in resource (and subresource) a server of `minor` serves, in discovery order.
pub fn for_minor(minor: u32) -> Vec<BuiltinResource> {
    TABLE
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|line| {
            let f: Vec<&'static str> = line.split_whitespace().collect();
            let [gv, plural, kind, short, scope, verb_code, cats, range] = f[..] else {
                panic!("malformed built-in resource line {line:?}");
            };
            let (first, last) = range.split_once('-').unwrap_or((range, ""));
            let first: u32 = first.parse().unwrap_or(0);
            let last: u32 = last.parse().unwrap_or(u32::MAX);
            if minor < first || minor > last {
                return None;
            }
            let (group, version) = gv.split_once('/').unwrap_or(("", gv));
            Some(BuiltinResource {
                group,
                version,
                plural,
                kind,
                short_names: list(short),
                namespaced: scope == "N",
                verbs: verbs(verb_code),
                categories: list(cats),
            })
        })
        .collect()
}

/// Whether built-in resources report their singular name: API servers fill `singularName` for
/// built-ins from 1.27 (KEP-3325's kubectl-explain work); before, it is empty.
pub fn reports_singular(minor: u32) -> bool {
    minor >= 27
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_parses_for_every_minor() {
        for minor in 19..=34 {
            assert!(for_minor(minor).len() > 80, "{minor}");
        }
    }

    #[test]
    fn removed_and_new_apis_follow_the_schedule() {
        let has = |m, g: &str, v: &str, p: &str| {
            for_minor(m)
                .iter()
                .any(|r| r.group == g && r.version == v && r.plural == p)
        };
        assert!(has(24, "batch", "v1beta1", "cronjobs"));
        assert!(!has(25, "batch", "v1beta1", "cronjobs"));
        assert!(has(29, "flowcontrol.apiserver.k8s.io", "v1", "flowschemas"));
        assert!(!has(
            28,
            "flowcontrol.apiserver.k8s.io",
            "v1",
            "flowschemas"
        ));
        assert!(has(23, "coordination.k8s.io", "v1", "leases"));
        // Dynamic resource allocation's v1 (GA, on by default) came with 1.34.
        assert!(has(34, "resource.k8s.io", "v1", "resourceclaims"));
        assert!(!has(33, "resource.k8s.io", "v1", "resourceslices"));
    }

    /// The v1.24 table against what a real v1.24 cluster (k3s) answered discovery with, minus
    /// the groups its CRDs and aggregated APIs added: same group versions in the same order,
    /// same resources with the same kind, scope, short names, verbs and categories.
    #[test]
    fn v1_24_matches_a_real_clusters_discovery() {
        let text = include_str!("../../tests/data/troubleshoot-k3s/resources.json");
        let recorded: Vec<serde_json::Value> = serde_json::from_str(text).unwrap();
        let strings = |v: &serde_json::Value| -> Vec<String> {
            let mut out: Vec<String> = v
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| s.as_str().unwrap().to_string())
                .collect();
            out.sort();
            out
        };
        let mut want = Vec::new();
        for gl in &recorded {
            let gv = gl["groupVersion"].as_str().unwrap();
            if gv.contains("cattle.io")
                || gv.contains("containo.us")
                || gv.starts_with("metrics.k8s.io")
            {
                continue;
            }
            for r in gl["resources"].as_array().unwrap() {
                want.push(format!(
                    "{gv} {} {} {} {:?} {:?} {:?}",
                    r["name"].as_str().unwrap(),
                    r["kind"].as_str().unwrap(),
                    r["namespaced"],
                    strings(&r["shortNames"]),
                    strings(&r["verbs"]),
                    strings(&r["categories"])
                ));
            }
        }
        let have: Vec<String> = for_minor(24)
            .iter()
            .map(|r| {
                let gv = if r.group.is_empty() {
                    r.version.to_string()
                } else {
                    format!("{}/{}", r.group, r.version)
                };
                let sorted = |v: &[&str]| {
                    let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
                    v.sort();
                    v
                };
                format!(
                    "{gv} {} {} {} {:?} {:?} {:?}",
                    r.plural,
                    r.kind,
                    r.namespaced,
                    sorted(&r.short_names),
                    sorted(r.verbs),
                    sorted(&r.categories)
                )
            })
            .collect();
        let missing: Vec<&String> = want.iter().filter(|w| !have.contains(w)).collect();
        let extra: Vec<&String> = have.iter().filter(|h| !want.contains(h)).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "missing {missing:#?}\nextra {extra:#?}"
        );
    }
}
