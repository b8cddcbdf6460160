//! Server-side table printers for the built-in kinds beyond the workload core in `tables`:
//! Jobs, CronJobs, RBAC bindings, webhook configurations, ResourceQuotas,
//! ReplicationControllers, Leases, Ingresses, PriorityClasses, EndpointSlices,
//! ControllerRevisions, NetworkPolicies, HorizontalPodAutoscalers, CSIDrivers and
//! CertificateSigningRequests.
//!
//! Columns (name, type, priority) and cells follow the API server's printers
//! (kubernetes `pkg/printers/internalversion/printers.go`, `AddHandlers` and the `print*`
//! function of each kind); a column a release added is left out for older minors (see
//! [`column_since`]); a kind whose cells changed too has a row function that takes the minor
//! ([`minor_row`]).

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::tables::{
    age, arr, containers_images_of, human_duration, name_cell, s, since, Col, RowFn, AGE,
    CONTAINERS, IMAGES, NAME, SELECTOR,
};

/// Columns and the row function of one kind.
pub type Printer = (&'static [Col], RowFn);

/// The printer of a built-in resource this file knows, by group and plural.
pub fn printer(group: &str, plural: &str) -> Option<Printer> {
    let p: Printer = match (group, plural) {
        ("batch", "jobs") => (
            &[
                NAME,
                Col("Status", "string", 0),
                Col("Completions", "string", 0),
                Col("Duration", "string", 0),
                AGE,
                CONTAINERS,
                IMAGES,
                SELECTOR,
            ],
            job_row,
        ),
        ("batch", "cronjobs") => (
            &[
                NAME,
                Col("Schedule", "string", 0),
                Col("Timezone", "string", 0),
                Col("Suspend", "boolean", 0),
                Col("Active", "integer", 0),
                Col("Last Schedule", "string", 0),
                AGE,
                CONTAINERS,
                IMAGES,
                SELECTOR,
            ],
            cronjob_row,
        ),
        ("rbac.authorization.k8s.io", "rolebindings" | "clusterrolebindings") => (
            &[
                NAME,
                Col("Role", "string", 0),
                AGE,
                Col("Users", "string", 1),
                Col("Groups", "string", 1),
                Col("ServiceAccounts", "string", 1),
            ],
            binding_row,
        ),
        (
            "admissionregistration.k8s.io",
            "mutatingwebhookconfigurations" | "validatingwebhookconfigurations",
        ) => (&[NAME, Col("Webhooks", "integer", 0), AGE], webhook_row),
        ("", "resourcequotas") => (
            &[
                NAME,
                AGE,
                Col("Request", "string", 0),
                Col("Limit", "string", 0),
            ],
            quota_row,
        ),
        ("", "replicationcontrollers") => (
            &[
                NAME,
                Col("Desired", "integer", 0),
                Col("Current", "integer", 0),
                Col("Ready", "integer", 0),
                AGE,
                CONTAINERS,
                IMAGES,
                SELECTOR,
            ],
            rc_row,
        ),
        ("coordination.k8s.io", "leases") => (&[NAME, Col("Holder", "string", 0), AGE], lease_row),
        ("networking.k8s.io", "ingresses") => (
            &[
                NAME,
                Col("Class", "string", 0),
                Col("Hosts", "string", 0),
                Col("Address", "string", 0),
                Col("Ports", "string", 0),
                AGE,
            ],
            ingress_row,
        ),
        ("networking.k8s.io", "networkpolicies") => (
            &[NAME, Col("Pod-Selector", "string", 0), AGE],
            networkpolicy_row,
        ),
        ("scheduling.k8s.io", "priorityclasses") => (
            &[
                NAME,
                Col("Value", "integer", 0),
                Col("Global-Default", "boolean", 0),
                AGE,
                Col("PreemptionPolicy", "string", 0),
            ],
            priorityclass_row,
        ),
        ("discovery.k8s.io", "endpointslices") => (
            &[
                NAME,
                Col("AddressType", "string", 0),
                Col("Ports", "string", 0),
                Col("Endpoints", "string", 0),
                AGE,
            ],
            endpointslice_row,
        ),
        ("apps", "controllerrevisions") => (
            &[
                NAME,
                Col("Controller", "string", 0),
                Col("Revision", "string", 0),
                AGE,
            ],
            controllerrevision_row,
        ),
        ("autoscaling", "horizontalpodautoscalers") => (
            &[
                NAME,
                Col("Reference", "string", 0),
                Col("Targets", "string", 0),
                Col("MinPods", "string", 0),
                // printers.go declares both string columns; their cells are integers.
                Col("MaxPods", "string", 0),
                Col("Replicas", "string", 0),
                AGE,
            ],
            |o, now| hpa_row(o, now, u32::MAX),
        ),
        ("storage.k8s.io", "csidrivers") => (
            &[
                NAME,
                Col("AttachRequired", "boolean", 0),
                Col("PodInfoOnMount", "boolean", 0),
                Col("StorageCapacity", "boolean", 0),
                Col("TokenRequests", "string", 0),
                Col("RequiresRepublish", "boolean", 0),
                Col("Modes", "string", 0),
                AGE,
            ],
            csidriver_row,
        ),
        ("certificates.k8s.io", "certificatesigningrequests") => (
            &[
                NAME,
                AGE,
                Col("SignerName", "string", 0),
                Col("Requestor", "string", 0),
                Col("RequestedDuration", "string", 0),
                Col("Condition", "string", 0),
            ],
            csr_row,
        ),
        _ => return None,
    };
    Some(p)
}

/// Where the API server's printer takes a column's description from. The sentences and the
/// fields named are those of printers.go `AddHandlers` in the releases 1.30 to 1.33.
#[derive(Debug, Clone, Copy)]
pub enum Doc {
    /// A sentence written in printers.go.
    Text(&'static str),
    /// A field's documentation: the definition under `io.k8s.api.` and the field
    /// (`apiv1.PodStatus{}.SwaggerDoc()["podIP"]` is `("core.v1.PodStatus", "podIP")`).
    Field(&'static str, &'static str),
}

use Doc::{Field, Text};

const TEMPLATE_CONTAINERS: Doc = Text("Names of each container in the template.");
const TEMPLATE_IMAGES: Doc = Text("Images referenced by each container in the template.");

/// The description of each built-in printer column other than Name and Age, as printers.go
/// `AddHandlers` declares it: (group, plural, column, where the text comes from). Where
/// printers.go names an older API version's Go type (extensions/v1beta1 ReplicaSetSpec,
/// autoscaling/v2beta1 HorizontalPodAutoscalerSpec), the served version's field is used: its
/// documentation is the same comment; a server that did not serve that version yet takes the
/// older version's text ([`OLDER_DEFINITIONS`]).
#[rustfmt::skip]
const COLUMN_DOCS: &[(&str, &str, &str, Doc)] = &[
    ("", "pods", "Ready", Text("The aggregate readiness state of this pod for accepting traffic.")),
    ("", "pods", "Status", Text("The aggregate status of the containers in this pod.")),
    ("", "pods", "Restarts", Text("The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.")),
    ("", "pods", "IP", Field("core.v1.PodStatus", "podIP")),
    ("", "pods", "Node", Field("core.v1.PodSpec", "nodeName")),
    ("", "pods", "Nominated Node", Field("core.v1.PodStatus", "nominatedNodeName")),
    ("", "pods", "Readiness Gates", Field("core.v1.PodSpec", "readinessGates")),
    ("", "podtemplates", "Containers", TEMPLATE_CONTAINERS),
    ("", "podtemplates", "Images", TEMPLATE_IMAGES),
    ("", "podtemplates", "Pod Labels", Text("The labels for the pod template.")),
    ("", "nodes", "Status", Text("The status of the node")),
    ("", "nodes", "Roles", Text("The roles of the node")),
    ("", "nodes", "Version", Field("core.v1.NodeSystemInfo", "kubeletVersion")),
    ("", "nodes", "Internal-IP", Field("core.v1.NodeStatus", "addresses")),
    ("", "nodes", "External-IP", Field("core.v1.NodeStatus", "addresses")),
    ("", "nodes", "OS-Image", Field("core.v1.NodeSystemInfo", "osImage")),
    ("", "nodes", "Kernel-Version", Field("core.v1.NodeSystemInfo", "kernelVersion")),
    ("", "nodes", "Container-Runtime", Field("core.v1.NodeSystemInfo", "containerRuntimeVersion")),
    ("", "services", "Type", Field("core.v1.ServiceSpec", "type")),
    ("", "services", "Cluster-IP", Field("core.v1.ServiceSpec", "clusterIP")),
    ("", "services", "External-IP", Field("core.v1.ServiceSpec", "externalIPs")),
    ("", "services", "Port(s)", Field("core.v1.ServiceSpec", "ports")),
    ("", "services", "Selector", Field("core.v1.ServiceSpec", "selector")),
    ("", "namespaces", "Status", Text("The status of the namespace")),
    ("", "events", "Last Seen", Field("core.v1.Event", "lastTimestamp")),
    ("", "events", "Type", Field("core.v1.Event", "type")),
    ("", "events", "Reason", Field("core.v1.Event", "reason")),
    ("", "events", "Object", Field("core.v1.Event", "involvedObject")),
    ("", "events", "Subobject", Field("core.v1.ObjectReference", "fieldPath")),
    ("", "events", "Source", Field("core.v1.Event", "source")),
    ("", "events", "Message", Field("core.v1.Event", "message")),
    ("", "events", "First Seen", Field("core.v1.Event", "firstTimestamp")),
    ("", "events", "Count", Field("core.v1.Event", "count")),
    ("", "persistentvolumeclaims", "Status", Field("core.v1.PersistentVolumeClaimStatus", "phase")),
    ("", "persistentvolumeclaims", "Volume", Field("core.v1.PersistentVolumeClaimSpec", "volumeName")),
    ("", "persistentvolumeclaims", "Capacity", Field("core.v1.PersistentVolumeClaimStatus", "capacity")),
    ("", "persistentvolumeclaims", "Access Modes", Field("core.v1.PersistentVolumeClaimStatus", "accessModes")),
    ("", "persistentvolumeclaims", "StorageClass", Text("StorageClass of the pvc")),
    ("", "persistentvolumeclaims", "VolumeAttributesClass", Text("VolumeAttributesClass of the pvc")),
    ("", "persistentvolumeclaims", "VolumeMode", Field("core.v1.PersistentVolumeClaimSpec", "volumeMode")),
    ("", "persistentvolumes", "Capacity", Field("core.v1.PersistentVolumeSpec", "capacity")),
    ("", "persistentvolumes", "Access Modes", Field("core.v1.PersistentVolumeSpec", "accessModes")),
    ("", "persistentvolumes", "Reclaim Policy", Field("core.v1.PersistentVolumeSpec", "persistentVolumeReclaimPolicy")),
    ("", "persistentvolumes", "Status", Field("core.v1.PersistentVolumeStatus", "phase")),
    ("", "persistentvolumes", "Claim", Field("core.v1.PersistentVolumeSpec", "claimRef")),
    ("", "persistentvolumes", "StorageClass", Text("StorageClass of the pv")),
    ("", "persistentvolumes", "VolumeAttributesClass", Text("VolumeAttributesClass of the pv")),
    ("", "persistentvolumes", "Reason", Field("core.v1.PersistentVolumeStatus", "reason")),
    ("", "persistentvolumes", "VolumeMode", Field("core.v1.PersistentVolumeSpec", "volumeMode")),
    ("", "configmaps", "Data", Field("core.v1.ConfigMap", "data")),
    ("", "secrets", "Type", Field("core.v1.Secret", "type")),
    ("", "secrets", "Data", Field("core.v1.Secret", "data")),
    ("", "serviceaccounts", "Secrets", Field("core.v1.ServiceAccount", "secrets")),
    ("", "endpoints", "Endpoints", Field("core.v1.Endpoints", "subsets")),
    ("", "replicationcontrollers", "Desired", Field("core.v1.ReplicationControllerSpec", "replicas")),
    ("", "replicationcontrollers", "Current", Field("core.v1.ReplicationControllerStatus", "replicas")),
    ("", "replicationcontrollers", "Ready", Field("core.v1.ReplicationControllerStatus", "readyReplicas")),
    ("", "replicationcontrollers", "Containers", TEMPLATE_CONTAINERS),
    ("", "replicationcontrollers", "Images", TEMPLATE_IMAGES),
    ("", "replicationcontrollers", "Selector", Field("core.v1.ReplicationControllerSpec", "selector")),
    ("", "resourcequotas", "Request", Text("Request represents a minimum amount of cpu/memory that a container may consume.")),
    ("", "resourcequotas", "Limit", Text("Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.")),
    ("apps", "replicasets", "Desired", Field("apps.v1.ReplicaSetSpec", "replicas")),
    ("apps", "replicasets", "Current", Field("apps.v1.ReplicaSetStatus", "replicas")),
    ("apps", "replicasets", "Ready", Field("apps.v1.ReplicaSetStatus", "readyReplicas")),
    ("apps", "replicasets", "Containers", TEMPLATE_CONTAINERS),
    ("apps", "replicasets", "Images", TEMPLATE_IMAGES),
    ("apps", "replicasets", "Selector", Field("apps.v1.ReplicaSetSpec", "selector")),
    ("apps", "daemonsets", "Desired", Field("apps.v1.DaemonSetStatus", "desiredNumberScheduled")),
    ("apps", "daemonsets", "Current", Field("apps.v1.DaemonSetStatus", "currentNumberScheduled")),
    ("apps", "daemonsets", "Ready", Field("apps.v1.DaemonSetStatus", "numberReady")),
    ("apps", "daemonsets", "Up-to-date", Field("apps.v1.DaemonSetStatus", "updatedNumberScheduled")),
    ("apps", "daemonsets", "Available", Field("apps.v1.DaemonSetStatus", "numberAvailable")),
    ("apps", "daemonsets", "Node Selector", Field("core.v1.PodSpec", "nodeSelector")),
    ("apps", "daemonsets", "Containers", TEMPLATE_CONTAINERS),
    ("apps", "daemonsets", "Images", TEMPLATE_IMAGES),
    ("apps", "daemonsets", "Selector", Field("apps.v1.DaemonSetSpec", "selector")),
    ("apps", "statefulsets", "Ready", Text("Number of the pod with ready state")),
    ("apps", "statefulsets", "Containers", TEMPLATE_CONTAINERS),
    ("apps", "statefulsets", "Images", TEMPLATE_IMAGES),
    ("apps", "deployments", "Ready", Text("Number of the pod with ready state")),
    ("apps", "deployments", "Up-to-date", Field("apps.v1.DeploymentStatus", "updatedReplicas")),
    ("apps", "deployments", "Available", Field("apps.v1.DeploymentStatus", "availableReplicas")),
    ("apps", "deployments", "Containers", TEMPLATE_CONTAINERS),
    ("apps", "deployments", "Images", TEMPLATE_IMAGES),
    ("apps", "deployments", "Selector", Field("apps.v1.DeploymentSpec", "selector")),
    ("apps", "controllerrevisions", "Controller", Text("Controller of the object")),
    ("apps", "controllerrevisions", "Revision", Field("apps.v1.ControllerRevision", "revision")),
    ("batch", "jobs", "Status", Text("Status of the job.")),
    ("batch", "jobs", "Completions", Field("batch.v1.JobStatus", "succeeded")),
    ("batch", "jobs", "Duration", Text("Time required to complete the job.")),
    ("batch", "jobs", "Containers", TEMPLATE_CONTAINERS),
    ("batch", "jobs", "Images", TEMPLATE_IMAGES),
    ("batch", "jobs", "Selector", Field("batch.v1.JobSpec", "selector")),
    ("batch", "cronjobs", "Schedule", Field("batch.v1.CronJobSpec", "schedule")),
    ("batch", "cronjobs", "Timezone", Field("batch.v1.CronJobSpec", "timeZone")),
    ("batch", "cronjobs", "Suspend", Field("batch.v1.CronJobSpec", "suspend")),
    ("batch", "cronjobs", "Active", Field("batch.v1.CronJobStatus", "active")),
    ("batch", "cronjobs", "Last Schedule", Field("batch.v1.CronJobStatus", "lastScheduleTime")),
    ("batch", "cronjobs", "Containers", TEMPLATE_CONTAINERS),
    ("batch", "cronjobs", "Images", TEMPLATE_IMAGES),
    ("batch", "cronjobs", "Selector", Field("batch.v1.JobSpec", "selector")),
    ("autoscaling", "horizontalpodautoscalers", "Reference", Field("autoscaling.v2.HorizontalPodAutoscalerSpec", "scaleTargetRef")),
    ("autoscaling", "horizontalpodautoscalers", "Targets", Field("autoscaling.v2.HorizontalPodAutoscalerSpec", "metrics")),
    ("autoscaling", "horizontalpodautoscalers", "MinPods", Field("autoscaling.v2.HorizontalPodAutoscalerSpec", "minReplicas")),
    ("autoscaling", "horizontalpodautoscalers", "MaxPods", Field("autoscaling.v2.HorizontalPodAutoscalerSpec", "maxReplicas")),
    ("autoscaling", "horizontalpodautoscalers", "Replicas", Field("autoscaling.v2.HorizontalPodAutoscalerStatus", "currentReplicas")),
    ("policy", "poddisruptionbudgets", "Min Available", Text("The minimum number of pods that must be available.")),
    ("policy", "poddisruptionbudgets", "Max Unavailable", Text("The maximum number of pods that may be unavailable.")),
    ("policy", "poddisruptionbudgets", "Allowed Disruptions", Text("Calculated number of pods that may be disrupted at this time.")),
    ("rbac.authorization.k8s.io", "rolebindings", "Role", Field("rbac.v1.RoleBinding", "roleRef")),
    ("rbac.authorization.k8s.io", "clusterrolebindings", "Role", Field("rbac.v1.ClusterRoleBinding", "roleRef")),
    ("rbac.authorization.k8s.io", "rolebindings", "Users", Text("Users in the roleBinding")),
    ("rbac.authorization.k8s.io", "rolebindings", "Groups", Text("Groups in the roleBinding")),
    ("rbac.authorization.k8s.io", "rolebindings", "ServiceAccounts", Text("ServiceAccounts in the roleBinding")),
    ("rbac.authorization.k8s.io", "clusterrolebindings", "Users", Text("Users in the clusterRoleBinding")),
    ("rbac.authorization.k8s.io", "clusterrolebindings", "Groups", Text("Groups in the clusterRoleBinding")),
    ("rbac.authorization.k8s.io", "clusterrolebindings", "ServiceAccounts", Text("ServiceAccounts in the clusterRoleBinding")),
    ("admissionregistration.k8s.io", "*", "Webhooks", Text("Webhooks indicates the number of webhooks registered in this configuration")),
    ("coordination.k8s.io", "leases", "Holder", Field("coordination.v1.LeaseSpec", "holderIdentity")),
    ("networking.k8s.io", "ingresses", "Class", Text("The name of the IngressClass resource that should be used for additional configuration")),
    ("networking.k8s.io", "ingresses", "Hosts", Text("Hosts that incoming requests are matched against before the ingress rule")),
    ("networking.k8s.io", "ingresses", "Address", Text("Address is a list containing ingress points for the load-balancer")),
    ("networking.k8s.io", "ingresses", "Ports", Text("Ports of TLS configurations that open")),
    ("networking.k8s.io", "ingressclasses", "Controller", Text("Controller that is responsible for handling this class")),
    ("networking.k8s.io", "ingressclasses", "Parameters", Text("A reference to a resource with additional parameters")),
    ("networking.k8s.io", "networkpolicies", "Pod-Selector", Field("networking.v1.NetworkPolicySpec", "podSelector")),
    ("scheduling.k8s.io", "priorityclasses", "Value", Field("scheduling.v1.PriorityClass", "value")),
    ("scheduling.k8s.io", "priorityclasses", "Global-Default", Field("scheduling.v1.PriorityClass", "globalDefault")),
    ("scheduling.k8s.io", "priorityclasses", "PreemptionPolicy", Field("scheduling.v1.PriorityClass", "preemptionPolicy")),
    ("discovery.k8s.io", "endpointslices", "AddressType", Field("discovery.v1.EndpointSlice", "addressType")),
    ("discovery.k8s.io", "endpointslices", "Ports", Field("discovery.v1.EndpointSlice", "ports")),
    ("discovery.k8s.io", "endpointslices", "Endpoints", Field("discovery.v1.EndpointSlice", "endpoints")),
    // No RuntimeClass Handler: printers.go asks ObjectMeta's documentation for a `handler`
    // field it does not have, so the server sends an empty description.
    ("storage.k8s.io", "storageclasses", "Provisioner", Field("storage.v1.StorageClass", "provisioner")),
    ("storage.k8s.io", "storageclasses", "ReclaimPolicy", Field("storage.v1.StorageClass", "reclaimPolicy")),
    ("storage.k8s.io", "storageclasses", "VolumeBindingMode", Field("storage.v1.StorageClass", "volumeBindingMode")),
    ("storage.k8s.io", "storageclasses", "AllowVolumeExpansion", Field("storage.v1.StorageClass", "allowVolumeExpansion")),
    ("storage.k8s.io", "csinodes", "Drivers", Text("Drivers indicates the number of CSI drivers registered on the node")),
    ("storage.k8s.io", "volumeattachments", "Attacher", Field("storage.v1.VolumeAttachmentSpec", "attacher")),
    ("storage.k8s.io", "volumeattachments", "PV", Field("storage.v1.VolumeAttachmentSource", "persistentVolumeName")),
    ("storage.k8s.io", "volumeattachments", "Node", Field("storage.v1.VolumeAttachmentSpec", "nodeName")),
    ("storage.k8s.io", "volumeattachments", "Attached", Field("storage.v1.VolumeAttachmentStatus", "attached")),
    ("storage.k8s.io", "csidrivers", "AttachRequired", Field("storage.v1.CSIDriverSpec", "attachRequired")),
    ("storage.k8s.io", "csidrivers", "PodInfoOnMount", Field("storage.v1.CSIDriverSpec", "podInfoOnMount")),
    ("storage.k8s.io", "csidrivers", "StorageCapacity", Field("storage.v1.CSIDriverSpec", "storageCapacity")),
    ("storage.k8s.io", "csidrivers", "TokenRequests", Field("storage.v1.CSIDriverSpec", "tokenRequests")),
    ("storage.k8s.io", "csidrivers", "RequiresRepublish", Field("storage.v1.CSIDriverSpec", "requiresRepublish")),
    ("storage.k8s.io", "csidrivers", "Modes", Field("storage.v1.CSIDriverSpec", "volumeLifecycleModes")),
    ("certificates.k8s.io", "certificatesigningrequests", "SignerName", Field("certificates.v1.CertificateSigningRequestSpec", "signerName")),
    ("certificates.k8s.io", "certificatesigningrequests", "Requestor", Field("certificates.v1.CertificateSigningRequestSpec", "request")),
    ("certificates.k8s.io", "certificatesigningrequests", "RequestedDuration", Field("certificates.v1.CertificateSigningRequestSpec", "expirationSeconds")),
    ("certificates.k8s.io", "certificatesigningrequests", "Condition", Field("certificates.v1.CertificateSigningRequestStatus", "conditions")),
    ("flowcontrol.apiserver.k8s.io", "flowschemas", "PriorityLevel", Field("flowcontrol.v1.PriorityLevelConfigurationReference", "name")),
    ("flowcontrol.apiserver.k8s.io", "flowschemas", "MatchingPrecedence", Field("flowcontrol.v1.FlowSchemaSpec", "matchingPrecedence")),
    ("flowcontrol.apiserver.k8s.io", "flowschemas", "DistinguisherMethod", Field("flowcontrol.v1.FlowSchemaSpec", "distinguisherMethod")),
    ("flowcontrol.apiserver.k8s.io", "flowschemas", "MissingPL", Text("references a broken or non-existent PriorityLevelConfiguration")),
    ("flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations", "Type", Field("flowcontrol.v1.PriorityLevelConfigurationSpec", "type")),
    ("flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations", "NominalConcurrencyShares", Field("flowcontrol.v1.LimitedPriorityLevelConfiguration", "nominalConcurrencyShares")),
    ("flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations", "Queues", Field("flowcontrol.v1.QueuingConfiguration", "queues")),
    ("flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations", "HandSize", Field("flowcontrol.v1.QueuingConfiguration", "handSize")),
    ("flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations", "QueueLengthLimit", Field("flowcontrol.v1.QueuingConfiguration", "queueLengthLimit")),
    ("storage.k8s.io", "csistoragecapacities", "StorageClassName", Field("storage.v1.CSIStorageCapacity", "storageClassName")),
    ("storage.k8s.io", "csistoragecapacities", "Capacity", Field("storage.v1.CSIStorageCapacity", "capacity")),
    ("admissionregistration.k8s.io", "validatingadmissionpolicies", "Validations", Text("Validations indicates the number of validation rules defined in this configuration")),
    ("admissionregistration.k8s.io", "validatingadmissionpolicies", "ParamKind", Text("ParamKind specifies the kind of resources used to parameterize this policy")),
    ("admissionregistration.k8s.io", "validatingadmissionpolicybindings", "PolicyName", Text("PolicyName indicates the policy definition which the policy binding binded to")),
    ("admissionregistration.k8s.io", "validatingadmissionpolicybindings", "ParamRef", Text("ParamRef indicates the param resource which sets the configration param")),
    ("networking.k8s.io", "servicecidrs", "CIDRs", Field("networking.v1beta1.ServiceCIDRSpec", "cidrs")),
    ("networking.k8s.io", "ipaddresses", "ParentRef", Field("networking.v1beta1.IPAddressSpec", "parentRef")),
    ("resource.k8s.io", "resourceclaims", "State", Text("A summary of the current state (allocated, pending, reserved, etc.).")),
    ("resource.k8s.io", "resourceslices", "Node", Field("resource.v1.ResourceSliceSpec", "nodeName")),
    ("resource.k8s.io", "resourceslices", "Driver", Field("resource.v1.ResourceSliceSpec", "driver")),
    ("resource.k8s.io", "resourceslices", "Pool", Field("resource.v1.ResourcePool", "name")),
];

/// Where a built-in printer column's description comes from (`*` in [`COLUMN_DOCS`] stands
/// for every resource of the group).
pub fn column_doc(group: &str, plural: &str, column: &str) -> Option<Doc> {
    COLUMN_DOCS
        .iter()
        .find(|(g, p, c, _)| *g == group && (*p == plural || *p == "*") && *c == column)
        .map(|(_, _, _, d)| *d)
}

/// The API version a column's Go type had before the one [`COLUMN_DOCS`] names: a release
/// that did not serve the newer version yet described the column with the older type's
/// documentation (printers.go names `batchv1beta1.CronJobSpec` before CronJob's GA in 1.21
/// and `autoscalingv2beta1.HorizontalPodAutoscalerSpec` before autoscaling/v2 in 1.23).
/// extensions/v1beta1 ReplicaSet and DaemonSet, which printers.go also names, were removed
/// in 1.16, before the first vendored minor, and are not listed.
const OLDER_DEFINITIONS: &[(&str, &str)] = &[
    ("batch.v1.CronJobSpec", "batch.v1beta1.CronJobSpec"),
    ("batch.v1.CronJobStatus", "batch.v1beta1.CronJobStatus"),
    (
        "autoscaling.v2.HorizontalPodAutoscalerSpec",
        "autoscaling.v2beta1.HorizontalPodAutoscalerSpec",
    ),
    (
        "autoscaling.v2.HorizontalPodAutoscalerStatus",
        "autoscaling.v2beta1.HorizontalPodAutoscalerStatus",
    ),
];

/// A column's description as a server of `minor` sends it; empty when the printer gives none.
pub fn column_description(group: &str, plural: &str, column: &str, minor: u32) -> String {
    match column_doc(group, plural, column) {
        Some(Text(t)) => t.to_string(),
        Some(Field(def, field)) => {
            let name = |d: &str| format!("io.k8s.api.{d}");
            let older = OLDER_DEFINITIONS
                .iter()
                .find(|(newer, _)| *newer == def)
                .map(|(_, older)| name(older))
                .filter(|older| {
                    !super::openapi::has_definition(minor, &name(def))
                        && super::openapi::has_definition(minor, older)
                });
            let def = older.unwrap_or_else(|| name(def));
            super::openapi::field_doc(minor, &def, field)
                .unwrap_or_default()
                .to_string()
        }
        None => String::new(),
    }
}

/// Fills one row's cells for a server of a given minor.
pub type MinorRowFn = fn(&Value, DateTime<Utc>, u32) -> Vec<Value>;

/// The row function of a kind whose cells (not only its columns) changed between minors.
pub fn minor_row(group: &str, plural: &str) -> Option<MinorRowFn> {
    match (group, plural) {
        ("autoscaling", "horizontalpodautoscalers") => Some(hpa_row),
        _ => None,
    }
}

/// The first minor whose printer has a column, for columns added after 1.19: PVC and PV
/// VolumeAttributesClass came with 1.29 (KEP-3751), the Job Status column with 1.31, the
/// CronJob Timezone column with 1.27 (the time zone field's GA). The CSIDriver printer adds
/// StorageCapacity only while the CSIStorageCapacity gate is on and TokenRequests and
/// RequiresRepublish only with CSIServiceAccountToken: both gates are on by default from
/// 1.21 (beta). The CSR printer gained RequestedDuration with `spec.expirationSeconds`
/// in 1.22.
pub fn column_since(group: &str, plural: &str, column: &str) -> u32 {
    match (group, plural, column) {
        ("", "persistentvolumeclaims" | "persistentvolumes", "VolumeAttributesClass") => 29,
        ("batch", "jobs", "Status") => 31,
        ("batch", "cronjobs", "Timezone") => 27,
        (
            "storage.k8s.io",
            "csidrivers",
            "StorageCapacity" | "TokenRequests" | "RequiresRepublish",
        ) => 21,
        ("certificates.k8s.io", "certificatesigningrequests", "RequestedDuration") => 22,
        _ => 0,
    }
}

fn has_condition(o: &Value, typ: &str) -> bool {
    arr(&o["status"]["conditions"])
        .iter()
        .any(|c| c["type"] == typ && c["status"] == "True")
}

fn job_status(o: &Value) -> &'static str {
    if has_condition(o, "Complete") {
        "Complete"
    } else if has_condition(o, "Failed") {
        "Failed"
    } else if o["metadata"]["deletionTimestamp"].is_string() {
        "Terminating"
    } else if has_condition(o, "Suspended") {
        "Suspended"
    } else if has_condition(o, "FailureTarget") {
        "FailureTarget"
    } else if has_condition(o, "SuccessCriteriaMet") {
        "SuccessCriteriaMet"
    } else {
        "Running"
    }
}

/// `printJob`: completions as `succeeded/completions` (or `/1`, `/1 of N` in parallel mode);
/// duration from start to completion, or to now while it runs.
fn job_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let spec = &o["spec"];
    let succeeded = o["status"]["succeeded"].as_i64().unwrap_or(0);
    let completions = match (spec["completions"].as_i64(), spec["parallelism"].as_i64()) {
        (Some(c), _) => format!("{succeeded}/{c}"),
        (None, Some(p)) if p > 1 => format!("{succeeded}/1 of {p}"),
        _ => format!("{succeeded}/1"),
    };
    let time = |k: &str| DateTime::parse_from_rfc3339(s(&o["status"][k])).ok();
    let duration = match (time("startTime"), time("completionTime")) {
        (None, _) => String::new(),
        (Some(st), None) => human_duration((now - st.with_timezone(&Utc)).num_seconds()),
        (Some(st), Some(done)) => human_duration((done - st).num_seconds()),
    };
    let (c, i) = containers_images_of(&spec["template"]);
    vec![
        name_cell(o),
        json!(job_status(o)),
        json!(completions),
        json!(duration),
        age(o, now),
        json!(c),
        json!(i),
        json!(label_selector(&spec["selector"])),
    ]
}

