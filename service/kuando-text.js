/*
 * Connector for kuando® — the app service: code points, Rust's Unicode classes, UTF-8 lengths.
 *
 * Evaluated after kuando.js (config.json "javascript.eval", in order, one global scope; ES5 like every file
 * of the service).
 *
 * Rust counts and classifies characters differently from JavaScript (code points, not UTF-16 units; its
 * own whitespace and control classes; UTF-8 bytes): these helpers give the Rust answer for a JS string.
 * The tables between the GENERATED markers are written by tests/proto_vectors.rs.
 */

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
