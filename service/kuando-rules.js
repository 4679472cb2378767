/*
 * Connector for kuando® — the app service: the core's settings rules, ported, and the limits of stored
 * settings.
 *
 * Evaluated after kuando-proto.js (config.json "javascript.eval", in order, one global scope; ES5 like every
 * file of the service).
 */

/* ======================================================================================================== */
/* BEGIN PORT OF THE CORE'S SETTINGS RULES                                                                  */
/*                                                                                                          */
/* A line-by-line port of Config::validate (src/config.rs) with the helpers it calls: hub::BaseUrl::parse, */
/* split_port and the UrlError texts (src/hub.rs), Rgb::from_hex, Sound::from_number, Volume::new,          */
/* check_text. Same order of checks, same field paths, same messages. Rust's notions are kept exactly:       */
/* lengths count code points (chars().count()), whitespace/control are Rust's char classes      */
/* (kuando-text.js), trim is str::trim. service/test/vectors.json holds the core's verdict on a long list of */
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
