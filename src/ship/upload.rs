//! Uploading a finished bundle to S3 or any S3-compatible store (MinIO, Ceph, R2, moto, ...).
//!
//! Signing, retries and multipart mechanics are the `object_store` crate's (rustls with ring, no
//! OpenSSL); this module decides what goes where and proves it arrived intact:
//!
//! 1. hash the local bundle (blake3, size) while streaming it, never holding it in memory;
//! 2. if the final key already holds an object with the same blake3 and size, stop (`--continue`
//!    after an upload that finished but was not confirmed, or a second run);
//! 3. write the bytes to a temporary key beside the final one (`<prefix>/.kudo-diag-upload/...`):
//!    one PUT for small bundles, a multipart upload in `part_size` parts for large ones, with
//!    `kudo-diag-blake3` and `kudo-diag-size` as user metadata (`x-amz-meta-*`);
//! 4. server-side copy the temporary object to the final key (S3 copies metadata by default) and
//!    delete the temporary one, so a reader never sees a half-written object under the final key;
//! 5. HEAD the final key and compare size and metadata with the local values; for small bundles
//!    also GET it and recompute the blake3.
//!
//! An interrupted upload is restarted cleanly by `--continue`: a multipart upload that was not
//! completed is invisible (its parts are aborted on error, and on a kill they are left for the
//! bucket's `AbortIncompleteMultipartUpload` lifecycle rule); a temporary object that was fully
//! written is recognised by its metadata and only copied. A local state file
//! (`<bundle>.upload.json`) remembers the destination of an unfinished upload so `--continue`
//! can say what it resumes, and is removed once the upload is verified.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{
    Attribute, AttributeValue, Attributes, GetOptions, ObjectStore, ObjectStoreExt,
    PutMultipartOptions, PutOptions, PutPayload, WriteMultipart,
};
use tokio::io::AsyncReadExt;

use crate::bundle::redact::Redactor;

/// User metadata key holding the bundle's blake3 (hex).
pub const META_BLAKE3: &str = "kudo-diag-blake3";
/// User metadata key holding the bundle's size in bytes.
pub const META_SIZE: &str = "kudo-diag-size";
/// Default multipart part size (S3 requires at least 5 MiB for all parts but the last).
pub const DEFAULT_PART_SIZE: usize = 8 * 1024 * 1024;
/// Bundles up to this size are also downloaded and re-hashed after upload.
pub const DEFAULT_GET_VERIFY_LIMIT: u64 = 32 * 1024 * 1024;
/// Folder (under the destination prefix) of temporary objects.
pub const TEMP_DIR: &str = ".kudo-diag-upload";

/// Errors of an upload, each saying what to do.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("invalid destination {url:?}: {why}; write it as s3://BUCKET or s3://BUCKET/PREFIX")]
    BadUrl { url: String, why: &'static str },
    #[error("cannot read the bundle {}: {source}; check the path", path.display())]
    Local {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the object store refused the credentials ({detail}); check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, the profile (AWS_PROFILE) or --access-key-id/--secret-access-key")]
    Credentials { detail: String },
    #[error("bucket {bucket:?} was not found at {endpoint}; create it or fix the bucket name, --endpoint and --region")]
    NoBucket { bucket: String, endpoint: String },
    #[error("cannot configure the object store: {0}; check the endpoint, region and credentials settings")]
    Config(String),
    #[error("failed to {step} {key}: {detail}; run the same command with --continue to retry (nothing half-written is left under the final key)")]
    Store {
        step: &'static str,
        key: String,
        detail: String,
    },
    #[error("uploaded object {key} does not match the bundle: {detail}; it was removed, run the command again with --continue")]
    Mismatch { key: String, detail: String },
    #[error("cannot read AWS profile {profile:?} from {}: {why}; fix the file or pass credentials by environment or flags", file.display())]
    Profile {
        profile: String,
        file: PathBuf,
        why: String,
    },
}

impl UploadError {
    /// The same error with every text that came from settings or from the store (an endpoint
    /// with a password in it, the store's own message quoting a URL) through `r`.
    pub fn redacted(self, r: &Redactor) -> UploadError {
        let mut counts = Default::default();
        let mut red = |s: String| r.redact_str(&s, &mut counts);
        match self {
            UploadError::BadUrl { url, why } => UploadError::BadUrl { url: red(url), why },
            UploadError::Credentials { detail } => UploadError::Credentials {
                detail: red(detail),
            },
            UploadError::NoBucket { bucket, endpoint } => UploadError::NoBucket {
                bucket: red(bucket),
                endpoint: red(endpoint),
            },
            UploadError::Config(c) => UploadError::Config(red(c)),
            UploadError::Store { step, key, detail } => UploadError::Store {
                step,
                key: red(key),
                detail: red(detail),
            },
            UploadError::Mismatch { key, detail } => UploadError::Mismatch {
                key: red(key),
                detail: red(detail),
            },
            UploadError::Profile { profile, file, why } => UploadError::Profile {
                profile: red(profile),
                file,
                why: red(why),
            },
            local @ UploadError::Local { .. } => local,
        }
    }
}

/// `s3://BUCKET/PREFIX`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Url {
    pub bucket: String,
    /// Key prefix without leading or trailing slashes (may be empty).
    pub prefix: String,
}

