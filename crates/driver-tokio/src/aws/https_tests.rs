//! The HTTPS client against servers on loopback: plain HTTP and TLS round trips through
//! aws-sdk-lambda, certificate verification, timeouts, error kinds and proxies.
//!
//! `testdata/`: a test CA (`ca.pem`) and a certificate for `localhost` only that it signed
//! (`localhost.pem`, key `localhost.key`), P-256, valid for 100 years. Made with
//! `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 36500
//! -addext basicConstraints=critical,CA:TRUE …` for the CA and `openssl x509 -req … -extfile`
//! (`subjectAltName=DNS:localhost`, `extendedKeyUsage=serverAuth`) for the server.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_lambda::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_runtime_api::client::http::HttpConnector;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::http::Request;
use hyper_util::client::proxy::matcher::Matcher;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::RootCertStore;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::connector::Connector;
use super::https::{provider, tls_config, HttpsClient};
use super::LambdaClient;
use crate::CheckpointClient;

const CA: &[u8] = include_bytes!("testdata/ca.pem");
const LOCALHOST: &[u8] = include_bytes!("testdata/localhost.pem");
const LOCALHOST_KEY: &[u8] = include_bytes!("testdata/localhost.key");
const ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:f:1/durable-execution/e/1";

fn trusting_test_ca() -> Arc<rustls::ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(CA).unwrap())
        .unwrap();
    tls_config(roots)
}

/// What a test server saw: one entry per request (its head, lower-cased header names kept
/// as sent), and the number of connections it accepted.
#[derive(Clone, Default)]
struct Seen {
    requests: Arc<Mutex<Vec<String>>>,
    connections: Arc<Mutex<usize>>,
}

impl Seen {
    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    fn connections(&self) -> usize {
        *self.connections.lock().unwrap()
    }
}

/// Reads one request's head and body from `stream`; `None` once the peer closed.
async fn read_request<S: AsyncRead + Unpin>(stream: &mut S) -> Option<String> {
    let mut data = Vec::new();
    let mut byte = [0u8; 1];
    while !data.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        data.push(byte[0]);
    }
    let head = String::from_utf8(data).unwrap();
    let length = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await.ok()?;
    Some(head)
}

/// Answers every request on `stream` with `reply` (a JSON body), keeping the connection.
async fn serve<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, seen: Seen, reply: &str) {
    while let Some(head) = read_request(&mut stream).await {
        seen.requests.lock().unwrap().push(head);
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{reply}",
            reply.len()
        );
        if stream.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

const CHECKPOINTED: &str = r#"{"CheckpointToken":"t2","NewExecutionState":{}}"#;

/// A server on loopback answering [`CHECKPOINTED`], over TLS with the `localhost`
/// certificate when `tls`.
async fn server(tls: bool) -> (SocketAddr, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Seen::default();
    let acceptor = tls.then(|| {
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from_pem_slice(LOCALHOST).unwrap()],
                PrivateKeyDer::from_pem_slice(LOCALHOST_KEY).unwrap(),
            )
            .unwrap();
        tokio_rustls::TlsAcceptor::from(Arc::new(config))
    });
    let counted = seen.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            *counted.connections.lock().unwrap() += 1;
            let (seen, acceptor) = (counted.clone(), acceptor.clone());
            tokio::spawn(async move {
                match acceptor {
                    // A client that refuses the certificate ends the handshake.
                    Some(acceptor) => {
                        if let Ok(stream) = acceptor.accept(tcp).await {
                            serve(stream, seen, CHECKPOINTED).await;
                        }
                    }
                    None => serve(tcp, seen, CHECKPOINTED).await,
                }
            });
        }
    });
    (addr, seen)
}

/// A listener that accepts connections and never writes a byte.
async fn silent_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((tcp, _)) = listener.accept().await {
            open.push(tcp);
        }
    });
    addr
}

fn lambda_client(http: HttpsClient, endpoint: String) -> LambdaClient {
    let config = aws_sdk_lambda::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKID", "SECRET", None, None, "test"))
        .endpoint_url(endpoint)
        .retry_config(
            aws_sdk_lambda::config::retry::RetryConfig::standard()
                .with_initial_backoff(Duration::from_millis(1)),
        )
        .http_client(http)
        .build();
    LambdaClient::new(aws_sdk_lambda::Client::from_conf(config))
}

fn connector(
    tls: Arc<rustls::ClientConfig>,
    proxy: Option<Matcher>,
    connect: Option<Duration>,
    read: Option<Duration>,
) -> Connector {
    Connector::new(tls, proxy.map(Arc::new), connect, read)
}

async fn get(connector: &Connector, uri: &str) -> Result<u16, ConnectorError> {
    let request = Request::get(uri).unwrap();
    let response = connector.call(request).await?;
    Ok(response.status().as_u16())
}

/// `err` and its sources, as one line.
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut next = err.source();
    while let Some(e) = next {
        text.push_str(": ");
        text.push_str(&e.to_string());
        next = e.source();
    }
    text
}

#[tokio::test]
async fn checkpoints_over_plain_http_share_one_connection() {
    let (addr, seen) = server(false).await;
    let http = HttpsClient::with(tls_config(RootCertStore::empty()), None);
    let client = lambda_client(http, format!("http://{addr}"));
    for _ in 0..2 {
        let response = client
            .checkpoint(ARN.into(), "t1".into(), Vec::new())
            .await
            .unwrap();
        assert_eq!(response.checkpoint_token.as_deref(), Some("t2"));
    }
    let requests = seen.requests();
    assert_eq!(requests.len(), 2);
    assert!(
        requests[0].starts_with("POST /2025-12-01/durable-executions/arn%3Aaws%3Alambda"),
        "{}",
        requests[0]
    );
    assert!(requests[0].contains("HTTP/1.1\r\n"), "{}", requests[0]);
    assert!(
        requests[0]
            .to_ascii_lowercase()
            .contains("authorization: aws4-hmac-sha256"),
        "{}",
        requests[0]
    );
    assert_eq!(
        seen.connections(),
        1,
        "the second call reuses the connection"
    );
}

