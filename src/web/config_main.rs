//! Driver of the config app `innovaphone-kuando-config`: connects [`AppSession`] (app websocket),
//! [`ConfigApp`] (what to show and send) and [`Ui`] (the DOM) to the browser. It decides nothing: every
//! event goes into a state machine, every action that comes out is carried out.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::*;
use web_sys::{Event, Window};

use super::config_ui::{Ui, UiEvent};
use super::link::{Link, OnSocket};
use super::socket::SocketEvent;
use super::{clipboard, clock, console, http, parent, timer::Wakeup};
use crate::config_app::i18n::Lang;
use crate::config_app::{ConfigAction, ConfigApp};
use crate::hub::HubOutcome;
use crate::myapps::session::AppSession;
use crate::myapps::{launcher, LauncherMsg, Scheme, StartParams};

struct Driver {
    window: Window,
    link: Link,
    app: ConfigApp,
    ui: Option<Ui>,
    wake: Wakeup,
    _on_message: Option<Closure<dyn FnMut(Event)>>,
}

type Shared = Rc<RefCell<Driver>>;

/// Entry point, called by `innovaphone-kuando-config.js` with `window`.
#[wasm_bindgen(js_name = startConfig)]
pub fn start_config(window: Window) {
    let search = window.location().search().unwrap_or_default();
    let start = StartParams::parse(&search);
    let ws_url = start.ws_url().unwrap_or_default();
    let app_name = start.name.clone();
    let app = ConfigApp::started(&start, clock::now_ms());
    let shared: Shared = Rc::new(RefCell::new(Driver {
        window: window.clone(),
        link: Link::new(AppSession::new(&ws_url, &app_name)),
        app,
        ui: None,
        wake: Wakeup::default(),
        _on_message: None,
    }));
    let weak = Rc::downgrade(&shared);
    let ui = window.document().and_then(|doc| {
        Ui::build(&doc, move |ev| {
            if let Some(s) = weak.upgrade() {
                on_ui(&s, ev);
            }
        })
    });
    let weak = Rc::downgrade(&shared);
    let listener = parent::listen(&window, move |text| {
        if let Some(s) = weak.upgrade() {
            on_parent(&s, &text);
        }
    });
    {
        let mut d = shared.borrow_mut();
        d.ui = ui;
        d._on_message = Some(listener);
    }
    parent::post(&window, &launcher::alive());
    // The browser's Local Network Access permission, now and on every change.
    let weak = Rc::downgrade(&shared);
    super::lna::watch(
        crate::lna::NAMES,
        Rc::new(move |state: &str| {
            if let Some(s) = weak.upgrade() {
                s.borrow_mut()
                    .app
                    .handle_local_network(clock::now_ms(), state);
                pump(&s);
            }
        }),
    );
    pump(&shared);
    // The driver lives as long as the page: the closures it registered hold only weak references to it.
    std::mem::forget(shared);
}

fn on_ui(shared: &Shared, ev: UiEvent) {
    {
        let mut d = shared.borrow_mut();
        let now = clock::now_ms();
        match ev {
            UiEvent::Input(field, value) => d.app.handle_input(&field, &value),
            UiEvent::Click(b) => d.app.handle_click(now, b),
        }
    }
    pump(shared);
}

fn on_parent(shared: &Shared, text: &str) {
    {
        let mut d = shared.borrow_mut();
        let now = clock::now_ms();
        match LauncherMsg::parse(text) {
            Ok(LauncherMsg::Login(login)) => {
                d.app.handle_login(&login);
                d.link.session.handle_login(now, &login)
            }
            Ok(LauncherMsg::SetLang(l)) => d.app.handle_lang(Lang::parse(&l)),
            Ok(LauncherMsg::SetScheme(s)) => d.app.handle_scheme(s != Scheme::Light),
            Ok(LauncherMsg::ApiUpdate(u)) => d.app.handle_api_update(now, &u),
            Ok(LauncherMsg::ApiResult(r)) => d.app.handle_api_result(now, &r),
            // Nothing to release in the config app: answered at once, as lib1 does for an app that did not
            // register for reload preparation.
            Ok(LauncherMsg::PrepareReload) => {
                if let Some(w) = web_sys::window() {
                    parent::post(&w, &launcher::prepare_reload_complete());
                }
            }
            Ok(_) | Err(_) => {}
        }
    }
    pump(shared);
}

