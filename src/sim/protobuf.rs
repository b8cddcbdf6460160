//! Just enough of Kubernetes' protobuf encoding to read the one request body kubectl sends as
//! protobuf to the simulator: a `SelfSubjectAccessReview` (`kubectl auth can-i`). Responses are
//! always JSON, which client-go accepts whatever it sent.
//!
//! The envelope is `k8s\0` followed by `runtime.Unknown { typeMeta = 1; raw = 2; ... }`; `raw`
//! is the message itself, with the field numbers of k8s.io/api/authorization/v1/generated.proto.

use serde_json::{json, Value};

/// The magic prefix of Kubernetes protobuf bodies.
const MAGIC: &[u8] = b"k8s\0";

/// Whether a body is Kubernetes protobuf.
pub fn is_protobuf(body: &[u8]) -> bool {
    body.starts_with(MAGIC)
}

/// Length-delimited (wire type 2) fields of a message, as (field number, bytes); other wire
/// types are skipped. `None` when the bytes are not a well-formed message.
fn fields(mut b: &[u8]) -> Option<Vec<(u64, &[u8])>> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let key = varint(&mut b)?;
        let (field, wire) = (key >> 3, key & 7);
        match wire {
            0 => {
                varint(&mut b)?;
            }
            1 => b = b.get(8..)?,
            2 => {
                let len = usize::try_from(varint(&mut b)?).ok()?;
                let (v, rest) = (b.get(..len)?, b.get(len..)?);
                out.push((field, v));
                b = rest;
            }
            5 => b = b.get(4..)?,
            _ => return None,
        }
    }
    Some(out)
}

fn varint(b: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = b.split_first()?;
        *b = rest;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

fn field<'a>(fs: &[(u64, &'a [u8])], n: u64) -> Option<&'a [u8]> {
    fs.iter().find(|(f, _)| *f == n).map(|(_, v)| *v)
}

fn string(fs: &[(u64, &[u8])], n: u64) -> String {
    field(fs, n)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .unwrap_or_default()
}

/// Decodes a protobuf `SelfSubjectAccessReview` into its JSON form (spec only).
pub fn self_subject_access_review(body: &[u8]) -> Option<Value> {
    let unknown = fields(body.strip_prefix(MAGIC)?)?;
    let review = fields(field(&unknown, 2)?)?;
    let spec = fields(field(&review, 2).unwrap_or_default())?;
    let mut spec_json = json!({});
    if let Some(ra) = field(&spec, 1) {
        let ra = fields(ra)?;
        let names = [
            (1, "namespace"),
            (2, "verb"),
            (3, "group"),
            (4, "version"),
            (5, "resource"),
            (6, "subresource"),
            (7, "name"),
        ];
        let mut m = serde_json::Map::new();
        for (n, k) in names {
            let v = string(&ra, n);
            if !v.is_empty() {
                m.insert(k.into(), json!(v));
            }
        }
        spec_json["resourceAttributes"] = Value::Object(m);
    }
    if let Some(nra) = field(&spec, 2) {
        let nra = fields(nra)?;
        spec_json["nonResourceAttributes"] =
            json!({"path": string(&nra, 1), "verb": string(&nra, 2)});
    }
    Some(json!({"spec": spec_json}))
}

/// A protobuf `SelfSubjectRulesReview` (what `kubectl auth can-i --list` sends) as the JSON
/// review: only `spec.namespace` is asked.
pub fn self_subject_rules_review(body: &[u8]) -> Option<Value> {
    let unknown = fields(body.strip_prefix(MAGIC)?)?;
    let review = fields(field(&unknown, 2)?)?;
    let spec = fields(field(&review, 2).unwrap_or_default())?;
    Some(json!({"spec": {"namespace": string(&spec, 1)}}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ld(field: u8, v: &[u8]) -> Vec<u8> {
        let mut out = vec![(field << 3) | 2, v.len() as u8];
        out.extend_from_slice(v);
        out
    }

    #[test]
    fn decodes_a_rules_review_namespace() {
        let spec = ld(1, b"kube-system");
        let review = ld(2, &spec);
        let mut body = MAGIC.to_vec();
        body.extend(ld(2, &review));
        assert_eq!(
            self_subject_rules_review(&body).unwrap(),
            json!({"spec": {"namespace": "kube-system"}})
        );
    }

    #[test]
    fn decodes_a_resource_review() {
        let mut ra = ld(1, b"demo");
        ra.extend(ld(2, b"list"));
        ra.extend(ld(5, b"pods"));
        let spec = ld(1, &ra);
        let review = ld(2, &spec);
        let mut body = MAGIC.to_vec();
        body.extend(ld(1, b"\x0a\x02v1"));
        body.extend(ld(2, &review));
        let v = self_subject_access_review(&body).unwrap();
        assert_eq!(
            v["spec"]["resourceAttributes"],
            json!({"namespace": "demo", "verb": "list", "resource": "pods"})
        );
        assert!(self_subject_access_review(b"k8s\0\xff").is_none());
    }
}
