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
//!   on Debian), which was half of the SDK's start-up time. With `SSL_CERT_DIR` set, or no
//!   bundle found, or a bundle the TLS stack could not use, the default loader runs as
//!   before: roots are never silently dropped.
//! * Proxy settings from the environment (`HTTPS_PROXY`, `NO_PROXY`) apply, as with the SDK's
//!   default client.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use aws_sdk_lambda::config::SharedHttpClient;
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use rustls_pki_types::pem::PemObject;
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

fn choose_roots(
    var: impl Fn(&str) -> Option<OsString>,
    is_file: impl Fn(&Path) -> bool,
) -> Roots {
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

/// Checks `pem` the way the TLS stack will read it (every certificate block decodes, and
/// each is usable as a trust anchor), because it panics on a block it cannot use. Returns
/// the number of certificates.
fn check_bundle(pem: &[u8]) -> Result<usize, String> {
    let mut count = 0;
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| format!("unreadable PEM: {e}"))?;
        webpki::anchor_from_trusted_cert(&cert)
            .map_err(|e| format!("certificate {} is not a usable root: {e}", count + 1))?;
        count += 1;
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
compile_error!("durable-tokio needs a TLS crypto provider: enable feature `ring` (default) or `aws-lc-rs`");

/// The HTTPS client [`LambdaClient::from_env`](super::LambdaClient::from_env) configures the
/// SDK with. Reads the bundle now (so the cost falls where the client is built); the TLS
/// configuration itself is built on the first request, once per connector settings.
pub(crate) fn client() -> SharedHttpClient {
    let store = trust_store(choose_roots(
        |name| std::env::var_os(name),
        |path| path.is_file(),
    ));
    // Building a context only moves its parts (it cannot fail today); should it ever fail,
    // the default context still trusts the system's roots.
    let context = TlsContext::builder()
        .with_trust_store(store)
        .build()
        .unwrap_or_default();
    let mode = crypto_mode();
    // The builder the SDK's own default client uses, so connector settings (timeouts), the
    // async sleep and the proxy configuration are applied the same way.
    Builder::new().build_with_connector_fn(move |settings, components| {
        let mut connector = ConnectorBuilder::default()
            .tls_provider(tls::Provider::Rustls(mode.clone()))
            .tls_context(context.clone());
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
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
        let set = &[("SSL_CERT_FILE", "/opt/ca.pem"), ("SSL_CERT_DIR", "/opt/certs")];
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
        assert!(err.starts_with("certificate 1 is not a usable root"), "{err}");
        let broken = b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n";
        assert!(check_bundle(broken).unwrap_err().starts_with("unreadable PEM"));
    }

    #[test]
    fn the_systems_bundle_passes_when_there_is_one() {
        // Not every build machine has one; where it does, it must be accepted whole.
        if let Roots::Bundle(path) = choose_roots(|_| None, |p| p.is_file()) {
            let pem = std::fs::read(&path).unwrap();
            let count = check_bundle(&pem).unwrap();
            assert!(count > 10, "{}: {count} roots", path.display());
        }
    }
}