fn bool_text(v: &Value) -> &'static str {
    match v.as_bool() {
        Some(true) => "True",
        Some(false) => "False",
        None => "<unset>",
    }
}

fn cronjob_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let spec = &o["spec"];
    let last = match s(&o["status"]["lastScheduleTime"]) {
        "" => "<none>".to_string(),
        t => since(t, now),
    };
    let job = &spec["jobTemplate"]["spec"];
    let (c, i) = containers_images_of(&job["template"]);
    vec![
        name_cell(o),
        json!(s(&spec["schedule"])),
        json!(spec["timeZone"].as_str().unwrap_or("<none>")),
        json!(bool_text(&spec["suspend"])),
        json!(arr(&o["status"]["active"]).len()),
        json!(last),
        age(o, now),
        json!(c),
        json!(i),
        json!(label_selector(&job["selector"])),
    ]
}

/// `printRoleBinding`/`printClusterRoleBinding`: `Kind/name` of the role; subjects by kind,
/// service accounts as `namespace:name`.
fn binding_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let role = format!("{}/{}", s(&o["roleRef"]["kind"]), s(&o["roleRef"]["name"]));
    let of_kind = |kind: &str| -> String {
        arr(&o["subjects"])
            .iter()
            .filter(|x| x["kind"] == kind)
            .map(|x| {
                if kind == "ServiceAccount" {
                    format!("{}:{}", s(&x["namespace"]), s(&x["name"]))
                } else {
                    s(&x["name"]).to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    vec![
        name_cell(o),
        json!(role),
        age(o, now),
        json!(of_kind("User")),
        json!(of_kind("Group")),
        json!(of_kind("ServiceAccount")),
    ]
}

fn webhook_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![name_cell(o), json!(arr(&o["webhooks"]).len()), age(o, now)]
}

/// `printResourceQuota`: `resource: used/hard` for each resource of `spec.hard`, sorted;
/// `limits.*` ones in Limit, the rest in Request. An absent quantity prints `0`.
fn quota_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let mut names: Vec<&String> = o["spec"]["hard"]
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    names.sort();
    let (mut request, mut limit) = (Vec::new(), Vec::new());
    for n in names {
        let q = |k: &str| match &o["status"][k][n.as_str()] {
            Value::String(x) => x.clone(),
            Value::Number(x) => x.to_string(),
            _ => "0".into(),
        };
        let text = format!("{n}: {}/{}", q("used"), q("hard"));
        if n.split('.').next() == Some("limits") && n.contains('.') {
            limit.push(text);
        } else {
            request.push(text);
        }
    }
    vec![
        name_cell(o),
        age(o, now),
        json!(request.join(", ")),
        json!(limit.join(", ")),
    ]
}

fn rc_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (c, i) = containers_images_of(&o["spec"]["template"]);
    let selector = match o["spec"]["selector"].as_object() {
        Some(m) if !m.is_empty() => {
            let mut kv: Vec<String> = m.iter().map(|(k, v)| format!("{k}={}", s(v))).collect();
            kv.sort();
            kv.join(",")
        }
        _ => "<none>".into(),
    };
    vec![
        name_cell(o),
        json!(o["spec"]["replicas"].as_i64().unwrap_or(1)),
        json!(o["status"]["replicas"].as_i64().unwrap_or(0)),
        json!(o["status"]["readyReplicas"].as_i64().unwrap_or(0)),
        age(o, now),
        json!(c),
        json!(i),
        json!(selector),
    ]
}