impl S3Url {
    pub fn parse(url: &str) -> Result<Self, UploadError> {
        let bad = |why| UploadError::BadUrl {
            url: url.to_string(),
            why,
        };
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| bad("it does not start with s3://"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(bad("the bucket name is empty"));
        }
        let valid = bucket.len() >= 3
            && bucket.len() <= 63
            && bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
        if !valid {
            return Err(bad(
                "a bucket name has 3 to 63 lowercase letters, digits, '-' or '.'",
            ));
        }
        let prefix = prefix.trim_matches('/').to_string();
        if prefix.split('/').any(|s| s == "." || s == "..") {
            return Err(bad("the prefix may not contain . or .. segments"));
        }
        Ok(S3Url {
            bucket: bucket.to_string(),
            prefix,
        })
    }

    /// The key of `name` under the prefix.
    pub fn key(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}/{name}", self.prefix)
        }
    }
}

impl std::fmt::Display for S3Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

/// How to reach the store. Unset fields come from the usual AWS environment variables
/// (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, ...) and then from the shared
/// profile files (`AWS_PROFILE`, `AWS_SHARED_CREDENTIALS_FILE`, `AWS_CONFIG_FILE`).
#[derive(Debug, Clone, Default)]
pub struct StoreSettings {
    pub endpoint: Option<String>,
    pub region: Option<String>,
    /// `Some(true)`: `https://endpoint/bucket/key`; `Some(false)`: `https://bucket.endpoint/key`.
    pub path_style: Option<bool>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    pub profile: Option<String>,
}

/// What to upload and how.
#[derive(Debug, Clone)]
pub struct UploadOptions {
    pub store: StoreSettings,
    /// Part size of multipart uploads; bundles no larger than one part go up in one PUT.
    pub part_size: usize,
    /// Bundles up to this size are downloaded again and re-hashed after upload.
    pub get_verify_limit: u64,
    /// Resume an unfinished upload (`--continue`) instead of refusing to start over it.
    pub resume: bool,
    /// What every text the upload reports goes through (the collection's, with its Secrets'
    /// values, after `run`); the built-in rules when `None`.
    pub redactor: Option<Arc<Redactor>>,
}

impl Default for UploadOptions {
    fn default() -> Self {
        UploadOptions {
            store: StoreSettings::default(),
            part_size: DEFAULT_PART_SIZE,
            get_verify_limit: DEFAULT_GET_VERIFY_LIMIT,
            resume: false,
            redactor: None,
        }
    }
}

/// A verified upload.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Uploaded {
    /// `s3://bucket/key` of the final object.
    pub url: String,
    pub key: String,
    pub bytes: u64,
    pub blake3: String,
    /// Parts sent (1 for a single PUT, 0 when the object was already there).
    pub parts: usize,
    /// True when the final object already held this bundle and nothing was sent.
    pub already_there: bool,
    /// True when the object was downloaded again and its blake3 recomputed.
    pub verified_by_get: bool,
}

impl Uploaded {
    /// The same result with its texts (URL, key) through `r`.
    pub fn redacted(mut self, r: &Redactor) -> Uploaded {
        let mut counts = Default::default();
        self.url = r.redact_str(&self.url, &mut counts);
        self.key = r.redact_str(&self.key, &mut counts);
        self
    }
}

/// The local record of an unfinished upload, next to the bundle.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
struct UploadState {
    destination: String,
    key: String,
    temp_key: String,
    blake3: String,
    bytes: u64,
}

