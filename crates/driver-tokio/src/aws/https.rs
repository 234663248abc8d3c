//! The checkpoint client's HTTPS stack, chosen for a Lambda function's cold start and size
//! (the trade-offs and figures are in docs/performance.md, "Cold start"):
//!
//! * **HTTP/1.1 only**, on hyper's client (`super::connector`): the checkpoint API, STS and
//!   the credential endpoints all speak it, and the SDK's own hyper client always compiles
//!   HTTP/2 in (the `h2` crate, the largest single part of the binary it could drop).
//! * **Crypto provider:** rustls on *ring* (default feature `ring`; feature `aws-lc-rs`
//!   switches to aws-lc-rs, and rustls' own `fips` feature, turned on by the user's crate,
//!   makes that the FIPS module). ring builds in seconds, where aws-lc-sys compiles a large
//!   C library on a user's first build; aws-lc-rs brings post-quantum key exchange.
//! * **Trusted roots:** Mozilla's root program, compiled in (webpki-roots): no file to
//!   read and nothing to parse at start, the same roots on Lambda, in a container image
//!   without a CA bundle and on a developer's machine. `SSL_CERT_FILE` (a PEM bundle, e.g.
//!   the system's, `/etc/pki/tls/certs/ca-bundle.crt` on Amazon Linux) or `SSL_CERT_DIR`
//!   replaces them, for a private CA (a corporate proxy, an emulator behind TLS) or to follow
//!   the system's store; a bundle without a usable root falls back to the compiled-in ones,
//!   with a warning. The trade-off (roots frozen at build time) is in docs/performance.md.
//! * **Built once, before the first request:** [`HttpsClient::new`] builds the TLS
//!   configuration (reading the bundle, if one is named);
//!   [`LambdaClient::from_env`](super::LambdaClient::from_env) calls it inside the task that
//!   [`run`](crate::run) starts beside the Lambda runtime. Every connector (one per timeout
//!   settings the SDK asks for) shares that configuration.
//! * Proxy settings from the environment (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`,
//!   `NO_PROXY`) apply, as with the SDK's default client.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use base64::Engine as _;
use hyper_util::client::proxy::matcher::Matcher;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

use super::connector::Connector;

/// Which roots the client trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Roots {
    /// Mozilla's, compiled in.
    Mozilla,
    /// The certificates of one PEM file (`SSL_CERT_FILE`).
    Bundle(PathBuf),
    /// rustls-native-certs' reading of `SSL_CERT_FILE` and `SSL_CERT_DIR`.
    Native,
}

fn choose_roots(var: impl Fn(&str) -> Option<OsString>) -> Roots {
    // A directory was asked for: only the native loader reads directories.
    if var("SSL_CERT_DIR").is_some() {
        return Roots::Native;
    }
    match var("SSL_CERT_FILE") {
        Some(file) => Roots::Bundle(file.into()),
        None => Roots::Mozilla,
    }
}

/// Mozilla's roots, as webpki-roots compiled them in.
fn mozilla() -> RootCertStore {
    RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const END: &str = "-----END CERTIFICATE-----";

/// The trust anchors of a PEM bundle, and how many of its certificates were skipped because
/// they cannot serve as roots (a skipped certificate could not have verified anything).
/// Blocks other than `CERTIFICATE` (keys, OpenSSL's `TRUSTED CERTIFICATE`) are not read.
///
/// This runs before the first checkpoint call, so it is written for speed: one pass over
/// the lines (found with `memchr`), each certificate's base64 gathered into one reused
/// buffer and decoded with the general-purpose decoder (the TLS stack's PEM reader is
/// constant-time, which costs milliseconds for a bundle of public certificates).
fn parse_bundle(pem: &[u8]) -> Result<(RootCertStore, usize), String> {
    let text = std::str::from_utf8(pem).map_err(|_| "not UTF-8 text".to_owned())?;
    let mut store = RootCertStore::empty();
    let mut skipped = 0;
    let mut base64 = Vec::with_capacity(4096);
    let mut der = Vec::with_capacity(3072);
    let mut inside = false;
    for line in text.split('\n') {
        let line = line.trim_ascii();
        if !line.starts_with("-----") {
            if inside {
                base64.extend_from_slice(line.as_bytes());
            }
            continue;
        }
        // A boundary inside a block: the block before it never ended.
        let unterminated = inside && line != END;
        skipped += usize::from(unterminated);
        if line == END && inside {
            let added = decode_lax(&mut base64, &mut der)
                && store.add(CertificateDer::from(der.as_slice())).is_ok();
            skipped += usize::from(!added);
        }
        inside = line == BEGIN;
        base64.clear();
    }
    skipped += usize::from(inside);
    if store.is_empty() {
        return Err(match skipped {
            0 => "no certificate in it".to_owned(),
            n => format!("none of its {n} certificates is a usable root"),
        });
    }
    Ok((store, skipped))
}

/// Decodes `base64` into `der`, tolerating whitespace inside lines (tried only when the
/// strict decode fails).
fn decode_lax(base64: &mut Vec<u8>, der: &mut Vec<u8>) -> bool {
    let engine = &base64::engine::general_purpose::STANDARD;
    der.clear();
    if engine.decode_vec(&*base64, der).is_ok() {
        return true;
    }
    base64.retain(|b| !b.is_ascii_whitespace());
    der.clear();
    engine.decode_vec(&*base64, der).is_ok()
}

/// The roots `roots` names; the compiled-in ones when those named hold no usable root
/// (logged at WARN, with the reason).
fn root_store(roots: Roots) -> RootCertStore {
    let (named, found) = match roots {
        Roots::Mozilla => return mozilla(),
        Roots::Bundle(path) => {
            let parsed = std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|pem| parse_bundle(&pem));
            match parsed {
                Ok((store, skipped)) => {
                    if skipped > 0 {
                        tracing::debug!(bundle = %path.display(), skipped, "CA bundle: certificates that are not usable roots were skipped");
                    }
                    return store;
                }
                Err(reason) => (format!("SSL_CERT_FILE {}", path.display()), reason),
            }
        }
        Roots::Native => {
            let found = rustls_native_certs::load_native_certs();
            let mut store = RootCertStore::empty();
            store.add_parsable_certificates(found.certs);
            if !store.is_empty() {
                return store;
            }
            let reason = format!("no usable certificate; {:?}", found.errors);
            ("SSL_CERT_DIR / SSL_CERT_FILE".to_owned(), reason)
        }
    };
    tracing::warn!("{named} not used ({found}); trusting the compiled-in Mozilla roots");
    mozilla()
}

