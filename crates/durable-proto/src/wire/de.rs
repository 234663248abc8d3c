//! Small `deserialize_with` helpers shared by the wire types.

use serde::{Deserialize, Deserializer};

/// Reads `null` as the type's default: producers write `null` and omit fields interchangeably
/// (e.g. `"Operations": null`, `"Attempt": null`). Pair with `#[serde(default)]` for omission.
pub(super) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Reads `""` as `None`: the emulator sends `"NextMarker": ""` for "no more pages", and an empty
/// token or marker can never be sent back to the service anyway.
pub(super) fn empty_as_none<'de, D>(deserializer: D) -> Result<Option<String>, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(Option::<String>::deserialize(deserializer)?.filter(|text| !text.is_empty()))
}
