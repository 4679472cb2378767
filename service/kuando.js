/*
 * Connector for kuando® — the app service, for the innovaphone AppPlatform JavaScript runtime.
 *
 * The runtime evaluates this file once (config.json "javascript.eval") with its globals JsonApi, PbxApi,
 * Database, log and Timers. It is old-style JavaScript on purpose (var, functions, no modules, no Node APIs):
 * the runtime's engine is not a browser or Node, and nothing here may depend on more than ES5.
 *
 * What it does (the protocol is defined once, in Rust: src/proto.rs; service/test/vectors.json is generated
 * from it and the tests replay every vector against this file):
 *   GetConfig    the user's stored settings, or the defaults
 *   SetConfig    validate (the core's exact rules, below), store per user, push ConfigChanged to the user's
 *                other connections
 *   SetPresence  relay to the PBX as PbxApi SetPresence for the connection's own user, contact "tel:";
 *                with guard "claim"/"release" through the presence guard (below): the service keeps what it
 *                set because of a hub, and restores it when no connector of the user claims it any more
 *   GetLicense   PbxAdminApi CheckAppLic for both licenses of the concept
 * The user is always the connection's login (conn.sip, conn.guid), never a value from a message.
 * Every message gets an answer; nothing a client sends can throw out of the handler.
 */

var API = "kuando";

/* proto::MAX_MESSAGE_LEN. Rust counts UTF-8 bytes (String::len), so this does too. */
var MAX_MESSAGE_LEN = 65535;

/* A too-large message is still read for its mt and src, so the app can pair the refusal with its request;
 * beyond this it is not read at all (protects the service from a client sending megabytes). */
var MAX_READ_LEN = 16 * MAX_MESSAGE_LEN;

/* How long the PBX may take to answer before the request fails. The PBX answers in milliseconds; ten seconds
 * only matter when it hangs, and then the app's own retry takes over. */
var PBX_TIMEOUT_MS = 10000;

var LICENSE_CONNECTOR = "App(innovaphone-kuando)";
var LICENSE_WITH_BUSYLIGHT = "App(innovaphone-kuando-with-busylight)";

var LOG_PREFIX = "kuando-service: ";

/* The error codes of proto::ErrorCode and the names of proto::License, as serde spells them. */
var ERROR_CODES = ["malformed", "tooLarge", "invalidConfig", "unlicensed", "pbx", "database", "noAdmin"];
var LICENSES = ["none", "connector", "withBusylight"];

var REQUEST_KINDS = ["GetConfig", "SetConfig", "SetPresence", "GetLicense"];

var hasOwn = Object.prototype.hasOwnProperty;

function contains(list, x) {
    for (var i = 0; i < list.length; i++) {
        if (list[i] === x) return true;
    }
    return false;
}

/* ======================================================================================================== */
/* Logging. Every line goes through redact(): a hub token must never reach the instance log.               */
/* ======================================================================================================== */

var TOKEN_PARAMS = /(^|[^A-Za-z0-9_])(accesstoken|http_token)=[^&#"'\s]+/gi;

/* Masks token query parameters and every non-empty secret, like trace::redact in the core. */
function redact(text, secrets) {
    var out = String(text).replace(TOKEN_PARAMS, "$1$2=***");
    for (var i = 0; secrets && i < secrets.length; i++) {
        var s = secrets[i];
        if (typeof s === "string" && s.length > 0) out = out.split(s).join("***");
    }
    return out;
}

function logLine(text, secrets) {
    try {
        log(LOG_PREFIX + redact(text, secrets));
    } catch (e) {
        // Logging must never break request handling.
    }
}

/* ======================================================================================================== */
/* Code points and the Unicode classes the core's rules use.                                                */
/* ======================================================================================================== */

function decodeRanges(s) {
    var out = [];
    var prev = 0;
    var items = s.split(",");
    for (var i = 0; i < items.length; i++) {
        var p = items[i].split(".");
        var start = prev + parseInt(p[0], 36);
        var end = start + parseInt(p[1], 36);
        out.push(start, end);
        prev = end;
    }
    return out;
}

// BEGIN GENERATED UNICODE TABLES (tests/proto_vectors.rs; refresh with UPDATE_VECTORS=1)
// Rust's char::is_whitespace and char::is_control, Unicode 17.0.0.
var WHITESPACE_RANGES = decodeRanges(
    "9.4,j.0,2t.0,r.0,4bk.0,1vk.a,u.1,6.0,1c.0,335.0"
);
var CONTROL_RANGES = decodeRanges(
    "0.v,2o.w"
);
// END GENERATED UNICODE TABLES

function inRanges(cp, table) {
    var lo = 0;
    var hi = table.length / 2 - 1;
    while (lo <= hi) {
        var mid = (lo + hi) >> 1;
        if (cp < table[2 * mid]) hi = mid - 1;
        else if (cp > table[2 * mid + 1]) lo = mid + 1;
        else return true;
    }
    return false;
}

function isWhitespace(cp) { return inRanges(cp, WHITESPACE_RANGES); } // char::is_whitespace
function isControl(cp) { return inRanges(cp, CONTROL_RANGES); } // char::is_control

/* The code points of a string (a Rust &str is a sequence of chars, a JS string of UTF-16 units). A lone
 * surrogate, which a Rust string cannot hold, counts as U+FFFD, as it would after a UTF-8 round trip. */
function codePoints(s) {
    var out = [];
    for (var i = 0; i < s.length; i++) {
        var c = s.charCodeAt(i);
        if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
            var d = s.charCodeAt(i + 1);
            if (d >= 0xdc00 && d <= 0xdfff) {
                out.push(0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00));
                i++;
                continue;
            }
        }
        out.push(c >= 0xd800 && c <= 0xdfff ? 0xfffd : c);
    }
    return out;
}

function fromCodePoints(cps) {
    var out = "";
    for (var i = 0; i < cps.length; i++) {
        var cp = cps[i];
        if (cp >= 0x10000) {
            cp -= 0x10000;
            out += String.fromCharCode(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
        } else {
            out += String.fromCharCode(cp);
        }
    }
    return out;
}

function anyCodePoint(cps, pred) {
    for (var i = 0; i < cps.length; i++) {
        if (pred(cps[i])) return true;
    }
    return false;
}

/* str::trim: strips Unicode White_Space (not U+FEFF, unlike String.prototype.trim). */
function trimWhitespace(cps) {
    var a = 0;
    var b = cps.length;
    while (a < b && isWhitespace(cps[a])) a++;
    while (b > a && isWhitespace(cps[b - 1])) b--;
    return cps.slice(a, b);
}

/* The UTF-8 length of a string: what Rust's String::len says for the same text. */
function utf8Length(s) {
    var n = 0;
    for (var i = 0; i < s.length; i++) {
        var c = s.charCodeAt(i);
        if (c < 0x80) n += 1;
        else if (c < 0x800) n += 2;
        else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length &&
                 s.charCodeAt(i + 1) >= 0xdc00 && s.charCodeAt(i + 1) <= 0xdfff) {
            n += 4;
            i++;
        } else n += 3;
    }
    return n;
}

function utf8Hex(s) {
    var cps = codePoints(s);
    var hex = "0123456789abcdef";
    var out = "";
    function byte(b) { out += hex.charAt(b >> 4) + hex.charAt(b & 15); }
    for (var i = 0; i < cps.length; i++) {
        var cp = cps[i];
        if (cp < 0x80) byte(cp);
        else if (cp < 0x800) { byte(0xc0 | (cp >> 6)); byte(0x80 | (cp & 63)); }
        else if (cp < 0x10000) { byte(0xe0 | (cp >> 12)); byte(0x80 | ((cp >> 6) & 63)); byte(0x80 | (cp & 63)); }
        else {
            byte(0xf0 | (cp >> 18)); byte(0x80 | ((cp >> 12) & 63));
            byte(0x80 | ((cp >> 6) & 63)); byte(0x80 | (cp & 63));
        }
    }
    return out;
}

/* ======================================================================================================== */
/* A strict JSON reader, the grammar serde_json accepts.                                                     */
/*                                                                                                            */
/* JSON.parse would do for well-formed messages, but the core reads them with serde_json, and the two differ */
/* where it matters for "the same rules": serde refuses 2.0 or 1e0 for an integer field (JSON.parse makes    */
/* them 2 and 1), a known field given twice (JSON.parse keeps the last), a lone surrogate escape, a number   */
/* out of range, and nesting deeper than 127. This reader keeps what is needed to decide like serde: numbers */
/* written with a fraction or exponent (or as -0, which serde reads as a float) come back as JsonFloat, and */
/* every repeated key is recorded.                                                                           */
/* ======================================================================================================== */

