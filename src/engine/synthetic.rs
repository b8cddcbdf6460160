//! Synthetic task kinds: real kinds that need no cluster, for testing the engine, benchmarks and
//! demos. Register them with [`register`].
//!
//! | kind               | params                                   | does |
//! |--------------------|------------------------------------------|------|
//! | `synthetic.write`  | `bytes` (required), `seed`               | writes `bytes` deterministic log-like bytes to the task's `output` |
//! | `synthetic.items`  | `count` (required), `children`, `itemBytes` | returns `count` items `{name: "item-N"}` (with `children` elements `{name: "child-M"}` each, for nested fan-out; at most `MAX_SYNTHETIC_ITEMS` in all; padded to about `itemBytes`, at most 1 MiB); writes them as JSON to `output` if given |
//! | `synthetic.fail`   | `message`, `transient`, `times`, `retryAfterMs` | fails; `transient: true` marks the error retryable (a transport error, or with `retryAfterMs` a 429 that asks to wait that long); `times: N` fails only the first N attempts, then succeeds |
//! | `synthetic.sleep`  | `ms` (required), `stopMs`                | sleeps (honouring cancellation); writes one line to `output` if given; with `stopMs`, an attempt stopped early (Ctrl-C, timeout) blocks its thread that long while it stops |
//!
//! The same params always give the same bytes, so an interrupted and resumed collection can be
//! compared with an uninterrupted one hash for hash.

use std::time::Duration;

use serde_json::{json, Value};

use super::task::{ErrorKind, ParamSpec, Registry, TaskContext, TaskError, TaskKind, TaskOutput};

/// The most bytes `itemBytes` pads a synthetic item to (a large Kubernetes object is under 1 MiB).
const MAX_ITEM_BYTES: u64 = 1 << 20;

/// The most items (times children) `synthetic.items` produces: a fan-out of 10^8 would
/// otherwise try to allocate gigabytes before the first node runs.
pub const MAX_SYNTHETIC_ITEMS: u64 = 1_000_000;

/// Adds every synthetic kind to `registry`.
pub fn register(registry: &mut Registry) {
    registry
        .register(WriteKind)
        .register(ItemsKind)
        .register(FailKind)
        .register(SleepKind);
}

fn u64_param(ctx: &TaskContext, name: &str) -> Result<Option<u64>, TaskError> {
    match ctx.params.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            .map(Some)
            .ok_or_else(|| {
                TaskError::failed(format!(
                    "parameter `{name}` of task {} must be a non-negative integer, got {v}",
                    ctx.task
                ))
            }),
    }
}

fn bool_param(ctx: &TaskContext, name: &str) -> bool {
    match ctx.params.get(name) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    }
}

fn required_output(ctx: &TaskContext) -> Result<&str, TaskError> {
    ctx.output.as_deref().ok_or_else(|| {
        TaskError::failed(format!(
            "task {} has no `output`: give it the bundle path to write to",
            ctx.task
        ))
    })
}

fn sink_err(e: impl std::fmt::Display) -> TaskError {
    TaskError::failed(format!("cannot write the artifact: {e}"))
}

/// A small, fast, seedable generator (splitmix64): deterministic across platforms and versions,
/// unlike `rand`'s generators whose streams may change between releases.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

const LEVELS: [&str; 4] = ["INFO", "INFO", "WARN", "DEBUG"];
const COMPONENTS: [&str; 5] = ["gossip", "compaction", "storage", "client", "repair"];
const WORDS: [&str; 8] = [
    "flushed",
    "memtable",
    "segment",
    "peer",
    "handshake",
    "completed",
    "queued",
    "latency",
];

/// Writes exactly `len` bytes of log-like text derived from `seed`.
pub fn log_like(seed: u64, len: u64, out: &mut impl std::io::Write) -> std::io::Result<()> {
    let mut rng = SplitMix(seed);
    let mut remaining = len;
    let mut line = String::with_capacity(160);
    let mut seq: u64 = 0;
    while remaining > 0 {
        line.clear();
        let r = rng.next();
        let ms = seq * 37 + (r % 37);
        line.push_str(&format!(
            "2026-01-01T{:02}:{:02}:{:02}.{:03}Z {:5} [{}] seq={} ",
            (ms / 3_600_000) % 24,
            (ms / 60_000) % 60,
            (ms / 1000) % 60,
            ms % 1000,
            LEVELS[(r >> 8) as usize % LEVELS.len()],
            COMPONENTS[(r >> 16) as usize % COMPONENTS.len()],
            seq
        ));
        for k in 0..(3 + (r >> 24) % 6) {
            line.push_str(WORDS[((r >> (28 + k)) as usize) % WORDS.len()]);
            line.push(' ');
        }
        line.push_str(&format!("value={}\n", r % 100_000));
        let take = (line.len() as u64).min(remaining) as usize;
        out.write_all(&line.as_bytes()[..take])?;
        remaining -= take as u64;
        seq += 1;
    }
    Ok(())
}

