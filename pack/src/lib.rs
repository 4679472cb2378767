//! The Connector for kuando® release tree and its check (build tooling; nothing here ships in the apps).
//!
//! - [`layout`]: `dist/<build>/…` as innovaphone's build lays it out, `apps.json` for a private App Store.
//! - [`check`]: reads `httpfiles.zip` back and refuses what would fail on an AppPlatform.
//! - [`imports`]: short import names in a built wasm and its glue.

pub mod check;
pub mod imports;
pub mod layout;
