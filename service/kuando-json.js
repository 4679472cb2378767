/*
 * Connector for kuando® — the app service: the strict JSON reader.
 *
 * Evaluated after kuando-text.js (config.json "javascript.eval", in order, one global scope; ES5 like every
 * file of the service).
 */

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