fn lease_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        name_cell(o),
        json!(s(&o["spec"]["holderIdentity"])),
        age(o, now),
    ]
}

/// At most three entries, then ` + N more...` (the printers' `listWithMoreString`).
fn at_most_three(list: &[String], empty: &str) -> String {
    match list.len() {
        0 => empty.to_string(),
        n if n > 3 => format!("{} + {} more...", list[..3].join(","), n - 3),
        _ => list.join(","),
    }
}

fn ingress_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let hosts: Vec<String> = arr(&o["spec"]["rules"])
        .iter()
        .filter_map(|r| r["host"].as_str().filter(|h| !h.is_empty()))
        .map(str::to_string)
        .collect();
    let address: Vec<&str> = arr(&o["status"]["loadBalancer"]["ingress"])
        .iter()
        .map(|i| i["ip"].as_str().or(i["hostname"].as_str()).unwrap_or(""))
        .filter(|a| !a.is_empty())
        .collect();
    let ports = if arr(&o["spec"]["tls"]).is_empty() {
        "80"
    } else {
        "80, 443"
    };
    vec![
        name_cell(o),
        json!(o["spec"]["ingressClassName"].as_str().unwrap_or("<none>")),
        json!(at_most_three(&hosts, "*")),
        json!(address.join(",")),
        json!(ports),
        age(o, now),
    ]
}

