//! [`Params`]: the key/value pairs of a request (query string plus form body).
//!
//! Kite clients send GET/DELETE parameters in the query and POST/PUT ones as a form, and
//! send extra, redundant fields freely; lookups here take the first value of a key and
//! everything unknown is ignored.

/// Request parameters in arrival order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    /// Parses `a=1&b=2` text (either a query string or a form body).
    pub fn parse(text: &[u8]) -> Params {
        Params(serde_urlencoded::from_bytes(text).unwrap_or_default())
    }

    /// Adds the pairs of another set after these.
    pub fn extend(&mut self, other: Params) {
        self.0.extend(other.0);
    }

    /// The first value of `key`, trimmed, if present and not blank.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// Every value of a repeated key (`i=NSE:INFY&i=NSE:TCS`).
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_and_blanks() {
        let params = Params::parse(b"i=NSE%3AINFY&i=NSE:TCS&tag=&x=1+2");
        assert_eq!(params.all("i"), vec!["NSE:INFY", "NSE:TCS"]);
        assert_eq!(params.get("tag"), None);
        assert_eq!(params.get("x"), Some("1 2"));
    }
}