var MAX_JSON_DEPTH = 127; // serde_json's recursion limit: the 128th nested container is refused

function JsonFloat(value) { this.value = value; }

function JsonSyntaxError(why, pos) { this.why = why; this.pos = pos; }

/* Returns {value, dups} or {error}. Objects have no prototype, so a key "__proto__" is just a key. */
function parseJson(text) {
    var pos = 0;
    var depth = 0;
    var dups = [];

    function fail(why) { throw new JsonSyntaxError(why, pos); }

    function isDigit(c) { return c >= 0x30 && c <= 0x39; }

    function skipWs() {
        while (pos < text.length) {
            var c = text.charCodeAt(pos);
            if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) pos++;
            else break;
        }
    }

    function literal(word, value) {
        if (text.substr(pos, word.length) !== word) fail("invalid literal");
        pos += word.length;
        return value;
    }

    function hex4() {
        var h = text.substr(pos, 4);
        if (!/^[0-9A-Fa-f]{4}$/.test(h)) fail("invalid unicode escape");
        pos += 4;
        return parseInt(h, 16);
    }

    function string() {
        pos++; // the opening quote
        var out = "";
        var start = pos;
        for (;;) {
            if (pos >= text.length) fail("unterminated string");
            var c = text.charCodeAt(pos);
            if (c === 0x22) {
                out += text.substring(start, pos);
                pos++;
                return out;
            }
            if (c < 0x20) fail("control character in a string");
            if (c >= 0xd800 && c <= 0xdfff) {
                // A raw surrogate: fine in a pair, impossible in UTF-8 text otherwise.
                var d = pos + 1 < text.length ? text.charCodeAt(pos + 1) : 0;
                if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
                    pos += 2;
                    continue;
                }
                fail("lone surrogate");
            }
            if (c !== 0x5c) {
                pos++;
                continue;
            }
            out += text.substring(start, pos);
            pos++;
            var e = text.charAt(pos);
            pos++;
            if (e === "\"") out += "\"";
            else if (e === "\\") out += "\\";
            else if (e === "/") out += "/";
            else if (e === "b") out += "\b";
            else if (e === "f") out += "\f";
            else if (e === "n") out += "\n";
            else if (e === "r") out += "\r";
            else if (e === "t") out += "\t";
            else if (e === "u") {
                var u = hex4();
                if (u >= 0xdc00 && u <= 0xdfff) fail("lone low surrogate");
                if (u >= 0xd800 && u <= 0xdbff) {
                    if (text.substr(pos, 2) !== "\\u") fail("lone high surrogate");
                    pos += 2;
                    var l = hex4();
                    if (l < 0xdc00 || l > 0xdfff) fail("lone high surrogate");
                    out += String.fromCharCode(u, l);
                } else {
                    out += String.fromCharCode(u);
                }
            } else fail("invalid escape");
            start = pos;
        }
    }

    function number() {
        var start = pos;
        var integer = true;
        if (text.charAt(pos) === "-") pos++;
        var c = text.charCodeAt(pos);
        if (c === 0x30) pos++;
        else if (c >= 0x31 && c <= 0x39) {
            while (isDigit(text.charCodeAt(pos))) pos++;
        } else fail("invalid number");
        if (text.charAt(pos) === ".") {
            integer = false;
            pos++;
            if (!isDigit(text.charCodeAt(pos))) fail("invalid number");
            while (isDigit(text.charCodeAt(pos))) pos++;
        }
        c = text.charAt(pos);
        if (c === "e" || c === "E") {
            integer = false;
            pos++;
            c = text.charAt(pos);
            if (c === "+" || c === "-") pos++;
            if (!isDigit(text.charCodeAt(pos))) fail("invalid number");
            while (isDigit(text.charCodeAt(pos))) pos++;
        }
        var lexeme = text.substring(start, pos);
        var v = Number(lexeme);
        if (!isFinite(v)) fail("number out of range");
        return integer && lexeme !== "-0" ? v : new JsonFloat(v);
    }

    function enter() {
        depth++;
        if (depth > MAX_JSON_DEPTH) fail("nested too deeply");
        pos++;
    }

    function array() {
        enter();
        var a = [];
        skipWs();
        if (text.charAt(pos) === "]") {
            pos++;
            depth--;
            return a;
        }
        for (;;) {
            a.push(value());
            skipWs();
            var c = text.charAt(pos);
            pos++;
            if (c === "]") {
                depth--;
                return a;
            }
            if (c !== ",") fail("expected , or ]");
        }
    }

    function object() {
        enter();
        var o = Object.create(null);
        skipWs();
        if (text.charAt(pos) === "}") {
            pos++;
            depth--;
            return o;
        }
        for (;;) {
            skipWs();
            if (text.charAt(pos) !== "\"") fail("expected a key");
            var k = string();
            skipWs();
            if (text.charAt(pos) !== ":") fail("expected :");
            pos++;
            var v = value();
            if (hasOwn.call(o, k)) dups.push({ obj: o, key: k });
            o[k] = v;
            skipWs();
            var c = text.charAt(pos);
            pos++;
            if (c === "}") {
                depth--;
                return o;
            }
            if (c !== ",") fail("expected , or }");
        }
    }

    function value() {
        skipWs();
        var c = text.charAt(pos);
        if (c === "{") return object();
        if (c === "[") return array();
        if (c === "\"") return string();
        if (c === "t") return literal("true", true);
        if (c === "f") return literal("false", false);
        if (c === "n") return literal("null", null);
        if (c === "-" || (c >= "0" && c <= "9")) return number();
        return fail(pos >= text.length ? "unexpected end" : "unexpected character");
    }

    try {
        var v = value();
        skipWs();
        if (pos !== text.length) fail("trailing characters");
        return { value: v, dups: dups };
    } catch (e) {
        if (e instanceof JsonSyntaxError) return { error: e.why + " at " + e.pos };
        throw e;
    }
}

function isObject(v) {
    return v !== null && typeof v === "object" && !(v instanceof Array) && !(v instanceof JsonFloat);
}

/* ======================================================================================================== */
/* Reading the protocol types as serde does (the derives in src/proto.rs and src/config.rs):               */
/* missing fields take their defaults, unknown fields are ignored, a known field of the wrong type or given */
/* twice makes the whole message malformed. Stricter than serde in one way, on purpose: a struct must be a  */
/* JSON object and an enum a string (serde also takes arrays by position and {"blink":null}; no app sends   */
/* those, see "stricter" in vectors.json).                                                                  */
/* ======================================================================================================== */

function Malformed(path, why) { this.path = path; this.why = why; }

function Reader(dups) { this.dups = dups; }