fn networkpolicy_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        name_cell(o),
        json!(label_selector(&o["spec"]["podSelector"])),
        age(o, now),
    ]
}

fn priorityclass_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        name_cell(o),
        json!(o["value"].as_i64().unwrap_or(0)),
        json!(o["globalDefault"].as_bool().unwrap_or(false)),
        age(o, now),
        json!(o["preemptionPolicy"].as_str().unwrap_or("<unset>")),
    ]
}

fn endpointslice_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let ports: Vec<String> = arr(&o["ports"])
        .iter()
        .map(|p| match (&p["port"], p["name"].as_str()) {
            (Value::Number(n), _) => n.to_string(),
            (_, Some(name)) => name.to_string(),
            _ => "*".into(),
        })
        .collect();
    let addresses: Vec<String> = arr(&o["endpoints"])
        .iter()
        .flat_map(|e| arr(&e["addresses"]).iter().map(|a| s(a).to_string()))
        .collect();
    vec![
        name_cell(o),
        json!(s(&o["addressType"])),
        json!(at_most_three(&ports, "<unset>")),
        json!(at_most_three(&addresses, "<unset>")),
        age(o, now),
    ]
}

/// The controller as `kind.group/name`, lower-cased kind (`daemonset.apps/svclb`).
fn controllerrevision_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let controller = arr(&o["metadata"]["ownerReferences"])
        .iter()
        .find(|r| r["controller"] == true)
        .map(|r| {
            let group = s(&r["apiVersion"])
                .split_once('/')
                .map(|(g, _)| g)
                .unwrap_or("");
            let kind = s(&r["kind"]).to_lowercase();
            let gk = if group.is_empty() {
                kind
            } else {
                format!("{kind}.{group}")
            };
            format!("{gk}/{}", s(&r["name"]))
        })
        .unwrap_or_else(|| "<none>".into());
    vec![
        name_cell(o),
        json!(controller),
        json!(o["revision"].as_i64().unwrap_or(0)),
        age(o, now),
    ]
}

