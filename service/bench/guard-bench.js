"use strict";
/*
 * Benchmark of the app service on Duktape, the runtime's engine — a measurement, not a test.
 *
 *   node service/bench/guard-bench.js [--users 10000] [--rate 100] [--claims 1000] [--grace 20] [--back 1000]
 *   (./build.sh bench-service starts PostgreSQL and runs this.)
 *
 * It plays the myApps simulator's part towards the runtime host (sim/runtime/host.js: the shipped
 * service/ in Duktape 2.7 with the runtime's globals, real timers, the database on PostgreSQL): one
 * PbxApi connection that answers SetPresence / SubscribePresence (with PresenceUpdate) like a PBX, and --users
 * app connections. It prints, each next to its target:
 *   - heap per idle user (connected, no claim): (heap with all connected − heap before) / users, after a full
 *     GC, as Duktape's heap counts it (the host's counting allocator)
 *   - claim → PBX SetPresence p50/p99 at --rate claims/s (from the line written to the host to the host's
 *     SetPresence on the PBX connection), --claims claims
 *   - mass disconnect (an AppPlatform restart of the clients' side): every user claims, every connection
 *     closes; --back users come back within the grace period and claim again; the restores: how many, the
 *     most in any second (≤ 200/s), and whether anybody who came back was restored;
 *   - the most engine CPU time any single message of a fixed hostile set costs (service/bench/hostile.js:
 *     huge, escaped, deep, padded messages from one logged-in client), through the tests' runtime.
 */

const { spawn, execFileSync } = require("node:child_process");
const path = require("node:path");
const readline = require("node:readline");

const ROOT = path.join(__dirname, "..", "..");
const hostile = require("./hostile.js");

function arg(name, def) {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : def;
}

const USERS = arg("users", 10000);
const RATE = arg("rate", 100);
const CLAIMS = arg("claims", 1000);
const GRACE_S = arg("grace", 20);
const BACK = Math.min(arg("back", 1000), USERS);

