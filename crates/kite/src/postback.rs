//! Postbacks (order webhooks): checksum verification and decoding, as pure functions.
//!
//! Kite signs each postback with `sha256_hex(order_id + order_timestamp + api_secret)`
//! (plain concatenation, no HMAC; kite-api.md §13). A payload whose checksum does not
//! match is not from Kite and must be ignored.

use kiteconnect::ApiSecret;
use sha2::{Digest, Sha256};

use crate::error::KiteError;
use crate::orders::OrderSnapshot;

/// Lower-case hex SHA-256 of `order_id + order_timestamp + api_secret`.
pub fn postback_checksum(order_id: &str, order_timestamp: &str, secret: &ApiSecret) -> String {
    let mut digest = Sha256::new();
    digest.update(order_id.as_bytes());
    digest.update(order_timestamp.as_bytes());
    digest.update(secret.expose().as_bytes());
    hex::encode(digest.finalize())
}

/// True when `checksum` is the postback checksum of these fields (case-insensitive
/// hex, compared in constant time).
pub fn checksum_matches(
    order_id: &str,
    order_timestamp: &str,
    checksum: &str,
    secret: &ApiSecret,
) -> bool {
    let want = postback_checksum(order_id, order_timestamp, secret);
    let got = checksum.to_ascii_lowercase();
    want.len() == got.len()
        && want
            .bytes()
            .zip(got.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[derive(serde::Deserialize)]
struct Signed {
    order_id: String,
    order_timestamp: String,
    checksum: String,
}

/// Verifies a postback body and decodes the order it carries.
///
/// The checksum is checked against the raw `order_timestamp` text, before any
/// decoding, so a reformatted timestamp can never pass.
pub fn verify_postback(body: &[u8], secret: &ApiSecret) -> Result<OrderSnapshot, KiteError> {
    let signed: Signed =
        serde_json::from_slice(body).map_err(|e| KiteError::Decode(format!("postback: {e}")))?;
    if !checksum_matches(
        &signed.order_id,
        &signed.order_timestamp,
        &signed.checksum,
        secret,
    ) {
        return Err(KiteError::InvalidInput(format!(
            "postback for order {} has a wrong checksum",
            signed.order_id
        )));
    }
    let order: kiteconnect::Order = serde_json::from_slice(body)
        .map_err(|e| KiteError::Decode(format!("postback order: {e}")))?;
    OrderSnapshot::from_kite(&order)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_is_sha256_of_the_concatenation() {
        let secret = ApiSecret::new("secret").expect("secret");
        // printf '%s' '1234562022-03-03 09:24:25secret' | sha256sum
        let sum = postback_checksum("123456", "2022-03-03 09:24:25", &secret);
        assert_eq!(
            sum,
            "e5ef9fdd5f4f91041d585f7b8ea2ef1b4d2ca5dfcaf4de84985a21670e876551"
        );
        assert!(checksum_matches(
            "123456",
            "2022-03-03 09:24:25",
            &sum.to_uppercase(),
            &secret
        ));
        assert!(!checksum_matches(
            "123457",
            "2022-03-03 09:24:25",
            &sum,
            &secret
        ));
        assert!(!checksum_matches(
            "123456",
            "2022-03-03 09:24:25",
            "",
            &secret
        ));
    }
}