/// `<bundle>.upload.json`.
pub fn state_file(bundle: &Path) -> PathBuf {
    let mut name = bundle.file_name().unwrap_or_default().to_os_string();
    name.push(".upload.json");
    bundle.with_file_name(name)
}

/// Makes ring the process's rustls provider. reqwest is built without a provider of its own (its
/// default would bring aws-lc-rs), so an S3 client built without this panics. Idempotent.
pub fn use_ring_for_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Builds the S3 client for `bucket` from flags, environment and profile files (in that order).
pub fn build_store(bucket: &str, s: &StoreSettings) -> Result<AmazonS3, UploadError> {
    use_ring_for_tls();
    let mut b = AmazonS3Builder::from_env().with_bucket_name(bucket);
    let env_has = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
    // Profile files fill only what neither a flag nor the environment set.
    let profile = load_profile(s.profile.as_deref())?;
    let from_profile = |key: &str| profile.as_ref().and_then(|p| p.get(key).cloned());
    let endpoint = s.endpoint.clone().or_else(|| {
        (!env_has("AWS_ENDPOINT_URL") && !env_has("AWS_ENDPOINT"))
            .then(|| from_profile("endpoint_url"))
            .flatten()
    });
    if let Some(ep) = &endpoint {
        b = b.with_endpoint(ep.clone());
    }
    let env_endpoint = std::env::var("AWS_ENDPOINT_URL")
        .or_else(|_| std::env::var("AWS_ENDPOINT"))
        .ok();
    // A plain-http endpoint (a local MinIO or test server) is only usable with allow_http.
    if endpoint
        .as_deref()
        .or(env_endpoint.as_deref())
        .is_some_and(|e| e.starts_with("http://"))
    {
        b = b.with_allow_http(true);
    }
    let region = s.region.clone().or_else(|| {
        (!env_has("AWS_REGION") && !env_has("AWS_DEFAULT_REGION"))
            .then(|| from_profile("region"))
            .flatten()
    });
    if let Some(r) = region {
        b = b.with_region(r);
    }
    if let Some(ps) = s.path_style {
        b = b.with_virtual_hosted_style_request(!ps);
    }
    let key_id = s.access_key_id.clone().or_else(|| {
        (!env_has("AWS_ACCESS_KEY_ID"))
            .then(|| from_profile("aws_access_key_id"))
            .flatten()
    });
    let secret = s.secret_access_key.clone().or_else(|| {
        (!env_has("AWS_SECRET_ACCESS_KEY"))
            .then(|| from_profile("aws_secret_access_key"))
            .flatten()
    });
    let token = s.session_token.clone().or_else(|| {
        (!env_has("AWS_SESSION_TOKEN"))
            .then(|| from_profile("aws_session_token"))
            .flatten()
    });
    if let Some(k) = key_id {
        b = b.with_access_key_id(k);
    }
    if let Some(k) = secret {
        b = b.with_secret_access_key(k);
    }
    if let Some(t) = token {
        b = b.with_token(t);
    }
    b.build().map_err(|e| UploadError::Config(e.to_string()))
}

/// The merged settings of one profile from the shared credentials file and the config file
/// (where profiles other than `default` are written `[profile NAME]`). `None` when neither file
/// exists; an explicitly named profile that is missing is an error.
fn load_profile(
    explicit: Option<&str>,
) -> Result<Option<std::collections::BTreeMap<String, String>>, UploadError> {
    let env_profile = std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty());
    let named = explicit.map(str::to_string).or(env_profile);
    let profile = named.clone().unwrap_or_else(|| "default".to_string());
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let creds = std::env::var_os("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".aws/credentials")));
    let config = std::env::var_os("AWS_CONFIG_FILE")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".aws/config")));
    let mut merged = std::collections::BTreeMap::new();
    let mut found = false;
    let mut last_file = PathBuf::new();
    for (file, section) in [
        (config, format!("profile {profile}")),
        (creds, profile.clone()),
    ] {
        let Some(file) = file else { continue };
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(UploadError::Profile {
                    profile,
                    file,
                    why: e.to_string(),
                })
            }
        };
        let sections = parse_ini(&text);
        // The config file names the default profile `[default]`, others `[profile NAME]`.
        let alt = if profile == "default" {
            Some("default".to_string())
        } else {
            None
        };
        for name in std::iter::once(section).chain(alt) {
            if let Some(kv) = sections.get(&name) {
                found = true;
                merged.extend(kv.clone());
            }
        }
        last_file = file;
    }
    if !found {
        if named.is_some() && !last_file.as_os_str().is_empty() {
            return Err(UploadError::Profile {
                profile,
                file: last_file,
                why: "no such profile".into(),
            });
        }
        return Ok(None);
    }
    Ok(Some(merged))
}