fn on_socket(shared: &Shared, gen: u32, ev: SocketEvent) {
    shared
        .borrow_mut()
        .link
        .handle_socket(clock::now_ms(), gen, ev);
    pump(shared);
}

fn on_hub(shared: &Shared, id: u64, outcome: HubOutcome) {
    shared
        .borrow_mut()
        .app
        .handle_hub(clock::now_ms(), id, outcome);
    pump(shared);
}

fn on_wake(shared: &Shared) {
    {
        let mut d = shared.borrow_mut();
        let now = clock::now_ms();
        d.wake.fired();
        d.link.session.handle_timeout(now);
        d.app.handle_timeout(now);
    }
    pump(shared);
}

/// Carries out everything the state machines want, until both are quiet; then renders and re-arms the timer.
fn pump(shared: &Shared) {
    let weak = Rc::downgrade(shared);
    let w = weak.clone();
    let on_socket: OnSocket = Rc::new(move |gen, ev| {
        if let Some(s) = w.upgrade() {
            on_socket(&s, gen, ev);
        }
    });
    let mut d = shared.borrow_mut();
    let d = &mut *d;
    loop {
        let mut busy = false;
        let now = clock::now_ms();
        for e in d.link.drain(now, &d.window, &on_socket) {
            busy = true;
            d.app.handle_session(now, e);
        }
        while let Some(a) = d.app.poll_action() {
            busy = true;
            app_action(d, &weak, a);
        }
        if !busy {
            break;
        }
    }
    if d.app.take_changed() {
        let view = d.app.view();
        if let Some(ui) = d.ui.as_mut() {
            ui.render(&view);
        }
    }
    let now = clock::now_ms();
    let deadline = crate::earliest(d.link.session.poll_timeout(), d.app.poll_timeout());
    let w = weak.clone();
    d.wake.set(deadline, now, move || {
        if let Some(s) = w.upgrade() {
            on_wake(&s);
        }
    });
}

fn app_action(d: &mut Driver, weak: &Weak<RefCell<Driver>>, a: ConfigAction) {
    match a {
        ConfigAction::Hub {
            id,
            request,
            timeout_ms,
        } => {
            let w = weak.clone();
            http::send(&request, timeout_ms, move |outcome| {
                if let Some(s) = w.upgrade() {
                    on_hub(&s, id, outcome);
                }
            });
        }
        ConfigAction::Service(req) => {
            if let Err(e) = d.link.session.send_api(clock::now_ms(), None, req) {
                d.app.handle_send_failed(&e.to_string());
            }
        }
        ConfigAction::Trace(line) => console::log(&line),
        ConfigAction::PostToParent(t) => parent::post(&d.window, &t),
        ConfigAction::BrowserFacts => {
            let env = browser_facts(&d.window);
            d.app.handle_env(env);
        }
        ConfigAction::Copy(report) => {
            let w = weak.clone();
            clipboard::copy_or_download(
                &d.window,
                &report,
                crate::config_app::diagnosis::FILE_NAME,
                move |result| {
                    if let Some(s) = w.upgrade() {
                        s.borrow_mut().app.handle_copied(result);
                        pump(&s);
                    }
                },
            );
        }
    }
}

/// What the diagnosis says about the browser: the time (the browser's own clock, as support compares it with
/// other logs), the user agent and the language.
fn browser_facts(window: &Window) -> Vec<(String, String)> {
    let nav = window.navigator();
    vec![
        (
            "time".into(),
            String::from(js_sys::Date::new_0().to_iso_string()),
        ),
        ("user agent".into(), nav.user_agent().unwrap_or_default()),
        (
            "browser language".into(),
            nav.language().unwrap_or_default(),
        ),
    ]
}
