//! `kudo-diag bundle upload FILE s3://BUCKET/PREFIX` and the object-store flags that
//! `run --upload` shares. The work is `crate::ship::upload`; this file only turns flags into
//! `UploadOptions` and prints the result (text or JSON on stdout, logs on stderr).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::bundle::redact::Redactor;

use crate::ship::upload::{self, S3Url, StoreSettings, UploadOptions, Uploaded};

/// How to reach the object store. Unset values come from the AWS environment variables
/// (AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)
/// and then from the shared profile files (AWS_PROFILE, ~/.aws/credentials, ~/.aws/config).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct StoreFlags {
    /// S3-compatible endpoint, e.g. https://minio.example:9000 (default: AWS).
    #[arg(long = "s3-endpoint", value_name = "URL")]
    pub endpoint: Option<String>,
    /// Region of the bucket (default: AWS_REGION, the profile's, else us-east-1).
    #[arg(long = "s3-region", value_name = "REGION")]
    pub region: Option<String>,
    /// Address buckets as ENDPOINT/BUCKET (most S3-compatible stores; the default).
    #[arg(long = "s3-path-style", conflicts_with = "virtual_hosted")]
    pub path_style: bool,
    /// Address buckets as BUCKET.ENDPOINT (AWS's preferred style).
    #[arg(long = "s3-virtual-hosted-style")]
    pub virtual_hosted: bool,
    /// Profile of the AWS shared files to read (default: AWS_PROFILE, else `default`).
    #[arg(long = "s3-profile", value_name = "NAME")]
    pub profile: Option<String>,
    /// Access key id (prefer AWS_ACCESS_KEY_ID: a flag shows in the process list).
    #[arg(long = "s3-access-key-id", value_name = "ID")]
    pub access_key_id: Option<String>,
    /// Secret access key (prefer AWS_SECRET_ACCESS_KEY: a flag shows in the process list).
    #[arg(
        long = "s3-secret-access-key",
        value_name = "KEY",
        hide_env_values = true
    )]
    pub secret_access_key: Option<String>,
    /// Size of multipart parts (k = 1000, Ki = 1024); bundles up to one part go up in one request
    /// (min 5MiB).
    #[arg(long = "s3-part-size", value_name = "SIZE", default_value = "8MiB", value_parser = parse_part_size)]
    pub part_size: u64,
}

fn parse_part_size(s: &str) -> Result<u64, String> {
    let v = crate::size::parse_size(s)?;
    if v < 5 << 20 {
        return Err(format!(
            "{s:?} is below S3's 5MiB minimum part size: use at least 5MiB, e.g. 8MiB"
        ));
    }
    Ok(v)
}

impl StoreFlags {
    /// The upload options these flags describe.
    pub fn options(&self, resume: bool) -> UploadOptions {
        UploadOptions {
            store: StoreSettings {
                endpoint: self.endpoint.clone(),
                region: self.region.clone(),
                path_style: match (self.path_style, self.virtual_hosted) {
                    (true, _) => Some(true),
                    (_, true) => Some(false),
                    _ => None,
                },
                access_key_id: self.access_key_id.clone(),
                secret_access_key: self.secret_access_key.clone(),
                session_token: None,
                profile: self.profile.clone(),
            },
            part_size: usize::try_from(self.part_size).unwrap_or(usize::MAX),
            resume,
            ..UploadOptions::default()
        }
    }
}

/// `bundle upload` arguments.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  kudo-diag bundle upload cassandra.zip s3://support-bundles/prod
  AWS_ENDPOINT_URL=http://127.0.0.1:9000 kudo-diag bundle upload b.zip s3://bundles --s3-path-style
  kudo-diag bundle upload b.zip s3://bundles/prod --continue     retry an interrupted upload

The object is written to a temporary key and copied to PREFIX/FILE when complete, with its
blake3 and size as metadata (x-amz-meta-kudo-diag-blake3, -size), then checked.")]
pub struct Args {
    /// The bundle (.zip).
    pub file: PathBuf,
    /// Destination: s3://BUCKET or s3://BUCKET/PREFIX.
    pub destination: String,
    /// Resume an upload that was interrupted.
    #[arg(long = "continue")]
    pub resume: bool,
    #[command(flatten)]
    pub store: StoreFlags,
    /// Output format.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub format: super::bundle::Format,
}

pub async fn exec(args: Args) -> crate::Result<u8> {
    let dest = S3Url::parse(&args.destination).map_err(|e| crate::Error::Usage(e.to_string()))?;
    let up = run_upload(&args.file, &dest, &args.store, args.resume, None).await?;
    print_uploaded(&up, args.format);
    Ok(crate::exit::OK)
}

/// Uploads `file`, logging on stderr; the error says what to do. What it prints goes through
/// `redactor` (a collection's, after `run`), else the built-in redaction rules.
pub async fn run_upload(
    file: &Path,
    dest: &S3Url,
    flags: &StoreFlags,
    resume: bool,
    redactor: Option<Arc<Redactor>>,
) -> crate::Result<Uploaded> {
    tracing::info!(file = %file.display(), %dest, "uploading");
    let opts = UploadOptions {
        redactor,
        ..flags.options(resume)
    };
    Ok(upload::upload_bundle(file, dest, &opts).await?)
}

pub fn print_uploaded(up: &Uploaded, format: super::bundle::Format) {
    match format {
        super::bundle::Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(up).expect("result serializes")
        ),
        super::bundle::Format::Text => {
            let how = if up.already_there {
                "already there, unchanged".to_string()
            } else {
                format!("{} part(s)", up.parts)
            };
            println!(
                "uploaded {} ({} bytes, blake3 {}, {how}; verified{})",
                up.url,
                up.bytes,
                up.blake3,
                if up.verified_by_get {
                    " by download"
                } else {
                    " by size and metadata"
                }
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_part_size as parse_size;

    #[test]
    fn part_sizes_parse_with_units_and_respect_the_s3_minimum() {
        assert_eq!(parse_size("8MiB").unwrap(), 8 << 20);
        assert_eq!(parse_size("1GiB").unwrap(), 1 << 30);
        assert!(parse_size("1MiB").unwrap_err().contains("5MiB"));
        assert!(parse_size("lots").unwrap_err().contains("64MiB"));
        assert!(parse_size("17179869184GiB")
            .unwrap_err()
            .contains("too large"));
    }
}