/// The TLS crypto provider: aws-lc-rs when its feature is on (it is the stronger choice once
/// paid for), else ring.
#[cfg(feature = "aws-lc-rs")]
pub(crate) fn provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::aws_lc_rs::default_provider()
}

/// The TLS crypto provider: aws-lc-rs when its feature is on (it is the stronger choice once
/// paid for), else ring.
#[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
pub(crate) fn provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

#[cfg(not(any(feature = "ring", feature = "aws-lc-rs")))]
compile_error!(
    "durable-tokio needs a TLS crypto provider: enable feature `ring` (default) or `aws-lc-rs`"
);

/// A client configuration that verifies servers against `roots`, speaking HTTP/1.1.
pub(crate) fn tls_config(roots: RootCertStore) -> Arc<ClientConfig> {
    let mut config = ClientConfig::builder_with_provider(Arc::new(provider()))
        .with_safe_default_protocol_versions()
        // Only a provider without a cipher suite for either version fails here; both built-in
        // providers have them.
        .expect("the crypto provider supports TLS 1.2 and 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// The timeouts a connector is built for (the SDK's `HttpConnectorSettings` has no `Eq`).
type SettingsKey = (Option<Duration>, Option<Duration>);

fn key(settings: &HttpConnectorSettings) -> SettingsKey {
    (settings.connect_timeout(), settings.read_timeout())
}

/// The SDK's [`HttpClient`]: one [`Connector`] (and connection pool) per timeout settings,
/// all sharing one TLS configuration and the environment's proxy settings.
#[derive(Clone, Debug)]
pub(crate) struct HttpsClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    tls: Arc<ClientConfig>,
    proxy: Option<Arc<Matcher>>,
    connectors: Mutex<Vec<(SettingsKey, SharedHttpConnector)>>,
}

impl HttpsClient {
    /// Takes the trusted roots and the proxy settings from the environment now.
    pub(crate) fn new() -> Self {
        let roots = root_store(choose_roots(|name| std::env::var_os(name)));
        Self::with(tls_config(roots), proxy_from_env())
    }

    /// A client with this TLS configuration and proxy matcher.
    pub(crate) fn with(tls: Arc<ClientConfig>, proxy: Option<Matcher>) -> Self {
        Self {
            inner: Arc::new(Inner {
                tls,
                proxy: proxy.map(Arc::new),
                connectors: Mutex::new(Vec::new()),
            }),
        }
    }

    /// The connector for `settings`, built on first use (building one does no IO).
    pub(crate) fn connector(&self, settings: &HttpConnectorSettings) -> SharedHttpConnector {
        let wanted = key(settings);
        let mut connectors = self
            .inner
            .connectors
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some((_, connector)) = connectors.iter().find(|(k, _)| *k == wanted) {
            return connector.clone();
        }
        let connector = SharedHttpConnector::new(Connector::new(
            self.inner.tls.clone(),
            self.inner.proxy.clone(),
            wanted.0,
            wanted.1,
        ));
        connectors.push((wanted, connector.clone()));
        connector
    }
}

/// The proxy rules of `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` (either case),
/// or `None` when no proxy is set.
fn proxy_from_env() -> Option<Matcher> {
    const VARS: [&str; 6] = [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ];
    VARS.iter()
        .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()))
        .then(Matcher::from_env)
}

