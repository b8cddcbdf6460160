//! What went wrong, as data: [`ErrorKind`] says what kind of failure an attempt met (the API
//! server's status, a dropped connection, a timeout, an application that declined, bad input),
//! so that retry, skip and "the pod is gone" decisions match on a kind and a status code, never
//! on the text of a message.
//!
//! It sits at the bottom of the crate, below `bundle` (errors.json records it), `engine` (task
//! errors, the journal, retries) and `kubeapi` (which classifies the API server's answers), so
//! that all of them share one classification: [`ErrorKind::is_transient`] is the only place that
//! decides whether asking again may help.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What an attempt ran into. Serialized with a `kind` tag (`{"kind": "api", "status": 404,
/// "reason": "NotFound"}`), the form the journal and errors.json keep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum ErrorKind {
    /// The API server answered with a non-2xx status.
    Api {
        /// The HTTP status code.
        status: u16,
        /// The Status object's `reason` (`NotFound`, `Expired`, `TooManyRequests`), empty when
        /// the answer had none.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        reason: String,
        /// When the server said to come back (`Retry-After`, or the Status's
        /// `details.retryAfterSeconds`), in milliseconds on disk.
        #[serde(
            default,
            rename = "retryAfterMs",
            skip_serializing_if = "Option::is_none",
            with = "millis"
        )]
        retry_after: Option<Duration>,
    },
    /// No answer: the connection failed, was reset, or closed before the answer was whole.
    Transport,
    /// The attempt ran out of its time.
    Timeout,
    /// The attempt was cancelled (its timeout expired or the run is stopping).
    Cancelled,
    /// The application answered but declined (a ZooKeeper four-letter word not in its
    /// whitelist, JMX refusing nodetool, an authorization error): asking again gets the same
    /// answer until someone changes its configuration.
    Refused {
        /// What the application said, in its own terms.
        reason: String,
        /// What to change so that it answers.
        fix: String,
        /// Where the bundle holds the answer of a fallback that answered in its place (ZooKeeper's
        /// AdminServer for a four-letter word): the node keeps that artifact although it failed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fallback: Option<String>,
    },
    /// The request or its input was wrong (a missing parameter, an unknown resource type in a
    /// pipeline, a malformed answer): fix the input.
    Invalid,
    /// The work itself failed (a command exited non-zero, an artifact could not be written).
    Failed,
}

impl ErrorKind {
    /// A non-2xx answer of the API server.
    pub fn api(status: u16, reason: impl Into<String>, retry_after: Option<Duration>) -> Self {
        ErrorKind::Api {
            status,
            reason: reason.into(),
            retry_after,
        }
    }

    /// Whether asking again may succeed: throttling (429), request timeouts (408), server
    /// errors (5xx), an expired list continue token (410 `Expired`: a new attempt starts the
    /// list over, the documented remedy), no answer at all, a timeout or a cancellation (a
    /// stopping run schedules no new attempt). Everything else will answer the same.
    pub fn is_transient(&self) -> bool {
        match self {
            ErrorKind::Api { status, reason, .. } => {
                matches!(status, 429 | 408 | 500..=599) || (*status == 410 && reason == "Expired")
            }
            ErrorKind::Transport | ErrorKind::Timeout | ErrorKind::Cancelled => true,
            ErrorKind::Refused { .. } | ErrorKind::Invalid | ErrorKind::Failed => false,
        }
    }

    /// Whether a failed attempt's artifacts stand: only a refusal whose fallback answered (the
    /// fallback's answer is the data, the refusal is why it came from there).
    pub fn keeps_artifacts(&self) -> bool {
        matches!(
            self,
            ErrorKind::Refused {
                fallback: Some(_),
                ..
            }
        )
    }

    /// The API server's status code, for an answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            ErrorKind::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// When the server asked to be asked again.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ErrorKind::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The kind's name as serialized (`api`, `transport`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            ErrorKind::Api { .. } => "api",
            ErrorKind::Transport => "transport",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Refused { .. } => "refused",
            ErrorKind::Invalid => "invalid",
            ErrorKind::Failed => "failed",
        }
    }
}

/// `Option<Duration>` as whole milliseconds.
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_u64(d.as_millis().try_into().unwrap_or(u64::MAX)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn throttling_server_errors_and_missing_answers_are_transient() {
        for status in [429, 408, 500, 502, 503, 504] {
            assert!(ErrorKind::api(status, "", None).is_transient(), "{status}");
        }
        for status in [400, 401, 403, 404, 409, 422] {
            assert!(!ErrorKind::api(status, "", None).is_transient(), "{status}");
        }
        assert!(ErrorKind::Transport.is_transient());
        assert!(ErrorKind::Timeout.is_transient());
        assert!(ErrorKind::Cancelled.is_transient());
        assert!(!ErrorKind::Invalid.is_transient());
        assert!(!ErrorKind::Failed.is_transient());
        let refused = ErrorKind::Refused {
            reason: "ruok is not executed because it is not in the whitelist".into(),
            fix: "add ruok to 4lw.commands.whitelist".into(),
            fallback: None,
        };
        assert!(!refused.is_transient());
    }

    #[test]
    fn only_an_expired_continue_token_makes_a_410_worth_retrying() {
        assert!(ErrorKind::api(410, "Expired", None).is_transient());
        assert!(!ErrorKind::api(410, "Gone", None).is_transient());
        assert!(!ErrorKind::api(410, "", None).is_transient());
    }

    #[test]
    fn the_on_disk_form_is_tagged_and_keeps_status_and_retry_after() {
        let k = ErrorKind::api(429, "TooManyRequests", Some(Duration::from_secs(7)));
        let v = serde_json::to_value(&k).unwrap();
        assert_eq!(
            v,
            json!({"kind": "api", "status": 429, "reason": "TooManyRequests", "retryAfterMs": 7000})
        );
        assert_eq!(serde_json::from_value::<ErrorKind>(v).unwrap(), k);
        assert_eq!(k.retry_after(), Some(Duration::from_secs(7)));
        assert_eq!(k.status(), Some(429));
        // Optional fields may be absent.
        let k: ErrorKind = serde_json::from_value(json!({"kind": "api", "status": 404})).unwrap();
        assert_eq!(k, ErrorKind::api(404, "", None));
        let mut r = ErrorKind::Refused {
            reason: "r".into(),
            fix: "f".into(),
            fallback: None,
        };
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            json!({"kind": "refused", "reason": "r", "fix": "f"})
        );
        assert!(!r.keeps_artifacts());
        if let ErrorKind::Refused { fallback, .. } = &mut r {
            *fallback = Some("a/stat.json".into());
        }
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            json!({"kind": "refused", "reason": "r", "fix": "f", "fallback": "a/stat.json"})
        );
        assert!(r.keeps_artifacts());
        for k in [ErrorKind::Transport, ErrorKind::Timeout, ErrorKind::Invalid] {
            let v = serde_json::to_value(&k).unwrap();
            assert_eq!(v, json!({"kind": k.name()}));
            assert_eq!(serde_json::from_value::<ErrorKind>(v).unwrap(), k);
        }
    }
}
