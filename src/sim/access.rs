//! Permissions of the simulated cluster's user: a list of deny rules (everything else is
//! allowed), answering both real requests (403 Forbidden) and SelfSubjectAccessReviews.
//!
//! Matching follows RBAC's conventions so that scenarios read like Roles:
//! - `verbs`: exact verb or `*`;
//! - `resources`: `pods` covers only the pods themselves, `pods/log` one subresource,
//!   `pods/*` every subresource of pods, `*/log` that subresource of anything, `*` everything;
//! - `apiGroups`: `""` is the core group, `*` or an empty list any group;
//! - `namespaces`: empty means everywhere. A request across all namespaces (no namespace) is
//!   denied by a rule limited to some namespaces, because its answer would include them; a
//!   cluster-scoped resource is likewise caught, so keep namespaced rules to namespaced kinds.

use super::scenario::{AccessRule, Permissions};

/// Whether the scenario's user may do `verb` on `group`/`resource`[/`subresource`] in
/// `namespace` (`None` for cluster-scoped requests or requests across all namespaces).
pub fn allowed(
    p: &Permissions,
    verb: &str,
    group: &str,
    resource: &str,
    subresource: Option<&str>,
    namespace: Option<&str>,
) -> bool {
    !p.deny
        .iter()
        .any(|rule| rule_matches(rule, verb, group, resource, subresource, namespace))
}

/// The first deny rule that forbids the request, to explain a 403.
pub fn denied_by<'a>(
    p: &'a Permissions,
    verb: &str,
    group: &str,
    resource: &str,
    subresource: Option<&str>,
    namespace: Option<&str>,
) -> Option<&'a AccessRule> {
    p.deny
        .iter()
        .find(|rule| rule_matches(rule, verb, group, resource, subresource, namespace))
}

/// The message a real API server gives with a 403, e.g. `pods "cassandra-0" is forbidden:
/// User "kudo-diag" cannot get resource "pods/log" in API group "" in the namespace "demo"`.
pub fn forbidden_message(
    user: &str,
    verb: &str,
    group: &str,
    resource: &str,
    subresource: Option<&str>,
    name: Option<&str>,
    namespace: Option<&str>,
) -> String {
    let full = match subresource {
        Some(s) => format!("{resource}/{s}"),
        None => resource.to_string(),
    };
    // apimachinery `errors.NewForbidden` names the resource with its group.
    let qualified = super::status::qualified(group, resource);
    let subject = match name {
        Some(n) => format!("{qualified} \"{n}\" is forbidden"),
        None => format!("{qualified} is forbidden"),
    };
    let scope = match namespace {
        Some(ns) => format!("in the namespace \"{ns}\""),
        None => "at the cluster scope".to_string(),
    };
    format!("{subject}: User \"{user}\" cannot {verb} resource \"{full}\" in API group \"{group}\" {scope}")
}

fn rule_matches(
    rule: &AccessRule,
    verb: &str,
    group: &str,
    resource: &str,
    subresource: Option<&str>,
    namespace: Option<&str>,
) -> bool {
    let verb_ok = rule.verbs.iter().any(|v| v == "*" || v == verb);
    let group_ok =
        rule.api_groups.is_empty() || rule.api_groups.iter().any(|g| g == "*" || g == group);
    let resource_ok = rule
        .resources
        .iter()
        .any(|r| resource_matches(r, resource, subresource));
    let ns_ok = match namespace {
        _ if rule.namespaces.is_empty() => true,
        Some(ns) => rule.namespaces.iter().any(|n| n == ns),
        None => true,
    };
    verb_ok && group_ok && resource_ok && ns_ok
}

fn resource_matches(pattern: &str, resource: &str, subresource: Option<&str>) -> bool {
    if pattern == "*" {
        return true;
    }
    let (p_res, p_sub) = match pattern.split_once('/') {
        Some((r, s)) => (r, Some(s)),
        None => (pattern, None),
    };
    let res_ok = p_res == "*" || p_res == resource;
    let sub_ok = match (p_sub, subresource) {
        (None, None) => true,
        (Some("*"), Some(_)) => true,
        (Some(p), Some(s)) => p == s,
        _ => false,
    };
    res_ok && sub_ok
}

#[cfg(test)]
mod rules_tests {
    use super::*;
    use crate::sim::scenario::{AccessRule, Scenario};

