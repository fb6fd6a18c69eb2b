//! JSON lines spaced like Python's `json.dumps` (`{"a": 1, "b": [2, 3]}`), so that
//! `kitebreak trace` output can be diffed against the golden files directly.

use std::io::{self, Write};

use serde_json::ser::Formatter;

/// serde_json's compact output with `", "` and `": "` separators.
#[derive(Debug, Default, Clone, Copy)]
pub struct PythonStyle;

impl Formatter for PythonStyle {
    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }
}

/// Writes `value` as one line in [`PythonStyle`].
pub fn write_line<W: Write, T: serde::Serialize>(writer: &mut W, value: &T) -> io::Result<()> {
    let mut serializer = serde_json::Serializer::with_formatter(&mut *writer, PythonStyle);
    value
        .serialize(&mut serializer)
        .map_err(|error| match error.io_error_kind() {
            // Keep the kind (a closed pipe stays `BrokenPipe`).
            Some(kind) => io::Error::new(kind, error),
            None => io::Error::other(error),
        })?;
    writer.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_match_python() {
        let value =
            serde_json::json!({"i": 0, "events": [1, 2], "support": null, "x": {"a": true}});
        let mut out = Vec::new();
        write_line(&mut out, &value).expect("write to memory");
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "{\"events\": [1, 2], \"i\": 0, \"support\": null, \"x\": {\"a\": true}}\n"
        );
    }
}
