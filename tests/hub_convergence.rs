//! Level-triggered convergence of the hub command and the presence, in virtual time: whatever the hub lost or
//! refused, once the faults stop the hub runs the command the connector wants under its sender, and the PBX
//! shows the presence it wants (with the service's guard told the claim), within two poll intervals of the
//! connector seeing a healthy hub.
//!
//! Random schedules of hub faults (`NO_DEVICE` as text and as 404, 500, garbage, no answer, a foreign command
//! under the connector's sender) mixed with calls, hold/resume, hang-ups, presence changes and other apps'
//! states. Seeded: `KUANDO_SEED=<n>` runs one schedule again; a failure prints its seed.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{HubMode, World};
use kuando_connector::config::{LampScheme, LampSlot, DEFAULT_POLL_INTERVAL_S};
use kuando_connector::engine::{EngineAction, YIELD_MS};
use kuando_connector::hub::{event_names, LampCommand, Rgb, SENDER};
use kuando_connector::state::{CallState, Direction, Presence};

const INTERVAL_MS: u64 = DEFAULT_POLL_INTERVAL_S as u64 * 1000;
/// Schedules per run (the issue asks for at least 1,000).
const CASES: u64 = 1_000;

/// A small deterministic generator (xorshift64*), so a seed replays a schedule exactly.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// The lamp is unplugged: lamp commands 404, the device list empty.
    NoLamp,
    /// The macOS Busylight HTTP server without a lamp: `NO_DEVICE` as text to everything lamp-related.
    NoDeviceText,
    Http500,
    Garbage,
    Timeout,
}

const FAULTS: &[Fault] = &[
    Fault::NoLamp,
    Fault::NoDeviceText,
    Fault::Http500,
    Fault::Garbage,
    Fault::Timeout,
];

fn apply(w: &mut World, f: Option<Fault>) {
    let h = &mut w.hub;
    h.devices = 1;
    h.mode = HubMode::Up;
    h.garbage = None;
    h.presence_reply = None;
    h.command_reply = None;
    match f {
        None => {}
        Some(Fault::NoLamp) => h.devices = 0,
        Some(Fault::NoDeviceText) => {
            h.devices = 0;
            h.command_reply = Some((200, b"NO_DEVICE".to_vec()));
            h.presence_reply = Some((200, b"NO_DEVICE".to_vec()));
        }
        Some(Fault::Http500) => {
            h.command_reply = Some((500, b"Internal Server Error".to_vec()));
            h.presence_reply = Some((500, b"Internal Server Error".to_vec()));
        }
        Some(Fault::Garbage) => h.garbage = Some(b"<html>oops".to_vec()),
        Some(Fault::Timeout) => h.mode = HubMode::Hung,
    }
}

const OTHERS: &[Option<(&str, &str)>] = &[
    None,
    Some(("MS Teams", "On-The-Phone")),
    Some(("Zoom", "In-a-Zoom-Meeting")),
    Some(("Manual Changer", "Busy")),
    Some(("Manual Changer", "Away")),
];

const MANUAL: &[(&str, &str)] = &[
    ("", ""),
    ("away", "back at 3"),
    ("dnd", ""),
    ("busy", "meeting"),
];

/// Another client of the user (or anything else) writes under the connector's sender.
fn foreign_write(w: &mut World, rng: &mut Rng) {
    let red = Rgb::new(100, 0, 0).expect("valid");
    match rng.below(5) {
        0 => w.foreign_under_our_sender(None, ("", "")),
        1 => w.foreign_under_our_sender(Some(LampCommand::Light(red)), ("Light", "Color")),
        // Labels of the connector's, another action: a stray write.
        2 => {
            let slot = *rng.pick(&LampSlot::ALL);
            w.foreign_under_our_sender(Some(LampCommand::Pulse(red)), event_names(slot));
        }
        // Another client of the user: the same settings, another state.
        _ => {
            let slot = *rng.pick(&LampSlot::ALL);
            let cmd = LampScheme::default().get(slot).command();
            w.foreign_under_our_sender(cmd, event_names(slot));
        }
    }
}

/// What the connector wants on the hub, as the hub would hold it: `None` for nothing (Off), else the command
/// and its labels.
fn intended(w: &World) -> Option<(LampCommand, (String, String))> {
    let cmd = w.engine.lamp_command();
    if cmd.releases() {
        return None;
    }
    let (t, n) = event_names(w.status().lamp?);
    Some((cmd, (t.to_string(), n.to_string())))
}

fn held(w: &World) -> Option<(LampCommand, (String, String))> {
    Some((w.hub.own?, w.hub.own_event.clone()?))
}

/// The slot a held command is labelled with (`None`: Off or not one of the connector's).
fn slot_of(labels: &(String, String)) -> Option<LampSlot> {
    LampSlot::ALL.into_iter().find(|s| {
        let (t, n) = event_names(*s);
        t == labels.0 && n == labels.1
    })
}

fn rank(slot: Option<LampSlot>) -> usize {
    slot.map_or(LampSlot::ALL.len(), |s| s as usize)
}

