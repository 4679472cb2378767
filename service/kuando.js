/*
 * Connector for kuando® — the app service, for the innovaphone AppPlatform JavaScript runtime.
 *
 * The runtime evaluates the service's files once each, in the order config.json "javascript.eval" lists them,
 * in one global scope, with its globals JsonApi, PbxApi, Database, Config, log and Timers: a file sees the
 * vars and functions of the files before it, and a function may call one of a later file once all are
 * evaluated (the runtime takes connections only then). Top-level code runs at evaluation and may use only
 * what is defined above it or in an earlier file. Every file is old-style JavaScript on purpose (var,
 * functions, no modules, no Node APIs): the runtime's engine is not a browser or Node, and nothing here may
 * depend on more than ES5.
 *
 * The files, in evaluation order (one topic each):
 *   kuando.js               this overview; the limits and names every file uses; the hooks later files
 *                           register requests in; the instance log (redacted, one bounded line)
 *   kuando-text.js          code points, Rust's Unicode classes and UTF-8 lengths
 *   kuando-json.js          the strict JSON reader (serde_json's grammar, bounded cost)
 *   kuando-proto.js         reading requests and settings as serde reads them
 *   kuando-rules.js         the core's settings rules, ported; the limits of stored settings
 *   kuando-intake.js        connections of the apps, their limits, and the intake every message passes
 *   kuando-settings.js      GetConfig and SetConfig: the user's settings in the database
 *   kuando-pbx.js           requests to the PBX (PbxApi, PbxAdminApi)
 *   kuando-license.js       GetLicense, and SetPresence's license check and plain relay
 *   kuando-api.js           the JsonApi the apps connect to
 *   kuando-guard*.js        the presence guard: its rules and state, its rows, the PBX, claims and restores
 *   fleet.js                the fleet view (ReportHealth, GetFleet)
 *
 * What it does (the protocol is defined once, in Rust: src/proto.rs; service/test/vectors.json is generated
 * from it and the tests replay every vector against these files):
 *   GetConfig    the user's stored settings, or the defaults
 *   SetConfig    validate (the core's exact rules, kuando-rules.js), store per user, push ConfigChanged to
 *                the user's other connections
 *   SetPresence  relay to the PBX as PbxApi SetPresence for the connection's own user, contact "tel:";
 *                with guard "claim"/"release" through the presence guard (kuando-guard.js): the service keeps
 *                what it set because of a hub, and restores it when no connector of the user claims it any more
 *   GetLicense   PbxAdminApi CheckAppLic for both licenses of the concept
 * The user is always the connection's login (conn.sip, conn.guid), never a value from a message; what it may
 * ask for depends on its app (conn.app, see APP_REQUESTS).
 * Every message gets an answer; nothing a client sends can throw out of the handler. The engine (Duktape) is
 * one thread for every user of the PBX, so no message may cost much whatever it holds: oversized ones are
 * refused unread, JSON is read with bounded work, connections and users have limits (kuando-intake.js).
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
