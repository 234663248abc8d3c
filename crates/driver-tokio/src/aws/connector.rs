//! The SDK's [`HttpConnector`] on hyper's HTTP/1.1 client and rustls: what every AWS call of
//! the process (checkpoints, state pages, STS, the credential endpoints) goes through. Why a
//! connector of our own: `super::https`.
//!
//! * `http://` and `https://` URIs, each connection made by [`Transport`]: TCP through
//!   hyper-util's connector (DNS on a blocking thread, both address families), then TLS
//!   verified against the configured roots for `https`.
//! * A pool of keep-alive connections per connector (hyper-util's), idle ones closed after
//!   90 s, as the SDK's client does.
//! * Timeouts as the SDK defines them: the **connect** timeout bounds making the connection
//!   (TCP, proxy tunnel and TLS handshake), the **read** timeout the time from sending the
//!   request to the response's head. Both are reported as timeouts, which the SDK's standard
//!   retry mode retries, as it does connection and IO failures.
//! * Proxies: `https://` destinations through an HTTP `CONNECT` tunnel, `http://` ones in
//!   absolute form with the proxy's basic credentials.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use aws_sdk_lambda::config::http::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::http::{HttpConnector, HttpConnectorFuture};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::ErrorKind;
use http::uri::{Scheme, Uri};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector as Tcp};
use hyper_util::client::legacy::Client;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::pki_types::ServerName;
use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;
use tower_service::Service;

type BoxError = Box<dyn StdError + Send + Sync>;

/// Sends the SDK's requests over pooled HTTP/1.1 connections.
pub(crate) struct Connector {
    client: Client<Transport, SdkBody>,
    proxy: Option<Arc<Matcher>>,
    read_timeout: Option<Duration>,
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector")
            .field("read_timeout", &self.read_timeout)
            .finish_non_exhaustive()
    }
}

impl Connector {
    /// A connector trusting `tls`'s roots, through `proxy`'s rules, with these timeouts.
    pub(crate) fn new(
        tls: Arc<ClientConfig>,
        proxy: Option<Arc<Matcher>>,
        connect_timeout: Option<Duration>,
        read_timeout: Option<Duration>,
    ) -> Self {
        let mut tcp = Tcp::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        let transport = Transport {
            tcp,
            tls: TlsConnector::from(tls),
            proxy: proxy.clone(),
            connect_timeout,
        };
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .build(transport);
        Self {
            client,
            proxy,
            read_timeout,
        }
    }
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let mut request = match request.try_into_http1x() {
            Ok(request) => request,
            Err(err) => return HttpConnectorFuture::ready(Err(ConnectorError::user(err.into()))),
        };
        // A plain-HTTP request through a proxy carries the proxy's credentials itself (an
        // HTTPS one has them on its CONNECT).
        if request.uri().scheme() == Some(&Scheme::HTTP) {
            let auth = self
                .proxy
                .as_ref()
                .and_then(|proxy| proxy.intercept(request.uri()))
                .and_then(|intercept| intercept.basic_auth().cloned());
            if let Some(auth) = auth {
                request
                    .headers_mut()
                    .entry(http::header::PROXY_AUTHORIZATION)
                    .or_insert(auth);
            }
        }
        let response = self.client.request(request);
        let read_timeout = self.read_timeout;
        HttpConnectorFuture::new(async move {
            let response = match read_timeout {
                None => response.await,
                Some(limit) => match tokio::time::timeout(limit, response).await {
                    Ok(response) => response,
                    Err(_) => {
                        return Err(ConnectorError::timeout(Box::new(Timeout::Read(limit))));
                    }
                },
            };
            match response {
                Ok(response) => HttpResponse::try_from(response.map(SdkBody::from_body_1_x))
                    .map_err(|err| ConnectorError::other(err.into(), None)),
                Err(err) => Err(classify(err)),
            }
        })
    }
}

/// A failed request as the SDK's retry rules read it: timeouts and connection or IO failures
/// are transient (retried), a connection closed before the whole response arrived too; a
/// request hyper refused is the caller's error.
fn classify(err: hyper_util::client::legacy::Error) -> ConnectorError {
    let hyper = source::<hyper::Error>(&err);
    let kind = if source::<Timeout>(&err).is_some() || hyper.is_some_and(hyper::Error::is_timeout) {
        Failure::Timeout
    } else if hyper.is_some_and(hyper::Error::is_user) {
        Failure::User
    } else if hyper.is_some_and(hyper::Error::is_incomplete_message) {
        Failure::Cut
    } else if err.is_connect()
        || hyper.is_some_and(|h| h.is_closed() || h.is_canceled())
        || source::<io::Error>(&err).is_some()
    {
        Failure::Io
    } else {
        Failure::Other
    };
    let err: BoxError = Box::new(err);
    match kind {
        Failure::Timeout => ConnectorError::timeout(err),
        Failure::User => ConnectorError::user(err),
        Failure::Cut => ConnectorError::other(err, Some(ErrorKind::TransientError)),
        Failure::Io => ConnectorError::io(err),
        Failure::Other => ConnectorError::other(err, None),
    }
}

