//! `GET /openapi.json` and `GET /docs`: the document lists every route, the routes
//! it lists exist, and the Swagger UI is served from the binary.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

/// Every path of product.md §3 except the dashboard (not built yet).
const SPEC_PATHS: [&str; 20] = [
    "/",
    "/generate_token",
    "/login",
    "/login/callback",
    "/webhook",
    "/strategy/{symbol}",
    "/strategy/{symbol}/reset",
    "/strategy/{symbol}/exit",
    "/strategies",
    "/trades",
    "/ltp/{symbol}",
    "/ohlc/{symbol}",
    "/positions",
    "/orders",
    "/monitoring",
    "/monitoring/start",
    "/monitoring/stop",
    "/metrics",
    "/openapi.json",
    "/docs",
];

async fn document(app: &TestApp) -> Value {
    let response = app.server.get("/openapi.json").await;
    response.assert_status_ok();
    response.json()
}

fn operations(doc: &Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for method in item.as_object().into_iter().flatten().map(|(m, _)| m) {
            found.push((method.clone(), path.clone()));
        }
    }
    found
}

#[tokio::test]
async fn every_route_of_the_spec_is_in_the_document() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    for path in SPEC_PATHS {
        assert!(doc["paths"].get(path).is_some(), "{path} is not documented");
    }
    assert_eq!(
        doc,
        serde_json::to_value(app.app.openapi()).unwrap_or_default()
    );
}

#[tokio::test]
async fn every_documented_operation_is_routed() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let operations = operations(&doc);
    assert!(operations.len() >= 23, "{operations:?}");
    for (method, path) in operations {
        let concrete = path
            .replace("{symbol}", "INFY")
            .replace("{file}", "index.css");
        let method: Method = method.to_uppercase().parse().unwrap_or(Method::GET);
        let response = app.server.method(method.clone(), &concrete).await;
        let status = response.status_code();
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        let body = response.text();
        assert!(
            !body.contains("Endpoint not found"),
            "{method} {path} is not routed"
        );
    }
}

#[tokio::test]
async fn prices_are_numbers_and_control_endpoints_name_the_bearer_scheme() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["TradeSummary"]["properties"]["entry_price"]["type"],
        "number"
    );
    let support = &schemas["StrategyStatus"]["properties"]["support_level"]["type"];
    assert!(support.to_string().contains("number"), "{support}");
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let exit = &doc["paths"]["/strategy/{symbol}/exit"]["post"];
    assert_eq!(exit["security"], json!([{"bearer": []}]));
}

/// The keys a documented schema marks required.
fn required(doc: &Value, schema: &str) -> Vec<String> {
    let keys = doc["components"]["schemas"][schema]["required"].as_array();
    keys.into_iter()
        .flatten()
        .filter_map(|k| k.as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn real_responses_carry_every_documented_required_key() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let candle = app.enter_long("INFY").await;
    let checks = [
        ("CandleResponse", candle),
        ("Health", app.server.get("/").await.json()),
        ("Monitoring", app.server.get("/monitoring").await.json()),
        ("StrategyStatusResponse", app.status("INFY").await),
        (
            "StrategiesResponse",
            app.server.get("/strategies").await.json(),
        ),
        ("OrdersResponse", app.server.get("/orders").await.json()),
        (
            "PositionsResponse",
            app.server.get("/positions").await.json(),
        ),
        ("LtpResponse", app.server.get("/ltp/INFY").await.json()),
        ("OhlcResponse", app.server.get("/ohlc/INFY").await.json()),
        (
            "ExitResponse",
            app.server.post("/strategy/INFY/exit").await.json(),
        ),
        ("TradesResponse", app.server.get("/trades").await.json()),
    ];
    for (schema, body) in &checks {
        let keys = required(&doc, schema);
        assert!(!keys.is_empty(), "{schema} has no required keys");
        for key in keys {
            assert!(
                body.get(&key).is_some(),
                "{schema}: `{key}` missing in {body}"
            );
        }
    }
    let status = &checks[3].1["strategy_status"];
    for key in required(&doc, "StrategyStatus") {
        assert!(
            status.get(&key).is_some(),
            "StrategyStatus: `{key}` missing"
        );
    }
    let trade = &checks[10].1["trades"][0];
    for key in required(&doc, "TradeSummary") {
        assert!(
            trade.get(&key).is_some(),
            "TradeSummary: `{key}` missing in {trade}"
        );
    }
}

#[tokio::test]
async fn the_swagger_ui_and_its_scripts_come_from_the_binary() {
    let app = spawn_app().await;
    let redirect = app.server.get("/docs").await;
    redirect.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(redirect.header("location"), "/docs/");
    let page = app.server.get("/docs/").await;
    page.assert_status_ok();
    assert!(
        page.header("content-type")
            .to_str()
            .is_ok_and(|t| t.starts_with("text/html"))
    );
    let html = page.text();
    assert!(html.contains("swagger-ui-bundle.js"), "{html}");
    assert!(
        !html.contains("https://"),
        "the page loads nothing from the internet"
    );
    let script = app.server.get("/docs/swagger-ui-bundle.js").await;
    script.assert_status_ok();
    let kind = script.header("content-type");
    assert!(
        kind.to_str().is_ok_and(|t| t.contains("javascript")),
        "{kind:?}"
    );
    assert!(script.as_bytes().len() > 100_000);
    let init = app.server.get("/docs/swagger-initializer.js").await.text();
    assert!(init.contains("/openapi.json"), "{init}");
    app.server
        .get("/docs/no-such-file.js")
        .await
        .assert_status(StatusCode::NOT_FOUND);
}
