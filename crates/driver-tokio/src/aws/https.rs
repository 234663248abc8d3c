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
//! * **Trusted roots:** the system's CA bundle, read from **one file**: `SSL_CERT_FILE` when
//!   set, else the first of [`BUNDLES`] that exists (on Lambda's Amazon Linux 2023, the
//!   first). The default loader also lists and stats every entry of `/etc/ssl/certs` (~300
//!   on Debian) and reads each certificate a second time from there. With `SSL_CERT_DIR`
//!   set, or no bundle found, or no usable certificate in it, the default loader
//!   (rustls-native-certs) runs instead: roots are never silently dropped.
//! * **Built once, before the first request:** [`HttpsClient::new`] reads the bundle and
//!   builds the TLS configuration; [`LambdaClient::from_env`](super::LambdaClient::from_env)
//!   calls it inside the task that [`run`](crate::run) starts beside the Lambda runtime, so
//!   the parse overlaps the runtime's start instead of delaying the first checkpoint call.
//!   Every connector (one per timeout settings the SDK asks for) shares that configuration.
//! * Proxy settings from the environment (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`,
//!   `NO_PROXY`) apply, as with the SDK's default client.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
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

/// Where distributions keep the PEM bundle of trusted roots, in the order tried: Amazon
/// Linux / Fedora / RHEL (Lambda's `provided.al2023`), Debian / Ubuntu / Alpine, macOS and
/// the BSDs.
pub(crate) const BUNDLES: [&str; 3] = [
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/ssl/cert.pem",
];

/// Which roots the client trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Roots {
    /// The certificates of one PEM file.
    Bundle(PathBuf),
    /// rustls-native-certs' own search (which honours `SSL_CERT_FILE` and `SSL_CERT_DIR`).
    Native,
}

fn choose_roots(var: impl Fn(&str) -> Option<OsString>, is_file: impl Fn(&Path) -> bool) -> Roots {
    // A directory was asked for: only the default loader reads directories.
    if var("SSL_CERT_DIR").is_some() {
        return Roots::Native;
    }
    if let Some(file) = var("SSL_CERT_FILE") {
        return Roots::Bundle(file.into());
    }
    BUNDLES
        .iter()
        .map(Path::new)
        .find(|p| is_file(p))
        .map_or(Roots::Native, |p| Roots::Bundle(p.to_owned()))
}

const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const END: &str = "-----END CERTIFICATE-----";

/// The trust anchors of a PEM bundle, and how many of its certificates were skipped because
/// they cannot serve as roots (a skipped certificate could not have verified anything).
/// Blocks other than `CERTIFICATE` (keys, OpenSSL's `TRUSTED CERTIFICATE`) are not read.
/// Decodes with the general-purpose base64 decoder: the TLS stack's PEM reader is
/// constant-time, which costs milliseconds for a bundle of public certificates.
fn parse_bundle(pem: &[u8]) -> Result<(RootCertStore, usize), String> {
    let text = std::str::from_utf8(pem).map_err(|_| "not UTF-8 text".to_owned())?;
    let mut store = RootCertStore::empty();
    let mut skipped = 0;
    let mut rest = text;
    while let Some(at) = rest.find(BEGIN) {
        let body = &rest[at + BEGIN.len()..];
        let Some(end) = body.find(END) else {
            skipped += 1;
            break;
        };
        let base64: String = body[..end].split_ascii_whitespace().collect();
        let added = base64::engine::general_purpose::STANDARD
            .decode(base64.as_bytes())
            .ok()
            .and_then(|der| store.add(CertificateDer::from(der)).ok());
        if added.is_none() {
            skipped += 1;
        }
        rest = &body[end + END.len()..];
    }
    if store.is_empty() {
        return Err(match skipped {
            0 => "no certificate in it".to_owned(),
            n => format!("none of its {n} certificates is a usable root"),
        });
    }
    Ok((store, skipped))
}

/// The roots `roots` names: the bundle's, or the default loader's when the bundle cannot be
/// read or holds no usable root (logged at WARN, with the reason).
fn root_store(roots: Roots) -> RootCertStore {
    if let Roots::Bundle(path) = roots {
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
            Err(reason) => tracing::warn!(
                bundle = %path.display(),
                "CA bundle not used ({reason}); loading the system's roots the default way"
            ),
        }
    }
    let found = rustls_native_certs::load_native_certs();
    let mut store = RootCertStore::empty();
    store.add_parsable_certificates(found.certs);
    if store.is_empty() {
        tracing::warn!(
            errors = ?found.errors,
            "no trusted CA certificate found: HTTPS connections will fail (set SSL_CERT_FILE)"
        );
    }
    store
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
    /// Reads the trusted roots and the proxy settings from the environment now.
    pub(crate) fn new() -> Self {
        let roots = root_store(choose_roots(
            |name| std::env::var_os(name),
            |path| path.is_file(),
        ));
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
    fn ssl_cert_file_wins_over_the_known_bundles() {
        let roots = choose_roots(vars(&[("SSL_CERT_FILE", "/opt/ca.pem")]), |_| true);
        assert_eq!(roots, Roots::Bundle("/opt/ca.pem".into()));
    }

    #[test]
    fn ssl_cert_dir_keeps_the_default_loader() {
        let set = &[
            ("SSL_CERT_FILE", "/opt/ca.pem"),
            ("SSL_CERT_DIR", "/opt/certs"),
        ];
        assert_eq!(choose_roots(vars(set), |_| true), Roots::Native);
    }

    #[test]
    fn the_first_existing_bundle_is_used() {
        let roots = choose_roots(vars(&[]), |p| p == Path::new(BUNDLES[1]));
        assert_eq!(roots, Roots::Bundle(BUNDLES[1].into()));
        assert_eq!(choose_roots(vars(&[]), |_| false), Roots::Native);
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
    }

    #[test]
    fn the_systems_bundle_reads_as_the_tls_stack_reads_it() {
        use rustls::pki_types::pem::PemObject;
        // Not every build machine has one; where it does, every certificate the TLS stack's
        // own reader finds must be a root here too.
        if let Roots::Bundle(path) = choose_roots(|_| None, |p| p.is_file()) {
            let pem = std::fs::read(&path).unwrap();
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