impl HttpClient for HttpsClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.connector(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(set: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<OsString> {
        move |name| {
            set.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn mozillas_roots_unless_a_file_or_directory_is_named() {
        assert_eq!(choose_roots(vars(&[])), Roots::Mozilla);
        let roots = choose_roots(vars(&[("SSL_CERT_FILE", "/opt/ca.pem")]));
        assert_eq!(roots, Roots::Bundle("/opt/ca.pem".into()));
        let set = &[
            ("SSL_CERT_FILE", "/opt/ca.pem"),
            ("SSL_CERT_DIR", "/opt/certs"),
        ];
        assert_eq!(choose_roots(vars(set)), Roots::Native);
    }

    #[test]
    fn the_compiled_in_roots_include_the_ones_aws_endpoints_chain_to() {
        let store = root_store(Roots::Mozilla);
        assert!(store.len() > 100, "{} roots", store.len());
        for name in [
            "Amazon Root CA 1",
            "Starfield Services Root Certificate Authority - G2",
        ] {
            let found = store.roots.iter().any(|anchor| {
                anchor
                    .subject
                    .as_ref()
                    .windows(name.len())
                    .any(|w| w == name.as_bytes())
            });
            assert!(found, "{name}");
        }
    }

    #[test]
    fn a_named_bundle_without_a_usable_root_falls_back_to_the_compiled_in_roots() {
        let missing = root_store(Roots::Bundle("/nonexistent/ca.pem".into()));
        assert_eq!(missing.len(), mozilla().len());
        let dir = std::env::temp_dir().join(format!("durable-tokio-ca-{}", std::process::id()));
        std::fs::write(&dir, include_bytes!("testdata/ca.pem")).unwrap();
        let named = root_store(Roots::Bundle(dir.clone()));
        std::fs::remove_file(&dir).unwrap();
        assert_eq!(named.len(), 1);
    }

    #[test]
    fn unusable_certificates_are_skipped_and_an_unusable_bundle_refused() {
        assert_eq!(parse_bundle(b"").unwrap_err(), "no certificate in it");
        let key = b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert_eq!(parse_bundle(key).unwrap_err(), "no certificate in it");
        let garbage = b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n";
        let broken = b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n";
        let open = b"-----BEGIN CERTIFICATE-----\nAAAA\n";
        let all = [&garbage[..], broken, open].concat();
        assert_eq!(
            parse_bundle(&all).unwrap_err(),
            "none of its 3 certificates is a usable root"
        );
        let ca = include_bytes!("testdata/ca.pem");
        let mixed = [&garbage[..], key, ca, broken].concat();
        let (store, skipped) = parse_bundle(&mixed).unwrap();
        assert_eq!((store.len(), skipped), (1, 2));
        // Whitespace inside the base64 lines and CRLF line ends are tolerated.
        let text = std::str::from_utf8(ca).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        lines[1].insert_str(10, " \t ");
        let spaced = lines.join("\r\n");
        let (store, skipped) = parse_bundle(spaced.as_bytes()).unwrap();
        assert_eq!((store.len(), skipped), (1, 0));
        // A block that never ends is skipped, the next one read.
        let cut = [&ca[..100], b"\n", ca].concat();
        let (store, skipped) = parse_bundle(&cut).unwrap();
        assert_eq!((store.len(), skipped), (1, 1));
    }

    #[test]
    fn the_systems_bundle_reads_as_the_tls_stack_reads_it() {
        use rustls::pki_types::pem::PemObject;
        // Not every build machine has one; where it does, every certificate the TLS stack's
        // own reader finds must be a root here too.
        const BUNDLES: [&str; 3] = [
            "/etc/pki/tls/certs/ca-bundle.crt",
            "/etc/ssl/certs/ca-certificates.crt",
            "/etc/ssl/cert.pem",
        ];
        let found = BUNDLES
            .iter()
            .map(std::path::Path::new)
            .find(|p| p.is_file());
        if let Some(path) = found {
            let pem = std::fs::read(path).unwrap();
            let (store, skipped) = parse_bundle(&pem).unwrap();
            let mut theirs = RootCertStore::empty();
            let (added, _) = theirs.add_parsable_certificates(
                CertificateDer::pem_slice_iter(&pem).map(Result::unwrap),
            );
            assert_eq!((store.len(), skipped), (added, 0), "{}", path.display());
            assert!(added > 10, "{}: {added} roots", path.display());
        }
    }

    #[test]
    fn a_connector_is_built_once_per_timeout_settings() {
        let client = HttpsClient::with(tls_config(RootCertStore::empty()), None);
        let a = HttpConnectorSettings::builder()
            .connect_timeout(Duration::from_millis(3100))
            .build();
        let b = HttpConnectorSettings::builder()
            .connect_timeout(Duration::from_secs(1))
            .build();
        client.connector(&a);
        client.connector(&a);
        client.connector(&b);
        assert_eq!(client.inner.connectors.lock().unwrap().len(), 2);
    }
}