/// A minimal INI reader for the AWS shared files: `[section]`, `key = value`, `#`/`;` comments.
fn parse_ini(
    text: &str,
) -> std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>> {
    let mut out = std::collections::BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
            out.entry(name.clone())
                .or_insert_with(std::collections::BTreeMap::new);
            current = Some(name);
            continue;
        }
        if let (Some(sec), Some((k, v))) = (&current, line.split_once('=')) {
            out.get_mut(sec)
                .expect("section inserted")
                .insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    out
}

/// blake3 (hex) and size of a file, streamed.
pub async fn hash_file(path: &Path) -> Result<(String, u64), UploadError> {
    let local = |source| UploadError::Local {
        path: path.to_path_buf(),
        source,
    };
    let mut f = tokio::fs::File::open(path).await.map_err(local)?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = f.read(&mut buf).await.map_err(local)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((hasher.finalize().to_hex().to_string(), total))
}

/// Uploads `bundle` to `dest` (key `<prefix>/<file name>`) and verifies it. What it reports,
/// done or failed, has gone through `opts.redactor`; the object's metadata is its blake3, size
/// and content type only, computed here, so nothing from the cluster or the settings is in it.
pub async fn upload_bundle(
    bundle: &Path,
    dest: &S3Url,
    opts: &UploadOptions,
) -> Result<Uploaded, UploadError> {
    let builtin;
    let redactor = match &opts.redactor {
        Some(r) => r.as_ref(),
        None => {
            builtin = Redactor::builtin();
            &builtin
        }
    };
    let store = build_store(&dest.bucket, &opts.store).map_err(|e| e.redacted(redactor))?;
    let endpoint = opts
        .store
        .endpoint
        .clone()
        .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
        .unwrap_or_else(|| "the default AWS endpoint".into());
    match upload_with(&store, bundle, dest, opts, &endpoint).await {
        Ok(up) => Ok(up.redacted(redactor)),
        Err(e) => Err(e.redacted(redactor)),
    }
}

/// [`upload_bundle`] with a store built by the caller (tests, other S3 settings).
pub async fn upload_with(
    store: &dyn ObjectStore,
    bundle: &Path,
    dest: &S3Url,
    opts: &UploadOptions,
    endpoint: &str,
) -> Result<Uploaded, UploadError> {
    let name = bundle
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| UploadError::Local {
            path: bundle.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "no file name"),
        })?;
    let (blake3, bytes) = hash_file(bundle).await?;
    let key = dest.key(name);
    let temp_key = dest.key(&format!("{TEMP_DIR}/{name}.{}.tmp", &blake3[..16]));
    let state = UploadState {
        destination: dest.to_string(),
        key: key.clone(),
        temp_key: temp_key.clone(),
        blake3: blake3.clone(),
        bytes,
    };
    let state_path = state_file(bundle);
    if let Ok(text) = std::fs::read_to_string(&state_path) {
        let earlier: Option<UploadState> = serde_json::from_str(&text).ok();
        if !opts.resume {
            return Err(UploadError::Store {
                step: "start the upload of",
                key: key.clone(),
                detail: format!(
                    "an earlier upload of this bundle did not finish ({} records it)",
                    state_path.display()
                ),
            });
        }
        if let Some(earlier) = earlier {
            if earlier.temp_key != temp_key {
                // The bundle changed since: the old temporary object is garbage.
                tracing::info!(key = %earlier.temp_key, "removing the temporary object of an earlier upload");
                let _ = store.delete(&ObjectPath::from(earlier.temp_key)).await;
            }
        }
    }
    let final_path = ObjectPath::from(key.as_str());
    let temp_path = ObjectPath::from(temp_key.as_str());

    // Already there (a second run, or a --continue after an unconfirmed finish)?
    if matches_remote(store, &final_path, &blake3, bytes, endpoint, &dest.bucket)
        .await?
        .is_some()
    {
        let verified_by_get = bytes <= opts.get_verify_limit;
        if verified_by_get {
            verify_by_get(store, &final_path, &key, &blake3).await?;
        }
        let _ = std::fs::remove_file(&state_path);
        return Ok(Uploaded {
            url: format!("s3://{}/{key}", dest.bucket),
            key,
            bytes,
            blake3,
            parts: 0,
            already_there: true,
            verified_by_get,
        });
    }

    std::fs::write(
        &state_path,
        serde_json::to_vec_pretty(&state).expect("state serializes"),
    )
    .map_err(|source| UploadError::Local {
        path: state_path.clone(),
        source,
    })?;

    let mut parts = 0;
    let temp_done = opts.resume
        && matches_remote(store, &temp_path, &blake3, bytes, endpoint, &dest.bucket)
            .await?
            .is_some();
    if !temp_done {
        parts = send(store, bundle, &temp_path, &blake3, bytes, opts.part_size)
            .await
            .map_err(|e| classify(e, "upload", &temp_key, endpoint, &dest.bucket))?;
    }
    store
        .copy(&temp_path, &final_path)
        .await
        .map_err(|e| classify(e, "copy to the final key", &key, endpoint, &dest.bucket))?;
    let _ = store.delete(&temp_path).await;

    let verified_by_get = bytes <= opts.get_verify_limit;
    verify_final(
        store,
        &final_path,
        &key,
        &blake3,
        bytes,
        verified_by_get,
        endpoint,
        &dest.bucket,
    )
    .await?;
    let _ = std::fs::remove_file(&state_path);
    Ok(Uploaded {
        url: format!("s3://{}/{key}", dest.bucket),
        key,
        bytes,
        blake3,
        parts,
        already_there: false,
        verified_by_get,
    })
}

