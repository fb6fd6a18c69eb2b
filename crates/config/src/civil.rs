//! Dates and times of day in TOML: quoted (`"09:15"`, `"2026-01-26"`) or TOML's own
//! unquoted values (`09:15:00`, `2026-01-26`), which reach serde through figment as
//! a one-key map `{"$__toml_private_datetime": "..."}`.

use std::fmt;

use jiff::civil::{Date, Time};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

/// The key under which `toml` hands over its native date-time values.
const TOML_DATETIME: &str = "$__toml_private_datetime";

struct Text(&'static str);

impl<'de> Visitor<'de> for Text {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<String, E> {
        Ok(text.to_owned())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<String, A::Error> {
        match map.next_entry::<String, String>()? {
            Some((key, text)) if key == TOML_DATETIME => Ok(text),
            _ => Err(de::Error::invalid_type(de::Unexpected::Map, &self)),
        }
    }
}

fn parse<T: std::str::FromStr, E: de::Error>(text: &str, what: &str) -> Result<T, E> {
    text.trim()
        .parse()
        .map_err(|_| E::custom(format!("`{text}` is not {what}")))
}

/// A time of day: `"09:15"`, `"09:15:00"` or unquoted `09:15:00`.
pub(crate) fn time<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Time, D::Error> {
    let text = deserializer.deserialize_any(Text("a time of day such as \"09:15\""))?;
    parse(&text, "a time of day (HH:MM)")
}

/// A list of dates: `["2026-01-26"]` or unquoted `[2026-01-26]`.
pub(crate) fn dates<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Date>, D::Error> {
    struct Dates;
    impl<'de> Visitor<'de> for Dates {
        type Value = Vec<Date>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of dates such as [\"2026-01-26\"]")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Date>, A::Error> {
            let mut dates = Vec::new();
            while let Some(text) = seq.next_element::<Element>()? {
                dates.push(parse(&text.0, "a date (YYYY-MM-DD)")?);
            }
            Ok(dates)
        }
    }
    deserializer.deserialize_seq(Dates)
}

struct Element(String);

impl<'de> serde::Deserialize<'de> for Element {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Element, D::Error> {
        deserializer
            .deserialize_any(Text("a date such as \"2026-01-26\""))
            .map(Element)
    }
}
