//! The standard credential chain, with its first link tried before the rest is built.
//!
//! aws-config's default chain is the environment's variables, then profiles, web identity
//! (an STS client of its own), container credentials and instance metadata, and loading the
//! configuration builds all of them: the STS client alone was a fifth of the instructions a
//! durable function ran from process start to its first checkpoint call (docs/performance.md,
//! "Cold start"). A Lambda function always finds its role's credentials in the environment,
//! the chain's first link, so [`EnvFirst`] asks the environment first and builds the whole
//! default chain, the way aws-config builds it, only when the environment has none. What is
//! found, and in which order, does not change.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{future, ProvideCredentials, SharedCredentialsProvider};
use tokio::sync::OnceCell;

/// Builds the rest of the chain: the default chain as aws-config loads it.
pub(crate) type BuildRest = Box<
    dyn Fn() -> Pin<Box<dyn Future<Output = Option<SharedCredentialsProvider>> + Send>>
        + Send
        + Sync,
>;

/// `first`, then, if it has no credentials, the chain `build_rest` makes (built once).
pub(crate) struct EnvFirst<P> {
    first: P,
    build_rest: BuildRest,
    rest: OnceCell<Option<SharedCredentialsProvider>>,
}

impl<P> EnvFirst<P> {
    /// Tries `first`, and when it reports no credentials, the provider `build_rest` returns.
    pub(crate) fn new(first: P, build_rest: BuildRest) -> Self {
        Self {
            first,
            build_rest,
            rest: OnceCell::new(),
        }
    }
}

impl<P: fmt::Debug> fmt::Debug for EnvFirst<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvFirst")
            .field("first", &self.first)
            .field("rest_built", &self.rest.initialized())
            .finish()
    }
}

impl<P: ProvideCredentials> ProvideCredentials for EnvFirst<P> {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            match self.first.provide_credentials().await {
                // Not set: the rest of the chain decides, as in the default chain.
                Err(CredentialsError::CredentialsNotLoaded(_)) => {}
                // Found, or set but unusable (the default chain stops there too).
                settled => return settled,
            }
            let rest = self.rest.get_or_init(|| (self.build_rest)()).await;
            match rest {
                Some(rest) => rest.provide_credentials().await,
                None => Err(CredentialsError::not_loaded(
                    "no credentials in the environment and no credentials provider configured",
                )),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use aws_credential_types::provider::error::CredentialsError;
    use aws_credential_types::provider::future::ProvideCredentials as Future;
    use aws_credential_types::Credentials;

    use super::*;

    #[derive(Debug)]
    struct Fixed(fn() -> Result<Credentials, CredentialsError>);

    impl ProvideCredentials for Fixed {
        fn provide_credentials<'a>(&'a self) -> Future<'a>
        where
            Self: 'a,
        {
            Future::ready((self.0)())
        }
    }

    fn counted(builds: &Arc<AtomicUsize>, rest: Option<&'static str>) -> BuildRest {
        let builds = builds.clone();
        Box::new(move || {
            builds.fetch_add(1, Ordering::SeqCst);
            let provider = rest.map(|key| {
                SharedCredentialsProvider::new(Credentials::new(key, "secret", None, None, "rest"))
            });
            Box::pin(async move { provider })
        })
    }

    fn env() -> Result<Credentials, CredentialsError> {
        Ok(Credentials::new("ENV", "secret", None, None, "env"))
    }

    fn unset() -> Result<Credentials, CredentialsError> {
        Err(CredentialsError::not_loaded("no AWS_ACCESS_KEY_ID"))
    }

    fn broken() -> Result<Credentials, CredentialsError> {
        Err(CredentialsError::invalid_configuration(
            "AWS_ACCESS_KEY_ID is empty",
        ))
    }

    #[tokio::test]
    async fn the_environments_credentials_never_build_the_rest() {
        let builds = Arc::new(AtomicUsize::new(0));
        let chain = EnvFirst::new(Fixed(env), counted(&builds, Some("REST")));
        for _ in 0..2 {
            let found = chain.provide_credentials().await.unwrap();
            assert_eq!(found.access_key_id(), "ENV");
        }
        assert_eq!(builds.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn without_them_the_rest_is_built_once_and_asked() {
        let builds = Arc::new(AtomicUsize::new(0));
        let chain = EnvFirst::new(Fixed(unset), counted(&builds, Some("REST")));
        for _ in 0..2 {
            let found = chain.provide_credentials().await.unwrap();
            assert_eq!(found.access_key_id(), "REST");
        }
        assert_eq!(builds.load(Ordering::SeqCst), 1);
        let none = EnvFirst::new(Fixed(unset), counted(&builds, None));
        let err = none.provide_credentials().await.unwrap_err();
        assert!(matches!(err, CredentialsError::CredentialsNotLoaded(_)));
    }

    #[tokio::test]
    async fn an_unusable_environment_stops_the_chain_as_the_default_one_does() {
        let builds = Arc::new(AtomicUsize::new(0));
        let chain = EnvFirst::new(Fixed(broken), counted(&builds, Some("REST")));
        let err = chain.provide_credentials().await.unwrap_err();
        assert!(matches!(err, CredentialsError::InvalidConfiguration(_)));
        assert_eq!(builds.load(Ordering::SeqCst), 0);
    }
}