/// Verifies what readers will see under the final key: size and metadata by HEAD, and the
/// bytes by GET when `by_get`. A mismatching object is deleted, so no reader takes it for good.
#[expect(
    clippy::too_many_arguments,
    reason = "the upload's facts, passed as they are"
)]
async fn verify_final(
    store: &dyn ObjectStore,
    final_path: &ObjectPath,
    key: &str,
    blake3: &str,
    bytes: u64,
    by_get: bool,
    endpoint: &str,
    bucket: &str,
) -> Result<(), UploadError> {
    let head = matches_remote(store, final_path, blake3, bytes, endpoint, bucket).await;
    let check = match head {
        Ok(Some(())) if by_get => verify_by_get(store, final_path, key, blake3).await,
        Ok(Some(())) => Ok(()),
        Ok(None) => Err(UploadError::Mismatch {
            key: key.to_string(),
            detail: "its size or kudo-diag-blake3 metadata differs from the local bundle".into(),
        }),
        Err(e) => Err(e),
    };
    if let Err(e) = check {
        if matches!(e, UploadError::Mismatch { .. }) {
            let _ = store.delete(final_path).await;
        }
        return Err(e);
    }
    Ok(())
}

/// Some(()) when `path` exists with this size and blake3 metadata, None when it is absent or
/// different.
async fn matches_remote(
    store: &dyn ObjectStore,
    path: &ObjectPath,
    blake3: &str,
    bytes: u64,
    endpoint: &str,
    bucket: &str,
) -> Result<Option<()>, UploadError> {
    let head = store
        .get_opts(
            path,
            GetOptions {
                head: true,
                ..Default::default()
            },
        )
        .await;
    match head {
        Ok(r) => {
            let meta = |k: &'static str| {
                r.attributes
                    .get(&Attribute::Metadata(k.into()))
                    .map(|v| v.as_ref().to_string())
            };
            let same = r.meta.size == bytes
                && meta(META_BLAKE3).as_deref() == Some(blake3)
                && meta(META_SIZE).as_deref() == Some(bytes.to_string().as_str());
            Ok(same.then_some(()))
        }
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(classify(e, "look up", path.as_ref(), endpoint, bucket)),
    }
}

async fn verify_by_get(
    store: &dyn ObjectStore,
    path: &ObjectPath,
    key: &str,
    blake3: &str,
) -> Result<(), UploadError> {
    let store_err = |e: object_store::Error| UploadError::Store {
        step: "download for verification",
        key: key.to_string(),
        detail: e.to_string(),
    };
    let got = store.get(path).await.map_err(store_err)?;
    let mut stream = got.into_stream();
    let mut hasher = blake3::Hasher::new();
    while let Some(chunk) = stream.next().await {
        hasher.update(&chunk.map_err(store_err)?);
    }
    let remote = hasher.finalize().to_hex().to_string();
    if remote != blake3 {
        let _ = store.delete(path).await;
        return Err(UploadError::Mismatch {
            key: key.to_string(),
            detail: format!("downloaded blake3 {remote} differs from the bundle's {blake3}"),
        });
    }
    Ok(())
}