/// With `KUANDO_TRACE` set: the engine's traces and hub requests, to see why a seed failed.
fn dump(w: &World) {
    if std::env::var("KUANDO_TRACE").is_err() {
        return;
    }
    for l in &w.log {
        match &l.action {
            EngineAction::Trace(t) => eprintln!("{} {t}", l.at),
            EngineAction::Hub { request, .. } => eprintln!("{} -> {:?}", l.at, request.kind),
            _ => {}
        }
    }
}

fn schedule(seed: u64) -> Result<(), String> {
    let mut rng = Rng::new(seed);
    let mut w = World::started();
    w.user_sets_presence(MANUAL[0].0, MANUAL[0].1);
    let mut calls = 0u32;
    let mut live: Vec<String> = Vec::new();
    let steps = 5 + rng.below(25);
    for _ in 0..steps {
        match rng.below(12) {
            0 | 1 => apply(&mut w, Some(*rng.pick(FAULTS))),
            2 => apply(&mut w, None),
            3 => foreign_write(&mut w, &mut rng),
            4 => {
                calls += 1;
                let id = calls.to_string();
                w.incoming_call(&id);
                live.push(id);
            }
            5 => {
                if let Some(id) = live.last().cloned() {
                    w.answer(&id);
                }
            }
            6 => {
                if let Some(id) = live.last().cloned() {
                    let state = *rng.pick(&[CallState::Held, CallState::Connected]);
                    w.call(&id, Direction::Incoming, state);
                }
            }
            7 | 8 => {
                if !live.is_empty() {
                    let i = rng.below(live.len() as u64) as usize;
                    let id = live.remove(i);
                    w.hang_up(&id);
                }
            }
            9 => {
                let (a, n) = *rng.pick(MANUAL);
                w.user_sets_presence(a, n);
            }
            _ => match *rng.pick(OTHERS) {
                Some((s, e)) => w.hub_shows(s, e),
                None => w.hub_shows_nothing(),
            },
        }
        w.run_for(rng.below(8_000));
    }
    // The faults stop. Nothing else changes from here on, except that in half of the schedules the other
    // applications' states end too: a source ranked above the connector's sender hides it from
    // `currentpresence` (GET asks as `HTTP`, so no `ownpriority` names the sender), and what cannot be seen
    // cannot be compared; once nothing ranks above it, it is.
    apply(&mut w, None);
    if seed % 2 == 0 {
        w.hub_shows_nothing();
    }
    let healed = w.now;
    let foreign_at_heal = held(&w);
    w.run_for(1);
    let want = intended(&w);
    // The connector finds out that the hub is healthy with its next request (after a timeout it waits out its
    // back-off): two poll intervals from then.
    let mut seen = None;
    while seen.is_none() && w.now < healed + 2 * 60_000 {
        w.run_for(100);
        seen = w
            .since(healed)
            .find(|l| matches!(l.action, EngineAction::Hub { .. }))
            .map(|l| l.at);
    }
    let seen = seen.ok_or("no hub request for two minutes after the faults stopped")?;
    let mut deadline = seen.max(healed) + 2 * INTERVAL_MS + 100;
    // A stronger command of another client under the sender is yielded to for a while (see engine::lamp).
    let stronger = foreign_at_heal
        .as_ref()
        .is_some_and(|(_, l)| rank(slot_of(l)) < rank(w.status().lamp.filter(|_| want.is_some())));
    if stronger {
        deadline += YIELD_MS;
    }
    w.run_until(deadline);
    let got = held(&w);
    let visible = w.hub_reports().is_none_or(|s| s == SENDER) || seed % 2 == 0;
    if got != want && visible {
        dump(&w);
        return Err(format!(
            "hub holds {got:?} for the connector's sender, it wants {want:?} (healed at {healed}, hub seen at \
             {seen}, now {})",
            w.now
        ));
    }
    let st = w.status();
    let desired: Option<Presence> = st.presence_applied.clone().or(st.presence_user.clone());
    if let Some(d) = desired {
        if w.pbx.presence != d {
            return Err(format!(
                "PBX shows {:?}, the connector wants {d:?}",
                w.pbx.presence
            ));
        }
    }
    if w.pbx.claim != st.presence_applied {
        return Err(format!(
            "the service's guard holds {:?}, the connector claims {:?}",
            w.pbx.claim, st.presence_applied
        ));
    }
    // Not flooded: after convergence the lamp lane is quiet.
    let t = w.now;
    w.run_for(10 * INTERVAL_MS);
    let extra = w.lamp_commands_since(t);
    dump(&w);
    if !extra.is_empty() {
        return Err(format!(
            "lamp commands after convergence: {extra:?} (healed at {healed}, hub seen at {seen}, checked from {t})"
        ));
    }
    Ok(())
}

#[test]
fn whatever_the_hub_lost_or_refused_the_lamp_and_presence_converge() {
    if let Some(seed) = std::env::var("KUANDO_SEED")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
    {
        if let Err(e) = schedule(seed) {
            panic!("seed {seed}: {e}");
        }
        return;
    }
    for seed in 1..=CASES {
        if let Err(e) = schedule(seed) {
            panic!("seed {seed} (run again with KUANDO_SEED={seed}): {e}");
        }
    }
}
