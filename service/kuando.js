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
 * The user is always the connection's login (conn.sip, conn.guid), never a value from a message; what it may
 * ask for depends on its app (conn.app, see APP_REQUESTS).
 * Every message gets an answer; nothing a client sends can throw out of the handler. The engine (Duktape) is
 * one thread for every user of the PBX, so no message may cost much whatever it holds: oversized ones are
 * refused unread, JSON is read with bounded work, connections and users have limits (see "Intake" below).
 */

var API = "kuando";

/* proto::MAX_MESSAGE_LEN. Rust counts UTF-8 bytes (String::len), so this does too. */
var MAX_MESSAGE_LEN = 65535;

/* A message refused before it is parsed (too large, too fast) is answered with the src and mt found in its
 * first PREFIX_LEN characters, so the app can pair the refusal with its request; the rest is never read.
 * The apps write api, src and mt first. A src longer than MAX_SRC_LEN is refused: the answer carries it. */
var PREFIX_LEN = 512;
var MAX_SRC_LEN = 256;

/* The engine is one thread for every user of the PBX: what one connection may cost.
 * Messages: a bucket of RATE_BURST, refilled with RATE_PER_S a second (an app sends a handful at start and
 * about one a second at most afterwards). Connections: MAX_CONNECTIONS_PER_USER per user (every PC, phone
 * and open config window of the user is one). Offenders are logged once per OFFENDER_LOG_MS each. */
var RATE_BURST = 40;
var RATE_PER_S = 10;
var MAX_CONNECTIONS_PER_USER = 32;
var OFFENDER_LOG_MS = 60000;

/* A user's license, as the PBX answered it, is used this long (the PBX is asked once, not per message). */
var LICENSE_CACHE_MS = 60000;

/* SetPresence texts, like the core's presence rules: no control characters, at most this many code points.
 * Activities are short words; a note is the user's own text (restored) or the hub's sender. */
var MAX_ACTIVITY_LEN = 64;
var MAX_NOTE_LEN = 512;

/* The settings as stored (their JSON text, UTF-8 bytes) fit every answer that carries them within
 * MAX_MESSAGE_LEN, with room for the envelope and the longest src. The field limits keep any settings that
 * pass them under ~32 KB. */
var MAX_STORED_CONFIG_LEN = 49152;

/* How long the PBX may take to answer before the request fails. The PBX answers in milliseconds; ten seconds
 * only matter when it hangs, and then the app's own retry takes over. */
var PBX_TIMEOUT_MS = 10000;

var LICENSE_CONNECTOR = "App(innovaphone-kuando)";
var LICENSE_WITH_BUSYLIGHT = "App(innovaphone-kuando-with-busylight)";

var LOG_PREFIX = "kuando-service: ";

/* The error codes of proto::ErrorCode and the names of proto::License, as serde spells them. */
var ERROR_CODES = ["malformed", "tooLarge", "invalidConfig", "unlicensed", "pbx", "database", "noAdmin",
    "rateLimited", "tooManyConnections", "forbidden"];
var LICENSES = ["none", "connector", "withBusylight"];

var REQUEST_KINDS = ["GetConfig", "SetConfig", "SetPresence", "GetLicense"];

/* Requests that other files of the service add (config.json "javascript.eval", evaluated after this one):
 * mt → function (reader, message, req) that reads the fields into req, and mt → function (client, req) that
 * carries it out; CLOSE_HOOKS are called with the client when a connection closes. */
var REQUEST_READERS = Object.create(null);
var REQUEST_HANDLERS = Object.create(null);
var CLOSE_HOOKS = [];
/* Apps whose connections are the administrator's, not the user's own: not counted or told as the user's. */
var ADMIN_APPS = Object.create(null);

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

/* A log line is one line of bounded length: whatever a client sent may be in it, so control characters
 * (line breaks that would forge a line, NUL, escapes) are written as \uXXXX. */
var MAX_LOG_LINE = 1000;
var LOG_CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/g;

function escapeUnit(c) {
    var h = c.charCodeAt(0).toString(16);
    return "\\u" + "0000".substring(h.length) + h;
}

