//! Loading configuration from files, environment and flags, as the binary does.

use std::path::{Path, PathBuf};

use kitebreak_config::{BrokerKind, ConfigError, Flags, Sources, load};
use kitebreak_engine::Symbol;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../kitebreak.example.toml")
}

fn write_config(dir: &tempfile::TempDir, text: &str) -> PathBuf {
    let path = dir.path().join("kitebreak.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

fn load_error(sources: Sources) -> String {
    match load(sources) {
        Ok(_) => panic!("configuration accepted"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn the_example_file_loads_with_its_overrides() {
    let loaded = load(Sources {
        file: Some(example()),
        ..Sources::default()
    })
    .expect("the example config is valid");
    let settings = &loaded.settings;
    assert_eq!(settings.listen.to_string(), "127.0.0.1:5000");
    assert_eq!(settings.broker, BrokerKind::Paper);
    let reliance = Symbol::parse("RELIANCE").expect("symbol");
    let params = settings.symbols.get(&reliance).expect("override");
    assert_eq!(params.lookback(), 20);
    assert_eq!(params.quantity().get(), 5);
    assert_eq!(params.profit_target().to_string(), "0.03", "inherited");
    assert_eq!(settings.market.holidays.len(), 3);
    assert_eq!(settings.risk.max_open_trades, Some(5));
}

#[test]
fn no_file_means_the_defaults() {
    let loaded = load(Sources::default()).expect("defaults are valid");
    assert_eq!(loaded.settings.listen.to_string(), "127.0.0.1:5000");
    assert_eq!(loaded.settings.database(), Path::new("./data/kitebreak.db"));
    assert_eq!(loaded.settings.strategy.lookback(), 10);
    assert_eq!(loaded.settings.orders.market_protection.to_kite(), -1);
}

#[test]
fn the_environment_wins_over_the_file_and_flags_win_over_both() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write_config(
        &dir,
        "[server]\nlisten = \"127.0.0.1:6000\"\n[strategy]\nlookback = 12\n",
    );
    let vars = env(&[
        ("KITEBREAK_SERVER__LISTEN", "127.0.0.1:7000"),
        ("KITEBREAK_STRATEGY__SYMBOLS__INFY__LOOKBACK", "30"),
        ("PATH", "/usr/bin"),
    ]);
    let loaded = load(Sources {
        file: Some(file.clone()),
        env: vars.clone(),
        ..Sources::default()
    })
    .expect("valid");
    assert_eq!(loaded.settings.listen.to_string(), "127.0.0.1:7000");
    assert_eq!(loaded.settings.strategy.lookback(), 12);
    let infy = Symbol::parse("INFY").expect("symbol");
    assert_eq!(loaded.settings.symbols[&infy].lookback(), 30);
    let flags = Flags {
        listen: Some("127.0.0.1:0".into()),
        ..Flags::default()
    };
    let loaded = load(Sources {
        file: Some(file),
        env: vars,
        flags,
    })
    .expect("valid");
    assert_eq!(loaded.settings.listen.port(), 0);
}

#[test]
fn unknown_keys_are_refused_with_the_key_and_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write_config(&dir, "[server]\nlisten = \"127.0.0.1:5000\"\nlisen = 1\n");
    let message = load_error(Sources {
        file: Some(file.clone()),
        ..Sources::default()
    });
    assert!(message.contains("`server.lisen`"), "{message}");
    assert!(message.contains(&file.display().to_string()), "{message}");
    assert!(message.contains("unknown key"), "{message}");
}

#[test]
fn bad_values_name_the_key_and_where_they_came_from() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write_config(
        &dir,
        "[strategy]\nlookback = 0\n[orders]\nmarket_protection = 0\n",
    );
    let message = load_error(Sources {
        file: Some(file.clone()),
        ..Sources::default()
    });
    assert!(message.contains("`strategy.lookback`"), "{message}");
    assert!(message.contains("`orders.market_protection`"), "{message}");
    assert!(message.contains(&file.display().to_string()), "{message}");

    let message = load_error(Sources {
        env: env(&[("KITEBREAK_SERVER__LISTEN", "not-an-address")]),
        ..Sources::default()
    });
    assert!(message.contains("`server.listen`"), "{message}");
    assert!(message.contains("KITEBREAK_SERVER__LISTEN"), "{message}");

    let message = load_error(Sources {
        flags: Flags {
            broker: Some("zerodha".into()),
            ..Flags::default()
        },
        ..Sources::default()
    });
    assert!(message.contains("--broker"), "{message}");
}

#[test]
fn unknown_kitebreak_variables_are_refused_but_secrets_are_not_keys() {
    let message = load_error(Sources {
        env: env(&[("KITEBREAK_LISTEN", "127.0.0.1:1")]),
        ..Sources::default()
    });
    assert!(message.contains("KITEBREAK_LISTEN"), "{message}");
    let loaded = load(Sources {
        env: env(&[("KITEBREAK_API_TOKEN", "t0k3n"), ("KITEBREAK_CONFIG", "x")]),
        ..Sources::default()
    })
    .expect("secrets are not configuration keys");
    assert!(loaded.settings.secrets.api_token.is_some());
}

#[test]
fn a_missing_config_file_is_an_error() {
    let result = load(Sources {
        file: Some("/nonexistent/kitebreak.toml".into()),
        ..Sources::default()
    });
    assert!(matches!(result, Err(ConfigError::File { .. })));
}

#[test]
fn print_config_masks_secrets_and_loads_again() {
    let secret = "s3cr3t-value-that-must-not-print";
    let loaded = load(Sources {
        file: Some(example()),
        env: env(&[("KITEBREAK_API_TOKEN", secret), ("KITE_API_SECRET", secret)]),
        ..Sources::default()
    })
    .expect("valid");
    let text = loaded.render();
    assert!(!text.contains(secret), "{text}");
    assert!(text.contains("KITEBREAK_API_TOKEN"), "{text}");
    assert!(text.contains("\"***\""), "{text}");
    let dir = tempfile::tempdir().expect("temp dir");
    let again = load(Sources {
        file: Some(write_config(&dir, &text)),
        ..Sources::default()
    })
    .expect("printed config loads");
    assert_eq!(again.config, loaded.config);
}

#[test]
fn an_environment_override_of_a_symbol_merges_with_the_files_table() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write_config(&dir, "[strategy.symbols.INFY]\nlookback = 20\n");
    let loaded = load(Sources {
        file: Some(file),
        env: env(&[("KITEBREAK_STRATEGY__SYMBOLS__INFY__QUANTITY", "3")]),
        ..Sources::default()
    })
    .expect("one symbol, two sources");
    let infy = Symbol::parse("INFY").expect("symbol");
    let params = loaded.settings.symbols[&infy];
    assert_eq!((params.lookback(), params.quantity().get()), (20, 3));
    assert_eq!(loaded.settings.symbols.len(), 1);
}

#[test]
fn market_times_and_dates_may_be_quoted_or_native_toml() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text =
        "[market]\nopen = 09:00:00\nclose = \"15:30\"\nholidays = [2026-01-26, \"2026-03-03\"]\n";
    let loaded = load(Sources {
        file: Some(write_config(&dir, text)),
        ..Sources::default()
    })
    .expect("both spellings");
    assert_eq!(loaded.settings.market.open.to_string(), "09:00:00");
    assert_eq!(loaded.settings.market.holidays.len(), 2);
    let file = write_config(&dir, "[market]\nholidays = [\"26/01/2026\"]\n");
    let message = load_error(Sources {
        file: Some(file),
        ..Sources::default()
    });
    assert!(
        message.contains("`market.holidays`") && message.contains("26/01/2026"),
        "{message}"
    );
}

