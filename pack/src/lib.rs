//! The Connector for kuando® release tree and its check (build tooling; nothing here ships in the apps).
//!
//! - [`layout`]: `dist/<build>/…` as innovaphone's build lays it out, `apps.json` for a private App Store.
//! - [`check`]: reads `httpfiles.zip` back and refuses what would fail on an AppPlatform.

pub mod check;
pub mod layout;