/// `metav1.FormatLabelSelector`: `k=v` for matchLabels, then expressions (`k in (a,b)`,
/// `k notin (a)`, `k`, `!k`), comma-joined; `<none>` for an empty selector.
pub fn label_selector(sel: &Value) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(m) = sel["matchLabels"].as_object() {
        let mut kv: Vec<String> = m.iter().map(|(k, v)| format!("{k}={}", s(v))).collect();
        kv.sort();
        parts.extend(kv);
    }
    for e in arr(&sel["matchExpressions"]) {
        let key = s(&e["key"]);
        let values: Vec<&str> = arr(&e["values"]).iter().map(s).collect();
        parts.push(match s(&e["operator"]) {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_string(),
            "DoesNotExist" => format!("!{key}"),
            op => format!("{key} {op} ({})", values.join(",")),
        });
    }
    if parts.is_empty() {
        "<none>".into()
    } else {
        parts.join(",")
    }
}

/// The metrics of an HPA in the shape of autoscaling/v2 (`spec.metrics`,
/// `status.currentMetrics`), converted from the object's version as the API server converts
/// it to its internal version (`sim::convert`), so every served version prints the same.
fn hpa_metrics(o: &Value) -> (Vec<Value>, Vec<Value>) {
    let v2 = super::convert::hpa_to_v2(o);
    (
        arr(&v2["spec"]["metrics"]).to_vec(),
        arr(&v2["status"]["currentMetrics"]).to_vec(),
    )
}

