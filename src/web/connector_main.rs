//! Driver of the hidden app `innovaphone-kuando`: connects the myApps launcher (postMessage), the app
//! websocket ([`AppSession`]), the engine ([`Connector`]), `fetch` and one timer. It decides nothing: every
//! event goes into a state machine, every action that comes out is carried out. No UI, no CSS.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Event, Window};

use super::link::{Link, OnSocket};
use super::socket::SocketEvent;
use super::{clock, console, http, parent, timer::Wakeup};
use crate::engine::{Action, Connector, RequestId};
use crate::hub::{Method, Outcome};
use crate::myapps::session::{AppSession, SessionEvent};
use crate::myapps::{self as ma, launcher, LauncherMsg, StartParams};
use crate::proto::{self, Envelope, License, Request, Response};
use crate::trace::{self, App};

struct Driver {
    window: Window,
    link: Link,
    engine: Connector,
    wake: Wakeup,
    /// The own user's SIP name, once myApps told (from the `@client` model).
    own_sip: Option<String>,
    /// Shutting down: hub requests go out with `sendBeacon`, which survives the page.
    unloading: bool,
    _listeners: Vec<Closure<dyn FnMut(Event)>>,
    _on_message: Option<Closure<dyn FnMut(Event)>>,
}

type Shared = Rc<RefCell<Driver>>;

fn log(text: &str) {
    console::log(&trace::line(App::Connector, text, &[]));
}

/// Entry point, called by `innovaphone-kuando.js` with `window`.
#[wasm_bindgen(js_name = startConnector)]
pub fn start_connector(window: Window) {
    let search = window.location().search().unwrap_or_default();
    let start = StartParams::parse(&search);
    let ws_url = start.ws_url().unwrap_or_default();
    log(&format!(
        "start.url={} start.originalUrl={}",
        ws_url, start.original_url
    ));
    let shared: Shared = Rc::new(RefCell::new(Driver {
        window: window.clone(),
        link: Link::new(AppSession::new(&ws_url, &start.name)),
        engine: Connector::new(),
        wake: Wakeup::default(),
        own_sip: None,
        unloading: false,
        _listeners: Vec::new(),
        _on_message: None,
    }));
    let weak = Rc::downgrade(&shared);
    let listener = parent::listen(&window, move |text| {
        if let Some(s) = weak.upgrade() {
            on_parent(&s, &text);
        }
    });
    let weak = Rc::downgrade(&shared);
    let on_unload = Closure::<dyn FnMut(Event)>::new(move |_| {
        if let Some(s) = weak.upgrade() {
            on_unload(&s);
        }
    });
    let _ = window.add_event_listener_with_callback("pagehide", on_unload.as_ref().unchecked_ref());
    {
        let mut d = shared.borrow_mut();
        d._on_message = Some(listener);
        d._listeners.push(on_unload);
        if ws_url.is_empty() {
            log("no start url: not running inside myApps");
            d.link.session.close(clock::now_ms());
        }
    }
    for text in [
        launcher::alive(),
        launcher::consume_api(ma::API_CLIENT),
        launcher::consume_api(ma::API_PHONE),
        launcher::register_api(ma::API_PHONEINFO),
    ] {
        parent::post(&window, &text);
    }
    pump(&shared);
    // Lives as long as the page; every closure holds only a weak reference.
    std::mem::forget(shared);
}

