//! The viewer pages of `serve`: `GET /` lists the executions, `GET /executions/{arn}` is one
//! execution's timeline picture (the same self-contained page `run --html` writes).

use durable_local::{lock_service, timeline_html};
use hyper::body::Bytes;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::StatusCode;

use crate::http::{self, Reply};
use crate::server::Shared;

/// The index page: every execution, newest first, linked to its picture.
pub(crate) fn index(shared: &Shared) -> Reply {
    let svc = lock_service(&shared.service);
    let mut rows = String::new();
    for record in svc.executions().into_iter().rev() {
        rows.push_str(&format!(
            "<tr><td><a href=\"/executions/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            encode(record.arn()),
            escape(record.execution_name()),
            escape(record.function_name()),
            record.status(),
            record.invocation_count(),
        ));
    }
    let page = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>durable-local</title><style>body{{font:13px system-ui,sans-serif;margin:16px}}\
         td,th{{padding:2px 10px;text-align:left}}</style></head><body>\
         <h1>durable-local: executions</h1><table><tr><th>execution</th><th>function</th>\
         <th>status</th><th>invocations</th></tr>\n{rows}</table></body></html>"
    );
    html(page)
}

/// One execution's timeline page.
pub(crate) fn execution(shared: &Shared, arn: &str) -> Reply {
    let svc = lock_service(&shared.service);
    match svc.execution(arn) {
        Some(record) => html(timeline_html(record, svc.now())),
        None => http::error_reply(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            &format!("Execution not found: {arn}"),
        ),
    }
}

fn html(page: String) -> Reply {
    let mut reply = http::raw(StatusCode::OK, Bytes::from(page));
    reply.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    reply
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Percent-encodes an ARN for a path segment.
pub(crate) fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