#[tokio::test]
async fn checkpoints_over_https_verify_the_server_against_the_roots() {
    let (addr, seen) = server(true).await;
    let http = HttpsClient::with(trusting_test_ca(), None);
    let client = lambda_client(http, format!("https://localhost:{}", addr.port()));
    let response = client
        .checkpoint(ARN.into(), "t1".into(), Vec::new())
        .await
        .unwrap();
    assert_eq!(response.checkpoint_token.as_deref(), Some("t2"));
    assert_eq!(seen.requests().len(), 1);
}

#[tokio::test]
async fn a_certificate_from_an_untrusted_issuer_is_refused() {
    let (addr, seen) = server(true).await;
    // The system's roots (or none): neither has the test CA.
    let http = HttpsClient::with(tls_config(RootCertStore::empty()), None);
    let client = lambda_client(http, format!("https://localhost:{}", addr.port()));
    let failure = client
        .checkpoint(ARN.into(), "t1".into(), Vec::new())
        .await
        .unwrap_err();
    assert_eq!(failure.http_status, None);
    assert!(
        failure.message.contains("UnknownIssuer"),
        "{}",
        failure.message
    );
    assert!(seen.requests().is_empty());
    // A connection failure is retried by the SDK, as with its own client.
    assert_eq!(seen.connections(), 3);
}

#[tokio::test]
async fn a_certificate_for_another_name_is_refused() {
    let (addr, seen) = server(true).await;
    let connector = connector(trusting_test_ca(), None, None, None);
    // The certificate names `localhost`, not the address.
    let err = get(&connector, &format!("https://{addr}/"))
        .await
        .unwrap_err();
    assert!(err.is_io(), "{err:?}");
    let text = chain(&err);
    assert!(text.contains("not valid for name"), "{text}");
    assert!(seen.requests().is_empty());
    assert_eq!(
        get(&connector, &format!("https://localhost:{}/", addr.port()))
            .await
            .unwrap(),
        200
    );
}

#[tokio::test]
async fn no_response_head_within_the_read_timeout_is_a_timeout() {
    let addr = silent_server().await;
    let limit = Some(Duration::from_millis(100));
    let connector = connector(trusting_test_ca(), None, None, limit);
    let err = get(&connector, &format!("http://{addr}/"))
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(chain(&err).contains("read timeout"), "{}", chain(&err));
}

#[tokio::test]
async fn the_connect_timeout_covers_the_tls_handshake() {
    let addr = silent_server().await;
    let limit = Some(Duration::from_millis(100));
    let connector = connector(trusting_test_ca(), None, limit, None);
    let err = get(&connector, &format!("https://localhost:{}/", addr.port()))
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(chain(&err).contains("connect timeout"), "{}", chain(&err));
}

#[tokio::test]
async fn a_refused_connection_is_an_io_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let connector = connector(trusting_test_ca(), None, None, None);
    let err = get(&connector, &format!("http://{addr}/"))
        .await
        .unwrap_err();
    assert!(err.is_io(), "{err:?}");
}

#[tokio::test]
async fn plain_http_through_a_proxy_goes_in_absolute_form_with_its_credentials() {
    let (proxy, seen) = server(false).await;
    let matcher = Matcher::builder()
        .http(format!("http://user:pass@{proxy}"))
        .build();
    let connector = connector(trusting_test_ca(), Some(matcher), None, None);
    assert_eq!(get(&connector, "http://durable.test/x").await.unwrap(), 200);
    let request = &seen.requests()[0];
    assert!(
        request.starts_with("GET http://durable.test/x HTTP/1.1\r\n"),
        "{request}"
    );
    // base64("user:pass")
    assert!(
        request
            .to_ascii_lowercase()
            .contains("proxy-authorization: basic dxnlcjpwyxnz"),
        "{request}"
    );
}

#[tokio::test]
async fn https_through_a_proxy_tunnels_with_connect() {
    let (target, seen) = server(true).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = listener.local_addr().unwrap();
    let connects = Arc::new(Mutex::new(Vec::new()));
    let recorded = connects.clone();
    tokio::spawn(async move {
        let (mut client, _) = listener.accept().await.unwrap();
        let head = read_request(&mut client).await.unwrap();
        recorded.lock().unwrap().push(head);
        let mut upstream = TcpStream::connect(target).await.unwrap();
        client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await
            .unwrap();
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    });
    let matcher = Matcher::builder()
        .https(format!("http://user:pass@{proxy}"))
        .build();
    let connector = connector(trusting_test_ca(), Some(matcher), None, None);
    let uri = format!("https://localhost:{}/state", target.port());
    assert_eq!(get(&connector, &uri).await.unwrap(), 200);
    let connect = connects.lock().unwrap()[0].clone();
    assert!(
        connect.starts_with(&format!("CONNECT localhost:{} HTTP/1.1\r\n", target.port())),
        "{connect}"
    );
    assert!(
        connect
            .to_ascii_lowercase()
            .contains("proxy-authorization: basic dxnlcjpwyxnz"),
        "{connect}"
    );
    // Inside the tunnel the request is in origin form, over TLS to the server itself.
    assert!(
        seen.requests()[0].starts_with("GET /state HTTP/1.1\r\n"),
        "{:?}",
        seen.requests()
    );
}
