//! `kudo-diag cron manifest`: print the objects that run collection on a schedule inside the
//! cluster (see `crate::ship::cron`). Results on stdout, so `| kubectl apply -f -` works.

use crate::ship::cron::{self, CronSpec};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Print ServiceAccount, read-only RBAC derived from the pipelines, and a CronJob.
    #[command(after_help = "Examples:
  kudo-diag cron manifest --instance cassandra -n prod --pipeline cassandra --schedule \"0 * * * *\" | kubectl apply -f -
  kudo-diag cron manifest --instance kafka -n prod --pipeline kafka --schedule @daily --upload s3://bundles/prod --keep 7 --volume-claim diag-bundles

The Role(s) and ClusterRole grant only get/list on what the pipelines read, get on pods/log,
and create on pods/exec only when a pipeline has exec tasks. With --upload, AWS_* variables
come from the Secret named by --s3-secret (default kudo-diag-s3) in the instance's namespace.")]
    Manifest(ManifestArgs),
}

#[derive(Debug, clap::Args)]
pub struct ManifestArgs {
    /// The KUDO operator instance to collect.
    #[arg(long, value_name = "NAME")]
    pub instance: String,
    /// Cron schedule (five fields, or @hourly, @daily, ...).
    #[arg(long, value_name = "CRON")]
    pub schedule: String,
    /// Built-in pipeline name or pipeline file; repeatable (default: kudo).
    #[arg(long = "pipeline", value_name = "NAME|FILE")]
    pub pipelines: Vec<String>,
    /// Namespace where KUDO's manager runs.
    #[arg(long, value_name = "NS", default_value = "kudo-system")]
    pub kudo_namespace: String,
    /// Container image with the static kudo-diag binary.
    #[arg(long, value_name = "IMAGE", default_value_t = default_image())]
    pub image: String,
    /// Upload each bundle to s3://BUCKET/PREFIX.
    #[arg(long, value_name = "s3://BUCKET/PREFIX")]
    pub upload: Option<String>,
    /// Keep the newest N bundles on the bundles volume.
    #[arg(long, value_name = "N")]
    pub keep: Option<usize>,
    /// PersistentVolumeClaim for the bundles (default: an emptyDir, gone with the pod).
    #[arg(long, value_name = "CLAIM")]
    pub volume_claim: Option<String>,
    /// Secret with the AWS_* variables for --upload.
    #[arg(long, value_name = "SECRET")]
    pub s3_secret: Option<String>,
    /// How late a missed run may still start.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = humantime::parse_duration)]
    pub starting_deadline: std::time::Duration,
    /// Output format: a YAML stream, or one JSON `v1/List` (for tools).
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FORMAT",
        value_enum,
        default_value = "yaml"
    )]
    pub format: Format,
    /// How long one collection may run before it is ended.
    #[arg(long, value_name = "DURATION", default_value = "50m", value_parser = humantime::parse_duration)]
    pub active_deadline: std::time::Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Yaml,
    Json,
}

fn default_image() -> String {
    format!("ghcr.io/kudo-diag/kudo-diag:{}", crate::VERSION)
}

pub fn exec(args: Args, g: &super::Global) -> crate::Result<u8> {
    let Command::Manifest(a) = args.command;
    let format = a.format;
    let namespace = g.namespace.clone().ok_or_else(|| {
        crate::Error::Usage(
            "no namespace given: pass -n NAMESPACE, the namespace of the instance".into(),
        )
    })?;
    if a.keep.is_some() && a.volume_claim.is_none() {
        tracing::warn!("--keep without --volume-claim: the bundles volume is an emptyDir, so each run starts empty; give a claim to keep bundles between runs");
    }
    let spec = CronSpec {
        instance: a.instance,
        namespace,
        kudo_namespace: a.kudo_namespace,
        schedule: a.schedule,
        pipelines: a.pipelines,
        image: a.image,
        upload: a.upload,
        keep: a.keep,
        volume_claim: a.volume_claim,
        s3_secret: a.s3_secret,
        starting_deadline_seconds: a.starting_deadline.as_secs().max(10),
        active_deadline_seconds: a.active_deadline.as_secs().max(60),
    };
    let usage = |e: cron::CronError| crate::Error::Usage(e.to_string());
    match format {
        Format::Yaml => print!("{}", cron::manifest_yaml(&spec).map_err(usage)?),
        Format::Json => {
            let items = cron::manifest_objects(&spec).map_err(usage)?;
            let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
            println!(
                "{}",
                serde_json::to_string_pretty(&list).expect("manifest serializes")
            );
        }
    }
    Ok(crate::exit::OK)
}
