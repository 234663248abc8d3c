//! Minimal blocking HTTP on loopback (a thin layer over `ureq`).

use std::time::Duration;

/// A response: status, the headers the callers need, and the body as text.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Response {
    /// First header with this name (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON.
    pub(crate) fn json(&self) -> Result<serde_json::Value, String> {
        serde_json::from_str(&self.body).map_err(|e| {
            format!(
                "response body is not JSON ({e}); HTTP {} body: {}",
                self.status,
                clip(&self.body, 500)
            )
        })
    }
}

/// Loopback HTTP client. HTTP error statuses are returned as responses, not errors; proxies
/// from the environment are ignored (everything is on 127.0.0.1).
#[derive(Clone)]
pub(crate) struct Http {
    agent: ureq::Agent,
}

impl Http {
    pub(crate) fn new() -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .timeout_global(Some(Duration::from_secs(30)))
            .build();
        Http {
            agent: config.into(),
        }
    }

    /// GET `url`.
    pub(crate) fn get(&self, url: &str) -> Result<Response, String> {
        let res = self.agent.get(url).call();
        finish("GET", url, res)
    }

    /// POST `body` to `url` with the given headers; `timeout` overrides the default 30 s.
    pub(crate) fn post(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        timeout: Option<Duration>,
    ) -> Result<Response, String> {
        let mut req = self.agent.post(url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(t) = timeout {
            req = req.config().timeout_global(Some(t)).build();
        }
        let res = req.send(body);
        finish("POST", url, res)
    }
}

fn finish(
    method: &str,
    url: &str,
    res: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<Response, String> {
    let mut res = res.map_err(|e| format!("{method} {url} failed: {e}"))?;
    let status = res.status().as_u16();
    let headers = res
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = res
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_string()
        .map_err(|e| format!("{method} {url}: reading the response body failed: {e}"))?;
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so execution ARNs, tokens
/// and callback ids (which contain `/`, `+`, `=`) fit in one path segment or query value.
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// At most `max` bytes of `s` (on a char boundary), with a marker when cut.
pub(crate) fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... [{} more bytes]", &s[..end], s.len() - end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_keeps_unreserved_and_escapes_the_rest() {
        assert_eq!(encode("a-b_c.d~e"), "a-b_c.d~e");
        assert_eq!(encode("uuid/uuid"), "uuid%2Fuuid");
        assert_eq!(encode("eyJ+/="), "eyJ%2B%2F%3D");
        assert_eq!(encode("é"), "%C3%A9");
    }

    #[test]
    fn clip_respects_char_boundaries() {
        assert_eq!(clip("abc", 5), "abc");
        assert_eq!(clip("abcdef", 3), "abc... [3 more bytes]");
        assert_eq!(clip("ééé", 3), "é... [4 more bytes]");
    }
}