fn attributes(blake3: &str, bytes: u64) -> Attributes {
    let mut a = Attributes::new();
    a.insert(
        Attribute::Metadata(META_BLAKE3.into()),
        AttributeValue::from(blake3.to_string()),
    );
    a.insert(
        Attribute::Metadata(META_SIZE.into()),
        AttributeValue::from(bytes.to_string()),
    );
    a.insert(
        Attribute::ContentType,
        AttributeValue::from("application/zip"),
    );
    a
}

/// Sends the file to `path`: one PUT when it fits in a part, else a multipart upload that is
/// aborted if anything fails. Returns the number of parts.
async fn send(
    store: &dyn ObjectStore,
    file: &Path,
    path: &ObjectPath,
    blake3: &str,
    bytes: u64,
    part_size: usize,
) -> Result<usize, object_store::Error> {
    let io = |e: std::io::Error| object_store::Error::Generic {
        store: "local",
        source: Box::new(e),
    };
    let mut f = tokio::fs::File::open(file).await.map_err(io)?;
    if bytes <= part_size as u64 {
        let mut buf = Vec::with_capacity(bytes as usize);
        f.read_to_end(&mut buf).await.map_err(io)?;
        let opts = PutOptions {
            attributes: attributes(blake3, bytes),
            ..Default::default()
        };
        store
            .put_opts(path, PutPayload::from(buf), opts)
            .await
            .map(|_| 1)
    } else {
        let opts = PutMultipartOptions {
            attributes: attributes(blake3, bytes),
            ..Default::default()
        };
        let upload = store.put_multipart_opts(path, opts).await?;
        // Two parts in flight: enough to keep the link busy without buffering the bundle.
        let mut w = WriteMultipart::new_with_chunk_size(upload, part_size);
        let mut buf = vec![0u8; part_size.min(4 << 20)];
        let mut parts = 0usize;
        let mut sent = 0u64;
        loop {
            let n = match f.read(&mut buf).await {
                Ok(n) => n,
                Err(e) => {
                    let _ = w.abort().await;
                    return Err(io(e));
                }
            };
            if n == 0 {
                break;
            }
            if let Err(e) = w.wait_for_capacity(2).await {
                let _ = w.abort().await;
                return Err(e);
            }
            w.write(&buf[..n]);
            sent += n as u64;
            parts = sent.div_ceil(part_size as u64) as usize;
        }
        w.finish().await?;
        Ok(parts)
    }
}

