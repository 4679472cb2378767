//! The app websocket as both apps use it: the [`AppSession`] state machine plus the one socket it may have
//! open. Carries out the session's socket and postMessage actions and hands the session's events to the app;
//! decides nothing itself.

use std::rc::Rc;

use web_sys::Window;

use super::parent;
use super::socket::{Socket, SocketEvent};
use crate::myapps::session::{AppSession, SessionAction, SessionEvent};

/// Where a socket's events go: `(generation, event)`.
pub type OnSocket = Rc<dyn Fn(u32, SocketEvent)>;

pub struct Link {
    pub session: AppSession,
    socket: Option<Socket>,
    /// Counts sockets, so that a late event of a replaced socket is dropped.
    gen: u32,
}

impl Link {
    pub fn new(session: AppSession) -> Link {
        Link {
            session,
            socket: None,
            gen: 0,
        }
    }

    /// An event of socket `gen`; events of a socket that was replaced or closed are dropped.
    pub fn handle_socket(&mut self, now: u64, gen: u32, ev: SocketEvent) {
        if gen != self.gen || self.socket.is_none() {
            return;
        }
        match ev {
            SocketEvent::Open => self.session.handle_socket_open(now),
            SocketEvent::Message(t) => self.session.handle_socket_message(now, &t),
            SocketEvent::Closed => {
                self.socket = None;
                self.session.handle_socket_closed(now);
            }
        }
    }

    /// Carries out every pending session action; returns the session's events for the app, in order.
    pub fn drain(&mut self, now: u64, window: &Window, on_socket: &OnSocket) -> Vec<SessionEvent> {
        let mut events = Vec::new();
        while let Some(a) = self.session.poll_action() {
            match a {
                SessionAction::OpenSocket(url) => {
                    self.gen = self.gen.wrapping_add(1);
                    let (gen, f) = (self.gen, on_socket.clone());
                    self.socket = Socket::open(&url, move |ev| f(gen, ev));
                    if self.socket.is_none() {
                        self.session.handle_socket_closed(now);
                    }
                }
                SessionAction::SendSocket(t) => {
                    if let Some(s) = &self.socket {
                        s.send(&t);
                    }
                }
                SessionAction::CloseSocket => self.socket = None,
                SessionAction::PostToParent(t) => parent::post(window, &t),
                SessionAction::Event(e) => events.push(e),
            }
        }
        events
    }
}
