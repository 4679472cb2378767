//! The app websocket: open, send, close, and events back to the owner. Reconnect policy lives in the core
//! (`myapps::AppSession`); this only moves text.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Event, MessageEvent, WebSocket};

/// What the socket reports.
pub enum SocketEvent {
    Open,
    Message(String),
    Closed,
}

/// One websocket with its callbacks; dropping it closes the socket and releases the callbacks. The callbacks
/// all take a plain `Event` (see `parent::listen` why).
pub struct Socket {
    ws: WebSocket,
    _on_open: Closure<dyn FnMut(Event)>,
    _on_message: Closure<dyn FnMut(Event)>,
    _on_close: Closure<dyn FnMut(Event)>,
    _on_error: Closure<dyn FnMut(Event)>,
}

impl Socket {
    /// Opens `url`; `on_event` gets every event. `None` if the browser refused the URL outright.
    pub fn open(url: &str, on_event: impl Fn(SocketEvent) + Clone + 'static) -> Option<Socket> {
        let ws = WebSocket::new(url).ok()?;
        let f = on_event.clone();
        let on_open = Closure::<dyn FnMut(Event)>::new(move |_| f(SocketEvent::Open));
        let f = on_event.clone();
        let on_message = Closure::<dyn FnMut(Event)>::new(move |ev: Event| {
            if let Some(t) = ev.unchecked_ref::<MessageEvent>().data().as_string() {
                f(SocketEvent::Message(t));
            }
        });
        let f = on_event.clone();
        let on_close = Closure::<dyn FnMut(Event)>::new(move |_| f(SocketEvent::Closed));
        // An error is always followed by close; reporting close once is enough.
        let on_error = Closure::<dyn FnMut(Event)>::new(move |_| {});
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        ws.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Some(Socket {
            ws,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
            _on_error: on_error,
        })
    }

    pub fn send(&self, text: &str) {
        let _ = self.ws.send_with_str(text);
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        self.ws.set_onerror(None);
        let _ = self.ws.close();
    }
}
