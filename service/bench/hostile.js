"use strict";
/*
 * A fixed set of hostile messages, as one logged-in client could send them: huge, deep, escaped, padded,
 * repeated. Used by the hardening tests (service/test/hardening.test.js: each costs at most its budget of
 * Duktape CPU time) and by ./build.sh bench-service (the worst of them). `limit` is the budget the issue
 * sets: 20 ms for a message up to MAX_MESSAGE_LEN, 5 ms for anything larger (refused unread).
 */

const MAX = 65535;
const LIMIT_SMALL_MS = 20;
const LIMIT_LARGE_MS = 5;

const env = (mt, rest) => `{"api":"kuando","src":"h","mt":"${mt}"${rest}}`;
/** Fills `mt`'s message up to about `bytes` with `unit` repeated in the ignored field "x". */
const padded = (mt, unit, bytes, open = '"', close = '"', extra = "") => {
    const head = env(mt, `${extra},"x":${open}`).slice(0, -1);
    const n = Math.floor((bytes - head.length - close.length - 1) / Buffer.byteLength(unit));
    return `${head}${unit.repeat(n)}${close}}`;
};

const blanks = (n) => " ".repeat(n);

function messages() {
    const list = [
        ["1 MiB GetConfig, ignored field of 524,000 \\n escapes", padded("GetConfig", "\\n", 1 << 20)],
        ["1 MiB array of numbers", `[${"1,".repeat(524000)}1]`],
        ["2 MiB of nothing but [", "[".repeat(2 << 20)],
        ["64 KB GetConfig, 32,000 \\n escapes", padded("GetConfig", "\\n", MAX)],
        ["64 KB GetConfig, \\u0041 escapes", padded("GetConfig", "\\u0041", MAX)],
        ["64 KB GetConfig, surrogate pair escapes", padded("GetConfig", "\\ud83d\\ude00", MAX)],
        ["64 KB GetConfig, raw 3-byte characters", padded("GetConfig", "€", MAX)],
        ["64 KB GetConfig, raw 4-byte characters", padded("GetConfig", "😀", MAX)],
        ["64 KB GetConfig, 2-byte characters just over the limit", padded("GetConfig", "é", MAX + 2)],
        ["64 KB GetConfig, array of numbers", padded("GetConfig", "1,", MAX, "[", "1]")],
        ["64 KB GetConfig, array of empty objects", padded("GetConfig", "{},", MAX, "[", "{}]")],
        ["64 KB GetConfig, object with a repeated key", padded("GetConfig", '"a":1,', MAX, "{", '"a":1}')],
        ["64 KB GetConfig, object of distinct keys", env("GetConfig", `,"x":{${Array.from({ length: 6000 }, (_, i) => `"k${i}":1`).join(",")}}`)],
        ["64 KB SetConfig, objects with repeated keys beside the settings", env("SetConfig", `,"config":{"x":[${'{"a":1,"a":1},'.repeat(4300)}{}]}`)],
        ["64 KB SetConfig, hubUrl padded with 65,000 blanks", env("SetConfig", `,"config":{"hubUrl":"http://localhost:8989/${blanks(65000 - 80)}"}`)],
        ["64 KB SetConfig, every colour padded with blanks", env("SetConfig", `,"config":{"lamp":{${["ringing", "dialing", "connected", "held", "busy", "away", "dnd", "lunch"].map((s) => `"${s}":{"color":"#ff0000${blanks(8000)}"}`).join(",")}}}`)],
        ["64 KB SetConfig, token of 64,000 characters", env("SetConfig", `,"config":{"token":"${"t".repeat(64000)}"}`)],
        ["64 KB SetConfig, token of 64,000 escapes", env("SetConfig", `,"config":{"token":"${"\\t".repeat(32000)}"}`)],
        ["64 KB SetPresence, note of 64,000 characters", env("SetPresence", `,"activity":"busy","note":"${"n".repeat(64000)}"`)],
        ["64 KB SetPresence claim, restore note of line breaks", env("SetPresence", `,"activity":"busy","guard":"claim","restore":{"activity":"away","note":"${"\\n".repeat(32000)}"}`)],
        ["64 KB src", `{"api":"kuando","src":"${"s".repeat(65000)}","mt":"GetConfig"}`],
        ["64 KB of blanks around {}", `${blanks(32000)}{}${blanks(32000)}`],
        ["64 KB number of digits", `{"api":"kuando","mt":"GetConfig","x":${"1".repeat(65000)}}`],
        ["nested 127 deep, then 64 KB of an unterminated string", `${"[".repeat(127)}"${"s".repeat(65000)}`],
        ["64 KB unterminated string of escapes", `{"api":"kuando","src":"h","mt":"GetConfig","x":"${"\\n".repeat(32700)}`],
        ["64 KB of lone surrogate escapes", padded("GetConfig", "\\udc00", MAX)],
    ];
    return list.map(([name, text]) => ({ name, text, limitMs: text.length > MAX || Buffer.byteLength(text) > MAX ? LIMIT_LARGE_MS : LIMIT_SMALL_MS }));
}

module.exports = { messages, LIMIT_SMALL_MS, LIMIT_LARGE_MS };
