/*
 * Connector for kuando® — the app service: reading the protocol's requests and settings.
 *
 * Evaluated after kuando-json.js (config.json "javascript.eval", in order, one global scope; ES5 like every
 * file of the service).
 */

/* ======================================================================================================== */
/* Reading the protocol types as serde does (the derives in src/proto.rs and src/config.rs):               */
/* missing fields take their defaults, unknown fields are ignored, a known field of the wrong type or given */
/* twice makes the whole message malformed. Stricter than serde in one way, on purpose: a struct must be a  */
/* JSON object and an enum a string (serde also takes arrays by position and {"blink":null}; no app sends   */
/* those, see "stricter" in vectors.json).                                                                  */
/* ======================================================================================================== */

function Malformed(path, why) { this.path = path; this.why = why; }

/* dups: parseJson's repeated keys by path; the path given to get() is the same path. */
function Reader(dups) { this.dups = dups; }

/* The field, or undefined when absent. */
Reader.prototype.get = function (obj, key, path) {
    if (!hasOwn.call(obj, key)) return undefined;
    if (this.dups[path] === true) throw new Malformed(path, "given twice");
    return obj[key];
};

function readString(v, path) {
    if (typeof v !== "string") throw new Malformed(path, "must be a string");
    return v;
}

function readUint(v, max, path) {
    // A JsonFloat (2.0, 1e0, -0) is not a number here: serde refuses a float for an integer field.
    if (typeof v !== "number" || v < 0 || v > max || Math.floor(v) !== v) {
        throw new Malformed(path, "must be an integer from 0 to " + max);
    }
    return v;
}

/* An activity or note: what reaches the PBX, the guard's row and the log. Like the core's presence texts:
 * no control characters (a line break would forge a log line, a NUL is refused by PostgreSQL). */
function readPresenceText(v, max, path) {
    readString(v, path);
    if (longerThan(v, max)) throw new Malformed(path, "must be at most " + max + " characters");
    if (CONTROL_CHAR.test(v)) throw new Malformed(path, "must not contain control characters");
    return v;
}

function readBool(v, path) {
    if (typeof v !== "boolean") throw new Malformed(path, "must be true or false");
    return v;
}

var EFFECTS = ["light", "blink", "pulse", "alert", "jingle", "off"]; // config::Effect
var U8_MAX = 255;
var U32_MAX = 4294967295;

/* config::LampScheme fields in declaration (= serialisation) order. */
var LAMP_SLOTS = ["ringing", "dialing", "connected", "held", "busy", "away", "dnd", "lunch"];

function lampSetting(effect, color) {
    return { effect: effect, color: color, sound: 0, volume: 75 }; // LampSetting::new
}

function defaultConfig() {
    return {
        hubUrl: "http://localhost:8989/",
        token: "",
        pollInterval: 2,
        lamp: {
            ringing: lampSetting("blink", "#ff0000"),
            dialing: lampSetting("pulse", "#ff0000"),
            connected: lampSetting("light", "#ff0000"),
            held: lampSetting("pulse", "#ffff00"),
            busy: lampSetting("light", "#ff0000"),
            away: lampSetting("light", "#ffff00"),
            dnd: lampSetting("light", "#b400e1"),
            lunch: lampSetting("light", "#0000ff")
        },
        trace: { debug: false, hub: false, calls: false, presence: false },
        missedCall: { enabled: true, effect: "pulse", color: "#ff8000", minutes: 30 } // MissedCall::default
    };
}

/* config::MISSED_CALL_EFFECTS and config::MAX_MISSED_CALL_MINUTES */
var MISSED_CALL_EFFECTS = ["light", "blink", "pulse"];
var MISSED_CALL_MINUTES_MAX = 1440;

/* The `effect` and `color` of a lamp setting or of the missed-call look, read into `into` when present. */
function readLook(r, v, path, into) {
    var x = r.get(v, "effect", path + ".effect");
    if (x !== undefined) {
        if (typeof x !== "string" || !contains(EFFECTS, x)) {
            throw new Malformed(path + ".effect", "must be one of " + EFFECTS.join(", "));
        }
        into.effect = x;
    }
    x = r.get(v, "color", path + ".color");
    if (x !== undefined) into.color = readString(x, path + ".color");
}

/* MissedCall::from_tree: a missing field keeps MissedCall::default()'s value. */
function readMissedCall(r, v, path) {
    if (!isObject(v)) throw new Malformed(path, "must be an object");
    var m = defaultConfig().missedCall;
    var x = r.get(v, "enabled", path + ".enabled");
    if (x !== undefined) m.enabled = readBool(x, path + ".enabled");
    readLook(r, v, path, m);
    x = r.get(v, "minutes", path + ".minutes");
    if (x !== undefined) m.minutes = readUint(x, U32_MAX, path + ".minutes");
    return m;
}

