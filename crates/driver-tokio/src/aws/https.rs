//! The checkpoint client's HTTPS stack, chosen for a Lambda function's cold start (the
//! trade-offs and figures are in docs/performance.md, "Cold start"):
//!
//! * **Crypto provider:** rustls on *ring* (default feature `ring`; feature `aws-lc-rs`
//!   switches to aws-lc-rs). ring builds in seconds, where aws-lc-sys compiles a large C
//!   library on a user's first build; aws-lc-rs brings post-quantum key exchange and, in its
//!   FIPS build, certification, which the feature keeps available.
//! * **Trusted roots:** the system's CA bundle, read from **one file**: `SSL_CERT_FILE` when
//!   set, else the first of [`BUNDLES`] that exists (on Lambda's Amazon Linux 2023, the
//!   first). The default loader also lists and stats every entry of `/etc/ssl/certs` (~300
//!   on Debian) and reads each certificate a second time from there. With `SSL_CERT_DIR`
//!   set, or no bundle found, or a bundle the TLS stack could not use, the default loader
//!   runs as before: roots are never silently dropped.
//! * **Built once, ahead of the first request:** the SDK asks its HTTP client for a
//!   connector per timeout settings; [`HttpsClient`] keeps them, and
//!   [`LambdaClient::from_env`](super::LambdaClient::from_env) builds the checkpoint
//!   client's own connector (which parses the bundle, the costly part) right away, inside
//!   the task that [`run`](crate::run) starts beside the Lambda runtime, instead of on the
//!   first checkpoint call.
//! * Proxy settings from the environment (`HTTPS_PROXY`, `NO_PROXY`) apply, as with the SDK's
//!   default client.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aws_smithy_async::rt::sleep::TokioSleep;
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_http_client::ConnectorBuilder;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use base64::Engine as _;
use rustls_pki_types::CertificateDer;

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

/// Checks a PEM bundle before the TLS stack reads it, because that stack panics on a block
/// it cannot decode or a certificate it cannot use as a root. Stricter than the stack's own
/// reader (any block other than `CERTIFICATE` refuses the bundle), so whatever passes here
/// passes there; and quick (the general-purpose base64 decoder, not the stack's
/// constant-time one, which costs milliseconds for a bundle of public certificates).
/// Returns the number of certificates.
fn check_bundle(pem: &[u8]) -> Result<usize, String> {
    let text = std::str::from_utf8(pem).map_err(|_| "not UTF-8 text".to_owned())?;
    let mut count = 0;
    let mut rest = text;
    while let Some(at) = rest.find("-----BEGIN ") {
        let n = count + 1;
        let body = rest[at..]
            .strip_prefix(BEGIN)
            .ok_or_else(|| format!("block {n} is not a CERTIFICATE"))?;
        let end = body
            .find(END)
            .ok_or_else(|| format!("certificate {n} has no END line"))?;
        let base64: String = body[..end].split_ascii_whitespace().collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(base64.as_bytes())
            .map_err(|e| format!("certificate {n} is not valid base64: {e}"))?;
        webpki::anchor_from_trusted_cert(&CertificateDer::from(der.as_slice()))
            .map_err(|e| format!("certificate {n} is not a usable root: {e}"))?;
        count = n;
        rest = &body[end + END.len()..];
    }
    if count == 0 {
        return Err("no certificate in it".into());
    }
    Ok(count)
}

/// The trust store for `roots`: the bundle's certificates, or the default loader's when the
/// bundle cannot be used (logged at WARN, with the reason).
fn trust_store(roots: Roots) -> TrustStore {
    let path = match roots {
        Roots::Native => return TrustStore::default(),
        Roots::Bundle(path) => path,
    };
    let checked = std::fs::read(&path)
        .map_err(|e| e.to_string())
        .and_then(|pem| check_bundle(&pem).map(|_| pem));
    match checked {
        Ok(pem) => TrustStore::empty().with_pem_certificate(pem),
        Err(reason) => {
            tracing::warn!(
                bundle = %path.display(),
                "CA bundle not used ({reason}); loading the system's roots the default way"
            );
            TrustStore::default()
        }
    }
}

