//! [`Symbol`]: a validated, upper-cased trading symbol, parsed once at the edge.
//!
//! Shared text (`Arc<str>`): a symbol travels with every command, tick and row, and
//! a clone is a reference count, not an allocation.

use std::fmt;
use std::sync::Arc;

use crate::EngineError;

/// A trading symbol such as `RELIANCE` or `M&M`: 1 to 40 characters of ASCII letters,
/// digits and `-&_.`, upper-cased (`reliance` and `RELIANCE` are one strategy).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Symbol(Arc<str>);

impl Symbol {
    /// The longest symbol accepted.
    pub const MAX_LEN: usize = 40;

    /// Parses outside text into a symbol, trimming surrounding whitespace.
    pub fn parse(text: &str) -> Result<Symbol, EngineError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(EngineError::InvalidInput("symbol must not be empty".into()));
        }
        if text.chars().count() > Self::MAX_LEN {
            return Err(EngineError::InvalidInput(format!(
                "symbol must be at most {} characters",
                Self::MAX_LEN
            )));
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '&' | '_' | '.');
        if !text.chars().all(allowed) {
            return Err(EngineError::InvalidInput(
                "symbol may contain only letters, digits and - & _ .".into(),
            ));
        }
        Ok(Symbol(Arc::from(text.to_ascii_uppercase())))
    }

    /// The symbol as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Symbol({})", self.0)
    }
}

impl serde::Serialize for Symbol {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_are_upper_cased_and_checked() {
        let ok = |t: &str| Symbol::parse(t).map(|s| s.to_string()).ok();
        assert_eq!(ok("reliance"), Some("RELIANCE".into()));
        assert_eq!(ok(" m&m "), Some("M&M".into()));
        assert_eq!(ok("BAJAJ-AUTO"), Some("BAJAJ-AUTO".into()));
        assert_eq!(ok("NIFTY_2.5"), Some("NIFTY_2.5".into()));
        for bad in ["", " ", "NSE:INFY", "a b", "ÄPFEL", "x/y", &"A".repeat(41)] {
            assert!(Symbol::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(Symbol::parse(&"A".repeat(40)).is_ok());
    }
}
