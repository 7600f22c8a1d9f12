//! Policies as a literal JSON argument: the keys given override the defaults.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Options of type `T` from a JSON object literal: `None` or `''` gives the
/// defaults; each key given replaces the default's value; an unknown key is refused
/// with the known ones listed.
pub(crate) fn parse<T: Default + Serialize + DeserializeOwned>(
    function: &str,
    literal: Option<&str>,
) -> revops::Result<T> {
    let invalid = |reason: String| {
        revops::Error::from(revops::error::ErrorKind::InvalidParameter {
            name: "options",
            value: literal.unwrap_or_default().to_string(),
            reason: format!("{function}: {reason}"),
        })
    };
    let text = literal.map(str::trim).unwrap_or_default();
    if text.is_empty() {
        return Ok(T::default());
    }
    let mut base = serde_json::to_value(T::default()).map_err(|e| invalid(e.to_string()))?;
    let given: serde_json::Value =
        serde_json::from_str(text).map_err(|e| invalid(format!("not JSON: {e}")))?;
    let (Some(base_map), Some(given_map)) = (base.as_object_mut(), given.as_object()) else {
        return Err(invalid("the options must be a JSON object".into()));
    };
    for (key, value) in given_map {
        if !base_map.contains_key(key) {
            let known: Vec<&str> = base_map.keys().map(String::as_str).collect();
            return Err(invalid(format!(
                "unknown option `{key}` (known: {})",
                known.join(", ")
            )));
        }
        base_map.insert(key.clone(), value.clone());
    }
    serde_json::from_value(base).map_err(|e| invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use revops::forecast::{ErrorOptions, ZeroActualPolicy};

    #[test]
    fn keys_override_defaults_and_unknown_keys_are_refused() {
        let o: ErrorOptions = super::parse("f", Some(r#"{"zero_actual":"error"}"#)).unwrap();
        assert_eq!(o.zero_actual, ZeroActualPolicy::Error);
        assert_eq!(o.bands, ErrorOptions::default().bands);
        assert_eq!(
            super::parse::<ErrorOptions>("f", None).unwrap(),
            ErrorOptions::default()
        );
        let e = super::parse::<ErrorOptions>("f", Some(r#"{"zero":1}"#)).unwrap_err();
        assert!(
            e.to_string()
                .contains("unknown option `zero` (known: bands, zero_actual)"),
            "{e}"
        );
        let e = super::parse::<ErrorOptions>("f", Some("[1]")).unwrap_err();
        assert!(e.to_string().contains("must be a JSON object"), "{e}");
    }
}