/// What kind of failure a request met, in [`classify`]'s order.
enum Failure {
    Timeout,
    User,
    /// The connection closed before the whole response arrived.
    Cut,
    Io,
    Other,
}

/// The first `E` in `err`'s chain, `err` included.
fn source<'a, E: StdError + 'static>(err: &'a (dyn StdError + 'static)) -> Option<&'a E> {
    let mut next = Some(err);
    while let Some(err) = next {
        if let Some(found) = err.downcast_ref::<E>() {
            return Some(found);
        }
        next = err.source();
    }
    None
}

/// A timeout of this connector's own.
#[derive(Debug)]
enum Timeout {
    Connect(Duration),
    Read(Duration),
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Timeout::Connect(limit) => {
                write!(f, "no connection within the {limit:?} connect timeout")
            }
            Timeout::Read(limit) => write!(f, "no response within the {limit:?} read timeout"),
        }
    }
}

impl StdError for Timeout {}

/// Makes the connections hyper's pool asks for.
#[derive(Clone)]
pub(crate) struct Transport {
    tcp: Tcp,
    tls: TlsConnector,
    proxy: Option<Arc<Matcher>>,
    connect_timeout: Option<Duration>,
}

impl Transport {
    /// A connection to `dst`, through the proxy its rules name.
    async fn connect(self, dst: Uri) -> Result<Conn, BoxError> {
        let intercept = self.proxy.as_ref().and_then(|proxy| proxy.intercept(&dst));
        let https = dst.scheme() == Some(&Scheme::HTTPS);
        let Some(proxy) = intercept else {
            let stream = self.open(&dst).await?;
            return Ok(Conn::new(stream, false));
        };
        if !https {
            // hyper sends requests in absolute form on a connection marked as proxied.
            let stream = self.open(proxy.uri()).await?;
            return Ok(Conn::new(stream, true));
        }
        let mut tunnel = Tunnel::new(proxy.uri().clone(), Opener(self.clone()));
        if let Some(auth) = proxy.basic_auth() {
            tunnel = tunnel.with_auth(auth.clone());
        }
        let through = tunnel.call(dst.clone()).await?.into_inner();
        let stream = self.tls_over(through, &dst).await?;
        Ok(Conn::new(stream, false))
    }

    /// TCP to `uri`'s host and port, and TLS over it if `uri` is `https`.
    async fn open(&self, uri: &Uri) -> Result<Stream, BoxError> {
        let tcp = self.tcp.clone().call(uri.clone()).await?.into_inner();
        if uri.scheme() == Some(&Scheme::HTTPS) {
            self.tls_over(Stream::Tcp(tcp), uri).await
        } else {
            Ok(Stream::Tcp(tcp))
        }
    }

    /// A TLS session over `stream`, the server verified as `uri`'s host.
    async fn tls_over(&self, stream: Stream, uri: &Uri) -> Result<Stream, BoxError> {
        let host = uri.host().ok_or("the URI has no host")?;
        // An IPv6 literal comes bracketed, as URIs write it.
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let name = ServerName::try_from(host.to_owned())?;
        let tls = self.tls.connect(name, stream).await?;
        Ok(Stream::Tls(Box::new(tls)))
    }
}

impl Service<Uri> for Transport {
    type Response = Conn;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Conn, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let limit = self.connect_timeout;
        let connecting = self.clone().connect(dst);
        Box::pin(async move {
            match limit {
                None => connecting.await,
                Some(limit) => tokio::time::timeout(limit, connecting)
                    .await
                    .map_err(|_| Timeout::Connect(limit))?,
            }
        })
    }
}

/// [`Transport::open`] as the service a proxy tunnel connects through.
#[derive(Clone)]
struct Opener(Transport);

impl Service<Uri> for Opener {
    type Response = TokioIo<Stream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<TokioIo<Stream>, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let transport = self.0.clone();
        Box::pin(async move { transport.open(&uri).await.map(TokioIo::new) })
    }
}

/// A byte stream to a server: TCP, or TLS over a stream (TLS to a proxy, then to the
/// server through its tunnel, is TLS over TLS).
pub(crate) enum Stream {
    Tcp(TcpStream),
    Tls(Box<TlsStream<Stream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Tcp(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }
}

/// A connection as hyper's pool keeps it.
pub(crate) struct Conn {
    io: TokioIo<Stream>,
    /// Made to a proxy for plain-HTTP requests (hyper then writes absolute URIs).
    proxied: bool,
}

impl Conn {
    fn new(stream: Stream, proxied: bool) -> Self {
        Self {
            io: TokioIo::new(stream),
            proxied,
        }
    }
}

impl Connection for Conn {
    fn connected(&self) -> Connected {
        Connected::new().proxy(self.proxied)
    }
}

impl hyper::rt::Read for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }
}