/// A quantity as the server prints it: stored quantities are already canonical strings.
fn quantity(v: &Value) -> Option<String> {
    match v {
        Value::String(x) => Some(x.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// One metric of `formatHPAMetrics`: `current/target`, `<unknown>` while the status has no
/// current value at the metric's index, `(avg)` after an Object or External average-value
/// target, `<auto>` for a utilization target that is not set. Since 1.30 a Resource or
/// ContainerResource metric is prefixed with its resource name (`cpu: 12%/80%`; kubernetes
/// PR 122804, merged for 1.30).
fn hpa_metric(spec: &Value, status: Option<&Value>, minor: u32) -> String {
    let unknown = || "<unknown>".to_string();
    let kind = s(&spec["type"]);
    let Some(field) = super::convert::metric_field(kind) else {
        return "<unknown type>".into();
    };
    let src = &spec[field];
    let cur = status.map(|st| &st[field]).filter(|c| c.is_object());
    // A status of the metric's kind without the amount prints as the nil quantity Go formats,
    // `<nil>`, except where printers.go checks the amount first (average values of Object
    // and External metrics).
    let current = |key: &str| match cur {
        None => unknown(),
        Some(c) => quantity(&c["current"][key]).unwrap_or_else(|| {
            if matches!(kind, "Object" | "External") && key == "averageValue" {
                unknown()
            } else {
                "<nil>".into()
            }
        }),
    };
    let target = &src["target"];
    match kind {
        "Pods" => format!(
            "{}/{}",
            current("averageValue"),
            quantity(&target["averageValue"]).unwrap_or_default()
        ),
        "Object" | "External" => match quantity(&target["averageValue"]) {
            Some(avg) => format!("{}/{avg} (avg)", current("averageValue")),
            None => format!(
                "{}/{}",
                current("value"),
                quantity(&target["value"]).unwrap_or_default()
            ),
        },
        _ => {
            let text = match quantity(&target["averageValue"]) {
                Some(avg) => format!("{}/{avg}", current("averageValue")),
                None => {
                    let pct = |v: &Value| v.as_i64().map(|n| format!("{n}%"));
                    let c = cur
                        .and_then(|c| pct(&c["current"]["averageUtilization"]))
                        .unwrap_or_else(unknown);
                    let t = pct(&target["averageUtilization"]).unwrap_or_else(|| "<auto>".into());
                    format!("{c}/{t}")
                }
            };
            if minor >= 30 {
                format!("{}: {text}", s(&src["name"]))
            } else {
                text
            }
        }
    }
}

/// `printHorizontalPodAutoscaler`: REFERENCE is `Kind/name` of the scale target; TARGETS shows
/// the first two metrics and `+ N more...` for the rest (`<none>` without metrics); MINPODS is
/// `<unset>` when the spec has none.
fn hpa_row(o: &Value, now: DateTime<Utc>, minor: u32) -> Vec<Value> {
    let spec = &o["spec"];
    let (specs, statuses) = hpa_metrics(o);
    let shown: Vec<String> = specs
        .iter()
        .take(2)
        .enumerate()
        .map(|(i, m)| hpa_metric(m, statuses.get(i), minor))
        .collect();
    let targets = match specs.len() {
        0 => "<none>".to_string(),
        n if n > 2 => format!("{} + {} more...", shown.join(", "), n - 2),
        _ => shown.join(", "),
    };
    let reference = format!(
        "{}/{}",
        s(&spec["scaleTargetRef"]["kind"]),
        s(&spec["scaleTargetRef"]["name"])
    );
    let min = spec["minReplicas"]
        .as_i64()
        .map_or_else(|| "<unset>".to_string(), |n| n.to_string());
    vec![
        name_cell(o),
        json!(reference),
        json!(targets),
        json!(min),
        json!(spec["maxReplicas"].as_i64().unwrap_or(0)),
        json!(o["status"]["currentReplicas"].as_i64().unwrap_or(0)),
        age(o, now),
    ]
}

/// `printCSIDriver`: an unset attachRequired prints true, the other unset booleans false;
/// TOKENREQUESTS lists the audiences (`<unset>` without the field); MODES joins the volume
/// lifecycle modes (`<none>` without).
fn csidriver_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let spec = &o["spec"];
    let flag = |k: &str, unset: bool| spec[k].as_bool().unwrap_or(unset);
    let tokens = match spec["tokenRequests"].as_array() {
        Some(list) => list
            .iter()
            .map(|t| s(&t["audience"]))
            .collect::<Vec<_>>()
            .join(","),
        None => "<unset>".into(),
    };
    let modes: Vec<&str> = arr(&spec["volumeLifecycleModes"]).iter().map(s).collect();
    let modes = if modes.is_empty() {
        "<none>".to_string()
    } else {
        modes.join(",")
    };
    vec![
        name_cell(o),
        json!(flag("attachRequired", true)),
        json!(flag("podInfoOnMount", false)),
        json!(flag("storageCapacity", false)),
        json!(tokens),
        json!(flag("requiresRepublish", false)),
        json!(modes),
        age(o, now),
    ]
}

/// `extractCSRStatus`: Denied over Approved over Pending, then `,Failed` and `,Issued` (a
/// certificate in the status).
fn csr_condition(o: &Value) -> String {
    let has = |typ: &str| {
        arr(&o["status"]["conditions"])
            .iter()
            .any(|c| c["type"] == typ)
    };
    let mut status = if has("Denied") {
        "Denied"
    } else if has("Approved") {
        "Approved"
    } else {
        "Pending"
    }
    .to_string();
    if has("Failed") {
        status.push_str(",Failed");
    }
    if !s(&o["status"]["certificate"]).is_empty() {
        status.push_str(",Issued");
    }
    status
}

/// `printCertificateSigningRequest`: SIGNERNAME `<none>` when empty, REQUESTOR the user that
/// made the request, REQUESTEDDURATION the human form of `spec.expirationSeconds`.
fn csr_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let spec = &o["spec"];
    let signer = match s(&spec["signerName"]) {
        "" => "<none>",
        x => x,
    };
    let duration = spec["expirationSeconds"]
        .as_i64()
        .map_or_else(|| "<none>".to_string(), human_duration);
    vec![
        name_cell(o),
        age(o, now),
        json!(signer),
        json!(s(&spec["username"])),
        json!(duration),
        json!(csr_condition(o)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-01T01:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn jobs_show_completions_and_duration() {
        let done = json!({"metadata": {"name": "j", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"completions": 1, "selector": {"matchLabels": {"job": "j"}},
                     "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}},
            "status": {"succeeded": 1, "startTime": "2026-01-01T00:00:00Z",
                       "completionTime": "2026-01-01T00:00:25Z",
                       "conditions": [{"type": "Complete", "status": "True"}]}});
        let row = job_row(&done, now());
        assert_eq!(
            row,
            vec![
                json!("j"),
                json!("Complete"),
                json!("1/1"),
                json!("25s"),
                json!("60m"),
                json!("c"),
                json!("i"),
                json!("job=j")
            ]
        );
        let running = json!({"metadata": {"name": "r"}, "spec": {"parallelism": 3},
            "status": {"startTime": "2026-01-01T00:58:00Z"}});
        let row = job_row(&running, now());
        assert_eq!(
            (&row[1], &row[2], &row[3]),
            (&json!("Running"), &json!("0/1 of 3"), &json!("2m"))
        );
    }

    #[test]
    fn bindings_quota_and_webhooks() {
        let rb = json!({"metadata": {"name": "rb"}, "roleRef": {"kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "User", "name": "alice"}, {"kind": "ServiceAccount", "name": "sa", "namespace": "ns"},
                         {"kind": "Group", "name": "devs"}]});
        let row = binding_row(&rb, now());
        assert_eq!(row[1], "ClusterRole/view");
        assert_eq!(
            (&row[3], &row[4], &row[5]),
            (&json!("alice"), &json!("devs"), &json!("ns:sa"))
        );
        let q = json!({"metadata": {"name": "q"}, "spec": {"hard": {"pods": "10", "limits.cpu": "2", "requests.cpu": "1"}},
            "status": {"hard": {"pods": "10", "limits.cpu": "2", "requests.cpu": "1"}, "used": {"pods": "3"}}});
        let row = quota_row(&q, now());
        assert_eq!(row[2], "pods: 3/10, requests.cpu: 0/1");
        assert_eq!(row[3], "limits.cpu: 0/2");
        let wh = json!({"metadata": {"name": "w"}, "webhooks": [{}, {}]});
        assert_eq!(webhook_row(&wh, now())[1], 2);
    }

    #[test]
    fn controller_revisions_name_their_controller_with_its_group() {
        let cr = json!({"metadata": {"name": "x-1", "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "svclb", "controller": true}]},
            "revision": 1});
        assert_eq!(
            controllerrevision_row(&cr, now())[1],
            "daemonset.apps/svclb"
        );
    }

    #[test]
    fn selectors_print_expressions() {
        let sel = json!({"matchLabels": {"a": "b"}, "matchExpressions": [
            {"key": "k", "operator": "In", "values": ["x", "y"]}, {"key": "z", "operator": "DoesNotExist"}]});
        assert_eq!(label_selector(&sel), "a=b,k in (x,y),!z");
        assert_eq!(label_selector(&json!({})), "<none>");
    }

    #[test]
    fn hpa_targets_follow_format_hpa_metrics() {
        let hpa = json!({"metadata": {"name": "web", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 2, "maxReplicas": 10,
                "metrics": [
                    {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}},
                    {"type": "Pods", "pods": {"metric": {"name": "rps"}, "target": {"type": "AverageValue", "averageValue": "10"}}},
                    {"type": "External", "external": {"metric": {"name": "q"}, "target": {"type": "Value", "value": "5"}}}]},
            "status": {"currentReplicas": 3, "currentMetrics": [
                {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 12, "averageValue": "40m"}}}]}});
        let row = hpa_row(&hpa, now(), 32);
        assert_eq!(
            row,
            vec![
                json!("web"),
                json!("Deployment/web"),
                json!("cpu: 12%/80%, <unknown>/10 + 1 more..."),
                json!("2"),
                json!(10),
                json!(3),
                json!("60m"),
            ]
        );
        // Before 1.30 the resource name is not printed.
        assert_eq!(
            hpa_row(&hpa, now(), 29)[2],
            "12%/80%, <unknown>/10 + 1 more..."
        );
        let none = json!({"metadata": {"name": "n"}, "spec": {"scaleTargetRef": {"kind": "StatefulSet", "name": "db"}, "maxReplicas": 3}});
        let row = hpa_row(&none, now(), 32);
        assert_eq!((&row[2], &row[3]), (&json!("<none>"), &json!("<unset>")));
        let object = json!({"type": "Object", "object": {"target": {"type": "AverageValue", "averageValue": "2k"}}});
        let status = json!({"type": "Object", "object": {"current": {"averageValue": "1500"}}});
        assert_eq!(hpa_metric(&object, Some(&status), 32), "1500/2k (avg)");
        let auto = json!({"type": "Resource", "resource": {"name": "memory", "target": {"type": "Utilization"}}});
        assert_eq!(hpa_metric(&auto, None, 32), "memory: <unknown>/<auto>");
        let pods = json!({"type": "Pods", "pods": {"target": {"averageValue": "1"}}});
        let empty = json!({"type": "Pods", "pods": {"current": {}}});
        assert_eq!(hpa_metric(&pods, Some(&empty), 32), "<nil>/1");
    }

    #[test]
    fn autoscaling_v1_hpas_print_their_cpu_target() {
        let v1 = json!({"metadata": {"name": "a"}, "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "a"},
            "minReplicas": 1, "maxReplicas": 4, "targetCPUUtilizationPercentage": 50},
            "status": {"currentReplicas": 1, "currentCPUUtilizationPercentage": 7}});
        assert_eq!(hpa_row(&v1, now(), 32)[2], "cpu: 7%/50%");
        let unknown = json!({"metadata": {"name": "a"}, "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "a"},
            "maxReplicas": 4, "targetCPUUtilizationPercentage": 50}, "status": {}});
        assert_eq!(hpa_row(&unknown, now(), 27)[2], "<unknown>/50%");
    }

    /// A server older than a column type's GA version describes the column with the older
    /// version's documentation, as its printers.go did: a 1.20 server's CronJob ACTIVE is
    /// batch/v1beta1's text (batch/v1 CronJob came in 1.21), a 1.32 server's batch/v1's.
    #[test]
    fn older_servers_describe_columns_with_the_older_versions_text() {
        let doc = |minor, def: &str, field: &str| {
            super::super::openapi::field_doc(minor, &format!("io.k8s.api.{def}"), field)
                .unwrap()
                .to_string()
        };
        // HPA TARGETS: autoscaling/v2beta1's text before 1.23, v2's (which reads differently)
        // from 1.23.
        let (spec_v2beta1, spec_v2) = (
            "autoscaling.v2beta1.HorizontalPodAutoscalerSpec",
            "autoscaling.v2.HorizontalPodAutoscalerSpec",
        );
        let targets =
            |minor| column_description("autoscaling", "horizontalpodautoscalers", "Targets", minor);
        assert_eq!(targets(22), doc(22, spec_v2beta1, "metrics"));
        assert_eq!(targets(23), doc(23, spec_v2, "metrics"));
        assert_ne!(targets(22), targets(23));
        // CronJob columns: batch/v1beta1's before 1.21.
        assert_eq!(
            column_description("batch", "cronjobs", "Active", 20),
            doc(20, "batch.v1beta1.CronJobStatus", "active")
        );
    }

    /// An HPA stored as autoscaling/v2beta1 (a 1.24 cluster's) prints its targets as the
    /// server's conversion to the internal version lets formatHPAMetrics print them, not
    /// `<unknown>/<auto>`.
    #[test]
    fn autoscaling_v2beta1_hpas_print_their_targets() {
        let hpa = json!({"apiVersion": "autoscaling/v2beta1", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 1, "maxReplicas": 5,
                "metrics": [
                    {"type": "Resource", "resource": {"name": "cpu", "targetAverageUtilization": 80}},
                    {"type": "Resource", "resource": {"name": "memory", "targetAverageValue": "500Mi"}},
                    {"type": "Pods", "pods": {"metricName": "qps", "targetAverageValue": "10"}},
                    {"type": "Object", "object": {"metricName": "hits", "target": {"kind": "Service", "name": "s"},
                        "targetValue": "2k"}},
                    {"type": "External", "external": {"metricName": "queue", "targetAverageValue": "30"}}]},
            "status": {"currentReplicas": 2, "currentMetrics": [
                {"type": "Resource", "resource": {"name": "cpu", "currentAverageUtilization": 12, "currentAverageValue": "40m"}},
                {"type": "Resource", "resource": {"name": "memory", "currentAverageValue": "200Mi"}},
                {"type": "Pods", "pods": {"metricName": "qps", "currentAverageValue": "7"}},
                {"type": "Object", "object": {"metricName": "hits", "target": {"kind": "Service", "name": "s"},
                    "currentValue": "1500"}},
                {"type": "External", "external": {"metricName": "queue", "currentValue": "90", "currentAverageValue": "45"}}]}});
        assert_eq!(
            hpa_row(&hpa, now(), 24)[2],
            "12%/80%, 200Mi/500Mi + 3 more..."
        );
        let (specs, statuses) = hpa_metrics(&hpa);
        let each: Vec<String> = specs
            .iter()
            .zip(&statuses)
            .map(|(m, st)| hpa_metric(m, Some(st), 32))
            .collect();
        assert_eq!(
            each,
            [
                "cpu: 12%/80%",
                "memory: 200Mi/500Mi",
                "7/10",
                "1500/2k",
                "45/30 (avg)"
            ]
        );
        // No status yet: unknown currents, and the targets still shown.
        let mut fresh = hpa.clone();
        fresh["status"] = json!({});
        assert_eq!(
            hpa_row(&fresh, now(), 24)[2],
            "<unknown>/80%, <unknown>/500Mi + 3 more..."
        );
    }

    #[test]
    fn csi_drivers_print_their_defaults_and_modes() {
        let d = json!({"metadata": {"name": "ebs.csi.aws.com"},
            "spec": {"attachRequired": false, "podInfoOnMount": true,
                     "tokenRequests": [{"audience": "sts.amazonaws.com"}, {"audience": "vault"}],
                     "volumeLifecycleModes": ["Persistent", "Ephemeral"]}});
        let row = csidriver_row(&d, now());
        assert_eq!(
            &row[1..7],
            &[
                json!(false),
                json!(true),
                json!(false),
                json!("sts.amazonaws.com,vault"),
                json!(false),
                json!("Persistent,Ephemeral")
            ]
        );
        let bare = csidriver_row(&json!({"metadata": {"name": "x"}, "spec": {}}), now());
        assert_eq!(
            &bare[1..7],
            &[
                json!(true),
                json!(false),
                json!(false),
                json!("<unset>"),
                json!(false),
                json!("<none>")
            ]
        );
    }

    #[test]
    fn csrs_print_signer_duration_and_condition() {
        let csr = json!({"metadata": {"name": "csr-1", "creationTimestamp": "2026-01-01T00:59:00Z"},
            "spec": {"signerName": "kubernetes.io/kube-apiserver-client-kubelet", "username": "system:node:n1",
                     "expirationSeconds": 86400},
            "status": {"conditions": [{"type": "Approved", "status": "True"}], "certificate": "LS0t"}});
        assert_eq!(
            csr_row(&csr, now()),
            vec![
                json!("csr-1"),
                json!("60s"),
                json!("kubernetes.io/kube-apiserver-client-kubelet"),
                json!("system:node:n1"),
                json!("24h"),
                json!("Approved,Issued"),
            ]
        );
        let pending = json!({"metadata": {"name": "p"}, "spec": {"username": "u"},
            "status": {"conditions": [{"type": "Denied"}, {"type": "Approved"}, {"type": "Failed"}]}});
        let row = csr_row(&pending, now());
        assert_eq!(
            (&row[2], &row[4], &row[5]),
            (&json!("<none>"), &json!("<none>"), &json!("Denied,Failed"))
        );
        assert_eq!(csr_condition(&json!({})), "Pending");
    }
}