/// `synthetic.write`
pub struct WriteKind;

#[async_trait::async_trait]
impl TaskKind for WriteKind {
    fn name(&self) -> &'static str {
        "synthetic.write"
    }
    // Its file I/O runs on the blocking pool; the rest is a few map lookups.
    fn inline(&self) -> bool {
        true
    }
    fn description(&self) -> &'static str {
        "writes `bytes` deterministic log-like bytes from `seed` to the task's output (no cluster)"
    }
    fn params(&self) -> &'static [ParamSpec] {
        const P: &[ParamSpec] = &[
            ParamSpec::required("bytes", "how many bytes to write"),
            ParamSpec::optional("seed", "seed of the generated text (default 0)"),
        ];
        P
    }
    async fn run(&self, ctx: &TaskContext) -> Result<TaskOutput, TaskError> {
        let path = required_output(ctx)?.to_string();
        let bytes = u64_param(ctx, "bytes")?.ok_or_else(|| {
            TaskError::failed(format!("task {} needs the `bytes` parameter", ctx.task))
        })?;
        let seed = u64_param(ctx, "seed")?.unwrap_or(0);
        let sink = ctx.sink.clone();
        // File I/O blocks: keep it off the async workers.
        tokio::task::spawn_blocking(move || {
            let mut w = sink.create(&path).map_err(sink_err)?;
            log_like(seed, bytes, &mut w).map_err(sink_err)?;
            w.finish().map_err(sink_err)?;
            Ok(TaskOutput::default())
        })
        .await
        .map_err(|e| TaskError::failed(format!("the writer stopped: {e}")))?
    }
}

/// `synthetic.items`
pub struct ItemsKind;

#[async_trait::async_trait]
impl TaskKind for ItemsKind {
    fn name(&self) -> &'static str {
        "synthetic.items"
    }
    fn description(&self) -> &'static str {
        "returns `count` items {name: item-N} to fan out over, optionally with `children` each"
    }
    fn params(&self) -> &'static [ParamSpec] {
        const P: &[ParamSpec] = &[
            ParamSpec::required("count", "how many items"),
            ParamSpec::optional(
                "children",
                "elements {name: child-M} in each item's `children` array",
            ),
            ParamSpec::optional(
                "itemBytes",
                "pad each item with a `pad` string to about this many bytes, like large objects",
            ),
        ];
        P
    }
    async fn run(&self, ctx: &TaskContext) -> Result<TaskOutput, TaskError> {
        let count = u64_param(ctx, "count")?.ok_or_else(|| {
            TaskError::failed(format!("task {} needs the `count` parameter", ctx.task))
        })?;
        let children = u64_param(ctx, "children")?;
        let nodes = count.saturating_mul(children.unwrap_or(1).max(1));
        if nodes > MAX_SYNTHETIC_ITEMS {
            return Err(TaskError::invalid(format!(
                "task {}: `count` {count}{} asks for {nodes} items, more than the {MAX_SYNTHETIC_ITEMS} a synthetic fan-out may produce; lower `count`",
                ctx.task,
                children.map_or(String::new(), |c| format!(" x `children` {c}"))
            )));
        }
        let item_bytes = u64_param(ctx, "itemBytes")?;
        if let Some(b) = item_bytes.filter(|&b| b > MAX_ITEM_BYTES) {
            return Err(TaskError::invalid(format!(
                "task {}: `itemBytes` {b} is more than the {MAX_ITEM_BYTES} bytes a synthetic item may have; lower it",
                ctx.task
            )));
        }
        let pad = item_bytes.map(|b| "x".repeat((b as usize).saturating_sub(40)));
        // Each item is kept as text as soon as it is made (`Items::push`), and goes to a file
        // once they are many, like a list's.
        let mut items = ctx.items();
        for i in 0..count {
            let mut item = json!({"name": format!("item-{i}"), "index": i});
            if let Some(c) = children {
                item["children"] = (0..c)
                    .map(|j| json!({"name": format!("child-{j}")}))
                    .collect();
            }
            if let Some(pad) = &pad {
                item["pad"] = Value::String(pad.clone());
            }
            items.push(&item);
        }
        if let Some(path) = &ctx.output {
            // Items on file are read back to be written: that read can fail.
            let body = serde_json::to_vec_pretty(&items)
                .map_err(|e| TaskError::failed(format!("cannot write the items: {e}")))?;
            let sink = ctx.sink.clone();
            let path = path.clone();
            tokio::task::spawn_blocking(move || sink.put(&path, &body).map_err(sink_err))
                .await
                .map_err(|e| TaskError::failed(format!("the writer stopped: {e}")))??;
        }
        Ok(TaskOutput { items })
    }
}