function pgUrl() {
    const env = (process.env.KUANDO_PG_URL || "").trim();
    if (env) return env;
    return execFileSync("bash", [path.join(ROOT, "tools", "pg.sh"), "start", path.join(ROOT, "target", "pg")], {
        encoding: "utf8",
    }).trim();
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function main() {
    const host = spawn(
        "node",
        [
            path.join(ROOT, "sim", "runtime", "host.js"),
            "--service", path.join(ROOT, "service"),
            "--db", pgUrl(),
            "--database", `kuando_bench_${process.pid}`,
            "--config", `guardGraceSeconds=${GRACE_S}`,
        ],
        { stdio: ["pipe", "pipe", "inherit"] }
    );
    const send = (m) => host.stdin.write(`${JSON.stringify(m)}\n`);
    const PBX = 1;
    const presence = new Map(); // sip → {activity, note}
    const subs = new Set();
    const waiters = [];
    let stats = null;
    let ready = false;
    const sets = []; // {sip, activity, at}
    const claimedAt = new Map(); // sip → hrtime of the claim line
    const latencies = [];
    const logs = [];

    const rl = readline.createInterface({ input: host.stdout });
    rl.on("line", (line) => {
        let m;
        try {
            m = JSON.parse(line);
        } catch (e) {
            return; // a line cut off when the host exits
        }
        if (m.t === "ready") ready = true;
        else if (m.t === "stats") stats = m;
        else if (m.t === "log") logs.push(m.text);
        else if (m.t === "error") {
            console.error(m.text);
            process.exit(1);
        } else if (m.t === "send" && m.id === PBX) {
            const msg = JSON.parse(m.text);
            if (msg.mt === "SetPresence") {
                const at = process.hrtime.bigint();
                const c = claimedAt.get(msg.sip);
                if (c !== undefined && msg.activity === "on-the-phone") {
                    latencies.push(Number(at - c) / 1e6);
                    claimedAt.delete(msg.sip);
                }
                sets.push({ sip: msg.sip, activity: msg.activity, at: Date.now() });
                presence.set(msg.sip, { activity: msg.activity, note: msg.note });
                send({ t: "msg", id: PBX, text: JSON.stringify({ api: "PbxApi", mt: "SetPresenceResult", src: msg.src, error: 0, errorText: "" }) });
                if (subs.has(msg.sip)) update(msg.sip);
            } else if (msg.mt === "SubscribePresence") {
                subs.add(msg.sip);
                send({ t: "msg", id: PBX, text: JSON.stringify({ api: "PbxApi", mt: "SubscribePresenceResult", src: msg.src }) });
                update(msg.sip);
            } else if (msg.mt === "UnsubscribePresence") {
                subs.delete(msg.sip);
            }
        }
        for (const w of waiters.splice(0)) w();
    });
    function update(sip) {
        const p = presence.get(sip) || { activity: "", note: "" };
        send({
            t: "msg",
            id: PBX,
            text: JSON.stringify({ api: "PbxApi", mt: "PresenceUpdate", sip, src: "guard", presence: [{ contact: "tel:", status: "open", ...p }] }),
        });
    }
    const until = async (cond, what, ms = 600000) => {
        const end = Date.now() + ms;
        while (!cond()) {
            if (Date.now() > end) throw new Error(`timed out: ${what}`);
            await sleep(20);
        }
    };
    async function heap() {
        stats = null;
        send({ t: "stats" });
        await until(() => stats !== null, "stats");
        return stats.heapUsed;
    }

    await until(() => ready, "the service to start");
    send({ t: "pbx", id: PBX, api: "PbxApi", conn: { domain: "example.com", pbx: "pbx1", pbxDns: "pbx1.example.com", version: "14r2", build: "1", info: "{}" } });
    await sleep(500);

    // ---- heap per idle user ---------------------------------------------------------------------------
    const sip = (i) => `user${i}@example.com`;
    let nextId = 100;
    const conn = new Map(); // i → connection id
    const connect = (i) => {
        const id = nextId++;
        conn.set(i, id);
        send({ t: "json", id, api: "kuando", conn: { domain: "example.com", sip: sip(i), dn: `User ${i}`, guid: `guid-${i}`, app: "innovaphone-kuando", info: "{}", unlicensed: false } });
    };
    const before = await heap();
    for (let i = 0; i < USERS; i++) connect(i);
    await sleep(1000);
    const after = await heap();
    const perUser = (after - before) / USERS;

    // ---- claim → SetPresence at RATE/s --------------------------------------------------------------------
    const claim = (i, restore = { activity: "", note: "" }) => {
        claimedAt.set(sip(i), process.hrtime.bigint());
        send({ t: "msg", id: conn.get(i), text: JSON.stringify({ api: "kuando", src: "c", mt: "SetPresence", activity: "on-the-phone", note: "MS Teams", guard: "claim", restore }) });
    };
    const n = Math.min(CLAIMS, USERS);
    const t0 = Date.now();
    for (let k = 0; k < n; k++) {
        const due = t0 + (k * 1000) / RATE;
        const wait = due - Date.now();
        if (wait > 0) await sleep(wait);
        claim(k);
    }
    await until(() => latencies.length >= n, "every claim's SetPresence", 60000);
    const lat = latencies.slice().sort((a, b) => a - b);

    // ---- mass disconnect ----------------------------------------------------------------------------------
    for (let i = n; i < USERS; i++) {
        claim(i);
        if (i % 500 === 0) await sleep(50);
    }
    await until(() => sets.filter((s) => s.activity === "on-the-phone").length >= USERS, "every user on the phone", 120000);
    const withClaims = await heap();
    const restoreStart = sets.length;
    const closedAt = Date.now();
    for (let i = 0; i < USERS; i++) send({ t: "close", id: conn.get(i) });
    await sleep((GRACE_S * 1000) / 2);
    for (let i = 0; i < BACK; i++) {
        connect(i);
        claim(i, { activity: "on-the-phone", note: "MS Teams" });
    }
    const expect = USERS - BACK;
    await until(() => sets.length - restoreStart >= expect, `${expect} restores`, GRACE_S * 1000 + (expect / 150) * 1000 + 60000);
    await sleep(3000); // anything more that would come
    const restores = sets.slice(restoreStart).filter((s) => s.activity === "");
    const perSecond = new Map();
    for (const s of restores) {
        const k = Math.floor((s.at - closedAt) / 1000);
        perSecond.set(k, (perSecond.get(k) || 0) + 1);
    }
    const backRestored = restores.filter((s) => Number(s.sip.slice(4, s.sip.indexOf("@"))) < BACK).length;
    const firstRestore = restores.length ? (restores[0].at - closedAt) / 1000 : NaN;
    const lastRestore = restores.length ? (restores[restores.length - 1].at - closedAt) / 1000 : NaN;

    host.stdin.end();
    await new Promise((r) => host.on("exit", r));

    // ---- hostile messages: the engine's CPU time for each, the worst reported ------------------------------
    const hostileCpu = await hostileMessages();
    const worst = hostileCpu.reduce((a, b) => (b.ms > a.ms ? b : a));
    const worstSmall = hostileCpu.filter((h) => h.limitMs === hostile.LIMIT_SMALL_MS).reduce((a, b) => (b.ms > a.ms ? b : a));
    const worstLarge = hostileCpu.filter((h) => h.limitMs === hostile.LIMIT_LARGE_MS).reduce((a, b) => (b.ms > a.ms ? b : a));

    const line = (what, value, target) => console.log(`${what.padEnd(58)} ${String(value).padStart(12)}   ${target}`);
    console.log(`service benchmark on Duktape 2.7: ${USERS} users, grace ${GRACE_S} s, PostgreSQL, real timers`);
    line("heap per idle user (connected, no claim)", `${(perUser / 1024).toFixed(2)} KB`, "target ≤ 4 KB");
    line("heap per user with a live claim (all on the phone)", `${((withClaims - before) / USERS / 1024).toFixed(2)} KB`, "(information)");
    line(`claim → PBX SetPresence p50 at ${RATE} claims/s (${n})`, `${pct(lat, 50).toFixed(2)} ms`, "");
    line(`claim → PBX SetPresence p99 at ${RATE} claims/s`, `${pct(lat, 99).toFixed(2)} ms`, "target ≤ 20 ms");
    line("mass disconnect: restores", restores.length, `expected ${expect}`);
    line("mass disconnect: most restores in one second", Math.max(0, ...perSecond.values()), "target ≤ 200/s");
    line("mass disconnect: first / last restore after the close (s)", `${firstRestore.toFixed(1)} / ${lastRestore.toFixed(1)}`, `grace ${GRACE_S} s`);
    line(`users back within the grace period (${BACK}) restored anyway`, backRestored, "target 0");
    const worstLine = hostileCpu.reduce((a, b) => (b.line > a.line ? b : a));
    line(`worst hostile message (${hostileCpu.length}), service CPU`, `${worst.ms.toFixed(2)} ms`, "target ≤ 20 ms");
    line("  with the host decoding the simulator's line", `${worstLine.line.toFixed(2)} ms`, worstLine.name);
    line("  worst up to 64 KB", `${worstSmall.ms.toFixed(2)} ms`, `≤ ${hostile.LIMIT_SMALL_MS} ms: ${worstSmall.name}`);
    line("  worst over 64 KB (refused unread)", `${worstLarge.ms.toFixed(2)} ms`, `≤ ${hostile.LIMIT_LARGE_MS} ms: ${worstLarge.name}`);
    if (process.argv.includes("--hostile-detail")) {
        for (const h of hostileCpu) {
            line(`  ${h.name}`.slice(0, 58), `${h.ms.toFixed(2)} ms`, `≤ ${h.limitMs} ms (${h.line.toFixed(2)} ms with the line)`);
        }
    }
}

/** Each hostile message on a fresh connection, in the tests' runtime (Duktape, synchronous): CPU per message. */
async function hostileMessages() {
    const { createRuntime, endAll } = require("../test/runtime.js");
    const rt = await createRuntime();
    rt.connectPbx("PbxApi", (m) => ({ api: "PbxApi", mt: `${m.mt}Result`, src: m.src, error: 0, errorText: "" }));
    const out = [];
    for (const h of hostile.messages()) {
        let ms = 0;
        let line = 0;
        for (let k = 0; k < 3; k++) {
            const app = rt.connectApp({ sip: `hostile${out.length}-${k}` });
            app.send(h.text);
            ms = Math.max(ms, rt.serviceCpu() / 1000);
            line = Math.max(line, rt.cpu() / 1000);
            await rt.run();
            app.close();
        }
        out.push({ name: h.name, limitMs: h.limitMs, ms, line });
    }
    await endAll();
    return out;
}

main().catch((e) => {
    console.error(`bench: ${e && e.stack ? e.stack : e}`);
    process.exit(1);
});