/* The field, or undefined when absent. */
Reader.prototype.get = function (obj, key, path) {
    if (!hasOwn.call(obj, key)) return undefined;
    for (var i = 0; i < this.dups.length; i++) {
        if (this.dups[i].obj === obj && this.dups[i].key === key) throw new Malformed(path, "given twice");
    }
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

/* MissedCall::from_tree: a missing field keeps MissedCall::default()'s value. */
function readMissedCall(r, v, path) {
    if (!isObject(v)) throw new Malformed(path, "must be an object");
    var m = defaultConfig().missedCall;
    var x = r.get(v, "enabled", path + ".enabled");
    if (x !== undefined) m.enabled = readBool(x, path + ".enabled");
    x = r.get(v, "effect", path + ".effect");
    if (x !== undefined) {
        if (typeof x !== "string" || !contains(EFFECTS, x)) {
            throw new Malformed(path + ".effect", "must be one of " + EFFECTS.join(", "));
        }
        m.effect = x;
    }
    x = r.get(v, "color", path + ".color");
    if (x !== undefined) m.color = readString(x, path + ".color");
    x = r.get(v, "minutes", path + ".minutes");
    if (x !== undefined) m.minutes = readUint(x, U32_MAX, path + ".minutes");
    return m;
}

function readLampSetting(r, v, path) {
    if (!isObject(v)) throw new Malformed(path, "must be an object");
    // #[serde(default)] on LampSetting: a missing field takes LampSetting::default()'s value, not the
    // slot's (a lamp setting that names only its colour is a steady light).
    var s = lampSetting("light", "#ff0000");
    var x = r.get(v, "effect", path + ".effect");
    if (x !== undefined) {
        if (typeof x !== "string" || !contains(EFFECTS, x)) {
            throw new Malformed(path + ".effect", "must be one of " + EFFECTS.join(", "));
        }
        s.effect = x;
    }
    x = r.get(v, "color", path + ".color");
    if (x !== undefined) s.color = readString(x, path + ".color");
    x = r.get(v, "sound", path + ".sound");
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
    var mt = r.get(v, "mt", "mt");
    if (typeof mt !== "string" || !contains(REQUEST_KINDS, mt)) throw new Malformed("mt", "unknown");
    var req = { mt: mt, src: typeof src === "string" ? src : undefined };
    if (mt === "SetConfig") {
        var c = r.get(v, "config", "config");
        if (c === undefined) throw new Malformed("config", "missing");
        req.config = readConfig(r, c, "config");
    } else if (mt === "SetPresence") {
        var a = r.get(v, "activity", "activity");
        req.activity = a === undefined ? "" : readString(a, "activity");
        var n = r.get(v, "note", "note");
        req.note = n === undefined ? "" : readString(n, "note");
        readGuardFields(r, v, req);
    }
    return req;
}

/* What can still be answered when a message cannot be processed: src when it is a string, and the result
 * type when mt names a known request (the last of duplicates, as any JSON reader would take it). An unknown
 * mt is answered with "Error", which the apps can read and pair by src; "NopeResult" they could not. */
function readableParts(value) {
    var parts = { src: undefined, mt: "Error" };
    if (!isObject(value)) return parts;
    if (typeof value.src === "string") parts.src = value.src;
    if (typeof value.mt === "string" && contains(REQUEST_KINDS, value.mt)) parts.mt = value.mt + "Result";
    return parts;
}

/* ======================================================================================================== */
/* BEGIN PORT OF THE CORE'S SETTINGS RULES                                                                  */
/*                                                                                                          */
/* A line-by-line port of Config::validate (src/config.rs) with the helpers it calls: hub::BaseUrl::parse, */
/* split_port and the UrlError texts (src/hub.rs), Rgb::from_hex, Sound::from_number, Volume::new,          */
/* check_text. Same order of checks, same field paths, same messages. Rust's notions are kept exactly:       */
/* lengths count code points (chars().count()), whitespace/control are Rust's char classes      */
/* (tables above), trim is str::trim. service/test/vectors.json holds the core's verdict on a long list of  */
/* edge cases and the tests run them all through this code. Change the core first, then this block.         */
/* ======================================================================================================== */

var MAX_TEXT_LEN = 512; // config::MAX_TEXT_LEN
var POLL_INTERVAL_MIN = 1; // config::POLL_INTERVAL_RANGE_S
var POLL_INTERVAL_MAX = 60;
var SOUND_MAX = 8; // hub::Sound::MAX
var VOLUME_MAX = 100; // hub::Volume::new

/* config::LampSlot::ALL: the lamp's priority order, which is the order errors are reported in. */
var LAMP_SLOTS_BY_PRIORITY = ["ringing", "dialing", "connected", "held", "busy", "dnd", "away", "lunch"];

/* hub::UrlError's Display texts. */
var URL_ERRORS = {
    Empty: "is empty",
    TooLong: "must be at most 512 characters",
    NotHttp: "must start with http:// or https://",
    Credentials: "must not contain a user name or password (use the access token)",
    ControlCharacters: "must not contain control characters",
    Whitespace: "must not contain spaces",
    NoHost: "has no host name",
    BadPort: "has an invalid port (1 to 65535)",
    QueryOrFragment: "must not contain ? or #"
};

function asciiLower(s) {
    return s.replace(/[A-Z]/g, function (c) { return String.fromCharCode(c.charCodeAt(0) + 32); });
}

/* hub::BaseUrl::parse: the name of the UrlError, or null when the URL is usable. */
function baseUrlError(s) {
    var cps = codePoints(s);
    if (anyCodePoint(cps, isControl)) return "ControlCharacters";
    cps = trimWhitespace(cps);
    if (cps.length === 0) return "Empty";
    if (cps.length > MAX_TEXT_LEN) return "TooLong";
    if (anyCodePoint(cps, isWhitespace)) return "Whitespace";
    var t = fromCodePoints(cps);
    var sep = t.indexOf("://"); // split_once: the first one
    if (sep < 0) return "NotHttp";
    var scheme = asciiLower(t.substring(0, sep));
    if (scheme !== "http" && scheme !== "https") return "NotHttp";
    var rest = t.substring(sep + 3);
    if (rest.indexOf("?") >= 0 || rest.indexOf("#") >= 0) return "QueryOrFragment";
    var slash = rest.indexOf("/");
    var authority = slash < 0 ? rest : rest.substring(0, slash);
    if (authority.indexOf("@") >= 0) return "Credentials";
    // split_port: `[v6]:port` or `host:port`
    var colon;
    if (authority.charAt(0) === "[") {
        var b = authority.indexOf("]:");
        colon = b < 0 ? -1 : b + 1;
    } else {
        colon = authority.lastIndexOf(":");
    }
    var host = authority;
    if (colon >= 0) {
        var digits = authority.substring(colon + 1);
        if (digits.length === 0 || digits.length > 5 || !/^[0-9]+$/.test(digits)) return "BadPort";
        var port = parseInt(digits, 10);
        if (port < 1 || port > 65535) return "BadPort";
        host = authority.substring(0, colon);
    }
    if (host === "" || host === "[]") return "NoHost";
    var ok;
    if (host.length >= 2 && host.charAt(0) === "[" && host.charAt(host.length - 1) === "]") {
        ok = /^[0-9A-Fa-f:.]*$/.test(host.substring(1, host.length - 1));
    } else {
        ok = !anyCodePoint(codePoints(host), function (cp) {
            // ASCII letters and digits, - . _, and any non-ASCII character but whitespace (the browser's IDNA
            // decides about those when it fetches)
            var asciiAlnum = (cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a);
            return !(asciiAlnum || cp === 0x2d || cp === 0x2e || cp === 0x5f || (cp >= 0x80 && !isWhitespace(cp)));
        });
    }
    return ok ? null : "NoHost";
}

/* hub::Rgb::from_hex: `#rrggbb`, the # optional, any case, surrounding whitespace ignored. */
function isHexColor(s) {
    var h = fromCodePoints(trimWhitespace(codePoints(s)));
    if (h.charAt(0) === "#") h = h.substring(1);
    return /^[0-9A-Fa-f]{6}$/.test(h);
}

function fieldError(field, message) {
    return { field: field, message: message };
}

/* config::check_text */
function checkText(field, value, errors) {
    var cps = codePoints(value);
    if (cps.length > MAX_TEXT_LEN) {
        errors.push(fieldError(field, "must be at most " + MAX_TEXT_LEN + " characters"));
    }
    if (anyCodePoint(cps, isControl)) {
        errors.push(fieldError(field, "must not contain control characters"));
    }
}

/* Config::validate: every problem, each with its field; empty when the settings are usable. */
function validateConfig(c) {
    var errors = [];
    var urlError = baseUrlError(c.hubUrl);
    if (urlError !== null) errors.push(fieldError("hubUrl", URL_ERRORS[urlError]));
    checkText("token", c.token, errors);
    if (anyCodePoint(codePoints(c.token), isWhitespace)) {
        errors.push(fieldError("token", "must not contain spaces"));
    }
    if (c.pollInterval < POLL_INTERVAL_MIN || c.pollInterval > POLL_INTERVAL_MAX) {
        errors.push(fieldError("pollInterval",
            "must be between " + POLL_INTERVAL_MIN + " and " + POLL_INTERVAL_MAX + " seconds"));
    }
    for (var i = 0; i < LAMP_SLOTS_BY_PRIORITY.length; i++) {
        var slot = LAMP_SLOTS_BY_PRIORITY[i];
        var s = c.lamp[slot];
        var prefix = "lamp." + slot + ".";
        if (!isHexColor(s.color)) errors.push(fieldError(prefix + "color", "must be a colour like #ff0000"));
        if (s.sound > SOUND_MAX) errors.push(fieldError(prefix + "sound", "must be between 0 and " + SOUND_MAX));
        if (s.volume > VOLUME_MAX) errors.push(fieldError(prefix + "volume", "must be between 0 and 100"));
    }
    var m = c.missedCall;
    if (!contains(MISSED_CALL_EFFECTS, m.effect)) {
        errors.push(fieldError("missedCall.effect", "must be light, blink or pulse"));
    }
    if (!isHexColor(m.color)) errors.push(fieldError("missedCall.color", "must be a colour like #ff0000"));
    if (m.minutes > MISSED_CALL_MINUTES_MAX) {
        errors.push(fieldError("missedCall.minutes",
            "must be between 0 and " + MISSED_CALL_MINUTES_MAX + " minutes"));
    }
    return errors;
}

/* END PORT OF THE CORE'S SETTINGS RULES */
/* ======================================================================================================== */

/* ======================================================================================================== */
/* Connections of the apps.                                                                                 */
/* ======================================================================================================== */

/* The user's open connections, by sip. A null-prototype object: a sip is never mistaken for a built-in. */
var clientsBySip = Object.create(null);

function Client(conn) {
    this.conn = conn;
    // The identity of everything this connection does; taken once, from the login.
    this.sip = typeof conn.sip === "string" ? conn.sip : "";
    this.guid = typeof conn.guid === "string" ? conn.guid : undefined;
    this.open = true;
    // Set once the PBX confirmed a license for a connection the runtime marked unlicensed.
    this.licenseConfirmed = false;
}

function addClient(client) {
    if (!client.sip) return;
    var list = clientsBySip[client.sip] || (clientsBySip[client.sip] = []);
    list.push(client);
}

function removeClient(client) {
    var list = clientsBySip[client.sip];
    if (!list) return;
    for (var i = 0; i < list.length; i++) {
        if (list[i] === client) {
            list.splice(i, 1);
            break;
        }
    }
    if (list.length === 0) delete clientsBySip[client.sip];
}

function send(client, msg) {
    if (!client.open) return; // the app went away while we waited for the PBX or the database
    var text = JSON.stringify(msg);
    try {
        client.conn.send(text);
    } catch (e) {
        logLine("send to " + client.sip + " failed: " + e);
    }
}

/* The envelope of an answer, in serde's field order: api, src (only when the request had one), mt. */
function envelope(src, mt) {
    var m = { api: API };
    if (typeof src === "string") m.src = src;
    m.mt = mt;
    return m;
}

function sendError(client, src, mt, code, text, fields) {
    var m = envelope(src, mt);
    var e = { code: code, text: text };
    if (fields && fields.length > 0) e.fields = fields;
    m.error = e;
    send(client, m);
}

function handleMessage(client, text) {
    if (typeof text !== "string") {
        sendError(client, undefined, "Error", "malformed", "not a text message");
        return;
    }
    var tooLarge = utf8Length(text) > MAX_MESSAGE_LEN;
    if (tooLarge && text.length > MAX_READ_LEN) {
        sendError(client, undefined, "Error", "tooLarge", "message too large");
        logLine("refused a message of " + text.length + " characters from " + client.sip);
        return;
    }
    var parsed = parseJson(text);
    var parts = readableParts(parsed.value);
    if (tooLarge) {
        sendError(client, parts.src, parts.mt, "tooLarge", "message too large");
        logLine("refused a message of " + utf8Length(text) + " bytes from " + client.sip);
        return;
    }
    if (parsed.error !== undefined) {
        sendError(client, undefined, "Error", "malformed", "not JSON: " + parsed.error);
        logLine("unreadable message from " + client.sip + ": " + parsed.error);
        return;
    }
    var req;
    try {
        req = readRequest(parsed);
    } catch (e) {
        if (!(e instanceof Malformed)) throw e;
        var where = e.path ? e.path + ": " : "";
        sendError(client, parts.src, parts.mt, "malformed", where + e.why);
        // The path and the rule only: a value could be the token.
        logLine("malformed message from " + client.sip + ": " + where + e.why);
        return;
    }
    if (!client.sip) {
        // The runtime always logs a user in; without one there is nobody to act for.
        sendError(client, req.src, req.mt + "Result", "unlicensed", "no user on this connection");
        return;
    }
    if (req.mt === "GetConfig") getConfig(client, req);
    else if (req.mt === "SetConfig") setConfig(client, req);
    else if (req.mt === "SetPresence") setPresence(client, req);
    else getLicense(client, req);
}

/* ======================================================================================================== */
/* Settings: one row per user, the settings as JSON text.                                                   */
/* ======================================================================================================== */

/* A text as an SQL expression that cannot break out of its literal: hex of its UTF-8, decoded by PostgreSQL.
 * Used instead of Database.escape because its contract (quotes added or not) is not documented, and a
 * wrong guess would be an injection or a broken statement. */
function sqlText(s) {
    return "convert_from(decode('" + utf8Hex(s) + "','hex'),'UTF8')";
}

/* Runs one statement; cb(errorInfo | null, rows). Never calls back twice, never throws. */
function dbExec(sql, cb) {
    var done = false;
    function finish(err, rows) {
        if (done) return;
        done = true;
        cb(err, rows);
    }
    try {
        Database.exec(sql)
            .oncomplete(function (rows) { finish(null, rows); })
            .onerror(function (error, errorText, dbErrorCode) {
                finish({ error: error, errorText: errorText, dbErrorCode: dbErrorCode });
            });
    } catch (e) {
        finish({ error: "exception", errorText: String(e), dbErrorCode: undefined });
    }
}

/* Database errors are logged by code only: their text may quote the statement, which holds the settings
 * (with the token, hex-encoded). */
function logDbError(what, sip, err) {
    logLine(what + " for " + sip + " failed in the database (error " + String(err.error) +
        ", code " + String(err.dbErrorCode) + ")");
}

/* Stored settings, read like Config::from_json: unknown fields dropped, missing ones defaulted. Settings that
 * cannot be read give the defaults: the user's apps keep working and the config app shows what to re-enter. */
function storedConfig(text, sip) {
    if (typeof text !== "string") return defaultConfig();
    var parsed = parseJson(text);
    if (parsed.error === undefined) {
        try {
            return readConfig(new Reader(parsed.dups), parsed.value, "config");
        } catch (e) {
            if (!(e instanceof Malformed)) throw e;
        }
    }
    logLine("stored settings of " + sip + " are unreadable, using the defaults");
    return defaultConfig();
}

function getConfig(client, req) {
    dbExec("SELECT config FROM user_config WHERE sip=" + sqlText(client.sip), function (err, rows) {
        if (err) {
            logDbError("reading the settings", client.sip, err);
            sendError(client, req.src, "GetConfigResult", "database", "the settings could not be read");
            return;
        }
        // [inferred] Rows come as an array of objects keyed by column name.
        var row = rows && rows.length > 0 ? rows[0] : null;
        var m = envelope(req.src, "GetConfigResult");
        m.config = row ? storedConfig(row.config, client.sip) : defaultConfig();
        send(client, m);
    });
}

function setConfig(client, req) {
    var config = req.config;
    var fields = validateConfig(config);
    if (fields.length > 0) {
        sendError(client, req.src, "SetConfigResult", "invalidConfig", "invalid settings", fields);
        return;
    }
    // The canonical form is stored (unknown fields already dropped), so a row is a few KB at most.
    var text = JSON.stringify(config);
    var sql = "INSERT INTO user_config (sip,config) VALUES (" + sqlText(client.sip) + "," + sqlText(text) +
        ") ON CONFLICT (sip) DO UPDATE SET config=EXCLUDED.config";
    dbExec(sql, function (err) {
        if (err) {
            logDbError("storing the settings", client.sip, err);
            sendError(client, req.src, "SetConfigResult", "database", "the settings could not be stored");
            return;
        }
        var m = envelope(req.src, "SetConfigResult");
        m.config = config;
        send(client, m);
        // The user's other apps (the hidden app on every PC, other config windows) follow at once.
        var others = (clientsBySip[client.sip] || []).slice();
        for (var i = 0; i < others.length; i++) {
            if (others[i] === client) continue;
            var push = envelope(undefined, "ConfigChanged");
            push.config = config;
            send(others[i], push);
        }
    });
}

/* ======================================================================================================== */
/* The PBX: requests over the PbxApi connections the PBX app object opens to this service.                 */
/* ======================================================================================================== */

/* Open connections per API, the newest last. */
var pbxConns = { PbxApi: [], PbxAdminApi: [] };

/* Requests waiting for the PBX, by the src we gave them. */
var pending = Object.create(null);
var nextSrc = 1;

function timersAvailable() {
    return typeof Timers !== "undefined" && Timers !== null && typeof Timers.setTimeout === "function";
}

function finishPbx(src, err, result) {
    var p = pending[src];
    if (!p) return;
    delete pending[src];
    if (p.timer !== null) {
        try {
            Timers.clearTimeout(p.timer);
        } catch (e) {
            // A timer that cannot be cleared fires into finishPbx, which ignores it.
        }
    }
    p.cb(err, result);
}

/* Sends msg on the newest connection of the API; cb(errorText | null, result). Fails at once when the PBX is
 * not connected, when the connection is lost before the answer, or after PBX_TIMEOUT_MS. Without Timers in
 * the runtime there is no timeout: a request the PBX never answers fails when its connection closes. */
function pbxRequest(apiName, msg, cb) {
    var conns = pbxConns[apiName];
    if (conns.length === 0) {
        cb("the PBX is not connected");
        return;
    }
    var conn = conns[conns.length - 1];
    var src = "kuando" + nextSrc++;
    msg.src = src;
    var p = { src: src, conn: conn, mt: msg.mt + "Result", seq: nextSrc, cb: cb, timer: null };
    pending[src] = p;
    if (timersAvailable()) {
        p.timer = Timers.setTimeout(function () {
            logLine(msg.mt + " " + src + ": the PBX did not answer in " + PBX_TIMEOUT_MS / 1000 + " s");
            finishPbx(src, "the PBX did not answer");
        }, PBX_TIMEOUT_MS);
    }
    try {
        conn.send(JSON.stringify(msg));
    } catch (e) {
        finishPbx(src, "the PBX connection failed");
    }
}

/* [inferred] The PBX echoes src in its answers (the SDK's examples rely on it). Should an answer come without
 * one, it belongs to the oldest request of its type on that connection: a connection answers in order. */
function oldestPending(conn, mt) {
    var best = null;
    for (var k in pending) {
        var p = pending[k];
        if (p.conn === conn && p.mt === mt && (best === null || p.seq < best.seq)) best = p;
    }
    return best;
}

function onPbxMessage(conn, text) {
    var m;
    try {
        m = JSON.parse(text);
    } catch (e) {
        logLine("unreadable message from the PBX");
        return;
    }
    if (m === null || typeof m !== "object") return;
    if (m.mt === "PresenceUpdate") {
        guardPresenceUpdate(m);
        return;
    }
    var p = null;
    if (typeof m.src === "string") {
        p = pending[m.src] || null;
        if (p !== null && p.conn !== conn) p = null;
    } else if (m.src === undefined && typeof m.mt === "string") {
        p = oldestPending(conn, m.mt);
    }
    if (p === null) return; // an answer after its timeout, or an event we did not ask for
    if (m.mt !== p.mt) {
        finishPbx(p.src, "unexpected answer from the PBX");
        return;
    }
    finishPbx(p.src, null, m);
}

function trackPbx(apiName) {
    new PbxApi(apiName).onconnected(function (conn) {
        pbxConns[apiName].push(conn);
        if (apiName === "PbxApi") guardPbxConnected(conn);
        logLine(apiName + " connected" + (conn.pbx ? " (PBX " + conn.pbx + ")" : ""));
        conn.onmessage(function (text) {
            try {
                onPbxMessage(conn, text);
            } catch (e) {
                logLine("internal error on a PBX message: " + e);
            }
        });
        conn.onclose(function () {
            var list = pbxConns[apiName];
            for (var i = 0; i < list.length; i++) {
                if (list[i] === conn) {
                    list.splice(i, 1);
                    break;
                }
            }
            logLine(apiName + " disconnected");
            // Nothing more will come on this connection: fail its requests now instead of at the timeout.
            var lost = [];
            for (var k in pending) {
                if (pending[k].conn === conn) lost.push(k);
            }
            for (var j = 0; j < lost.length; j++) finishPbx(lost[j], "the PBX connection was lost");
        });
    });
}

trackPbx("PbxApi");
trackPbx("PbxAdminApi");

/* Both licenses of the concept, asked at once; cb(errorText | null, "none" | "connector" | "withBusylight").
 * The with-busylight license wins; App(innovaphone-kuando) alone is "connector" (valid with or without a
 * Busylight). If one check fails and the other does not grant a license, the answer is an error rather
 * than a wrong "none". */
function checkLicense(sip, cb) {
    var left = 2;
    var granted = { withBusylight: false, connector: false };
    var failure = null;
    function ask(key, lic) {
        pbxRequest("PbxAdminApi", { api: "PbxAdminApi", mt: "CheckAppLic", h323: sip, lic: lic },
            function (err, result) {
                if (err) failure = err;
                else granted[key] = result.ok === true;
                left--;
                if (left > 0) return;
                if (granted.withBusylight) cb(null, "withBusylight");
                else if (granted.connector) cb(null, "connector");
                else if (failure !== null) cb(failure);
                else cb(null, "none");
            });
    }
    ask("withBusylight", LICENSE_WITH_BUSYLIGHT);
    ask("connector", LICENSE_CONNECTOR);
}

function getLicense(client, req) {
    if (pbxConns.PbxAdminApi.length === 0 && pbxConns.PbxApi.length > 0) {
        // The app object is connected but grants no PbxAdminApi: its Admin option is off. Say so, so that
        // the config app can tell the user what the administrator must change.
        sendError(client, req.src, "GetLicenseResult", "noAdmin",
            "no PbxAdminApi connection: the connector's app object needs the Admin option");
        return;
    }
    checkLicense(client.sip, function (err, license) {
        if (err) {
            sendError(client, req.src, "GetLicenseResult", "pbx", err);
            return;
        }
        var m = envelope(req.src, "GetLicenseResult");
        m.license = license;
        send(client, m);
    });
}

function setPresence(client, req) {
    if (client.conn.unlicensed && !client.licenseConfirmed) {
        // [inferred] The runtime flags a connection unlicensed by the license named after the app,
        // App(innovaphone-kuando); a user with only App(innovaphone-kuando-with-busylight) is licensed too.
        // So ask the PBX before refusing, and remember a yes for this connection. When the PBX cannot be
        // asked, the flag stands.
        checkLicense(client.sip, function (err, license) {
            if (!err && license !== "none") {
                client.licenseConfirmed = true;
                licensedPresence(client, req);
            } else {
                sendError(client, req.src, "SetPresenceResult", "unlicensed",
                    "no license for Connector for kuando");
            }
        });
        return;
    }
    licensedPresence(client, req);
}

function relayPresence(client, req) {
    var msg = {
        api: "PbxApi",
        mt: "SetPresence",
        sip: client.sip,
        guid: client.guid, // left out by JSON.stringify when the login had none
        contact: "tel:",
        activity: req.activity,
        note: req.note
    };
    pbxRequest("PbxApi", msg, function (err, result) {
        if (err) {
            sendError(client, req.src, "SetPresenceResult", "pbx", err);
            return;
        }
        if (result.error) {
            var why = typeof result.errorText === "string" && result.errorText ? result.errorText
                : "error " + String(result.error);
            logLine("the PBX refused the presence of " + client.sip + ": " + why);
            sendError(client, req.src, "SetPresenceResult", "pbx", "the PBX refused: " + why);
            return;
        }
        send(client, envelope(req.src, "SetPresenceResult"));
    });
}

/* ======================================================================================================== */
/* The app's JSON API.                                                                                      */
/* ======================================================================================================== */

new JsonApi(API).onconnected(function (conn) {
    var client = new Client(conn);
    addClient(client);
    conn.onmessage(function (text) {
        try {
            handleMessage(client, text);
        } catch (e) {
            // A bug, not the client's fault; the message itself is not logged (it may hold the token).
            logLine("internal error handling a message from " + client.sip + ": " + e);
        }
    });
    conn.onclose(function () {
        client.open = false;
        removeClient(client);
        try {
            guardConnectionClosed(client);
        } catch (e) {
            logLine("internal error in the presence guard: " + e);
        }
    });
});

/* ======================================================================================================== */
/* The presence guard: nobody is left "on the phone" when a PC dies.                                        */
/*                                                                                                          */
/* A hidden app sets a presence because of its hub with SetPresence guard "claim" (and the presence to      */
/* restore), and gives it back with guard "release". The service is the one party that sees all of a user's */
/* connectors and outlives them, so the arbitration lives here (ARCHITECTURE.md, "The presence guard"):     */
/*   - per user one guard: what the service set, what to restore, and which connections claim it;          */
/*   - the user shows the strongest live claim (a call over any other hub presence; the newest among       */
/*     equals); a release, or a client that claims nothing, never undoes another connection's claim;       */
/*   - the last claim released: restored at once; the last claiming connection closed without releasing:  */
/*     restored after the grace period unless a connector of the user claims again;                         */
/*   - restored only if the PBX still shows what the service set: the service follows the user's presence  */
/*     (PbxApi SubscribePresence / PresenceUpdate) and drops the guard when the user changed it;           */
/*   - kept in the database (presence_guard), so a restarted service still restores (after the grace      */
/*     period from its start, since every connector reconnects and claims again within it);                */
/*   - restores are paced (RESTORE_PER_S): a mass disconnect does not flood the PBX.                        */
/* A SetPresence without guard (an older hidden app, the config app) is relayed as before.                  */
/* ======================================================================================================== */

/* Default grace period: long enough for a reload or a reconnect. The instance's config item
 * guardGraceSeconds (config.json config.init) overrides it; tests use a short one. */
var GUARD_GRACE_DEFAULT_S = 60;
var GUARD_GRACE_MAX_S = 3600;
/* A restore the PBX refuses (or cannot take) is tried again after 1 min, doubling up to 1 h, and given up
 * after 24 h of trying (one log line; the guard goes): a deleted user or a note the PBX will not take must
 * not be retried for ever. */
var RESTORE_RETRY_BASE_MS = 60000;
var RESTORE_RETRY_MAX_MS = 3600000;
var RESTORE_GIVE_UP_MS = 24 * 3600000;
/* A claim the PBX did not confirm, reading the stored guards, writing or deleting a guard row: tried again
 * after 2 s, doubling up to 1 min, for as long as it is needed. */
var GUARD_RETRY_BASE_MS = 2000;
var GUARD_RETRY_MAX_MS = 60000;
/* At most this many restores a second go to the PBX, in ticks of RESTORE_TICK_MS. */
var RESTORE_PER_S = 200;
var RESTORE_TICK_MS = 100;

var GUARD_KINDS = ["claim", "release"];

/* The user's guard, by sip. */
var guards = Object.create(null);
/* Guards whose grace period ended, waiting for their paced restore. */
var restoreQueue = [];
var restoreTimer = null;
/* Claims are ordered by this (newest wins among equals). */
var claimSeq = 0;
/* The guards are loaded from the database (a restart): until then PbxApi subscriptions wait. */
var guardsLoaded = false;
/* Failed reads of the stored guards so far (the back-off of loadGuards). */
var loadFailures = 0;
/* Rows whose DELETE failed, by sip: deleted again (unless a new guard of the user stores its own row). */
var staleRows = Object.create(null);

/* The n-th retry's delay: base doubling up to max. */
function backoffMs(n, base, max) {
    return Math.min(base * Math.pow(2, Math.min(Math.max(n - 1, 0), 20)), max);
}

/* Runs fn after ms, if the runtime has timers (without them nothing can be retried: the next event will). */
function later(ms, fn) {
    if (!timersAvailable()) return null;
    return Timers.setTimeout(fn, ms);
}

/* SetPresence's guard fields, read like proto::PresenceGuard: guard absent, "claim" or "release"; restore an
 * object {activity, note} (both default ""), only read with a claim. */
function readGuardFields(r, v, req) {
    var g = r.get(v, "guard", "guard");
    if (g === undefined || g === null) return;
    if (typeof g !== "string" || !contains(GUARD_KINDS, g)) {
        throw new Malformed("guard", "must be one of " + GUARD_KINDS.join(", "));
    }
    req.guard = g;
    if (g !== "claim") return;
    req.restore = { activity: "", note: "" };
    var x = r.get(v, "restore", "restore");
    if (x === undefined || x === null) return;
    if (!isObject(x)) throw new Malformed("restore", "must be an object");
    var a = r.get(x, "activity", "restore.activity");
    if (a !== undefined) req.restore.activity = readString(a, "restore.activity");
    var n = r.get(x, "note", "restore.note");
    if (n !== undefined) req.restore.note = readString(n, "restore.note");
}

function graceMs() {
    var s = GUARD_GRACE_DEFAULT_S;
    try {
        if (typeof Config !== "undefined" && Config !== null) {
            var v = Number(Config.guardGraceSeconds);
            if (isFinite(v) && v >= 1 && v <= GUARD_GRACE_MAX_S) s = Math.floor(v);
        }
    } catch (e) {
        // No config: the default.
    }
    return s * 1000;
}

/* An activity in one spelling, like presence::activity_key in the core: case and blanks ignored,
 * "available" is "". */
function activityKey(p) {
    var a = String(p.activity).replace(/^\s+|\s+$/g, "").toLowerCase();
    if (a === "available") return "";
    if (a === "onthephone") return "on-the-phone";
    return a;
}

/* presence::similar: the PBX may normalise what it stores; the note of "on the phone" does not count. */
function similarPresence(a, b) {
    var ka = activityKey(a);
    if (ka !== activityKey(b)) return false;
    return ka === "on-the-phone" || String(a.note).replace(/^\s+|\s+$/g, "") === String(b.note).replace(/^\s+|\s+$/g, "");
}

function samePresence(a, b) {
    return a.activity === b.activity && a.note === b.note;
}

function showPresence(p) {
    var a = p.activity || "available";
    return p.note ? a + " \"" + p.note + "\"" : a;
}

/* Calls over presence (the concept's rule 3), across clients too. */
function claimRank(c) {
    return activityKey(c) === "on-the-phone" ? 1 : 0;
}

function strongestClaim(g) {
    var best = null;
    for (var i = 0; i < g.claims.length; i++) {
        var c = g.claims[i];
        if (best === null || claimRank(c) > claimRank(best) || (claimRank(c) === claimRank(best) && c.seq > best.seq)) {
            best = c;
        }
    }
    return best;
}

function newGuard(sip, guid, restore) {
    return {
        sip: sip,
        guid: guid,
        restore: { activity: restore.activity, note: restore.note },
        set: null, // what the PBX confirmed the service set (null: nothing yet); only this decides a restore
        asked: null, // asked of the PBX and not confirmed yet (in flight, timed out or to be sent again)
        confirmed: false, // the PBX reported what was set
        pbx: null, // the user's tel: presence as the PBX reported it last
        first: null, // the PBX's first report, from before the service set anything (stale rows are told by it)
        loaded: false, // read from the database at start, not yet reconciled with what the PBX shows
        claimRestore: null, // the first claim's restore while a loaded guard is not reconciled
        claims: [], // {client, activity, note, seq}
        timer: null, // grace period running, or the next restore
        retry: null, // the next SetPresence of a claim the PBX did not confirm
        setFailures: 0,
        restoreFailures: 0,
        restoreWaited: 0, // ms of back-off spent on a refused restore
        saveTimer: null,
        saveFailures: 0,
        queued: false, // waiting in restoreQueue
        restoring: false
    };
}

/* ---- the database -------------------------------------------------------------------------------------- */

function saveGuard(g) {
    // Until the stored guards are read, a user's row is what a previous run knew: loadGuards merges, then
    // stores.
    if (g.set === null || guards[g.sip] !== g || !guardsLoaded) return;
    // The upsert overwrites a row whose DELETE was lost.
    delete staleRows[g.sip];
    var sql = "INSERT INTO presence_guard (sip,guid,set_activity,set_note,restore_activity,restore_note) VALUES (" +
        sqlText(g.sip) + "," + (g.guid === undefined ? "NULL" : sqlText(g.guid)) + "," +
        sqlText(g.set.activity) + "," + sqlText(g.set.note) + "," +
        sqlText(g.restore.activity) + "," + sqlText(g.restore.note) +
        ") ON CONFLICT (sip) DO UPDATE SET guid=EXCLUDED.guid,set_activity=EXCLUDED.set_activity," +
        "set_note=EXCLUDED.set_note,restore_activity=EXCLUDED.restore_activity,restore_note=EXCLUDED.restore_note";
    dbExec(sql, function (err) {
        if (!err) {
            g.saveFailures = 0;
            return;
        }
        // Without its row a guard would not survive a restart: written again, with back-off.
        g.saveFailures++;
        if (g.saveFailures === 1) logDbError("storing the presence guard", g.sip, err);
        if (g.saveTimer !== null) return;
        g.saveTimer = later(backoffMs(g.saveFailures, GUARD_RETRY_BASE_MS, GUARD_RETRY_MAX_MS), function () {
            g.saveTimer = null;
            saveGuard(g);
        });
    });
}

/* Deletes the user's row; a failed DELETE is tried again, since a stale row would be loaded after a restart
 * (unless a new guard of the user has stored its own row over it by then). */
function deleteGuardRow(sip, failures) {
    var g = guards[sip];
    if (g && g.set !== null) {
        saveGuard(g);
        return;
    }
    staleRows[sip] = true;
    dbExec("DELETE FROM presence_guard WHERE sip=" + sqlText(sip), function (err) {
        if (!err) {
            if (!guards[sip] || guards[sip].set === null) delete staleRows[sip];
            return;
        }
        var n = (failures || 0) + 1;
        if (n === 1) logDbError("removing the presence guard", sip, err);
        later(backoffMs(n, GUARD_RETRY_BASE_MS, GUARD_RETRY_MAX_MS), function () {
            if (staleRows[sip]) deleteGuardRow(sip, n);
        });
    });
}

/* At start: the guards a previous run left. Every connector reconnects and claims again within the grace
 * period; whatever nobody claims by then is restored (if the PBX still shows it). A failed read is tried
 * again with back-off until it succeeds; claims that arrived meanwhile are merged with what it reads. */
function loadGuards() {
    dbExec("SELECT sip,guid,set_activity,set_note,restore_activity,restore_note FROM presence_guard", function (err, rows) {
        if (err) {
            loadFailures++;
            if (loadFailures === 1) {
                logDbError("reading the presence guards", "all users", err);
                logLine("the stored presence guards are read again until the database answers");
            }
            if (later(backoffMs(loadFailures, GUARD_RETRY_BASE_MS, GUARD_RETRY_MAX_MS), loadGuards) === null) {
                guardsLoaded = true;
            }
            return;
        }
        guardsLoaded = true;
        var n = 0;
        for (var i = 0; rows && i < rows.length; i++) {
            var row = rows[i];
            if (typeof row.sip !== "string") continue;
            var set = { activity: String(row.set_activity || ""), note: String(row.set_note || "") };
            var restore = { activity: String(row.restore_activity || ""), note: String(row.restore_note || "") };
            var live = guards[row.sip];
            if (live) {
                mergeLoaded(live, set, restore);
                continue;
            }
            var g = newGuard(row.sip, typeof row.guid === "string" ? row.guid : undefined, restore);
            g.set = set;
            // It was shown when the service stopped: the PBX's first report tells whether it still is (else
            // the row is stale, e.g. its DELETE was lost, and is not trusted); a later different report is
            // the user's change.
            g.loaded = true;
            guards[row.sip] = g;
            startGrace(g);
            n++;
        }
        for (var k in guards) {
            if (!guards[k].loaded) saveGuard(guards[k]);
        }
        if (n > 0) logLine(n + " presence guard(s) from before the restart, restored unless claimed again");
        if (loadFailures > 0) logLine("the stored presence guards were read after " + loadFailures + " failure(s)");
        for (var j = 0; j < pbxConns.PbxApi.length; j++) {
            for (var sip in guards) subscribe(guards[sip], pbxConns.PbxApi[j]);
        }
    });
}

/* A stored guard for a user who claimed again before it was read: its restore value (older, from before the
 * restart) is kept only if the PBX showed its presence before the new claim; else the row is stale. */
function mergeLoaded(g, set, restore) {
    if (g.first !== null && similarPresence(g.first, set)) {
        g.restore = restore;
        if (g.set === null && g.asked === null) g.set = set;
    }
}

/* ---- the PBX ------------------------------------------------------------------------------------------- */

function subscribe(g, conn) {
    var c = conn || newestPbx();
    if (!c) return;
    try {
        c.send(JSON.stringify({ api: "PbxApi", mt: "SubscribePresence", sip: g.sip, src: GUARD_SRC + g.sip }));
    } catch (e) {
        logLine("SubscribePresence for " + g.sip + " failed: " + e);
    }
}

function unsubscribe(sip) {
    var c = newestPbx();
    if (!c) return;
    try {
        c.send(JSON.stringify({ api: "PbxApi", mt: "UnsubscribePresence", sip: sip, src: GUARD_SRC + sip }));
    } catch (e) {
        // The subscription ends with the connection anyway.
    }
}

function newestPbx() {
    var list = pbxConns.PbxApi;
    return list.length > 0 ? list[list.length - 1] : null;
}

/* A PbxApi connection came up: follow every guarded user on it (subscriptions do not outlive a connection). */
function guardPbxConnected(conn) {
    if (!guardsLoaded) return; // loadGuards subscribes once it has them
    for (var sip in guards) subscribe(guards[sip], conn);
}

/* cb(err | null, refused): refused is true when the PBX answered with an error (it did not take it), false
 * when the outcome is unknown (no connection, no answer in time). */
function pbxSetPresence(sip, guid, p, cb) {
    pbxRequest("PbxApi", {
        api: "PbxApi", mt: "SetPresence", sip: sip, guid: guid, contact: "tel:", activity: p.activity, note: p.note
    }, function (err, result) {
        if (err) {
            cb(err, false);
            return;
        }
        if (result.error) {
            cb("the PBX refused: " + (typeof result.errorText === "string" && result.errorText ? result.errorText
                : "error " + String(result.error)), true);
            return;
        }
        cb(null, false);
    });
}

/* The user's tel: presence in a PresenceUpdate (the first such item: the newest). No tel: item is
 * "available": the user has set nothing. */
function telPresence(list) {
    if (!(list instanceof Array)) return null;
    for (var i = 0; i < list.length; i++) {
        var it = list[i];
        if (it !== null && typeof it === "object" && it.contact === "tel:") {
            return {
                activity: typeof it.activity === "string" ? it.activity : "",
                note: typeof it.note === "string" ? it.note : ""
            };
        }
    }
    return { activity: "", note: "" };
}

/* [inferred] PbxApi.htm does not say that PresenceUpdate names the user; services that use it match it by
 * the src of their SubscribePresence. So the src carries the sip, and a sip in the update is used when there. */
var GUARD_SRC = "guard:";

function guardPresenceUpdate(m) {
    var sip = typeof m.sip === "string" ? m.sip
        : typeof m.src === "string" && m.src.indexOf(GUARD_SRC) === 0 ? m.src.substring(GUARD_SRC.length) : null;
    if (sip === null) return;
    var g = guards[sip];
    if (!g) return;
    var p = telPresence(m.presence);
    if (p === null) return;
    g.pbx = p;
    if (g.first === null) g.first = p;
    if (g.restoring) return;
    if (g.loaded) {
        reconcileLoaded(g, p);
        if (guards[g.sip] !== g) return;
    }
    if (g.asked !== null && similarPresence(p, g.asked)) {
        // The PBX shows what was asked (its answer may have been lost): confirmed.
        confirmSet(g, g.asked);
        return;
    }
    if (g.set === null) return;
    if (similarPresence(p, g.set)) {
        g.confirmed = true;
        return;
    }
    // An update from before the service's SetPresence landed says nothing about the user.
    if (!g.confirmed) return;
    logLine("presence of " + g.sip + " changed to " + showPresence(p) + " while the connector showed " +
        showPresence(g.set) + ": kept, nothing will be restored");
    dropGuard(g);
}

/* A stored guard meets the PBX's first report: it still shows what the guard set (a restart during a call),
 * or the row is stale (its DELETE was lost; the user's presence moved on): then its restore value is not
 * trusted, and the claims that joined it meanwhile restore what their first one said. */
function reconcileLoaded(g, p) {
    g.loaded = false;
    if (g.set !== null && similarPresence(p, g.set)) {
        g.confirmed = true;
        g.claimRestore = null;
        return;
    }
    logLine("the stored presence guard of " + g.sip + " is stale (the PBX shows " + showPresence(p) +
        ", not " + (g.set === null ? "available" : showPresence(g.set)) + "): its restore value is not used");
    g.set = null;
    g.confirmed = false;
    if (g.claims.length === 0) {
        dropGuard(g);
        return;
    }
    if (g.claimRestore !== null) g.restore = g.claimRestore;
    g.claimRestore = null;
    showStrongest(g, function () {});
}

/* The PBX took p (its answer, or its report): what the guard set from now on, stored. */
function confirmSet(g, p) {
    if (g.asked !== null && samePresence(g.asked, p)) g.asked = null;
    g.set = { activity: p.activity, note: p.note };
    g.confirmed = g.pbx !== null && similarPresence(g.pbx, g.set);
    if (g.retry !== null && g.asked === null) {
        try {
            Timers.clearTimeout(g.retry);
        } catch (e) {
            // It fires into showStrongest, which finds nothing to do.
        }
        g.retry = null;
    }
    if (g.setFailures > 0) logLine("the presence of " + g.sip + " is set now: " + showPresence(g.set));
    g.setFailures = 0;
    saveGuard(g);
}

/* ---- claims and releases ------------------------------------------------------------------------------- */

/* A licensed SetPresence: plain, or through the guard. */
function licensedPresence(client, req) {
    if (req.guard === "claim") guardClaim(client, req);
    else if (req.guard === "release") guardRelease(client, req);
    else relayPresence(client, req);
}

function answerPresence(client, req) {
    return function (err) {
        if (err) sendError(client, req.src, "SetPresenceResult", "pbx", err);
        else send(client, envelope(req.src, "SetPresenceResult"));
    };
}

function findClaim(g, client) {
    for (var i = 0; i < g.claims.length; i++) {
        if (g.claims[i].client === client) return i;
    }
    return -1;
}

function stopGrace(g) {
    if (g.timer !== null) {
        try {
            Timers.clearTimeout(g.timer);
        } catch (e) {
            // It fires into a guard with claims, which restores nothing.
        }
        g.timer = null;
    }
    if (g.queued) {
        for (var i = 0; i < restoreQueue.length; i++) {
            if (restoreQueue[i] === g) {
                restoreQueue.splice(i, 1);
                break;
            }
        }
        g.queued = false;
    }
}

function guardClaim(client, req) {
    var g = guards[client.sip];
    if (!g) {
        g = newGuard(client.sip, client.guid, req.restore);
        guards[client.sip] = g;
        subscribe(g);
    }
    stopGrace(g);
    g.restoreFailures = 0;
    g.restoreWaited = 0;
    if (g.loaded && g.claimRestore === null) g.claimRestore = { activity: req.restore.activity, note: req.restore.note };
    var i = findClaim(g, client);
    var c = { client: client, activity: req.activity, note: req.note, seq: ++claimSeq };
    if (i >= 0) g.claims[i] = c;
    else g.claims.push(c);
    showStrongest(g, answerPresence(client, req));
}

/* Makes the PBX show the strongest claim; cb(err | null). The guard records it only once the PBX confirmed it
 * (answer or report); a claim not confirmed is sent again with back-off while it stands. */
function showStrongest(g, cb) {
    var c = strongestClaim(g);
    if (c === null) {
        cb(null);
        return;
    }
    var want = { activity: c.activity, note: c.note };
    // Shown already, unless it is a stored guard the PBX has not confirmed yet.
    if (g.asked === null && !g.loaded && g.set !== null && samePresence(g.set, want)) {
        cb(null);
        return;
    }
    g.asked = want;
    pbxSetPresence(g.sip, g.guid, want, function (err, refused) {
        if (guards[g.sip] !== g) {
            cb(err);
            return;
        }
        if (!err) {
            // Its report may have confirmed it already.
            if (g.asked !== null || g.set === null || !samePresence(g.set, want)) confirmSet(g, want);
            cb(null);
            return;
        }
        // Refused: the PBX shows what it showed (g.set stays the last confirmed claim). Unknown: a report
        // may still confirm it.
        if (refused && g.asked !== null && samePresence(g.asked, want)) g.asked = null;
        g.setFailures++;
        var delay = backoffMs(g.setFailures, GUARD_RETRY_BASE_MS, GUARD_RETRY_MAX_MS);
        if (g.setFailures === 1) {
            logLine("the presence of " + g.sip + " could not be set: " + err + "; tried again while claimed");
        }
        if (g.retry === null) {
            g.retry = later(delay, function () {
                g.retry = null;
                if (guards[g.sip] === g && g.claims.length > 0 && !g.restoring) showStrongest(g, function () {});
            });
        }
        cb(err);
    });
}

function guardRelease(client, req) {
    var g = guards[client.sip];
    if (!g) {
        // Nothing guarded (an older service set it, or the user changed it since): as before.
        relayPresence(client, req);
        return;
    }
    var i = findClaim(g, client);
    if (i >= 0) g.claims.splice(i, 1);
    if (g.claims.length > 0) {
        // Another connector still shows a hub state: that one stays (or becomes) the user's presence.
        showStrongest(g, answerPresence(client, req));
        return;
    }
    if (g.set === null && g.asked === null) {
        // The PBX never took a claim: nothing to restore; the presence asked for is relayed as before.
        dropGuard(g);
        relayPresence(client, req);
        return;
    }
    stopGrace(g);
    restoreGuard(g, answerPresence(client, req));
}

/* A connection closed: its claim ends without a release. The last one starts the grace period. */
function guardConnectionClosed(client) {
    var g = guards[client.sip];
    if (!g) return;
    var i = findClaim(g, client);
    if (i < 0) return;
    g.claims.splice(i, 1);
    if (g.claims.length > 0) {
        showStrongest(g, function () {});
        return;
    }
    logLine("the last connector claiming the presence of " + g.sip + " went away: restored in " +
        graceMs() / 1000 + " s unless it comes back");
    startGrace(g);
}

function startGrace(g) {
    stopGrace(g);
    if (!timersAvailable()) {
        queueRestore(g);
        return;
    }
    g.timer = Timers.setTimeout(function () {
        g.timer = null;
        if (guards[g.sip] === g && g.claims.length === 0) queueRestore(g);
    }, graceMs());
}

function queueRestore(g) {
    if (g.queued) return;
    g.queued = true;
    restoreQueue.push(g);
    pumpRestores();
}

/* Up to RESTORE_PER_S restores a second: a budget per tick of RESTORE_TICK_MS, refilled by the tick timer,
 * which runs while restores go out. */
var RESTORES_PER_TICK = Math.max(1, Math.floor(RESTORE_PER_S * RESTORE_TICK_MS / 1000));
var restoreBudget = RESTORES_PER_TICK;

function pumpRestores() {
    var sent = false;
    while (restoreQueue.length > 0 && (restoreBudget > 0 || !timersAvailable())) {
        // Without timers nothing could pace them: all go at once, better than nobody restored.
        var g = restoreQueue.shift();
        g.queued = false;
        if (guards[g.sip] !== g || g.claims.length > 0) continue;
        restoreBudget--;
        sent = true;
        restoreGuard(g, function () {});
    }
    if ((sent || restoreQueue.length > 0) && restoreTimer === null && timersAvailable()) {
        restoreTimer = Timers.setTimeout(function () {
            restoreTimer = null;
            restoreBudget = RESTORES_PER_TICK;
            pumpRestores();
        }, RESTORE_TICK_MS);
    }
}

/* Gives the user their presence back, if the PBX still shows what the service set. cb(err | null). */
function restoreGuard(g, cb) {
    if (g.set === null && g.asked !== null && (g.pbx === null || similarPresence(g.pbx, g.asked))) {
        // Asked, never answered: the PBX may show it. Restored like a confirmed one.
        g.set = g.asked;
    }
    if (g.set === null) {
        dropGuard(g);
        cb(null);
        return;
    }
    if (g.pbx !== null && !similarPresence(g.pbx, g.set)) {
        // [inferred] Should no PresenceUpdate have come (no subscription possible), the restore goes ahead:
        // a user left "on the phone" is the worse mistake.
        logLine("presence of " + g.sip + " is " + showPresence(g.pbx) + ", not what the connector set: " +
            "nothing restored");
        dropGuard(g);
        cb(null);
        return;
    }
    g.restoring = true;
    pbxSetPresence(g.sip, g.guid, g.restore, function (err) {
        g.restoring = false;
        if (guards[g.sip] !== g) {
            cb(err);
            return;
        }
        if (err) {
            if (g.claims.length > 0) {
                // Claimed again meanwhile: the claim is what counts now.
                g.asked = null;
                showStrongest(g, function () {});
                cb(err);
                return;
            }
            g.restoreFailures++;
            if (g.restoreWaited >= RESTORE_GIVE_UP_MS) {
                logLine("gave up restoring the presence of " + g.sip + " to " + showPresence(g.restore) +
                    " after " + g.restoreFailures + " attempts in " + RESTORE_GIVE_UP_MS / 3600000 + " h: " + err);
                dropGuard(g);
                cb(err);
                return;
            }
            var delay = backoffMs(g.restoreFailures, RESTORE_RETRY_BASE_MS, RESTORE_RETRY_MAX_MS);
            g.restoreWaited += delay;
            if (g.restoreFailures === 1) {
                logLine("restoring the presence of " + g.sip + " failed: " + err + "; trying again in " +
                    delay / 1000 + " s, then less often, for " + RESTORE_GIVE_UP_MS / 3600000 + " h");
            }
            g.timer = later(delay, function () {
                g.timer = null;
                if (guards[g.sip] === g && g.claims.length === 0) queueRestore(g);
            });
            cb(err);
            return;
        }
        if (g.claims.length > 0) {
            // Claimed again while the restore was on its way: show the claim again.
            g.set = null;
            g.asked = null;
            showStrongest(g, function () {});
            cb(null);
            return;
        }
        logLine("presence of " + g.sip + " restored to " + showPresence(g.restore) + " (was " +
            showPresence(g.set) + ")");
        dropGuard(g);
        cb(null);
    });
}

function dropGuard(g) {
    stopGrace(g);
    if (g.retry !== null) {
        try {
            Timers.clearTimeout(g.retry);
        } catch (e) {
            // It fires into a guard that is gone, which does nothing.
        }
        g.retry = null;
    }
    if (guards[g.sip] !== g) return;
    delete guards[g.sip];
    deleteGuardRow(g.sip);
    unsubscribe(g.sip);
}

loadGuards();
