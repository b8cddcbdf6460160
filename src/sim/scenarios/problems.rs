//! A scenario's internal consistency checks (`kudo-diag sim check`).

use crate::sim::scenario::Scenario;

/// Internal consistency problems of a scenario (empty when consistent): owners that do not
/// exist, logs and exec handlers for pods or containers that do not exist, KUDO pods whose
/// labels name no instance.
pub fn problems(sc: &Scenario) -> Vec<String> {
    let mut out = Vec::new();
    let uids: std::collections::HashSet<&str> = sc
        .objects
        .iter()
        .filter_map(|o| o["metadata"]["uid"].as_str())
        .collect();
    let find = |kind: &str, ns: &str, name: &str| {
        sc.objects.iter().find(|o| {
            o["kind"] == kind
                && o["metadata"]["name"] == name
                && o["metadata"]["namespace"].as_str().unwrap_or_default() == ns
        })
    };
    for o in &sc.objects {
        let id = format!(
            "{} {}/{}",
            o["kind"].as_str().unwrap_or_default(),
            o["metadata"]["namespace"].as_str().unwrap_or_default(),
            o["metadata"]["name"].as_str().unwrap_or_default()
        );
        for r in o["metadata"]["ownerReferences"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if !r["uid"].as_str().is_some_and(|u| uids.contains(u)) {
                out.push(format!(
                    "{id}: owner {} {} does not exist",
                    r["kind"], r["name"]
                ));
            }
        }
        if o["kind"] == "Pod" {
            if let Some(node) = o["spec"]["nodeName"].as_str() {
                if find("Node", "", node).is_none() {
                    out.push(format!("{id}: runs on node {node}, which does not exist"));
                }
            }
            let ns = o["metadata"]["namespace"].as_str().unwrap_or_default();
            if let Some(inst) = o["metadata"]["labels"]["kudo.dev/instance"].as_str() {
                match find("Instance", ns, inst) {
                    None => out.push(format!(
                        "{id}: label kudo.dev/instance={inst} names no Instance"
                    )),
                    Some(i) => {
                        let op = o["metadata"]["labels"]["kudo.dev/operator"]
                            .as_str()
                            .unwrap_or_default();
                        if i["metadata"]["labels"]["kudo.dev/operator"].as_str() != Some(op) {
                            out.push(format!(
                                "{id}: label kudo.dev/operator={op} differs from its Instance's"
                            ));
                        }
                    }
                }
            }
        }
    }
    for l in &sc.logs {
        let ns = l.namespace.as_deref().unwrap_or(&sc.namespace);
        match find("Pod", ns, &l.pod) {
            None => out.push(format!("log for pod {ns}/{}: no such pod", l.pod)),
            Some(p) => {
                let (c, i) = crate::sim::logs::container_names(p);
                if !c.contains(&l.container) && !i.contains(&l.container) {
                    out.push(format!(
                        "log for pod {ns}/{}: no container {}",
                        l.pod, l.container
                    ));
                }
            }
        }
    }
    let pod_names: Vec<&str> = sc
        .objects
        .iter()
        .filter(|o| o["kind"] == "Pod")
        .filter_map(|o| o["metadata"]["name"].as_str())
        .collect();
    let patterns = sc
        .exec
        .iter()
        .map(|h| ("exec", &h.pod))
        .chain(sc.files.iter().map(|f| ("files", &f.pod)));
    let mut counts = std::collections::HashMap::new();
    for (section, pod) in patterns {
        let i = counts.entry(section).or_insert(0usize);
        if let Some(p) = pod {
            match regex::Regex::new(&format!("^(?:{p})$")) {
                Err(_) => out.push(format!(
                    "{section}[{i}]: pod pattern {p:?} is not a valid regex"
                )),
                Ok(re) if !pod_names.iter().any(|n| re.is_match(n)) => {
                    out.push(format!("{section}[{i}]: pod pattern {p:?} matches no pod"))
                }
                Ok(_) => {}
            }
        }
        *i += 1;
    }
    for (i, h) in sc.exec.iter().enumerate() {
        if let crate::sim::scenario::ExecMatch::Regex(r) = &h.matcher {
            if regex::Regex::new(r).is_err() {
                out.push(format!("exec[{i}]: regex {r:?} is not valid"));
            }
        }
    }
    out
}
