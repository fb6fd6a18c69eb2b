//! `kitebreak login`: Kite's daily login. Without `--request-token` it prints the login
//! URL for `KITE_API_KEY`; with one it exchanges the token (checksum from
//! `KITE_API_SECRET`), stores the session in the data directory (owner-only file,
//! where `serve --broker kite` finds it) and says who is logged in until when.
//!
//! The access token itself is never printed. A running `kitebreak serve` picks the
//! new session up from the file within seconds, without a restart.

use anyhow::Context;
use kitebreak_config::{Flags, Sources};
use kitebreak_kite::{KiteConfig, session};

use crate::cli::{GlobalArgs, LoginArgs};

/// Runs the login step the flags ask for.
pub async fn run(args: &LoginArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let sources = Sources {
        file: global.config.clone(),
        env: std::env::vars().collect(),
        flags: Flags {
            listen: None,
            data_dir: args.data_dir.clone(),
            broker: None,
        },
    };
    let settings = kitebreak_config::load(sources)?.settings;
    let api_key = settings
        .secrets
        .kite_api_key
        .as_ref()
        .context("KITE_API_KEY is not set: export your Kite Connect app's API key")?;
    let config = KiteConfig::new(api_key.expose(), &settings.data_dir)
        .with_roots(&args.kite_root, &args.kite_ws)
        .with_login_root(&args.kite_login);
    let Some(request_token) = &args.request_token else {
        // The same function builds `GET /login`'s redirect.
        let url = session::login_url(&config, None)?;
        println!("{url}");
        eprintln!(
            "Open the URL above, log in to Kite, then run:\n  \
             kitebreak login --request-token <request_token from the redirect URL>"
        );
        return Ok(());
    };
    let api_secret = settings
        .secrets
        .kite_api_secret
        .as_ref()
        .context("KITE_API_SECRET is not set: it is needed to exchange the request token")?;
    let config = config.with_secret(api_secret.expose())?;
    let stored = session::exchange_request_token(&config, request_token)
        .await
        .context("exchanging the request token with Kite")?;
    println!(
        "logged in as {} ({}); session stored in {}; the access token expires at {} \
         (06:00 IST); a running `kitebreak serve` on this data directory uses it within \
         seconds",
        stored.user_name,
        stored.user_id,
        config.session_path().display(),
        stored.expires_at,
    );
    Ok(())
}