/// aws-lc-rs when its feature is on (it is the stronger choice once paid for), else ring.
#[cfg(feature = "aws-lc-rs")]
fn crypto_mode() -> CryptoMode {
    CryptoMode::AwsLc
}

/// aws-lc-rs when its feature is on (it is the stronger choice once paid for), else ring.
#[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
fn crypto_mode() -> CryptoMode {
    CryptoMode::Ring
}

#[cfg(not(any(feature = "ring", feature = "aws-lc-rs")))]
compile_error!(
    "durable-tokio needs a TLS crypto provider: enable feature `ring` (default) or `aws-lc-rs`"
);

/// The timeouts a connector is built for (the SDK's `HttpConnectorSettings` has no `Eq`).
type SettingsKey = (Option<Duration>, Option<Duration>);

fn key(settings: &HttpConnectorSettings) -> SettingsKey {
    (settings.connect_timeout(), settings.read_timeout())
}

/// The SDK's hyper/rustls connector with this module's roots and crypto provider, one per
/// timeout settings, each built once (the bundle is parsed when a connector is built).
#[derive(Clone, Debug)]
pub(crate) struct HttpsClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    context: TlsContext,
    mode: CryptoMode,
    connectors: Mutex<Vec<(SettingsKey, SharedHttpConnector)>>,
}

impl HttpsClient {
    /// Reads and checks the CA bundle now; builds no connector yet.
    pub(crate) fn new() -> Self {
        let store = trust_store(choose_roots(
            |name| std::env::var_os(name),
            |path| path.is_file(),
        ));
        // Building a context only moves its parts (it cannot fail today); should it ever
        // fail, the default context still trusts the system's roots.
        let context = TlsContext::builder()
            .with_trust_store(store)
            .build()
            .unwrap_or_default();
        Self {
            inner: Arc::new(Inner {
                context,
                mode: crypto_mode(),
                connectors: Mutex::new(Vec::new()),
            }),
        }
    }

    /// The connector for `settings`, built on first use. The lock is held while building,
    /// so a request that arrives during the early build waits for it instead of parsing the
    /// bundle a second time.
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
        let connector = SharedHttpConnector::new(
            ConnectorBuilder::default()
                .connector_settings(settings.clone())
                .sleep_impl(TokioSleep::new())
                .proxy_config(ProxyConfig::from_env())
                .tls_provider(tls::Provider::Rustls(self.inner.mode.clone()))
                .tls_context(self.inner.context.clone())
                .build(),
        );
        connectors.push((wanted, connector.clone()));
        connector
    }
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
    fn a_bundle_the_tls_stack_cannot_use_is_refused_with_the_reason() {
        assert_eq!(check_bundle(b"").unwrap_err(), "no certificate in it");
        let garbage = b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n";
        let err = check_bundle(garbage).unwrap_err();
        assert!(
            err.starts_with("certificate 1 is not a usable root"),
            "{err}"
        );
        let broken = b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n";
        let err = check_bundle(broken).unwrap_err();
        assert!(
            err.starts_with("certificate 1 is not valid base64"),
            "{err}"
        );
        let key = b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert_eq!(
            check_bundle(key).unwrap_err(),
            "block 1 is not a CERTIFICATE"
        );
        let open = b"-----BEGIN CERTIFICATE-----\nAAAA\n";
        assert_eq!(
            check_bundle(open).unwrap_err(),
            "certificate 1 has no END line"
        );
    }

    #[test]
    fn the_systems_bundle_passes_and_reads_as_the_tls_stack_reads_it() {
        use rustls_pki_types::pem::PemObject;
        // Not every build machine has one; where it does, it must be accepted whole, with
        // as many certificates as the TLS stack's own reader finds.
        if let Roots::Bundle(path) = choose_roots(|_| None, |p| p.is_file()) {
            let pem = std::fs::read(&path).unwrap();
            let count = check_bundle(&pem).unwrap();
            let theirs = CertificateDer::pem_slice_iter(&pem)
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            assert_eq!(count, theirs.len(), "{}", path.display());
            assert!(count > 10, "{}: {count} roots", path.display());
        }
    }

    #[test]
    fn a_connector_is_built_once_per_timeout_settings() {
        let client = HttpsClient::new();
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