    #[test]
    fn rules_review_from_permissions_says_when_denies_are_left_out() {
        let mut sc = Scenario {
            name: "t".into(),
            namespace: "ns".into(),
            ..Default::default()
        };
        let review = serde_json::json!({"spec": {"namespace": "ns"}});
        let st = crate::sim::SimState::new(sc.clone(), None).unwrap();
        let (_, body) = rules_review(&st, &review);
        assert_eq!(
            body.0["status"]["resourceRules"][0]["verbs"],
            serde_json::json!(["*"])
        );
        assert_eq!(body.0["status"]["incomplete"], false);
        sc.permissions.deny.push(AccessRule {
            verbs: vec!["create".into()],
            resources: vec!["pods/exec".into()],
            namespaces: vec![],
            api_groups: vec![],
        });
        let mut st = crate::sim::SimState::new(sc, None).unwrap();
        st.read_only = true;
        let (_, body) = rules_review(&st, &review);
        assert_eq!(body.0["status"]["incomplete"], true);
        assert_eq!(
            body.0["status"]["resourceRules"][0]["verbs"],
            serde_json::json!(["get", "list", "watch"])
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(
        verbs: &[&str],
        resources: &[&str],
        namespaces: &[&str],
        groups: &[&str],
    ) -> AccessRule {
        AccessRule {
            verbs: verbs.iter().map(|s| s.to_string()).collect(),
            resources: resources.iter().map(|s| s.to_string()).collect(),
            namespaces: namespaces.iter().map(|s| s.to_string()).collect(),
            api_groups: groups.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn everything_is_allowed_without_rules() {
        let p = Permissions::default();
        assert!(allowed(&p, "delete", "", "secrets", None, Some("x")));
    }

    #[test]
    fn subresources_are_distinct_from_their_resource() {
        let p = Permissions {
            deny: vec![rule(&["create"], &["pods/exec"], &[], &[])],
        };
        assert!(!allowed(
            &p,
            "create",
            "",
            "pods",
            Some("exec"),
            Some("demo")
        ));
        assert!(allowed(&p, "get", "", "pods", Some("exec"), Some("demo")));
        assert!(allowed(&p, "create", "", "pods", None, Some("demo")));
        assert!(allowed(&p, "get", "", "pods", Some("log"), Some("demo")));

        let p = Permissions {
            deny: vec![rule(&["get"], &["pods"], &[], &[])],
        };
        assert!(!allowed(&p, "get", "", "pods", None, Some("demo")));
        assert!(allowed(&p, "get", "", "pods", Some("log"), Some("demo")));
    }

    #[test]
    fn wildcards_cover_what_rbac_covers() {
        let p = Permissions {
            deny: vec![rule(&["*"], &["pods/*"], &[], &[])],
        };
        assert!(!allowed(&p, "get", "", "pods", Some("log"), Some("a")));
        assert!(allowed(&p, "get", "", "pods", None, Some("a")));
        let p = Permissions {
            deny: vec![rule(&["get"], &["*/log"], &[], &[])],
        };
        assert!(!allowed(&p, "get", "", "pods", Some("log"), Some("a")));
        let p = Permissions {
            deny: vec![rule(&["list"], &["*"], &[], &[])],
        };
        assert!(!allowed(
            &p,
            "list",
            "apps",
            "statefulsets",
            None,
            Some("a")
        ));
        assert!(allowed(&p, "get", "apps", "statefulsets", None, Some("a")));
    }

    #[test]
    fn groups_and_namespaces_narrow_a_rule() {
        let p = Permissions {
            deny: vec![rule(
                &["get", "list"],
                &["secrets"],
                &["kudo-system"],
                &[""],
            )],
        };
        assert!(!allowed(
            &p,
            "list",
            "",
            "secrets",
            None,
            Some("kudo-system")
        ));
        assert!(allowed(&p, "list", "", "secrets", None, Some("demo")));
        // Across all namespaces would reveal kudo-system's secrets.
        assert!(!allowed(&p, "list", "", "secrets", None, None));
        assert!(allowed(
            &p,
            "list",
            "other.io",
            "secrets",
            None,
            Some("kudo-system")
        ));
        assert_eq!(
            denied_by(&p, "get", "", "secrets", None, Some("kudo-system"))
                .unwrap()
                .verbs
                .len(),
            2
        );
    }

    #[test]
    fn forbidden_messages_read_like_the_api_server() {
        assert_eq!(
            forbidden_message("kudo-diag", "create", "", "pods", Some("exec"), Some("c-0"), Some("demo")),
            "pods \"c-0\" is forbidden: User \"kudo-diag\" cannot create resource \"pods/exec\" in API group \"\" in the namespace \"demo\""
        );
        assert_eq!(
            forbidden_message("u", "list", "", "nodes", None, None, None),
            "nodes is forbidden: User \"u\" cannot list resource \"nodes\" in API group \"\" at the cluster scope"
        );
    }
}

/// `POST selfsubjectrulesreviews` (`kubectl auth can-i --list`): a cluster's recorded answer
/// for the namespace when there is one (a troubleshoot bundle's `auth-cani-list`), else the
/// scenario's permissions. Those allow everything but `deny` rules, which a rules review
/// cannot express: it then says so with `incomplete` and `evaluationError`, as an authorizer
/// that cannot list its rules does. A read-only bundle allows reads only.
pub fn rules_review(
    st: &super::state::SimState,
    review: &serde_json::Value,
) -> (axum::http::StatusCode, axum::Json<serde_json::Value>) {
    use serde_json::json;
    let ns = review["spec"]["namespace"].as_str().unwrap_or_default();
    let (resource_rules, non_resource_rules, incomplete, error) = match st
        .scenario
        .recorded_rules
        .get(ns)
    {
        Some(rules) => {
            let (non, res): (Vec<serde_json::Value>, Vec<serde_json::Value>) = rules
                .iter()
                .cloned()
                .partition(|r| r.get("nonResourceURLs").is_some());
            (res, non, false, None)
        }
        None => {
            let verbs = if st.read_only {
                json!(["get", "list", "watch"])
            } else {
                json!(["*"])
            };
            let denies = !st.scenario.permissions.deny.is_empty();
            (
                    vec![json!({"verbs": verbs, "apiGroups": ["*"], "resources": ["*"]})],
                    vec![json!({"verbs": ["get"], "nonResourceURLs": ["*"]})],
                    denies,
                    denies.then(|| "the simulated cluster denies some requests (its scenario's permissions.deny), which a rules review cannot list; ask `kubectl auth can-i VERB RESOURCE`".to_string()),
                )
        }
    };
    let mut status = json!({
        "resourceRules": resource_rules,
        "nonResourceRules": non_resource_rules,
        "incomplete": incomplete,
    });
    if let Some(e) = error {
        status["evaluationError"] = json!(e);
    }
    (
        axum::http::StatusCode::CREATED,
        axum::Json(json!({
            "kind": "SelfSubjectRulesReview",
            "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": null},
            "spec": {"namespace": ns},
            "status": status,
        })),
    )
}
