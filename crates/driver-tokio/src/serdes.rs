//! How operation values become the strings the service stores.

use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Turns values of `T` into checkpointed text and back.
///
/// The default is [`Json`]. A step hands user code the value obtained by serializing and
/// then deserializing its result, so a first run sees exactly what a replay will see.
pub trait Serdes<T>: Send + Sync {
    /// Serializes a value for checkpointing.
    fn serialize(&self, value: &T) -> Result<String, String>;
    /// Rebuilds a value from checkpointed text.
    fn deserialize(&self, text: &str) -> Result<T, String>;
}

/// JSON through serde_json: the default serializer.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json;

impl<T: Serialize + DeserializeOwned> Serdes<T> for Json {
    fn serialize(&self, value: &T) -> Result<String, String> {
        serde_json::to_string(value).map_err(|e| e.to_string())
    }

    fn deserialize(&self, text: &str) -> Result<T, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }
}

/// A serializer built from two closures.
pub struct FnSerdes<T, S, D> {
    serialize: S,
    deserialize: D,
    _value: PhantomData<fn(T) -> T>,
}

impl<T, S, D> std::fmt::Debug for FnSerdes<T, S, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FnSerdes")
    }
}

/// Builds a [`Serdes`] from a serialize and a deserialize closure.
///
/// ```
/// use durable_tokio::{serdes_fn, Serdes};
/// let upper = serdes_fn(
///     |s: &String| Ok(s.to_uppercase()),
///     |t: &str| Ok(t.to_owned()),
/// );
/// assert_eq!(upper.serialize(&"hi".to_owned()).unwrap(), "HI");
/// ```
pub fn serdes_fn<T, S, D>(serialize: S, deserialize: D) -> FnSerdes<T, S, D>
where
    S: Fn(&T) -> Result<String, String> + Send + Sync,
    D: Fn(&str) -> Result<T, String> + Send + Sync,
{
    FnSerdes {
        serialize,
        deserialize,
        _value: PhantomData,
    }
}

impl<T, S, D> Serdes<T> for FnSerdes<T, S, D>
where
    S: Fn(&T) -> Result<String, String> + Send + Sync,
    D: Fn(&str) -> Result<T, String> + Send + Sync,
{
    fn serialize(&self, value: &T) -> Result<String, String> {
        (self.serialize)(value)
    }

    fn deserialize(&self, text: &str) -> Result<T, String> {
        (self.deserialize)(text)
    }
}