function logLine(text, secrets) {
    try {
        var t = redact(text, secrets);
        if (t.length > MAX_LOG_LINE) t = t.substring(0, MAX_LOG_LINE) + "...";
        log(LOG_PREFIX + t.replace(LOG_CONTROL, escapeUnit));
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

/* The same classes as regular expressions, for long texts (a test runs in the engine, not per character in
 * bytecode). Every range of both tables lies in the BMP, so UTF-16 units are code points here. */
function rangeClass(table) {
    var out = [];
    for (var i = 0; i < table.length; i += 2) {
        if (table[i + 1] > 0xffff) throw new Error("a character class beyond the BMP");
        out.push(escapeUnit(String.fromCharCode(table[i])) + "-" + escapeUnit(String.fromCharCode(table[i + 1])));
    }
    return new RegExp("[" + out.join("") + "]");
}
var CONTROL_CHAR = rangeClass(CONTROL_RANGES);

/* The number of code points, as chars().count() counts them (a lone surrogate is one). */
function countCodePoints(s) {
    var pairs = s.length - s.replace(/[\ud800-\udbff][\udc00-\udfff]/g, "").length;
    return s.length - pairs / 2;
}

/* More than max code points? Without counting when the UTF-16 length decides it. */
function longerThan(s, max) {
    if (s.length <= max) return false;
    if (s.length > 2 * max) return true;
    return countCodePoints(s) > max;
}

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

/* Strings are built as arrays and joined: in Duktape every += makes (and hashes) a new string, so a loop of
 * them is quadratic in the length. */
function fromCodePoints(cps) {
    var out = [];
    for (var i = 0; i < cps.length; i++) {
        var cp = cps[i];
        if (cp >= 0x10000) {
            cp -= 0x10000;
            out.push(String.fromCharCode(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff)));
        } else {
            out.push(String.fromCharCode(cp));
        }
    }
    return out.join("");
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

/* The UTF-8 length of a string: what Rust's String::len says for the same text (a lone surrogate as U+FFFD,
 * 3 bytes). The engine's encodeURIComponent writes every byte but unreserved ASCII as %XX; it refuses lone
 * surrogates, and then the regular expression engine counts: every unit is 1 byte, every unit from U+0080
 * one more, every unit from U+0800 (surrogates too) one more, and a surrogate pair (4 bytes, not 6) two less.
 * Neither is a loop of charCodeAt, which costs Duktape far more per character. */
function utf8Length(s) {
    try {
        var e = encodeURIComponent(s);
        return e.length - 2 * (e.split("%").length - 1);
    } catch (err) {
        // A lone surrogate.
    }
    var above7f = s.replace(/[\x00-\x7f]+/g, "");
    var above7ff = above7f.replace(/[\x80-\u07ff]+/g, "");
    var pairs = (above7ff.length - above7ff.replace(/[\ud800-\udbff][\udc00-\udfff]/g, "").length) / 2;
    return s.length + above7f.length + above7ff.length - 2 * pairs;
}

function utf8Hex(s) {
    var cps = codePoints(s);
    var hex = "0123456789abcdef";
    var out = [];
    function byte(b) { out.push(hex.charAt(b >> 4) + hex.charAt(b & 15)); }
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
    return out.join("");
}

/* ======================================================================================================== */
/* A strict JSON reader, the grammar serde_json accepts.                                                     */
/*                                                                                                            */
/* JSON.parse would do for well-formed messages, but the core reads them with serde_json, and the two differ */
/* where it matters for "the same rules": serde refuses 2.0 or 1e0 for an integer field (JSON.parse makes    */
/* them 2 and 1), a known field given twice (JSON.parse keeps the last), a lone surrogate escape, a number   */
/* out of range, and nesting deeper than 127. This reader keeps what is needed to decide like serde: numbers */
/* written with a fraction or exponent (or as -0, which serde reads as a float) come back as JsonFloat, and */
/* every repeated key the protocol reader could ask for is recorded by its path.                             */
/*                                                                                                            */
/* Bounded cost in Duktape, where a bytecode loop over characters costs ~0.3 µs each and += on strings is   */
/* quadratic: first the engine's own JSON.parse (native C) checks the grammar, and a walk of its result     */
/* refuses more than MAX_JSON_VALUES values, nesting deeper than 127, lone surrogates and numbers out of    */
/* range; only then does this reader go through the text — at most MAX_JSON_VALUES tokens, strings found    */
/* with indexOf and decoded by JSON.parse, runs of blanks and digits skipped by regular expressions.        */
/* ======================================================================================================== */

var MAX_JSON_DEPTH = 127; // serde_json's recursion limit: the 128th nested container is refused

/* Keys and values in one message at most. The protocol's largest message (SetConfig) has about 100; a text
 * with more is refused tooLarge before it is read token by token. */
var MAX_JSON_VALUES = 512;

function JsonTooLarge(why) { this.why = why; }

/* The engine's JSON.parse and a walk of its result: null when the text may be read, else {error} (malformed)
 * or {tooLarge}. */
function jsonGate(text) {
    var tree;
    try {
        tree = JSON.parse(text);
    } catch (e) {
        return { error: "invalid JSON" };
    }
    var count = 0;
    function unicode(str) {
        try {
            encodeURIComponent(str); // throws on a lone surrogate: impossible in UTF-8 text
        } catch (e) {
            throw new JsonSyntaxError("lone surrogate", 0);
        }
    }
    function walk(v, depth) {
        if (++count > MAX_JSON_VALUES) throw new JsonTooLarge("more than " + MAX_JSON_VALUES + " JSON values");
        if (typeof v === "string") unicode(v);
        else if (typeof v === "number") {
            if (!isFinite(v)) throw new JsonSyntaxError("number out of range", 0);
        } else if (v !== null && typeof v === "object") {
            if (depth > MAX_JSON_DEPTH) throw new JsonSyntaxError("nested too deeply", 0);
            if (v instanceof Array) {
                for (var i = 0; i < v.length; i++) walk(v[i], depth + 1);
            } else {
                for (var k in v) {
                    if (!hasOwn.call(v, k)) continue;
                    unicode(k);
                    count++;
                    walk(v[k], depth + 1);
                }
            }
        }
    }
    try {
        walk(tree, 1);
    } catch (e) {
        if (e instanceof JsonTooLarge) return { tooLarge: e.why };
        if (e instanceof JsonSyntaxError) return { error: e.why };
        throw e;
    }
    return null;
}

/* Blanks and digits beyond the first few are skipped by these (a loop would cost more per character). */
var WS_END = /[^ \t\n\r]/g;
var DIGITS_END = /[^0-9]/g;

function JsonFloat(value) { this.value = value; }

function JsonSyntaxError(why, pos) { this.why = why; this.pos = pos; }

/* The objects the protocol reader descends into, by key (Reader paths: "config.lamp.ringing"). */
function readerDescends(key) {
    return key === "config" || key === "lamp" || key === "trace" || key === "restore" || contains(LAMP_SLOTS, key);
}

/* Returns {value, dups}, {error} or {tooLarge}; dups holds the path of every repeated key in an object the reader can
 * reach ("config.token"), as Reader paths are written; root is the path of the whole text ("" for a message,
 * "config" for stored settings). Objects have no prototype, so a key "__proto__" is just a key. */
function parseJson(text, root) {
    var gate = jsonGate(text);
    if (gate !== null) return gate;
    var pos = 0;
    var depth = 0;
    var dups = Object.create(null);
    // The text with every escaped backslash and escaped quote made "__": the same length, and each " in it
    // delimits a string. Escaped backslashes first, left to right, as a reader pairs them.
    var plain = text.indexOf("\\") < 0 ? text : text.split("\\\\").join("__").split("\\\"").join("__");
    var nextBackslash = -1; // the first backslash at or after pos, found lazily (the search only moves on)
    var tokens = 0; // keys and values read, repeated keys included (the gate counted them once)

    function fail(why) { throw new JsonSyntaxError(why, pos); }

    function isDigit(c) { return c >= 0x30 && c <= 0x39; }

    function isWs(c) { return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d; }

    /* Moves pos past the run that `more` accepts, with `end` (a /g regular expression) for long runs. */
    function skipRun(more, end) {
        for (var n = 0; n < 8; n++) {
            if (!more(text.charCodeAt(pos))) return;
            pos++;
        }
        end.lastIndex = pos;
        var m = end.exec(text);
        pos = m === null ? text.length : m.index;
    }

    function skipWs() {
        skipRun(isWs, WS_END);
    }

    function literal(word, value) {
        if (text.substr(pos, word.length) !== word) fail("invalid literal");
        pos += word.length;
        return value;
    }

    /* The gate checked every string (escapes, control characters, surrogates): here one is only found
     * (its closing quote in plain) and taken (substring, or JSON.parse when it holds an escape). */
    function string() {
        var start = pos;
        var end = plain.indexOf("\"", pos + 1);
        if (end < 0) fail("unterminated string");
        if (nextBackslash !== Infinity && nextBackslash <= start) {
            nextBackslash = text.indexOf("\\", start + 1);
            if (nextBackslash < 0) nextBackslash = Infinity;
        }
        pos = end + 1;
        if (nextBackslash > end) return text.substring(start + 1, end);
        try {
            return JSON.parse(text.substring(start, end + 1));
        } catch (e) {
            return fail("invalid string");
        }
    }

    function number() {
        var start = pos;
        var integer = true;
        if (text.charAt(pos) === "-") pos++;
        var c = text.charCodeAt(pos);
        if (c === 0x30) pos++;
        else if (c >= 0x31 && c <= 0x39) {
            skipRun(isDigit, DIGITS_END);
        } else fail("invalid number");
        if (text.charAt(pos) === ".") {
            integer = false;
            pos++;
            if (!isDigit(text.charCodeAt(pos))) fail("invalid number");
            skipRun(isDigit, DIGITS_END);
        }
        c = text.charAt(pos);
        if (c === "e" || c === "E") {
            integer = false;
            pos++;
            c = text.charAt(pos);
            if (c === "+" || c === "-") pos++;
            if (!isDigit(text.charCodeAt(pos))) fail("invalid number");
            skipRun(isDigit, DIGITS_END);
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
            a.push(value(null));
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

    /* path: the object's Reader path, or null when the reader never looks into it. */
    function object(path) {
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
            if (++tokens > MAX_JSON_VALUES) throw new JsonTooLarge("more than " + MAX_JSON_VALUES + " JSON values");
            var k = string();
            skipWs();
            if (text.charAt(pos) !== ":") fail("expected :");
            pos++;
            var v = value(path !== null && readerDescends(k) ? (path === "" ? k : path + "." + k) : null);
            if (hasOwn.call(o, k) && path !== null) dups[path === "" ? k : path + "." + k] = true;
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

    function value(path) {
        if (++tokens > MAX_JSON_VALUES) throw new JsonTooLarge("more than " + MAX_JSON_VALUES + " JSON values");
        skipWs();
        var c = text.charAt(pos);
        if (c === "{") return object(path);
        if (c === "[") return array();
        if (c === "\"") return string();
        if (c === "t") return literal("true", true);
        if (c === "f") return literal("false", false);
        if (c === "n") return literal("null", null);
        if (c === "-" || (c >= "0" && c <= "9")) return number();
        return fail(pos >= text.length ? "unexpected end" : "unexpected character");
    }

    try {
        var v = value(root || "");
        skipWs();
        if (pos !== text.length) fail("trailing characters");
        return { value: v, dups: dups };
    } catch (e) {
        if (e instanceof JsonSyntaxError) return { error: e.why + " at " + e.pos };
        if (e instanceof JsonTooLarge) return { tooLarge: e.why };
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

/* The settings as stored and sent: the core limits texts after trimming (MAX_TEXT_LEN), so a hubUrl of
 * 65,000 blanks around a valid URL passes its rules, and every later answer carrying it would be over the
 * send limit. So every text is also limited as given, blanks included, to MAX_RAW_TEXT_LEN code points.
 * Checked before the port above, which then only sees short texts; one error per field, in the port's order. */
var MAX_RAW_TEXT_LEN = 2 * MAX_TEXT_LEN;

function storedFormErrors(c) {
    var errors = [];
    var tooLong = "is too long: at most " + MAX_RAW_TEXT_LEN + " characters, blanks included";
    if (longerThan(c.hubUrl, MAX_RAW_TEXT_LEN)) errors.push(fieldError("hubUrl", tooLong));
    if (longerThan(c.token, MAX_RAW_TEXT_LEN)) errors.push(fieldError("token", tooLong));
    for (var i = 0; i < LAMP_SLOTS_BY_PRIORITY.length; i++) {
        var slot = LAMP_SLOTS_BY_PRIORITY[i];
        if (longerThan(c.lamp[slot].color, MAX_RAW_TEXT_LEN)) {
            errors.push(fieldError("lamp." + slot + ".color", tooLong));
        }
    }
    return errors;
}

/* The stored text of settings that passed both: well within MAX_MESSAGE_LEN by the field limits, checked
 * all the same, since an answer over the send limit would never reach the apps. */
function storedText(c) {
    var text = JSON.stringify(c);
    return utf8Length(text) <= MAX_STORED_CONFIG_LEN ? text : null;
}
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
    this.app = typeof conn.app === "string" ? conn.app : "";
    this.open = true;
    // Set once the PBX confirmed a license for a connection the runtime marked unlicensed.
    this.licenseConfirmed = false;
    // Set once the PBX answered a license check for this connection: later ones may use the user's cache.
    this.licenseChecked = false;
    // The message budget (see RATE_BURST).
    this.tokens = RATE_BURST;
    this.refilled = Date.now();
    // null, or the error code every message of this connection is answered with.
    this.refused = null;
}

/* Which app may do what (ARCHITECTURE.md, "Which app may do what"): the hidden app reads and writes the
 * user's settings, asks for the license and sets the presence (plain, claim, release); the config app
 * reads and writes settings and asks for the license, but never sets the presence; any other app of the
 * instance (a PBX Manager login, another app object's app) gets nothing. By the runtime's conn.app. */
var APP_REQUESTS = {
    "innovaphone-kuando": ["GetConfig", "SetConfig", "GetLicense", "SetPresence"],
    "innovaphone-kuando-config": ["GetConfig", "SetConfig", "GetLicense"]
};

function mayRequest(client, mt) {
    return hasOwn.call(APP_REQUESTS, client.app) && contains(APP_REQUESTS[client.app], mt);
}

/* A new connection: served, or refused for good (unknown app, too many connections of the user). */
function admitConnection(client) {
    if (!hasOwn.call(APP_REQUESTS, client.app)) {
        client.refused = "forbidden";
        logOffender("app", client.sip, "connection of " + client.sip + " from the app \"" + client.app +
            "\" refused: only the connector's apps are served");
        return;
    }
    if (ADMIN_APPS[client.app] === true) return;
    var list = client.sip ? clientsBySip[client.sip] : null;
    if (list && list.length >= MAX_CONNECTIONS_PER_USER) {
        client.refused = "tooManyConnections";
        logOffender("connections", client.sip, client.sip + " has more than " + MAX_CONNECTIONS_PER_USER +
            " connections: the newer ones are refused");
        return;
    }
    addClient(client);
}

/* One more message from the connection within its budget? */
function takeToken(client) {
    var now = Date.now();
    if (now > client.refilled) {
        client.tokens = Math.min(RATE_BURST, client.tokens + (now - client.refilled) * RATE_PER_S / 1000);
    }
    client.refilled = now;
    if (client.tokens < 1) return false;
    client.tokens -= 1;
    return true;
}

/* Log lines about a client's misbehaviour, at most one per user and kind per OFFENDER_LOG_MS, with the
 * number left out since the last one. Entries older than that are dropped as lines are written. */
var offenders = Object.create(null);
var offendersSwept = 0;

function logOffender(kind, sip, text) {
    var now = Date.now();
    var key = kind + " " + sip;
    var o = offenders[key];
    if (o && now >= o.at && now - o.at < OFFENDER_LOG_MS) {
        o.skipped++;
        return;
    }
    logLine(text + (o && o.skipped > 0 ? " (" + o.skipped + " more since the last such line)" : ""));
    offenders[key] = { at: now, skipped: 0 };
    if (now - offendersSwept >= OFFENDER_LOG_MS) {
        offendersSwept = now;
        for (var k in offenders) {
            if (now - offenders[k].at >= OFFENDER_LOG_MS && k !== key) delete offenders[k];
        }
    }
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

/* ---- Intake: every message passes here, cheapest refusals first ----------------------------------------- */

/* The src and mt of a message that is not parsed, from its first PREFIX_LEN characters only. */
var PREFIX_SRC = /"src"\s*:\s*"([^"\\\x00-\x1f]*)"/;
var PREFIX_MT = /"mt"\s*:\s*"([A-Za-z]{1,32})"/;

function prefixParts(text) {
    var parts = { src: undefined, mt: "Error" };
    if (typeof text !== "string") return parts;
    var head = text.length > PREFIX_LEN ? text.substring(0, PREFIX_LEN) : text;
    var s = PREFIX_SRC.exec(head);
    if (s !== null && s[1].length <= MAX_SRC_LEN) parts.src = s[1];
    var m = PREFIX_MT.exec(head);
    if (m !== null && contains(REQUEST_KINDS, m[1])) parts.mt = m[1] + "Result";
    return parts;
}

/* Longer than MAX_MESSAGE_LEN UTF-8 bytes? The UTF-16 length is a lower bound of it, and 3 bytes per unit
 * an upper one: only texts between the two are counted. */
function tooLarge(text) {
    if (text.length > MAX_MESSAGE_LEN) return true;
    return text.length * 3 > MAX_MESSAGE_LEN && utf8Length(text) > MAX_MESSAGE_LEN;
}

var REFUSALS = {
    rateLimited: "more than " + RATE_PER_S + " messages a second: not carried out, try again later",
    tooManyConnections: "the user has more than " + MAX_CONNECTIONS_PER_USER + " connections open: this one is not served",
    forbidden: "this app is not served by the connector's service"
};

function handleMessage(client, text) {
    if (!takeToken(client)) {
        var rp = prefixParts(text);
        sendError(client, rp.src, rp.mt, "rateLimited", REFUSALS.rateLimited);
        logOffender("rate", client.sip, "connection of " + client.sip + " (" + client.app + ") sends more than " +
            RATE_PER_S + " messages a second: refused");
        return;
    }
    if (typeof text !== "string") {
        sendError(client, undefined, "Error", "malformed", "not a text message");
        return;
    }
    if (client.refused !== null) {
        var fp = prefixParts(text);
        sendError(client, fp.src, fp.mt, client.refused, REFUSALS[client.refused]);
        return;
    }
    if (tooLarge(text)) {
        // Refused before any parsing: the cost of a message must not grow with what a client sends.
        var tp = prefixParts(text);
        sendError(client, tp.src, tp.mt, "tooLarge", "message too large");
        logOffender("tooLarge", client.sip, "refused a message of " + text.length + " characters from " + client.sip);
        return;
    }
    var parsed = parseJson(text, "");
    if (parsed.tooLarge !== undefined) {
        var vp = prefixParts(text);
        sendError(client, vp.src, vp.mt, "tooLarge", parsed.tooLarge);
        logOffender("tooLarge", client.sip, "refused a message of " + parsed.tooLarge + " from " + client.sip);
        return;
    }
    if (parsed.error !== undefined) {
        sendError(client, undefined, "Error", "malformed", "not JSON: " + parsed.error);
        logOffender("unreadable", client.sip, "unreadable message from " + client.sip + ": " + parsed.error);
        return;
    }
    var parts = readableParts(parsed.value);
    var req;
    try {
        req = readRequest(parsed);
    } catch (e) {
        if (!(e instanceof Malformed)) throw e;
        var where = e.path ? e.path + ": " : "";
        sendError(client, parts.src, parts.mt, "malformed", where + e.why);
        // The path and the rule only: a value could be the token.
        logOffender("malformed", client.sip, "malformed message from " + client.sip + ": " + where + e.why);
        return;
    }
    if (!client.sip) {
        // The runtime always logs a user in; without one there is nobody to act for.
        sendError(client, req.src, req.mt + "Result", "unlicensed", "no user on this connection");
        return;
    }
    if (!mayRequest(client, req.mt)) {
        sendError(client, req.src, req.mt + "Result", "forbidden", "the " + client.app + " app may not send " + req.mt);
        logOffender("forbidden", client.sip, "the " + client.app + " app of " + client.sip + " sent " + req.mt +
            ", which it may not: refused");
        return;
    }
    if (req.mt === "GetConfig") getConfig(client, req);
    else if (req.mt === "SetConfig") setConfig(client, req);
    else if (req.mt === "SetPresence") setPresence(client, req);
    else if (req.mt === "GetLicense") getLicense(client, req);
    else REQUEST_HANDLERS[req.mt](client, req);
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
    var parsed = parseJson(text, "config");
    if (parsed.error === undefined && parsed.tooLarge === undefined) {
        try {
            var c = readConfig(new Reader(parsed.dups), parsed.value, "config");
            // Settings an older service stored without the stored-form rule would make every answer too long.
            if (storedFormErrors(c).length === 0 && storedText(c) !== null) return c;
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
    var fields = storedFormErrors(config);
    if (fields.length === 0) fields = validateConfig(config);
    if (fields.length > 0) {
        sendError(client, req.src, "SetConfigResult", "invalidConfig", "invalid settings", fields);
        return;
    }
    // The canonical form is stored (unknown fields already dropped), so a row is a few KB at most.
    var text = storedText(config);
    if (text === null) {
        sendError(client, req.src, "SetConfigResult", "invalidConfig", "the settings are too long to store");
        return;
    }
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

/* The user's license as the PBX answered it last, for LICENSE_CACHE_MS: {license, at}; and the callbacks
 * waiting for a check in flight, by sip. So the PBX is asked once per user, not per message: a client
 * sending GetLicense or unlicensed SetPresence in a loop costs no PBX requests. A connection's first check
 * is always the PBX's (or joins one in flight): licenses change for a user when the apps start again (a new
 * login), and a license taken away must show then. Failures are not kept. */
var licenseCache = Object.create(null);
var licenseWaiting = Object.create(null);
var licenseSwept = 0;

/* cb(errorText | null, "none" | "connector" | "withBusylight"), from the cache or the PBX. */
function checkLicense(client, cb) {
    var sip = client.sip;
    var now = Date.now();
    var c = licenseCache[sip];
    if (client.licenseChecked && c && now >= c.at && now - c.at < LICENSE_CACHE_MS) {
        cb(null, c.license);
        return;
    }
    var asked = cb;
    cb = function (err, license) {
        if (!err) client.licenseChecked = true;
        asked(err, license);
    };
    if (licenseWaiting[sip]) {
        licenseWaiting[sip].push(cb);
        return;
    }
    licenseWaiting[sip] = [cb];
    askLicense(sip, function (err, license) {
        var waiting = licenseWaiting[sip] || [];
        delete licenseWaiting[sip];
        var at = Date.now();
        if (!err) licenseCache[sip] = { license: license, at: at };
        if (at - licenseSwept >= LICENSE_CACHE_MS) {
            licenseSwept = at;
            for (var k in licenseCache) {
                if (at - licenseCache[k].at >= LICENSE_CACHE_MS) delete licenseCache[k];
            }
        }
        for (var i = 0; i < waiting.length; i++) waiting[i](err, license);
    });
}

/* Both licenses of the concept, asked at once; cb(errorText | null, "none" | "connector" | "withBusylight").
 * The with-busylight license wins; App(innovaphone-kuando) alone is "connector" (valid with or without a
 * Busylight). If one check fails and the other does not grant a license, the answer is an error rather
 * than a wrong "none". */
function askLicense(sip, cb) {
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
    checkLicense(client, function (err, license) {
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
        checkLicense(client, function (err, license) {
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
    try {
        admitConnection(client);
    } catch (e) {
        logLine("internal error admitting a connection of " + client.sip + ": " + e);
    }
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
        for (var i = 0; i < CLOSE_HOOKS.length; i++) {
            try {
                CLOSE_HOOKS[i](client);
            } catch (e2) {
                logLine("internal error after a connection closed: " + e2);
            }
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
    if (a !== undefined) req.restore.activity = readPresenceText(a, MAX_ACTIVITY_LEN, "restore.activity");
    var n = r.get(x, "note", "restore.note");
    if (n !== undefined) req.restore.note = readPresenceText(n, MAX_NOTE_LEN, "restore.note");
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

/* For the log: the activity only. A note is the user's own text and has no place in the instance log. */
function showPresence(p) {
    return p.activity || "available";
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