fn on_parent(shared: &Shared, text: &str) {
    {
        let mut d = shared.borrow_mut();
        let d = &mut *d;
        let now = clock::now_ms();
        match LauncherMsg::parse(text) {
            Ok(LauncherMsg::Login(login)) => d.link.session.handle_login(now, &login),
            Ok(LauncherMsg::ApiUpdate(update)) => {
                if let Some(user) = ma::own_user(&update) {
                    if d.own_sip.as_deref() != Some(user.sip.as_str()) && !user.sip.is_empty() {
                        let req = ma::subscribe_presence(&user.sip, None);
                        parent::post(&d.window, &req);
                        d.own_sip = Some(user.sip);
                    }
                }
                for p in ma::phone_calls(&update) {
                    d.engine.handle_phone_calls(now, &p.provider, p.calls);
                }
            }
            Ok(LauncherMsg::ApiRequest(req)) => {
                if let Some(ev) = ma::call_event(&req) {
                    d.engine.handle_call(now, ev);
                }
            }
            Ok(LauncherMsg::ApiResult(res)) => {
                if let Some(sip) = d.own_sip.clone() {
                    if let Some(p) = ma::presence_update(&res, &sip) {
                        d.engine.handle_own_presence(now, p);
                    }
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

fn on_hub(shared: &Shared, id: RequestId, outcome: Outcome) {
    {
        let mut d = shared.borrow_mut();
        d.engine
            .handle_hub_result(clock::now_ms(), id, outcome, clock::jitter());
    }
    pump(shared);
}

fn on_wake(shared: &Shared) {
    {
        let mut d = shared.borrow_mut();
        let now = clock::now_ms();
        d.wake.fired();
        d.link.session.handle_timeout(now);
        d.engine.handle_timeout(now);
    }
    pump(shared);
}

fn on_unload(shared: &Shared) {
    {
        let mut d = shared.borrow_mut();
        if d.unloading {
            return;
        }
        d.unloading = true;
        d.engine.handle_shutdown(clock::now_ms());
    }
    pump(shared);
}

/// Carries out everything the state machines want until both are quiet, then re-arms the timer.
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
            session_event(d, now, e);
        }
        while let Some(a) = d.engine.poll_action() {
            busy = true;
            engine_action(d, &weak, a);
        }
        if !busy {
            break;
        }
    }
    let now = clock::now_ms();
    let deadline = crate::earliest(d.link.session.poll_timeout(), d.engine.poll_timeout());
    let w = weak.clone();
    d.wake.set(deadline, now, move || {
        if let Some(s) = w.upgrade() {
            on_wake(&s);
        }
    });
}

fn send_service(d: &mut Driver, req: Request) -> bool {
    let text = Envelope::new(None, req).to_json();
    match d.link.session.send_api(clock::now_ms(), &text) {
        Ok(_) => true,
        Err(e) => {
            log(&format!("not sent to the app service: {e}"));
            false
        }
    }
}

fn session_event(d: &mut Driver, now: u64, e: SessionEvent) {
    match e {
        SessionEvent::Connected => {
            log("Instance Connected");
            d.engine.handle_service(now, true);
            send_service(d, Request::GetLicense);
            send_service(d, Request::GetConfig);
        }
        SessionEvent::Disconnected => d.engine.handle_service(now, false),
        SessionEvent::Unlicensed => d.engine.handle_license(now, License::None),
        SessionEvent::LoginFailed(why) => log(&format!("login failed: {why}")),
        SessionEvent::Message(t) => match proto::parse_response(&t) {
            Ok(env) => service_message(d, now, env.msg),
            Err(e) => log(&e),
        },
    }
}

fn service_message(d: &mut Driver, now: u64, msg: Response) {
    match msg {
        Response::GetConfigResult { config, error } => {
            if let Some(e) = &error {
                log(&format!(
                    "settings not loaded ({}): using the defaults",
                    e.code.as_str()
                ));
            }
            d.engine.handle_config(now, config.unwrap_or_default());
        }
        Response::ConfigChanged { config } => d.engine.handle_config(now, config),
        Response::GetLicenseResult { license, error } => {
            // The service logged this user in, so the PBX found a license: if the service cannot tell
            // which one, the basic license is the safe reading.
            if let Some(e) = &error {
                log(&format!("license not known ({})", e.code.as_str()));
            }
            d.engine
                .handle_license(now, license.unwrap_or(License::Connector));
        }
        Response::SetPresenceResult { error } => {
            d.engine.handle_presence_result(
                now,
                error.map_or(Ok(()), |e| Err(format!("{}: {}", e.code.as_str(), e.text))),
            );
        }
        Response::SetConfigResult { .. } => {}
        Response::Error { error } => log(&format!("app service error: {}", error.code.as_str())),
    }
}

fn engine_action(d: &mut Driver, weak: &Weak<RefCell<Driver>>, a: Action) {
    match a {
        Action::Hub {
            id,
            request,
            timeout_ms,
        } => {
            if d.unloading && request.method == Method::Post {
                // The page is going away: a beacon is the one request the browser still delivers.
                let body = request.body.clone().unwrap_or_default();
                let _ = d
                    .window
                    .navigator()
                    .send_beacon_with_opt_str(&request.url, Some(&body));
                return;
            }
            let w = weak.clone();
            let timeout = u32::try_from(timeout_ms).unwrap_or(u32::MAX);
            wasm_bindgen_futures::spawn_local(async move {
                let outcome = http::send(&request, timeout).await;
                if let Some(s) = w.upgrade() {
                    on_hub(&s, id, outcome);
                }
            });
        }
        Action::SetPresence(p) => {
            let now = clock::now_ms();
            let sent = send_service(
                d,
                Request::SetPresence {
                    activity: p.activity,
                    note: p.note,
                },
            );
            if !sent {
                d.engine
                    .handle_presence_result(now, Err("not connected to the app service".into()));
            }
        }
        Action::Trace(line) => console::log(&line),
        Action::Status(_) => {}
    }
}