function readLampSetting(r, v, path) {
    if (!isObject(v)) throw new Malformed(path, "must be an object");
    // #[serde(default)] on LampSetting: a missing field takes LampSetting::default()'s value, not the
    // slot's (a lamp setting that names only its colour is a steady light).
    var s = lampSetting("light", "#ff0000");
    readLook(r, v, path, s);
    var x = r.get(v, "sound", path + ".sound");
    if (x !== undefined) s.sound = readUint(x, U8_MAX, path + ".sound");
    x = r.get(v, "volume", path + ".volume");
    if (x !== undefined) s.volume = readUint(x, U8_MAX, path + ".volume");
    return s;
}

/* Settings in the core's canonical form: every field present, in serde's order, unknown fields dropped. */
function readConfig(r, v, path) {
    if (!isObject(v)) throw new Malformed(path, "must be an object");
    var c = defaultConfig();
    var x = r.get(v, "hubUrl", path + ".hubUrl");
    if (x !== undefined) c.hubUrl = readString(x, path + ".hubUrl");
    x = r.get(v, "token", path + ".token");
    if (x !== undefined) c.token = readString(x, path + ".token");
    x = r.get(v, "pollInterval", path + ".pollInterval");
    if (x !== undefined) c.pollInterval = readUint(x, U32_MAX, path + ".pollInterval");
    x = r.get(v, "lamp", path + ".lamp");
    if (x !== undefined) {
        if (!isObject(x)) throw new Malformed(path + ".lamp", "must be an object");
        for (var i = 0; i < LAMP_SLOTS.length; i++) {
            var slot = LAMP_SLOTS[i];
            var s = r.get(x, slot, path + ".lamp." + slot);
            if (s !== undefined) c.lamp[slot] = readLampSetting(r, s, path + ".lamp." + slot);
        }
    }
    x = r.get(v, "trace", path + ".trace");
    if (x !== undefined) {
        if (!isObject(x)) throw new Malformed(path + ".trace", "must be an object");
        var flags = ["debug", "hub", "calls", "presence"];
        for (var j = 0; j < flags.length; j++) {
            var f = r.get(x, flags[j], path + ".trace." + flags[j]);
            if (f !== undefined) c.trace[flags[j]] = readBool(f, path + ".trace." + flags[j]);
        }
    }
    x = r.get(v, "missedCall", path + ".missedCall");
    if (x !== undefined) c.missedCall = readMissedCall(r, x, path + ".missedCall");
    return c;
}

/* Envelope<Request>: {"api","src","mt",...}. Returns {mt, src, config | activity+note}. */
function readRequest(parsed) {
    var r = new Reader(parsed.dups);
    var v = parsed.value;
    if (!isObject(v)) throw new Malformed("", "not a JSON object");
    var api = r.get(v, "api", "api");
    if (typeof api !== "string") throw new Malformed("api", "missing or not a string");
    var src = r.get(v, "src", "src");
    if (src !== undefined && src !== null && typeof src !== "string") {
        throw new Malformed("src", "must be a string");
    }
    if (typeof src === "string" && src.length > MAX_SRC_LEN) {
        throw new Malformed("src", "must be at most " + MAX_SRC_LEN + " characters");
    }
    var mt = r.get(v, "mt", "mt");
    if (typeof mt !== "string" || !(contains(REQUEST_KINDS, mt) || hasOwn.call(REQUEST_READERS, mt))) {
        throw new Malformed("mt", "unknown");
    }
    var req = { mt: mt, src: typeof src === "string" ? src : undefined };
    if (mt === "SetConfig") {
        var c = r.get(v, "config", "config");
        if (c === undefined) throw new Malformed("config", "missing");
        req.config = readConfig(r, c, "config");
    } else if (mt === "SetPresence") {
        var a = r.get(v, "activity", "activity");
        req.activity = a === undefined ? "" : readPresenceText(a, MAX_ACTIVITY_LEN, "activity");
        var n = r.get(v, "note", "note");
        req.note = n === undefined ? "" : readPresenceText(n, MAX_NOTE_LEN, "note");
        readGuardFields(r, v, req);
    } else if (REQUEST_READERS[mt]) {
        REQUEST_READERS[mt](r, v, req);
    }
    return req;
}

/* What can still be answered when a message cannot be processed: src when it is a string, and the result
 * type when mt names a known request (the last of duplicates, as any JSON reader would take it). An unknown
 * mt is answered with "Error", which the apps can read and pair by src; "NopeResult" they could not. */
function readableParts(value) {
    var parts = { src: undefined, mt: "Error" };
    if (!isObject(value)) return parts;
    if (typeof value.src === "string" && value.src.length <= MAX_SRC_LEN) parts.src = value.src;
    if (typeof value.mt === "string" && contains(REQUEST_KINDS, value.mt)) parts.mt = value.mt + "Result";
    return parts;
}
