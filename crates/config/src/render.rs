//! `serve --print-config`: the effective configuration as TOML.
//!
//! Secrets are listed in comments as `"***"` (set) or `(not set)`, never with their
//! values, so the output can be pasted into an issue and loads again as a config file.

use std::fmt::Write;

use crate::Loaded;
use crate::secrets::NAMES;

/// The header comments and the tree.
pub(crate) fn render(loaded: &Loaded) -> String {
    let mut out = String::new();
    let file = loaded
        .file
        .as_ref()
        .map_or_else(|| "no file".to_owned(), |p| p.display().to_string());
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        "# kitebreak: effective configuration (defaults < {file} < environment < flags)"
    );
    out.push_str(
        "# Secrets come only from the environment (NAME, or NAME_FILE naming a file\n\
         # only its owner can read); they are never printed:\n",
    );
    let width = NAMES.iter().map(|n| n.len()).max().unwrap_or_default();
    for name in NAMES {
        let state = match loaded.settings.secrets.get(name) {
            Some(_) => "\"***\"",
            None => "(not set)",
        };
        let _ = writeln!(out, "#   {name:<width$} = {state}");
    }
    out.push_str(
        "# [orders] applies to a live broker (--broker kite): every order's exchange, product and\n\
         # market_protection; protection = \"exchange\" rests an SL-M stop (MIS) or a GTT OCO\n\
         # (CNC/NRML) per open trade.\n\
         # [risk] and [market] are enforced before every entry; [risk] keys left out mean\n\
         # no limit, and a kill switch stored by a previous run wins over kill_switch.\n\
         # [feed] applies to a live broker (--broker kite): its REST polling fallback.\n\n",
    );
    match toml::to_string_pretty(&loaded.config) {
        Ok(text) => out.push_str(&text),
        Err(error) => {
            let _ = writeln!(
                out,
                "# the configuration could not be written as TOML: {error}"
            );
        }
    }
    out
}
