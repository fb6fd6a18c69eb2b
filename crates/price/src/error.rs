//! The one error type of this crate: why a piece of outside input is not a valid number.

/// Why text or a JSON number could not become one of this crate's exact types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    /// Nothing to parse.
    #[error("expected a number, got an empty string")]
    Empty,
    /// Not a plain decimal number.
    #[error("'{text}' is not a plain decimal number")]
    Malformed {
        /// The offending text (truncated to 40 characters).
        text: String,
    },
    /// NaN or an infinity.
    #[error("{what} must be a finite number")]
    NotFinite {
        /// What was being parsed ("price", "ratio", ...).
        what: &'static str,
    },
    /// Below zero where only positive values make sense.
    #[error("{what} must not be negative, got {text}")]
    Negative {
        /// What was being parsed.
        what: &'static str,
        /// The value as given.
        text: String,
    },
    /// Zero where the value must be positive.
    #[error("{what} must be greater than zero")]
    Zero {
        /// What was being parsed.
        what: &'static str,
    },
    /// More fractional digits than the fixed-point type holds.
    #[error("{what} has more than {max} decimal places: {text}")]
    TooManyDecimals {
        /// What was being parsed.
        what: &'static str,
        /// The largest number of decimal places accepted.
        max: u32,
        /// The value as given.
        text: String,
    },
    /// Larger than the type allows.
    #[error("{what} must be at most {max}, got {text}")]
    TooLarge {
        /// What was being parsed.
        what: &'static str,
        /// The largest accepted value, as text.
        max: &'static str,
        /// The value as given.
        text: String,
    },
    /// Not a whole number where one is required.
    #[error("{what} must be a whole number, got {text}")]
    NotWhole {
        /// What was being parsed.
        what: &'static str,
        /// The value as given.
        text: String,
    },
}

/// Shortens user text before it is echoed back in an error message.
pub(crate) fn excerpt(text: &str) -> String {
    const MAX: usize = 40;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