/// `synthetic.fail`
pub struct FailKind;

#[async_trait::async_trait]
impl TaskKind for FailKind {
    fn name(&self) -> &'static str {
        "synthetic.fail"
    }
    fn description(&self) -> &'static str {
        "fails (transiently with `transient: true`; only the first `times` attempts with `times`)"
    }
    fn params(&self) -> &'static [ParamSpec] {
        const P: &[ParamSpec] = &[
            ParamSpec::optional("message", "the error message"),
            ParamSpec::optional("transient", "mark the error as worth retrying"),
            ParamSpec::optional("times", "fail only the first N attempts, then succeed"),
            ParamSpec::optional("retryAfterMs", "ask to be retried after this many ms"),
        ];
        P
    }
    async fn run(&self, ctx: &TaskContext) -> Result<TaskOutput, TaskError> {
        if let Some(times) = u64_param(ctx, "times")? {
            if u64::from(ctx.attempt) > times {
                if let Some(path) = &ctx.output {
                    let line = format!("succeeded at attempt {}\n", ctx.attempt);
                    ctx.sink.put(path, line.as_bytes()).map_err(sink_err)?;
                }
                return Ok(TaskOutput::default());
            }
        }
        let message = ctx
            .params
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("synthetic failure")
            .to_string();
        // A retryable failure stands for a dropped connection, or for a throttling API server
        // when it asks to come back later.
        let retry_after = u64_param(ctx, "retryAfterMs")?.map(Duration::from_millis);
        let kind = match (bool_param(ctx, "transient"), retry_after) {
            (false, _) => ErrorKind::Failed,
            (true, None) => ErrorKind::Transport,
            (true, Some(d)) => ErrorKind::api(429, "TooManyRequests", Some(d)),
        };
        Err(TaskError::new(kind, message))
    }
}

/// `synthetic.sleep`
pub struct SleepKind;

#[async_trait::async_trait]
impl TaskKind for SleepKind {
    fn name(&self) -> &'static str {
        "synthetic.sleep"
    }
    // Its file I/O runs on the blocking pool; the rest is a few map lookups.
    fn inline(&self) -> bool {
        true
    }
    fn description(&self) -> &'static str {
        "sleeps `ms` milliseconds (0 makes a no-op task); writes one line to its output if given"
    }
    fn params(&self) -> &'static [ParamSpec] {
        const P: &[ParamSpec] = &[
            ParamSpec::required("ms", "how long to sleep"),
            ParamSpec::optional(
                "stopMs",
                "when stopped early, block this long while stopping (a task stuck in a system call)",
            ),
        ];
        P
    }
    async fn run(&self, ctx: &TaskContext) -> Result<TaskOutput, TaskError> {
        let ms = u64_param(ctx, "ms")?.unwrap_or(0);
        // Armed until the sleep ends; an attempt dropped before that (aborted on Ctrl-C, timed
        // out) runs its Drop, which blocks like a task that cannot be stopped at once. This is
        // what a second Ctrl-C is for, and how the tests make a shutdown slow.
        let mut slow_stop = u64_param(ctx, "stopMs")?.map(|ms| SlowStop {
            block: Duration::from_millis(ms),
            armed: true,
        });
        if ms > 0 {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(ms)) => {}
                _ = ctx.cancel.cancelled() => return Err(TaskError::cancelled("cancelled")),
            }
        }
        if let Some(s) = slow_stop.as_mut() {
            s.armed = false;
        }
        if let Some(path) = &ctx.output {
            let line = format!("{} slept {ms} ms\n", ctx.node);
            let sink = ctx.sink.clone();
            let path = path.clone();
            tokio::task::spawn_blocking(move || sink.put(&path, line.as_bytes()).map_err(sink_err))
                .await
                .map_err(|e| TaskError::failed(format!("the writer stopped: {e}")))??;
        }
        Ok(TaskOutput::default())
    }
}

/// Blocks its thread for `block` when dropped while armed (see `stopMs`); disarmed when the
/// sleep ends normally.
struct SlowStop {
    block: Duration,
    armed: bool,
}

impl Drop for SlowStop {
    fn drop(&mut self) {
        if self.armed {
            std::thread::sleep(self.block);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_like_is_deterministic_and_exactly_sized() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        log_like(7, 10_000, &mut a).unwrap();
        log_like(7, 10_000, &mut b).unwrap();
        assert_eq!(a.len(), 10_000);
        assert_eq!(a, b);
        let mut c = Vec::new();
        log_like(8, 10_000, &mut c).unwrap();
        assert_ne!(a, c);
        let text = String::from_utf8(a).unwrap();
        assert!(text.starts_with("2026-01-01T00:00:00."), "{}", &text[..60]);
        assert!(text.lines().count() > 50);
    }
}
