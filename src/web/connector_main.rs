//! Driver of the hidden app `innovaphone-kuando`: connects the myApps launcher (postMessage), the app
//! websocket ([`Link`]), the app model ([`ConnectorApp`], which holds the engine), `fetch`, `sendBeacon` and
//! one timer. It decides nothing: every event goes into a state machine, every action that comes out is
//! carried out. No UI, no CSS.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Event, Window};

use super::link::{Link, OnSocket};
use super::socket::SocketEvent;
use super::{clock, console, http, parent, timer::Wakeup};
use crate::connector_app::{ConnectorAction, ConnectorApp};
use crate::engine::{HubOutcome, RequestId};
use crate::myapps::session::AppSession;
use crate::myapps::StartParams;

struct Driver {
    window: Window,
    link: Link,
    app: ConnectorApp,
    wake: Wakeup,
    _listeners: Vec<Closure<dyn FnMut(Event)>>,
    _on_message: Option<Closure<dyn FnMut(Event)>>,
}

type Shared = Rc<RefCell<Driver>>;

/// Entry point, called by `innovaphone-kuando.js` with `window`.
#[wasm_bindgen(js_name = startConnector)]
pub fn start_connector(window: Window) {
    let search = window.location().search().unwrap_or_default();
    let start = StartParams::parse(&search);
    let ws_url = start.ws_url().unwrap_or_default();
    let shared: Shared = Rc::new(RefCell::new(Driver {
        window: window.clone(),
        link: Link::new(AppSession::new(&ws_url, &start.name)),
        app: ConnectorApp::new(&start),
        wake: Wakeup::default(),
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
    }
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
    {
        let ua = window.navigator().user_agent().unwrap_or_default();
        let id = client_id(&window);
        shared.borrow_mut().app.handle_identity(&id, &ua);
    }
    pump(&shared);
    // Lives as long as the page; every closure holds only a weak reference.
    std::mem::forget(shared);
}

/// Where the hidden app keeps its client's id in the browser profile.
const CLIENT_ID_KEY: &str = "innovaphone-kuando-client";

/// This browser profile's client id for the health reports, kept in local storage (the core decides whether
/// the stored one is usable; without local storage a fresh one per start).
fn client_id(window: &Window) -> String {
    let store = window.local_storage().ok().flatten();
    let stored = store
        .as_ref()
        .and_then(|s| s.get_item(CLIENT_ID_KEY).ok().flatten());
    let (id, keep) = crate::health::client_id(stored.as_deref(), js_sys::Math::random);
    if let (true, Some(s)) = (keep, store) {
        let _ = s.set_item(CLIENT_ID_KEY, &id);
    }
    id
}

fn on_parent(shared: &Shared, text: &str) {
    shared
        .borrow_mut()
        .app
        .handle_launcher(clock::now_ms(), text);
    pump(shared);
}

fn on_socket(shared: &Shared, gen: u32, ev: SocketEvent) {
    shared
        .borrow_mut()
        .link
        .handle_socket(clock::now_ms(), gen, ev);
    pump(shared);
}

fn on_hub(shared: &Shared, id: RequestId, outcome: HubOutcome) {
    shared
        .borrow_mut()
        .app
        .handle_hub_result(clock::now_ms(), id, outcome, clock::jitter());
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

fn on_unload(shared: &Shared) {
    shared.borrow_mut().app.handle_shutdown(clock::now_ms());
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
            d.app.handle_session(now, e);
        }
        while let Some(a) = d.app.poll_action() {
            busy = true;
            carry_out(d, &weak, a);
        }
        if !busy {
            break;
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

fn carry_out(d: &mut Driver, weak: &Weak<RefCell<Driver>>, a: ConnectorAction) {
    let now = clock::now_ms();
    match a {
        ConnectorAction::PostToParent(t) => parent::post(&d.window, &t),
        ConnectorAction::Login(login) => d.link.session.handle_login(now, &login),
        ConnectorAction::Service { src, request } => {
            if let Err(e) = d.link.session.send_api(now, src.clone(), request) {
                d.app.handle_send_failed(now, src.as_deref(), e.as_str());
            }
        }
        ConnectorAction::Hub {
            id,
            request,
            timeout_ms,
        } => {
            let w = weak.clone();
            let timeout = u32::try_from(timeout_ms).unwrap_or(u32::MAX);
            http::send(&request, timeout, move |outcome| {
                if let Some(s) = w.upgrade() {
                    on_hub(&s, id, outcome);
                }
            });
        }
        ConnectorAction::Beacon(request) => {
            let body = request.body.unwrap_or_default();
            let _ = d
                .window
                .navigator()
                .send_beacon_with_opt_str(&request.url, Some(&body));
        }
        ConnectorAction::Trace(line) => console::log(&line),
    }
}