/// Turns a store error into one that says what to do.
fn classify(
    e: object_store::Error,
    step: &'static str,
    key: &str,
    endpoint: &str,
    bucket: &str,
) -> UploadError {
    let text = e.to_string();
    let has = |s: &str| text.contains(s);
    if has("SignatureDoesNotMatch")
        || has("InvalidAccessKeyId")
        || has("InvalidClientTokenId")
        || has("AccessDenied")
        || has("403 Forbidden")
        || matches!(
            e,
            object_store::Error::PermissionDenied { .. }
                | object_store::Error::Unauthenticated { .. }
        )
    {
        let code = [
            "SignatureDoesNotMatch",
            "InvalidAccessKeyId",
            "InvalidClientTokenId",
            "AccessDenied",
        ]
        .into_iter()
        .find(|c| has(c))
        .unwrap_or("403 Forbidden");
        return UploadError::Credentials {
            detail: format!("{code} on {step} {key}"),
        };
    }
    if has("NoSuchBucket") {
        return UploadError::NoBucket {
            bucket: bucket.to_string(),
            endpoint: endpoint.to_string(),
        };
    }
    UploadError::Store {
        step,
        key: key.to_string(),
        detail: text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;

    #[test]
    fn what_an_upload_reports_goes_through_the_redactor() {
        let url = "http://AKIAUSER:Sup3rSecretPw@127.0.0.1:9/";
        let r = Redactor::new(&[], &["planted-literal-4242".to_string()]).unwrap();
        let errors = [
            UploadError::NoBucket {
                bucket: "b".into(),
                endpoint: url.into(),
            },
            UploadError::Store {
                step: "upload",
                key: "k".into(),
                detail: format!("Error performing PUT {url}bucket/k in 3s"),
            },
            UploadError::Config(format!("bad endpoint {url}")),
            UploadError::Credentials {
                detail: "AccessDenied: planted-literal-4242".into(),
            },
        ];
        for e in errors {
            let shown = e.redacted(&r).to_string();
            assert!(!shown.contains("Sup3rSecretPw"), "{shown}");
            assert!(!shown.contains("planted-literal-4242"), "{shown}");
            assert!(shown.contains("REDACTED"), "{shown}");
        }
        let up = Uploaded {
            url: "s3://b/planted-literal-4242.zip".into(),
            key: "planted-literal-4242.zip".into(),
            bytes: 1,
            blake3: "ab".into(),
            parts: 1,
            already_there: false,
            verified_by_get: true,
        }
        .redacted(&r);
        assert!(
            !up.url.contains("planted") && !up.key.contains("planted"),
            "{up:?}"
        );
        // The metadata is computed, never copied from settings or the cluster.
        let a = attributes("ab", 1);
        let keys: Vec<String> = a.iter().map(|(k, _)| format!("{k:?}")).collect();
        assert_eq!(a.len(), 3, "{keys:?}");
    }

    #[test]
    fn s3_urls_parse_and_reject_with_the_fix() {
        let u = S3Url::parse("s3://my-bucket/a/b/").unwrap();
        assert_eq!(u.bucket, "my-bucket");
        assert_eq!(u.prefix, "a/b");
        assert_eq!(u.key("x.zip"), "a/b/x.zip");
        assert_eq!(S3Url::parse("s3://bkt").unwrap().key("x.zip"), "x.zip");
        for bad in ["http://b/x", "s3://", "s3://Bad_Bucket/x", "s3://ok-b/../x"] {
            let e = S3Url::parse(bad).unwrap_err().to_string();
            assert!(e.contains("s3://BUCKET"), "{bad}: {e}");
        }
    }

    #[test]
    fn profiles_are_read_from_config_and_credentials_sections() {
        let s = parse_ini("# c\n[default]\nregion = eu-west-1\n[profile ci]\naws_access_key_id=AK\n  Region = us-east-2\n");
        assert_eq!(s["default"]["region"], "eu-west-1");
        assert_eq!(s["profile ci"]["aws_access_key_id"], "AK");
        assert_eq!(s["profile ci"]["region"], "us-east-2");
    }

    fn bundle(dir: &Path, n: usize) -> PathBuf {
        let p = dir.join("b.zip");
        let data: Vec<u8> = (0..n).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&p, data).unwrap();
        p
    }

    // The in-memory store keeps attributes, so the whole flow (temp key, copy, HEAD, GET) runs
    // without a server; the S3 specifics are covered against moto in tests/integration/ship.rs.
    #[tokio::test]
    async fn multipart_upload_lands_only_under_the_final_key_with_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let b = bundle(dir.path(), 300_000);
        let store = InMemory::new();
        let dest = S3Url::parse("s3://bkt/diag").unwrap();
        let opts = UploadOptions {
            part_size: 100_000,
            ..Default::default()
        };
        let up = upload_with(&store, &b, &dest, &opts, "mem").await.unwrap();
        assert_eq!(up.parts, 3);
        assert_eq!(up.bytes, 300_000);
        assert!(up.verified_by_get);
        let keys: Vec<String> = store
            .list(None)
            .map(|m| m.unwrap().location.to_string())
            .collect()
            .await;
        assert_eq!(keys, vec!["diag/b.zip".to_string()]);
        assert!(!state_file(&b).exists());
        // A second run finds it and sends nothing.
        let again = upload_with(&store, &b, &dest, &opts, "mem").await.unwrap();
        assert!(again.already_there);
        assert_eq!(again.parts, 0);
    }

    #[tokio::test]
    async fn an_unfinished_upload_needs_continue_and_then_completes() {
        let dir = tempfile::tempdir().unwrap();
        let b = bundle(dir.path(), 1000);
        std::fs::write(state_file(&b), "{}").unwrap();
        let store = InMemory::new();
        let dest = S3Url::parse("s3://bkt").unwrap();
        let e = upload_with(&store, &b, &dest, &UploadOptions::default(), "mem")
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("--continue"), "{e}");
        let opts = UploadOptions {
            resume: true,
            ..Default::default()
        };
        let up = upload_with(&store, &b, &dest, &opts, "mem").await.unwrap();
        assert_eq!(up.key, "b.zip");
        assert!(!state_file(&b).exists());
    }
}
