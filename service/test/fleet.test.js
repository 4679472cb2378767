"use strict";
/*
 * The fleet view's side of the service: health reports of the hidden apps kept per user and client (also
 * across a restart), "not running since" after a close, dropped after 30 days; only the PBX Manager's
 * connection reads everyone's rows and is told of changes; a user reads only their own.
 */

const test = require("node:test");
const assert = require("node:assert/strict");
const { createRuntime, closeAll, endAll } = require("./runtime.js");

test.afterEach(closeAll);
test.after(endAll);

const FINE = { run: true, hub: "ok", lic: "withBusylight", lamps: 1, local: true, build: "1.0.0", browser: "Chrome 131" };
const DOWN = { run: true, hub: "unreachable", lic: "withBusylight", lamps: 0, local: true, err: "unreachable", build: "1.0.0", browser: "Chrome 131" };
const MANAGER = { sip: "pbx-manager", dn: "PBX Manager", app: "-" };

function user(sip, app = "innovaphone-kuando") {
    return { sip, guid: `g-${sip}`, dn: sip[0].toUpperCase() + sip.slice(1) + " Example", app };
}

async function report(rt, conn, client, health, src = "h1") {
    conn.send({ api: "kuando", src, mt: "ReportHealth", client, health });
    await rt.run();
    return conn.take().find((m) => m.src === src);
}

async function page(rt, conn, query = {}, src = "f1") {
    conn.send({ api: "kuando", src, mt: "GetFleet", ...query });
    await rt.run();
    return conn.take().find((m) => m.src === src);
}

test("the manager sees every client's latest report, its mark and totals; a user only their own", async () => {
    const rt = await createRuntime();
    const alice = rt.connectApp(user("alice"));
    const bob = rt.connectApp(user("bob"));
    assert.equal((await report(rt, alice, "client-alice-1", FINE)).mt, "ReportHealthResult");
    await report(rt, bob, "client-bob-0001", DOWN);
    const m = rt.connectApp(MANAGER);
    const r = await page(rt, m);
    assert.equal(r.mt, "GetFleetResult");
    assert.deepEqual(r.totals, { users: 2, running: 2, problems: 1 });
    assert.deepEqual(r.rows.map((x) => [x.sip, x.state]), [["alice", "fine"], ["bob", "problem"]]);
    assert.equal(r.rows[1].h.hub, "unreachable");
    assert.equal(r.rows[0].dn, "Alice Example");
    const only = await page(rt, m, { problems: true });
    assert.deepEqual(only.rows.map((x) => x.sip), ["bob"]);
    const search = await page(rt, m, { search: "ALI" });
    assert.deepEqual(search.rows.map((x) => x.sip), ["alice"]);
    // The user's own config app reads their own rows, nobody else's.
    const cfg = rt.connectApp(user("bob", "innovaphone-kuando-config"));
    const own = await page(rt, cfg);
    assert.deepEqual(own.rows.map((x) => x.sip), ["bob"]);
    assert.deepEqual(own.totals, { users: 1, running: 1, problems: 1 });
});

test("a closed connection counts as not running since its close; the manager is told of changes", async () => {
    const rt = await createRuntime();
    const m = rt.connectApp(MANAGER);
    await page(rt, m);
    const bob = rt.connectApp(user("bob"));
    await report(rt, bob, "client-bob-0001", DOWN);
    await rt.advance(1500);
    assert.ok(m.take().some((x) => x.mt === "FleetChanged"));
    await rt.advance(10000);
    bob.close();
    await rt.run();
    await rt.advance(1500);
    assert.ok(m.take().some((x) => x.mt === "FleetChanged"));
    const r = await page(rt, m);
    assert.equal(r.rows[0].state, "off");
    assert.equal(r.rows[0].last, r.now - 1500);
    assert.deepEqual(r.totals, { users: 1, running: 0, problems: 0 });
    // Back with a working hub: fine, the hub's state since the report.
    const bob2 = rt.connectApp(user("bob"));
    await report(rt, bob2, "client-bob-0001", FINE);
    const again = await page(rt, m);
    assert.equal(again.rows[0].state, "fine");
    assert.equal(again.rows[0].hubSince, again.now);
});

test("reports survive a restart (not running until they report again) and are dropped after 30 days", async () => {
    const rt = await createRuntime();
    const alice = rt.connectApp(user("alice"));
    await report(rt, alice, "client-alice-1", FINE);
    const rt2 = await createRuntime({ restartOf: rt });
    await rt2.run();
    const m = rt2.connectApp(MANAGER);
    const r = await page(rt2, m);
    assert.deepEqual(r.rows.map((x) => [x.sip, x.state, x.h.lamps]), [["alice", "off", 1]]);
    await rt2.advance(31 * 24 * 3600 * 1000);
    const later = await page(rt2, m);
    assert.deepEqual(later.rows, []);
    assert.equal((await rt2.db.get("client_health", "alice client-alice-1")), undefined);
});

test("who may do what: other apps cannot read everyone, reports are checked, healthReports off keeps nothing", async () => {
    const rt = await createRuntime();
    const other = rt.connectApp(user("eve", "some-other-app"));
    const refused = await page(rt, other);
    assert.equal(refused.error.code, "forbidden");
    const alice = rt.connectApp(user("alice"));
    for (const [client, health] of [
        ["short", FINE],
        ["client-alice-1", { ...FINE, hub: "on fire" }],
        ["client-alice-1", { ...FINE, browser: "x".repeat(500) }],
        ["client-alice-1", { ...FINE, lamps: 1000 }],
        ["client-alice-1", "fine"],
    ]) {
        const r = await report(rt, alice, client, health);
        assert.equal(r.error.code, "malformed", JSON.stringify([client, health]));
    }
    // The manager's app may not report.
    const m = rt.connectApp(MANAGER);
    assert.equal((await report(rt, m, "client-manager-1", FINE)).error.code, "forbidden");

    const off = await createRuntime({ config: { healthReports: "false" } });
    const a = off.connectApp(user("alice"));
    const r = await report(off, a, "client-alice-1", FINE);
    assert.equal(r.off, true);
    const p = await page(off, off.connectApp(MANAGER));
    assert.equal(p.rows.length, 0);
    assert.equal(p.reports, false);
});

test("a search is plain text, not a pattern", async () => {
    const rt = await createRuntime();
    for (const sip of ["a.b", "axb"]) await report(rt, rt.connectApp(user(sip)), `client-${sip}-1234`.replace(".", "_"), FINE);
    const m = rt.connectApp(MANAGER);
    assert.deepEqual((await page(rt, m, { search: "a.b" })).rows.map((x) => x.sip), ["a.b"]);
    assert.deepEqual((await page(rt, m, { search: "(" })).rows, []);
});

test("a user's clients are bounded: a new one beyond 16 replaces the least recently seen", async () => {
    const rt = await createRuntime();
    const eve = rt.connectApp(user("eve"));
    for (let i = 0; i < 20; i++) {
        await report(rt, eve, `client-eve-${String(i).padStart(4, "0")}`, FINE);
        await rt.advance(1000);
    }
    const r = await page(rt, rt.connectApp(MANAGER), { limit: 50 });
    assert.equal(r.rows.length, 16);
    assert.deepEqual(r.rows.map((x) => x.client), Array.from({ length: 16 }, (_, i) => `client-eve-${String(i + 4).padStart(4, "0")}`));
    assert.equal(await rt.db.get("client_health", "eve client-eve-0000"), undefined);
    assert.ok(await rt.db.get("client_health", "eve client-eve-0019"));
});