#[test]
fn the_feed_section_reaches_the_engine_with_defaults_and_is_validated() {
    let defaults = load(Sources::default()).expect("defaults are valid");
    let engine = defaults.settings.engine_config(Path::new("x.db"));
    assert_eq!(engine.feed, kitebreak_engine::FeedConfig::default());
    assert_eq!(defaults.config.feed.poll_every_ms, 1000);
    assert_eq!(defaults.config.feed.stale_after_ms, 3000);

    let dir = tempfile::tempdir().expect("temp dir");
    let file = write_config(&dir, "[feed]\npoll_every_ms = 2000\n");
    let loaded = load(Sources {
        file: Some(file),
        env: env(&[("KITEBREAK_FEED__STALE_AFTER_MS", "5000")]),
        ..Sources::default()
    })
    .expect("valid feed settings");
    let engine = loaded.settings.engine_config(Path::new("x.db"));
    assert_eq!(engine.feed.poll_every, std::time::Duration::from_secs(2));
    assert_eq!(engine.feed.stale_after, std::time::Duration::from_secs(5));
    assert!(
        loaded.render().contains("[feed]"),
        "--print-config shows it"
    );

    let file = write_config(&dir, "[feed]\npoll_every_ms = 0\nstale_after_ms = 600000\n");
    let message = load_error(Sources {
        file: Some(file.clone()),
        ..Sources::default()
    });
    assert!(message.contains("`feed.poll_every_ms`"), "{message}");
    assert!(message.contains("`feed.stale_after_ms`"), "{message}");
    assert!(message.contains(&file.display().to_string()), "{message}");
    let message = load_error(Sources {
        env: env(&[("KITEBREAK_FEED__POLL_EVRY_MS", "1000")]),
        ..Sources::default()
    });
    assert!(
        message.contains("KITEBREAK_FEED__POLL_EVRY_MS"),
        "{message}"
    );
}

