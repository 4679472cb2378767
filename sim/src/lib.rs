//! Simulators of the three systems the connector talks to, built from their published protocols
//! (`docs/platform-facts.md` §1, §3, §4): Plenom's kuandoHUB HTTP server, and innovaphone myApps with its PBX and the
//! connector's app service. Everything binds to 127.0.0.1.

pub mod hub;
pub mod myapps;
