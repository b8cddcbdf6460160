//! REST paths of the Kubernetes API, with names and query values percent-encoded once, here.
//!
//! Names that come from the API server (or from a pipeline) go into URLs: a name is a DNS label
//! or subdomain in a well-behaved cluster, but the path of a request must not change meaning
//! when one is not (`a/b`, `x?y`, `%`), so every segment and query value is encoded.

/// Percent-encodes a path segment or a query value: RFC 3986's unreserved characters
/// (`A-Z a-z 0-9 - _ . ~`) stay, every other byte becomes `%XX`. Continue tokens (base64 with
/// `=` and `/`) and label selectors (`a=b,c in (d)`) pass through intact. The dot segments `.`
/// and `..` are encoded whole, so a hostile name from the API server can only name a missing
/// object, never another path.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let dot_segment = s == "." || s == "..";
    for b in s.bytes() {
        if (b.is_ascii_alphanumeric() || b"-_.~".contains(&b)) && !(dot_segment && b == b'.') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The root of a group version: `/api/v1` for the core group, `/apis/GROUP/VERSION` otherwise.
pub fn group_version(api_version: &str) -> String {
    if api_version.contains('/') {
        format!("/apis/{api_version}")
    } else {
        format!("/api/{api_version}")
    }
}

/// A collection: `/api/v1/namespaces/NS/pods`, or cluster-wide without a namespace.
pub fn collection(api_version: &str, namespace: Option<&str>, plural: &str) -> String {
    let root = group_version(api_version);
    match namespace {
        Some(ns) => format!("{root}/namespaces/{}/{}", encode(ns), encode(plural)),
        None => format!("{root}/{}", encode(plural)),
    }
}

/// One object: `/apis/apps/v1/namespaces/NS/statefulsets/NAME`.
pub fn object(api_version: &str, namespace: Option<&str>, plural: &str, name: &str) -> String {
    format!(
        "{}/{}",
        collection(api_version, namespace, plural),
        encode(name)
    )
}

/// `path` with a query string of `pairs`, each value encoded; pairs with an empty value are left
/// out.
pub fn with_query(path: &str, pairs: &[(&str, &str)]) -> String {
    let mut out = path.to_string();
    for (k, v) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
        out.push(if out.contains('?') { '&' } else { '?' });
        out.push_str(k);
        out.push('=');
        out.push_str(&encode(v));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreserved_characters_stay_and_the_rest_is_encoded() {
        assert_eq!(encode("cassandra-0.x_y~"), "cassandra-0.x_y~");
        assert_eq!(encode("a/b?c%d e"), "a%2Fb%3Fc%25d%20e");
        assert_eq!(
            encode("app=zk,tier in (a)"),
            "app%3Dzk%2Ctier%20in%20%28a%29"
        );
        assert_eq!(encode("é"), "%C3%A9");
        // Dot segments would change the path's meaning: encoded whole.
        assert_eq!(encode(".."), "%2E%2E");
        assert_eq!(encode("."), "%2E");
        assert_eq!(encode("a..b"), "a..b");
        assert_eq!(
            encode("eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ=="),
            "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ%3D%3D"
        );
    }

    #[test]
    fn paths_of_core_and_group_resources() {
        assert_eq!(
            collection("v1", Some("prod"), "pods"),
            "/api/v1/namespaces/prod/pods"
        );
        assert_eq!(collection("v1", None, "nodes"), "/api/v1/nodes");
        assert_eq!(
            object("apps/v1", Some("prod"), "statefulsets", "zk"),
            "/apis/apps/v1/namespaces/prod/statefulsets/zk"
        );
        // A name that is not a DNS label cannot escape its segment.
        assert_eq!(
            object("v1", Some("ns"), "services", "../secrets/x?watch=1"),
            "/api/v1/namespaces/ns/services/..%2Fsecrets%2Fx%3Fwatch%3D1"
        );
        assert_eq!(group_version("kudo.dev/v1beta1"), "/apis/kudo.dev/v1beta1");
    }

    #[test]
    fn queries_encode_values_and_skip_empty_ones() {
        assert_eq!(
            with_query(
                "/api/v1/pods",
                &[("labelSelector", "a=b"), ("limit", "500"), ("continue", "")]
            ),
            "/api/v1/pods?labelSelector=a%3Db&limit=500"
        );
        assert_eq!(
            with_query("/api/v1/pods?limit=1", &[("continue", "t/=")]),
            "/api/v1/pods?limit=1&continue=t%2F%3D"
        );
    }
}
