//! The HTML report: one self-contained file (inline CSS and SVG, no scripts, no external
//! resources) with the header, a timeline picture of events, container restarts and plan
//! updates, and the findings with their evidence: root causes first, each with its computed
//! fix and its consequences folded beneath it.

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::{DateTime, Utc};

use crate::analyze::context::parse_time;
use crate::analyze::model::{Finding, Report, Severity, TimelineItem, EMBED_FILE_BYTES};

/// Escapes text for HTML and SVG.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn color(s: Severity) -> &'static str {
    match s {
        Severity::Error => "#c62828",
        Severity::Warning => "#ef8f00",
        Severity::Info => "#1e6fd9",
    }
}

const CSS: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1b1f23;background:#fff}
h1{font-size:22px;margin:0 0 8px}h2{font-size:18px;margin:28px 0 8px}
table.hdr td{padding:2px 12px 2px 0;vertical-align:top}table.hdr td:first-child{color:#586069}
.counts span{display:inline-block;padding:4px 10px;border-radius:12px;color:#fff;margin-right:6px;font-weight:600}
.f{border-left:6px solid #999;background:#f6f8fa;padding:10px 14px;margin:12px 0;border-radius:4px}
.f h3{margin:0 0 6px;font-size:16px}.sev{font-weight:700;margin-right:8px}.rule{color:#586069;font-size:12px;margin-left:6px}
.f p{margin:4px 0}.k{color:#586069;display:inline-block;width:80px}
pre{background:#fff;border:1px solid #e1e4e8;padding:6px 8px;overflow-x:auto;font-size:12px;margin:4px 0}
.ln{color:#959da5;user-select:none}.legend span{margin-right:14px;font-size:12px}
svg text{font-family:system-ui,sans-serif}
section.file pre{max-height:420px}section.file span:target{background:#fff3b0}a.ln{text-decoration:none}
details.cons{margin:8px 0 0}details.cons summary{cursor:pointer;color:#586069}h3.first{font-size:16px;margin:16px 0 4px}";

/// Renders the report as one self-contained HTML page.
pub fn render_html(r: &Report) -> String {
    let h = &r.header;
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>kudo-diag: {} in {}</title><style>{CSS}</style></head><body>\n",
        esc(&h.instance),
        esc(&h.namespace)
    );
    let _ = writeln!(o, "<h1>{}</h1>", esc(&h.title()));
    let c = &h.completeness;
    let rows = [
        ("operator", format!("{} {}", h.operator, h.operator_version)),
        ("application", format!("{} {}", h.app_name, h.app_version)),
        ("KUDO", h.kudo_version.clone()),
        ("Kubernetes", h.kubernetes_version.clone()),
        (
            "collected",
            format!(
                "{} to {} by {} {}",
                h.collected_started,
                h.collected_finished,
                h.collector_name(),
                h.collector_version
            ),
        ),
        (
            "collection",
            format!(
                "{}: {} files; {} required and {} optional tasks failed, {} skipped",
                c.status, c.files, c.failed_required, c.failed_optional, c.skipped
            ),
        ),
        ("bundle", h.bundle.clone()),
    ];
    o.push_str("<table class=\"hdr\">");
    for (k, v) in rows {
        let _ = write!(o, "<tr><td>{}</td><td>{}</td></tr>", esc(k), esc(&v));
    }
    o.push_str("</table>\n<p class=\"counts\">");
    for (sev, n) in [
        (Severity::Error, r.counts.error),
        (Severity::Warning, r.counts.warning),
        (Severity::Info, r.counts.info),
    ] {
        let _ = write!(
            o,
            "<span style=\"background:{}\">{n} {}</span>",
            color(sev),
            sev.as_str()
        );
    }
    o.push_str("</p>\n");
    for n in &r.rules_not_run {
        let _ = writeln!(
            o,
            "<p class=\"notrun\">Not run: {}: {}</p>",
            esc(&n.rules.join(", ")),
            esc(&n.why)
        );
    }
    o.push_str("<h2>Timeline</h2>\n");
    o.push_str(&timeline_svg(&r.timeline));
    o.push_str("\n<h2>Findings</h2>\n");
    findings_html(&mut o, r);
    files_html(&mut o, r);
    o.push_str("</body></html>\n");
    o
}

/// The root causes first ("fix this first"), each with its consequences folded beneath it in
/// a `<details>` element (no script needed), then findings no root reaches.
fn findings_html(o: &mut String, r: &Report) {
    if r.findings.is_empty() {
        let _ = writeln!(
            o,
            "<p>Nothing wrong found by {} rules.</p>",
            r.rules_run.len()
        );
        return;
    }
    let folded = r.folded();
    if !r.root_causes.is_empty() {
        let _ = writeln!(
            o,
            "<h3 class=\"first\">Fix this first: {} root cause{}</h3>",
            r.root_causes.len(),
            if r.root_causes.len() == 1 { "" } else { "s" }
        );
    }
    let mut i = 0;
    while i < folded.len() {
        let (_, root) = folded[i];
        let end = folded[i + 1..]
            .iter()
            .position(|(d, _)| *d == 0)
            .map_or(folded.len(), |p| i + 1 + p);
        finding_html(o, r, root, true);
        if end > i + 1 {
            let _ = write!(
                o,
                "<details class=\"cons\"><summary>{} finding{} follow{} from it</summary>",
                end - i - 1,
                if end - i - 1 == 1 { "" } else { "s" },
                if end - i - 1 == 1 { "s" } else { "" }
            );
            for (d, f) in &folded[i + 1..end] {
                let _ = write!(o, "<div style=\"margin-left:{}px\">", (d - 1) * 18);
                finding_html(o, r, f, false);
                o.push_str("</div>");
            }
            o.push_str("</details>");
        }
        o.push_str("</div>\n");
        i = end;
    }
    for f in r
        .findings
        .iter()
        .filter(|f| !folded.iter().any(|(_, g)| g.id == f.id))
    {
        finding_html(o, r, f, true);
        o.push_str("</div>\n");
    }
}

/// One finding's block, left open (the caller closes it after its consequences).
fn finding_html(o: &mut String, r: &Report, f: &Finding, root: bool) {
    let _ = write!(
        o,
        "<div class=\"f\" id=\"{}\" style=\"border-left-color:{}\"><h3>{}<span class=\"sev\" style=\"color:{}\">{}</span>{}<span class=\"rule\">{}</span></h3>",
        esc(&f.id),
        color(f.severity),
        if root { "" } else { "&#8627; " },
        color(f.severity),
        f.severity.as_str().to_uppercase(),
        esc(&f.title),
        esc(&f.rule)
    );
    let _ = write!(
        o,
        "<p><span class=\"k\">object</span>{}</p><p><span class=\"k\">why</span>{}</p><p><span class=\"k\">next</span>{}</p>",
        esc(&f.subject()),
        esc(&f.explanation),
        esc(&f.next_step)
    );
    if let Some(fix) = &f.fix {
        let _ = write!(
            o,
            "<p><span class=\"k\">fix</span><code>{}</code></p><table class=\"hdr\">",
            esc(&fix.command)
        );
        for c in &fix.parameters {
            let _ = write!(
                o,
                "<tr><td><code>{}</code></td><td>{} &rarr; <b>{}</b></td><td>{}</td></tr>",
                esc(&c.name),
                esc(if c.from.is_empty() {
                    "(unset)"
                } else {
                    &c.from
                }),
                esc(&c.to),
                esc(&c.description)
            );
        }
        let _ = write!(
            o,
            "</table><p><span class=\"k\">checked</span>{}</p>",
            esc(&fix.verified)
        );
    }
    for e in &f.evidence {
        let note = e
            .note
            .as_deref()
            .map(|n| format!(" — {}", esc(n)))
            .unwrap_or_default();
        let anchor = file_anchor(r, &e.path);
        let path = match &anchor {
            Some(a) => format!("<a href=\"#{a}\"><code>{}</code></a>", esc(&e.path)),
            None => format!("<code>{}</code>", esc(&e.path)),
        };
        let _ = write!(o, "<p><span class=\"k\">evidence</span>{path}{note}</p>");
        if !e.lines.is_empty() {
            o.push_str("<pre>");
            for l in &e.lines {
                let num = match &anchor {
                    Some(a) => format!(
                        "<a class=\"ln\" href=\"#{a}-L{}\">{:>6}</a> ",
                        l.line, l.line
                    ),
                    None => format!("<span class=\"ln\">{:>6} </span>", l.line),
                };
                let _ = writeln!(o, "{num}{}", esc(&l.text));
            }
            o.push_str("</pre>");
        }
    }
}

/// A lane's label: names longer than 42 characters keep their start and their end (where
/// names of one workload's objects differ: `...-node-0`, `...-node-1`), cut in the middle.
pub fn lane_label(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    if chars.len() <= 42 {
        return name.to_string();
    }
    let head: String = chars[..18].iter().collect();
    let tail: String = chars[chars.len() - 23..].iter().collect();
    format!("{head}…{tail}")
}

/// An evidence file's anchor in the page.
fn file_anchor(r: &Report, path: &str) -> Option<String> {
    r.files
        .keys()
        .position(|p| p == path)
        .map(|i| format!("file-{i}"))
}

/// Every evidence file, whole (or its first `EMBED_FILE_BYTES`), with an anchor per line.
fn files_html(o: &mut String, r: &Report) {
    if r.files.is_empty() {
        return;
    }
    o.push_str("<h2>Evidence files</h2>\n");
    for (i, (path, text)) in r.files.iter().enumerate() {
        let _ = write!(
            o,
            "<section class=\"file\" id=\"file-{i}\"><h3><code>{}</code></h3><pre>",
            esc(path)
        );
        for (n, l) in text.lines().enumerate() {
            let _ = writeln!(
                o,
                "<span id=\"file-{i}-L{}\"><span class=\"ln\">{:>6} </span>{}</span>",
                n + 1,
                n + 1,
                esc(l)
            );
        }
        o.push_str("</pre>");
        if text.len() >= EMBED_FILE_BYTES - 4096 {
            let _ = write!(
                o,
                "<p>The first {} KiB are shown; the whole file is <code>{}</code> in the bundle.</p>",
                EMBED_FILE_BYTES >> 10,
                esc(path)
            );
        }
        o.push_str("</section>\n");
    }
}

/// A timeline item with its parsed start and end.
type Timed<'a> = (&'a TimelineItem, DateTime<Utc>, Option<DateTime<Utc>>);

/// Most lanes drawn; the rest are summarized in a caption.
const MAX_LANES: usize = 40;

/// The timeline as inline SVG: one lane per object, points and spans coloured by severity,
/// each with a tooltip (`<title>`).
pub fn timeline_svg(items: &[TimelineItem]) -> String {
    let parsed: Vec<Timed> = items
        .iter()
        .filter_map(|i| {
            Some((
                i,
                parse_time(&i.start)?,
                i.end.as_deref().and_then(parse_time),
            ))
        })
        .collect();
    if parsed.is_empty() {
        return "<p>No timed events in the bundle.</p>".to_string();
    }
    let t0 = parsed.iter().map(|p| p.1).min().expect("not empty");
    let t1 = parsed
        .iter()
        .map(|p| p.2.unwrap_or(p.1).max(p.1))
        .max()
        .expect("not empty");
    let span = (t1 - t0).num_seconds().max(60) as f64;
    let (lanes, hidden) = lane_order(&parsed);
    let (left, right, top, lane_h) = (300.0, 30.0, 30.0, 22.0);
    let width = 1200.0;
    let plot = width - left - right;
    let height = top + lanes.len() as f64 * lane_h + 30.0;
    let x = |t: DateTime<Utc>| left + ((t - t0).num_seconds() as f64 / span) * plot;
    let mut o = String::new();
    let _ = write!(
        o,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100%\" style=\"max-width:{width}px\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"timeline\">"
    );
    let _ = write!(
        o,
        "<rect x=\"0\" y=\"0\" width=\"{width}\" height=\"{height}\" fill=\"#ffffff\"/>"
    );
    for (name, idx) in &lanes {
        let y = top + *idx as f64 * lane_h;
        let fill = if idx % 2 == 0 { "#f6f8fa" } else { "#ffffff" };
        let _ = write!(
            o,
            "<rect x=\"0\" y=\"{y}\" width=\"{width}\" height=\"{lane_h}\" fill=\"{fill}\"/>"
        );
        let short = name
            .replace("PersistentVolumeClaim ", "PVC ")
            .replace("PodDisruptionBudget ", "PDB ");
        let _ = write!(
            o,
            "<text x=\"6\" y=\"{}\" font-size=\"12\" fill=\"#24292e\"><title>{}</title>{}</text>",
            y + 15.0,
            esc(name),
            esc(&lane_label(&short))
        );
    }
    // Five time ticks.
    for k in 0..=4 {
        let t = t0 + chrono::Duration::seconds((span * k as f64 / 4.0) as i64);
        let xx = x(t);
        let _ = write!(
            o,
            "<line x1=\"{xx}\" y1=\"{}\" x2=\"{xx}\" y2=\"{}\" stroke=\"#d1d5da\"/>",
            top - 4.0,
            height - 24.0
        );
        let anchor = match k {
            0 => "start",
            4 => "end",
            _ => "middle",
        };
        let _ = write!(
            o,
            "<text x=\"{xx}\" y=\"{}\" font-size=\"11\" fill=\"#586069\" text-anchor=\"{anchor}\">{}</text>",
            top - 10.0,
            t.format("%m-%d %H:%M")
        );
    }
    draw_marks(&mut o, &parsed, &lanes, &x, (top, lane_h));
    let _ = write!(
        o,
        "<text x=\"{left}\" y=\"{}\" font-size=\"11\" fill=\"#586069\">{} to {} (UTC){}</text>",
        height - 8.0,
        t0.format("%Y-%m-%d %H:%M:%S"),
        t1.format("%Y-%m-%d %H:%M:%S"),
        if hidden > 0 {
            format!("; {hidden} more objects not drawn")
        } else {
            String::new()
        }
    );
    o.push_str("</svg>\n<p class=\"legend\"><span style=\"color:#c62828\">● error / restart</span><span style=\"color:#ef8f00\">● warning event</span><span style=\"color:#1e6fd9\">● normal event, container start</span><span>◆ plan update</span><span>▬ span from first to last occurrence</span></p>");
    o
}

/// Lane of each object drawn (those with errors and warnings first, then by name, at most
/// [`MAX_LANES`]), and how many objects were left out.
fn lane_order<'a>(parsed: &[Timed<'a>]) -> (BTreeMap<&'a str, usize>, usize) {
    let mut names: Vec<(&str, Severity)> = Vec::new();
    for (i, _, _) in parsed {
        match names.iter_mut().find(|(n, _)| *n == i.lane) {
            Some(e) => e.1 = e.1.max(i.severity),
            None => names.push((&i.lane, i.severity)),
        }
    }
    names.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let hidden = names.len().saturating_sub(MAX_LANES);
    let lanes = names
        .iter()
        .take(MAX_LANES)
        .enumerate()
        .map(|(idx, (n, _))| (*n, idx))
        .collect();
    (lanes, hidden)
}

/// Each item on its lane: a span from its start to its end, a diamond for a plan update, a dot
/// for the rest, with its tooltip.
fn draw_marks(
    o: &mut String,
    parsed: &[Timed],
    lanes: &BTreeMap<&str, usize>,
    x: &dyn Fn(DateTime<Utc>) -> f64,
    (top, lane_h): (f64, f64),
) {
    for (i, s, e) in parsed {
        let Some(idx) = lanes.get(i.lane.as_str()) else {
            continue;
        };
        let y = top + *idx as f64 * lane_h + lane_h / 2.0;
        let c = color(i.severity);
        let tip = esc(&format!("{} {}: {}", i.start, i.kind, i.label));
        match e {
            Some(e) if *e > *s => {
                let (x0, x1) = (x(*s), x(*e).max(x(*s) + 3.0));
                let _ = write!(o, "<rect x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"8\" rx=\"3\" fill=\"{c}\" fill-opacity=\"0.55\"><title>{tip}</title></rect>", y - 4.0, x1 - x0);
            }
            _ => {
                let shape = if i.kind == "plan" {
                    format!("<rect x=\"{:.1}\" y=\"{:.1}\" width=\"10\" height=\"10\" transform=\"rotate(45 {:.1} {:.1})\" fill=\"{c}\">", x(*s) - 5.0, y - 5.0, x(*s), y)
                } else {
                    format!(
                        "<circle cx=\"{:.1}\" cy=\"{y:.1}\" r=\"5\" fill=\"{c}\">",
                        x(*s)
                    )
                };
                let close = if i.kind == "plan" {
                    "</rect>"
                } else {
                    "</circle>"
                };
                let _ = write!(o, "{shape}<title>{tip}</title>{close}");
            }
        }
    }
}
