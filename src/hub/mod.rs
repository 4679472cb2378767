//! The kuandoHUB HTTP interface as values: lamp commands, the requests that carry them, and tolerant parsers
//! for what the hub answers. No IO here: a driver sends a [`HubRequest`] and hands the status and body back.
//!
//! Facts come from `docs/platform-facts.md` §1 (the kuandoHUB manual's HTTP API reference and the
//! concept's traces). Without a token, requests are CORS *simple requests* (GET, POST with a `text/plain`
//! body). With a token, the token goes in the `http_token` header (the manual's more secure form), which
//! makes the browser send a CORS preflight first; the URL form ([`TokenForm::Url`]) is the fallback for a hub
//! that does not answer preflights (the engine decides, see `docs/platform-facts.md` §1.3).

mod answer;
mod lamp;
mod request;
mod url;

pub use answer::*;
pub use lamp::*;
pub use request::*;
pub use url::*;
