//! Property tests of the status API (issue 14): whatever myApps or another app posts, neither the hidden app
//! (provider) nor the config app (consumer) panics, and the hidden app answers only what it offers.
#![cfg(not(target_arch = "wasm32"))]

use kuando_connector::config_app::i18n::Lang;
use kuando_connector::config_app::ConfigApp;
use kuando_connector::connector_app::{ConnectorAction, ConnectorApp};
use kuando_connector::myapps::{LauncherMsg, StartParams};
use kuando_connector::status::API_STATUS;
use proptest::prelude::*;

/// A JSON value in the model's and the messages' vocabulary, sometimes the wrong type.
fn value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        Just("1e999".to_string()),
        ".{0,12}".prop_map(|s| serde_json::to_string(&s).unwrap()),
    ];
    let key = prop_oneof![
        Just("v"),
        Just("run"),
        Just("lic"),
        Just("hub"),
        Just("url"),
        Just("since"),
        Just("retry"),
        Just("lamps"),
        Just("nolamp"),
        Just("lamp"),
        Just("calls"),
        Just("own"),
        Just("rc"),
        Just("set"),
        Just("err"),
        Just("errAt"),
        Just("now"),
        Just("a"),
        Just("n"),
        Just("s"),
        Just("t"),
        Just("e"),
        Just("mt"),
        Just("lines"),
        Just("answers"),
    ];
    leaf.prop_recursive(3, 40, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec((key.clone(), inner), 0..8).prop_map(|kv| {
                let f: Vec<String> = kv.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                format!("{{{}}}", f.join(","))
            }),
        ]
    })
}

fn mt() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("Watch".to_string()),
        Just("GetDiagnosis".to_string()),
        Just("WatchResult".to_string()),
        Just("GetDiagnosisResult".to_string()),
        ".{0,8}",
    ]
}

proptest! {
    #[test]
    fn the_hidden_app_never_panics_and_answers_only_what_it_offers(
        mt in mt(), extra in value(), consumer in ".{0,8}", closed in any::<bool>()
    ) {
        // A number beyond f64 makes the whole message unreadable JSON (as for JSON.parse): no answer then.
        prop_assume!(!extra.contains("1e999"));
        let mut app = ConnectorApp::new(&StartParams::parse("?name=kuando&url=https%3A%2F%2Fap%2Fi%2Fx"));
        while app.poll_action().is_some() {}
        let req = format!(
            r#"{{"mt":"ApiRequest","api":"{API_STATUS}","consumer":{},"src":"1","msg":{{"mt":{},"x":{extra}}}}}"#,
            serde_json::to_string(&consumer).unwrap(),
            serde_json::to_string(&mt).unwrap(),
        );
        app.handle_launcher(1, &req);
        if closed {
            app.handle_launcher(2, &format!(
                r#"{{"mt":"ApiConsumerClosed","api":"{API_STATUS}","consumer":{}}}"#,
                serde_json::to_string(&consumer).unwrap()
            ));
        }
        let posts: Vec<String> = std::iter::from_fn(|| app.poll_action())
            .filter_map(|a| match a { ConnectorAction::PostToParent(t) => Some(t), _ => None })
            .collect();
        let offered = mt == "Watch" || mt == "GetDiagnosis";
        prop_assert_eq!(posts.iter().any(|t| t.contains("\"ApiResult\"")), offered);
        prop_assert_eq!(app.status_api().watched(), mt == "Watch" && !closed);
    }

    #[test]
    fn the_config_app_never_panics_on_models_and_results(model in value(), msg in value(), mt in mt()) {
        let mut app = ConfigApp::new(Lang::De, false);
        let update = format!(
            r#"{{"mt":"ApiUpdate","apis":{{"{API_STATUS}":{{"kuando":{{"model":{model}}}}}}}}}"#
        );
        if let Ok(LauncherMsg::ApiUpdate(u)) = LauncherMsg::parse(&update) {
            app.handle_api_update(5, &u);
        }
        let result = format!(
            r#"{{"mt":"ApiResult","api":"{API_STATUS}","provider":"kuando","src":"watch-1","msg":{{"mt":{},"lines":{msg},"answers":{msg}}}}}"#,
            serde_json::to_string(&mt).unwrap()
        );
        if let Ok(LauncherMsg::ApiResult(r)) = LauncherMsg::parse(&result) {
            app.handle_api_result(6, &r);
        }
        if let Ok(LauncherMsg::ApiUpdate(u)) = LauncherMsg::parse(&update) {
            app.handle_api_update(7, &u);
        }
        app.handle_timeout(u64::MAX / 2);
        let v = app.view();
        prop_assert!(!v.status.is_empty());
        let _ = app.diagnosis(None);
    }
}