#[test]
fn protection_defaults_to_none_and_exchange_reaches_the_engine() {
    let loaded = load(Sources::default()).expect("defaults are valid");
    assert_eq!(
        loaded.settings.orders.protection,
        kitebreak_config::ProtectionMode::None
    );
    let engine = loaded.settings.engine_config(Path::new("x.db"));
    assert_eq!(engine.protection, kitebreak_engine::Protection::None);

    let dir = tempfile::tempdir().expect("temp dir");
    let file = write_config(&dir, "[orders]\nprotection = \"exchange\"\n");
    let loaded = load(Sources {
        file: Some(file),
        ..Sources::default()
    })
    .expect("valid");
    let engine = loaded.settings.engine_config(Path::new("x.db"));
    assert_eq!(engine.protection, kitebreak_engine::Protection::Exchange);

    let loaded = load(Sources {
        env: env(&[
            ("KITEBREAK_ORDERS__PROTECTION", "exchange"),
            ("KITEBREAK_ORDERS__PRODUCT", "CNC"),
        ]),
        ..Sources::default()
    })
    .expect("a GTT OCO guards CNC trades");
    let engine = loaded.settings.engine_config(Path::new("x.db"));
    assert_eq!(engine.protection, kitebreak_engine::Protection::ExchangeOco);
}

#[test]
fn protection_refuses_unknown_modes_and_mtf() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write_config(&dir, "[orders]\nprotection = \"always\"\n");
    let message = load_error(Sources {
        file: Some(file),
        ..Sources::default()
    });
    assert!(message.contains("orders.protection"), "{message}");

    let message = load_error(Sources {
        env: env(&[
            ("KITEBREAK_ORDERS__PROTECTION", "exchange"),
            ("KITEBREAK_ORDERS__PRODUCT", "MTF"),
        ]),
        ..Sources::default()
    });
    assert!(message.contains("`orders.protection`"), "{message}");
    assert!(message.contains("MTF"), "{message}");
    assert!(
        message.contains("KITEBREAK_ORDERS__PROTECTION"),
        "{message}"
    );
}

#[test]
fn the_settle_bound_defaults_to_ten_seconds_and_is_validated() {
    let defaults = load(Sources::default()).expect("defaults are valid");
    assert_eq!(
        defaults.settings.orders.settle_within,
        std::time::Duration::from_secs(10)
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let loaded = load(Sources {
        env: env(&[("KITEBREAK_ORDERS__SETTLE_WITHIN_MS", "30000")]),
        ..Sources::default()
    })
    .expect("valid");
    assert_eq!(
        loaded.settings.orders.settle_within,
        std::time::Duration::from_secs(30)
    );
    assert!(
        loaded.render().contains("settle_within_ms = 30000"),
        "--print-config shows it"
    );
    let file = write_config(&dir, "[orders]\nsettle_within_ms = 100\n");
    let message = load_error(Sources {
        file: Some(file.clone()),
        ..Sources::default()
    });
    assert!(message.contains("`orders.settle_within_ms`"), "{message}");
    assert!(message.contains("1000..=120000"), "{message}");
    assert!(message.contains(&file.display().to_string()), "{message}");
}
