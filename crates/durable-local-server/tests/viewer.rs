//! The HTML timeline of a real execution (`durable-local run --html`, and the page `serve`
//! shows), rendered by a real headless browser: lanes, bars and the crash mark are read
//! back from the rendered DOM, and a screenshot is taken.
//!
//! The browser is Debian's `chromium` (or `$CHROMIUM`). Without one, the test says so on
//! stderr and checks the page's embedded data only.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const DEMO: &str = env!("CARGO_BIN_EXE_durable-local-demo-orders");
const CLI: &str = env!("CARGO_BIN_EXE_durable-local");

fn browser() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).collect())
        .unwrap_or_default();
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| dirs.iter().map(move |d| d.join(name)))
        .find(|candidate| candidate.is_file())
}

fn headless(browser: &Path, args: &[&str]) -> std::process::Output {
    Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .args(["--no-first-run", "--disable-dev-shm-usage", "--mute-audio"])
        .args(args)
        .output()
        .expect("the browser starts")
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

/// The page's embedded data (what the script draws).
fn page_data(html: &str) -> Value {
    let start = html.find(r#"type="application/json">"#).unwrap() + 24;
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}

#[test]
fn the_html_timeline_renders_lanes_bars_and_the_crash_in_a_browser() {
    let dir = std::env::temp_dir().join(format!("dls-viewer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let marker = dir.join("crashed");
    let _ = std::fs::remove_file(&marker);
    let page = dir.join("timeline.html");
    let event = serde_json::json!({"id": "o-9", "crash_marker": marker}).to_string();
    let out = Command::new(CLI)
        .args([
            "run",
            "orders",
            "--quiet",
            "--function",
            &format!("orders={DEMO}"),
        ])
        .args(["--event", &event, "--html"])
        .arg(&page)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no network"
    );

    // The data: invocations, quote, charge and settle lanes; the crash as a mark.
    let data = page_data(&html);
    let lanes = data["lanes"].as_array().unwrap();
    let labels: Vec<&str> = lanes.iter().filter_map(|l| l["label"].as_str()).collect();
    assert_eq!(labels, ["invocations", "quote", "charge", "settle"]);
    let bars: usize = lanes
        .iter()
        .map(|l| l["bars"].as_array().unwrap().len())
        .sum();
    let marks = data["marks"].as_array().unwrap();
    assert_eq!(marks.len(), 1);
    assert_eq!(marks[0]["kind"], "crash");

    let Some(browser) = browser() else {
        eprintln!(
            "NOTE: no chromium found (install Debian's `chromium`, or set CHROMIUM); the \
             rendered page was not checked in a browser"
        );
        return;
    };
    let url = format!("file://{}", page.display());
    let dom = headless(&browser, &["--dump-dom", &url]);
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains(r#"data-rendered="true""#),
        "the script ran: {dom}"
    );
    assert_eq!(count(&dom, r#"class="lane""#), lanes.len());
    assert_eq!(count(&dom, r#"class="bar kind-"#), bars);
    assert_eq!(
        count(&dom, r#"data-kind="retry""#),
        2,
        "quote's back-off and charge's"
    );
    assert_eq!(count(&dom, r#"class="mark crash""#), 1);
    assert!(dom.contains("SUCCEEDED after 1d"), "{dom}");

    let shot = dir.join("timeline.png");
    let _ = std::fs::remove_file(&shot);
    headless(
        &browser,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1100,360",
            &url,
        ],
    );
    let png = std::fs::read(&shot).expect("a screenshot was written");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 5_000,
        "{} bytes",
        png.len()
    );
}
