"use strict";
/*
 * The service's behaviour beyond single messages: who a request acts for, licenses, a PBX that goes away or
 * never answers, database failures, the ConfigChanged push, logging without secrets, and what the runtime
 * needs from the package (config.json, old-style JavaScript).
 */

const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { createRuntime, closeAll, endAll, answeringPbx, SERVICE_DIR, SERVICE_FILES, CONFIG_FILE } = require("./runtime.js");

test.afterEach(closeAll);
test.after(endAll);

const LIC_CONNECTOR = "App(innovaphone-kuando)";
const LIC_BUSYLIGHT = "App(innovaphone-kuando-with-busylight)";
const TOKEN = "Tok3n-s3cret-Value";

function presence(src, activity = "busy", note = "") {
    return { api: "kuando", src, mt: "SetPresence", activity, note };
}

function settings(changes = {}) {
    return { api: "kuando", src: "set", mt: "SetConfig", config: changes };
}

function errorCode(msg) {
    return msg.error && msg.error.code;
}

test.describe("identity: the connection's login, never the message", () => {
    test("SetPresence acts for the logged-in user whatever sip and guid the message names", async () => {
        const rt = await createRuntime();
        const { pbx } = answeringPbx(rt);
        const alice = rt.connectApp({ sip: "alice", guid: "guid-alice" });
        alice.send({ ...presence("1"), sip: "bob", guid: "guid-bob", contact: "im:", domain: "evil.com" });
        await rt.run();
        assert.deepEqual(alice.take(), [{ api: "kuando", src: "1", mt: "SetPresenceResult" }]);
        assert.equal(pbx.received.length, 1);
        const sent = pbx.received[0];
        assert.equal(sent.sip, "alice");
        assert.equal(sent.guid, "guid-alice");
        assert.equal(sent.contact, "tel:");
    });

    test("settings are stored for the logged-in user, not for a sip in the message or the settings", async () => {
        const rt = await createRuntime();
        const alice = rt.connectApp({ sip: "alice" });
        const bob = rt.connectApp({ sip: "bob" });
        alice.send({ ...settings({ pollInterval: 9, sip: "bob" }), sip: "bob", user: "bob" });
        await rt.run();
        assert.equal(alice.take()[0].config.pollInterval, 9);
        assert.equal((await rt.db.get("user_config", "bob")), undefined);
        assert.equal(JSON.parse((await rt.db.get("user_config", "alice")).config).pollInterval, 9);
        assert.equal(JSON.parse((await rt.db.get("user_config", "alice")).config).sip, undefined, "no stray field stored");
        assert.deepEqual(bob.take(), [], "bob's apps are not told");

        bob.send({ api: "kuando", src: "g", mt: "GetConfig", sip: "alice" });
        await rt.run();
        assert.equal(bob.take()[0].config.pollInterval, 2, "bob cannot read alice's settings");
    });

    test("GetLicense asks the PBX about the logged-in user", async () => {
        const rt = await createRuntime();
        const { admin } = answeringPbx(rt);
        const alice = rt.connectApp({ sip: "alice" });
        alice.send({ api: "kuando", src: "l", mt: "GetLicense", sip: "bob", h323: "bob" });
        await rt.run();
        assert.deepEqual(
            admin.received.map((m) => [m.mt, m.h323, m.lic]),
            [
                ["CheckAppLic", "alice", LIC_BUSYLIGHT],
                ["CheckAppLic", "alice", LIC_CONNECTOR],
            ]
        );
        assert.equal(alice.take()[0].license, "connector");
    });

    test("a sip with quotes and non-ASCII is stored and read back exactly", async () => {
        const rt = await createRuntime();
        const sip = "o'hara\"; DROP TABLE user_config; --ü😀";
        const a = rt.connectApp({ sip });
        a.send(settings({ pollInterval: 3, token: "it's" }));
        await rt.run();
        a.take();
        a.send({ api: "kuando", src: "g", mt: "GetConfig" });
        await rt.run();
        const [got] = a.take();
        assert.equal(got.config.pollInterval, 3);
        assert.equal(got.config.token, "it's");
        assert.ok((await rt.db.get("user_config", sip)));
        for (const sql of rt.sql) assert.ok(!sql.includes("DROP") && !sql.includes("it's"), sql);
    });

    test("a connection without a user is refused, not served as somebody", async () => {
        const rt = await createRuntime();
        answeringPbx(rt);
        const anon = rt.connectApp({ sip: undefined });
        anon.send(presence("1"));
        anon.send({ api: "kuando", src: "2", mt: "GetConfig" });
        await rt.run();
        assert.deepEqual(anon.take().map(errorCode), ["unlicensed", "unlicensed"]);
        // Only the start's read of the presence guards: nothing on the anonymous connection's behalf.
        assert.deepEqual(rt.sql.filter((s) => !/ FROM presence_guard$/.test(s)), []);
    });
});

test.describe("licenses", () => {
    test("an unlicensed connection cannot set presence; the PBX never hears of it", async () => {
        const rt = await createRuntime();
        const { pbx } = answeringPbx(rt, { licenses: [] });
        const eve = rt.connectApp({ sip: "eve", unlicensed: true });
        eve.send(presence("1"));
        await rt.run();
        const [reply] = eve.take();
        assert.equal(reply.mt, "SetPresenceResult");
        assert.equal(errorCode(reply), "unlicensed");
        assert.deepEqual(pbx.received, []);
    });

    test("a with-busylight user flagged unlicensed by the runtime is confirmed once, then served", async () => {
        const rt = await createRuntime();
        const { pbx, admin } = answeringPbx(rt, { licenses: [LIC_BUSYLIGHT] });
        const carol = rt.connectApp({ sip: "carol", unlicensed: true });
        carol.send(presence("1"));
        await rt.run();
        carol.send(presence("2", ""));
        await rt.run();
        assert.deepEqual(carol.take().map((m) => [m.src, m.error]), [["1", undefined], ["2", undefined]]);
        assert.equal(pbx.received.length, 2);
        assert.equal(admin.received.length, 2, "the license is checked for the first request only");
    });

    test("an unlicensed connection is refused while the PBX cannot be asked, and served once it can", async () => {
        const rt = await createRuntime();
        const carol = rt.connectApp({ sip: "carol", unlicensed: true });
        carol.send(presence("1"));
        await rt.run();
        assert.equal(errorCode(carol.take()[0]), "unlicensed");
        answeringPbx(rt, { licenses: [LIC_CONNECTOR] });
        carol.send(presence("2"));
        await rt.run();
        assert.deepEqual(carol.take(), [{ api: "kuando", src: "2", mt: "SetPresenceResult" }]);
    });

    test("a licensed connection needs no license check for presence", async () => {
        const rt = await createRuntime();
        const { admin } = answeringPbx(rt);
        const alice = rt.connectApp({ sip: "alice" });
        alice.send(presence("1"));
        await rt.run();
        assert.equal(alice.take()[0].error, undefined);
        assert.deepEqual(admin.received, []);
    });

    test("without a PbxAdminApi connection (no Admin option) GetLicense says noAdmin", async () => {
        const rt = await createRuntime();
        rt.connectPbx("PbxApi", () => undefined);
        const alice = rt.connectApp({ sip: "alice", unlicensed: true });
        alice.send({ api: "kuando", src: "l", mt: "GetLicense" });
        await rt.run();
        const [reply] = alice.take();
        assert.equal(errorCode(reply), "noAdmin");
        assert.match(reply.error.text, /Admin option/);
    });

    test("a CheckAppLicResult without ok counts as no license", async () => {
        const rt = await createRuntime();
        answeringPbx(rt);
        rt.connectPbx("PbxAdminApi", (m) => ({ api: "PbxAdminApi", mt: "CheckAppLicResult", src: m.src }));
        const alice = rt.connectApp({ sip: "alice" });
        alice.send({ api: "kuando", src: "l", mt: "GetLicense" });
        await rt.run();
        assert.equal(alice.take()[0].license, "none");
    });

    test("one license check failing does not hide the other license", async () => {
        const rt = await createRuntime();
        rt.connectPbx("PbxAdminApi", (m) =>
            m.lic === LIC_CONNECTOR ? { api: "PbxAdminApi", mt: "CheckAppLicResult", ok: true, src: m.src } : undefined
        );
        const alice = rt.connectApp({ sip: "alice" });
        alice.send({ api: "kuando", src: "l", mt: "GetLicense" });
        await rt.advance(10000);
        assert.equal(alice.take()[0].license, "connector");
    });

    test("a failed check and a 'no' make an error, not a wrong 'none'", async () => {
        const rt = await createRuntime();
        rt.connectPbx("PbxAdminApi", (m) =>
            m.lic === LIC_CONNECTOR ? { api: "PbxAdminApi", mt: "CheckAppLicResult", ok: false, src: m.src } : undefined
        );
        const alice = rt.connectApp({ sip: "alice" });
        alice.send({ api: "kuando", src: "l", mt: "GetLicense" });
        await rt.advance(10000);
        const [reply] = alice.take();
        assert.equal(reply.license, undefined);
        assert.equal(errorCode(reply), "pbx");
    });
});

test.describe("a lost PBX connection", () => {
    test("requests fail at once while the PBX is away and work again when it is back", async () => {
        const rt = await createRuntime();
        const alice = rt.connectApp({ sip: "alice" });
        alice.send(presence("1"));
        alice.send({ api: "kuando", src: "2", mt: "GetLicense" });
        assert.deepEqual(alice.take().map((m) => [m.mt, errorCode(m)]), [
            ["SetPresenceResult", "pbx"],
            ["GetLicenseResult", "pbx"],
        ], "answered without waiting");

        const { pbx, admin } = answeringPbx(rt);
        alice.send(presence("3"));
        alice.send({ api: "kuando", src: "4", mt: "GetLicense" });
        await rt.run();
        assert.deepEqual(alice.take().map((m) => [m.src, m.error, m.license]), [
            ["3", undefined, undefined],
            ["4", undefined, "connector"],
        ]);

        pbx.drop();
        admin.drop();
        alice.send(presence("5"));
        await rt.run();
        assert.equal(errorCode(alice.take()[0]), "pbx");

        answeringPbx(rt);
        alice.send(presence("6"));
        await rt.run();
        assert.deepEqual(alice.take(), [{ api: "kuando", src: "6", mt: "SetPresenceResult" }]);
        assert.deepEqual(Object.keys(rt.context.pending), [], "nothing left waiting");
        assert.deepEqual(rt.timers, [], "no timer left running");
    });

    test("a request waiting for the PBX fails as soon as the connection is lost", async () => {
        const rt = await createRuntime();
        const silent = rt.connectPbx("PbxApi", () => undefined);
        const alice = rt.connectApp({ sip: "alice" });
        alice.send(presence("1"));
        await rt.run();
        assert.deepEqual(alice.take(), [], "still waiting");
        silent.drop();
        const [reply] = alice.take();
        assert.equal(reply.src, "1");
        assert.equal(errorCode(reply), "pbx");
        await rt.advance(60000);
        assert.deepEqual(alice.take(), [], "no second answer at the timeout");
    });

    test("a PBX that never answers: an error after the timeout, and a late answer is ignored", async () => {
        const rt = await createRuntime();
        const silent = rt.connectPbx("PbxApi", () => undefined);
        const alice = rt.connectApp({ sip: "alice" });
        alice.send(presence("1"));
        await rt.advance(9999);
        assert.deepEqual(alice.take(), []);
        await rt.advance(1);
        const [reply] = alice.take();
        assert.equal(errorCode(reply), "pbx");
        silent.deliver({ api: "PbxApi", mt: "SetPresenceResult", error: 0, src: silent.received[0].src });
        await rt.run();
        assert.deepEqual(alice.take(), []);
        assert.ok(rt.logs.some((l) => /did not answer/.test(l)));
    });

    test("without Timers in the runtime a hung request fails when its connection closes", async () => {
        const rt = await createRuntime({ timers: false });
        const silent = rt.connectPbx("PbxApi", () => undefined);
        const alice = rt.connectApp({ sip: "alice" });
        alice.send(presence("1"));
        await rt.run();
        assert.deepEqual(alice.take(), []);
        silent.drop();
        assert.equal(errorCode(alice.take()[0]), "pbx");
    });

    test("answers are paired by src, in any order; an answer without src goes to the oldest request", async () => {
        const rt = await createRuntime();
        const pbx = rt.connectPbx("PbxApi", () => undefined);
        const alice = rt.connectApp({ sip: "alice" });
        alice.send(presence("a", "busy"));
        alice.send(presence("b", "away"));
        alice.send(presence("c", "dnd"));
        await rt.run();
        const [ra, rb] = pbx.received;
        pbx.deliver({ api: "PbxApi", mt: "SetPresenceResult", error: 5, errorText: "b failed", src: rb.src });
        pbx.deliver({ api: "PbxApi", mt: "SetPresenceResult", error: 0, src: ra.src });
        pbx.deliver({ api: "PbxApi", mt: "SetPresenceResult", error: 0 });
        pbx.deliver({ api: "PbxApi", mt: "SetPresenceResult", error: 0, src: "unknown" });
        const got = alice.take().map((m) => [m.src, errorCode(m)]);
        assert.deepEqual(got, [
            ["b", "pbx"],
            ["a", undefined],
            ["c", undefined],
        ]);
    });

    test("the newest PBX connection is used; when it goes, the older one takes over", async () => {
        const rt = await createRuntime();
        const old = rt.connectPbx("PbxApi", (m) => ({ mt: "SetPresenceResult", error: 0, src: m.src }), "old");
        const fresh = rt.connectPbx("PbxApi", (m) => ({ mt: "SetPresenceResult", error: 0, src: m.src }), "new");
        const alice = rt.connectApp({ sip: "alice" });
        alice.send(presence("1"));
        await rt.run();
        assert.equal(fresh.received.length, 1);
        assert.equal(old.received.length, 0);
        fresh.drop();
        alice.send(presence("2"));
        await rt.run();
        assert.equal(old.received.length, 1);
        assert.deepEqual(alice.take().map((m) => m.error), [undefined, undefined]);
    });

    test("the PBX refusing is passed back as a pbx error with its reason", async () => {
        const rt = await createRuntime();
        answeringPbx(rt, { refuse: true });
        const alice = rt.connectApp({ sip: "alice" });
        alice.send(presence("1"));
        await rt.run();
        const [reply] = alice.take();
        assert.equal(errorCode(reply), "pbx");
        assert.match(reply.error.text, /no/);
    });

    test("an app that closes while the PBX works gets nothing sent after close", async () => {
        const rt = await createRuntime();
        const pbx = rt.connectPbx("PbxApi", () => undefined);
        const alice = rt.connectApp({ sip: "alice" });
        alice.send(presence("1"));
        alice.close();
        pbx.deliver({ mt: "SetPresenceResult", error: 0, src: pbx.received[0].src });
        await rt.advance(20000);
        assert.deepEqual(rt.sendsAfterClose, []);
    });

    test("an answer of the wrong type for a request is a failure, not a success", async () => {
        const rt = await createRuntime();
        const pbx = rt.connectPbx("PbxApi", () => undefined);
        const alice = rt.connectApp({ sip: "alice" });
        alice.send(presence("1"));
        pbx.deliver({ api: "PbxApi", mt: "CheckAppLicResult", ok: true, src: pbx.received[0].src });
        assert.equal(errorCode(alice.take()[0]), "pbx");
    });

    test("garbage from the PBX is ignored", async () => {
        const rt = await createRuntime();
        const pbx = rt.connectPbx("PbxApi", () => undefined);
        const alice = rt.connectApp({ sip: "alice" });
        alice.send(presence("1"));
        pbx.deliver("not json");
        pbx.deliver("null");
        pbx.deliver({ mt: "PresenceUpdate", sip: "alice" });
        assert.deepEqual(alice.take(), []);
        pbx.deliver({ mt: "SetPresenceResult", error: 0, src: pbx.received[0].src });
        assert.deepEqual(alice.take(), [{ api: "kuando", src: "1", mt: "SetPresenceResult" }]);
    });
});

test.describe("the database", () => {
    test("a failing database gives database errors, stores nothing, pushes nothing, and recovers", async () => {
        const rt = await createRuntime();
        const alice = rt.connectApp({ sip: "alice" });
        const other = rt.connectApp({ sip: "alice", app: "innovaphone-kuando-config" });
        rt.db.failure = { error: "db", dbErrorCode: "08006" };
        alice.send(settings({ pollInterval: 7 }));
        alice.send({ api: "kuando", src: "g", mt: "GetConfig" });
        await rt.run();
        assert.deepEqual(alice.take().map((m) => [m.mt, errorCode(m)]), [
            ["SetConfigResult", "database"],
            ["GetConfigResult", "database"],
        ]);
        assert.deepEqual(other.take(), []);

        rt.db.failure = null;
        alice.send(settings({ pollInterval: 7 }));
        await rt.run();
        assert.equal(alice.take()[0].config.pollInterval, 7);
        assert.equal(other.take()[0].mt, "ConfigChanged");
    });

    test("Database.exec throwing is a database error, not a crash", async () => {
        const rt = await createRuntime();
        const alice = rt.connectApp({ sip: "alice" });
        rt.db.throws = true;
        alice.send({ api: "kuando", src: "g", mt: "GetConfig" });
        alice.send(settings());
        assert.deepEqual(alice.take().map(errorCode), ["database", "database"]);
    });

    test("a sip too long for the table is a database error for that user only", async () => {
        const rt = await createRuntime();
        const long = rt.connectApp({ sip: "x".repeat(300) });
        long.send(settings());
        await rt.run();
        assert.equal(errorCode(long.take()[0]), "database");
    });

    test("one failing statement fails one request", async () => {
        const rt = await createRuntime();
        const alice = rt.connectApp({ sip: "alice" });
        rt.db.failNext.push({ error: "db" });
        alice.send({ api: "kuando", src: "1", mt: "GetConfig" });
        alice.send({ api: "kuando", src: "2", mt: "GetConfig" });
        await rt.run();
        assert.deepEqual(alice.take().map((m) => [m.src, errorCode(m)]), [
            ["1", "database"],
            ["2", undefined],
        ]);
    });
});

test.describe("ConfigChanged", () => {
    test("goes to every other open connection of the same user, and to nobody else", async () => {
        const rt = await createRuntime();
        const hidden1 = rt.connectApp({ sip: "alice", app: "innovaphone-kuando" });
        const hidden2 = rt.connectApp({ sip: "alice", app: "innovaphone-kuando" });
        const config = rt.connectApp({ sip: "alice", app: "innovaphone-kuando-config" });
        const closed = rt.connectApp({ sip: "alice" });
        const bob = rt.connectApp({ sip: "bob" });
        closed.close();
        config.send(settings({ hubUrl: "http://192.168.0.100:8989", token: TOKEN }));
        await rt.run();
        const [reply] = config.take();
        assert.equal(reply.mt, "SetConfigResult");
        for (const app of [hidden1, hidden2]) {
            assert.deepEqual(app.take(), [{ api: "kuando", mt: "ConfigChanged", config: reply.config }]);
        }
        assert.deepEqual(bob.take(), []);
        assert.deepEqual(rt.sendsAfterClose, []);
    });

    test("is not sent for refused settings", async () => {
        const rt = await createRuntime();
        const a = rt.connectApp({ sip: "alice" });
        const b = rt.connectApp({ sip: "alice" });
        a.send(settings({ pollInterval: 0 }));
        a.send(settings({ pollInterval: "2" }));
        await rt.run();
        assert.deepEqual(a.take().map(errorCode), ["invalidConfig", "malformed"]);
        assert.deepEqual(b.take(), []);
    });

    test("closed connections are forgotten: a service running for months does not grow", async () => {
        const rt = await createRuntime();
        for (let i = 0; i < 50; i++) rt.connectApp({ sip: `user${i}` }).close();
        const a = rt.connectApp({ sip: "alice" });
        assert.deepEqual(Object.keys(rt.context.clientsBySip), ["alice"]);
        a.close();
        assert.deepEqual(Object.keys(rt.context.clientsBySip), []);
    });

    test("a closed connection is forgotten: a new one of the same user gets the next push", async () => {
        const rt = await createRuntime();
        const a = rt.connectApp({ sip: "alice" });
        const b = rt.connectApp({ sip: "alice" });
        b.close();
        const c = rt.connectApp({ sip: "alice" });
        a.send(settings({ pollInterval: 4 }));
        await rt.run();
        assert.equal(c.take()[0].config.pollInterval, 4);
    });
});

test.describe("malformed input", () => {
    test("every kind of bad message is answered, and the connection keeps working", async () => {
        const rt = await createRuntime();
        answeringPbx(rt);
        const alice = rt.connectApp({ sip: "alice" });
        const bad = [
            "",
            "{",
            "[1]",
            '{"api":"kuando","src":"1","mt":"Nope"}',
            '{"api":"kuando","src":"2","mt":"SetPresence","activity":5}',
            '{"api":"kuando","src":"3","mt":"SetConfig","config":{"pollInterval":2.0}}',
            "x".repeat(70000),
        ];
        for (const t of bad) alice.send(t);
        await rt.run();
        const replies = alice.take();
        assert.equal(replies.length, bad.length);
        assert.deepEqual(replies.map((m) => [m.mt, m.src, errorCode(m)]), [
            ["Error", undefined, "malformed"],
            ["Error", undefined, "malformed"],
            ["Error", undefined, "malformed"],
            ["Error", "1", "malformed"],
            ["SetPresenceResult", "2", "malformed"],
            ["SetConfigResult", "3", "malformed"],
            ["Error", undefined, "tooLarge"],
        ]);
        alice.send(presence("ok"));
        await rt.run();
        assert.deepEqual(alice.take(), [{ api: "kuando", src: "ok", mt: "SetPresenceResult" }]);
    });

    test("a message that is not text is answered", async () => {
        const rt = await createRuntime();
        const alice = rt.connectApp({ sip: "alice" });
        alice.conn._message(Buffer.from("{}"));
        alice.conn._message(undefined);
        assert.deepEqual(alice.take().map((m) => [m.mt, errorCode(m)]), [
            ["Error", "malformed"],
            ["Error", "malformed"],
        ]);
    });

    test("a huge message is refused without being read, paired by the src at its start", async () => {
        const rt = await createRuntime();
        const alice = rt.connectApp({ sip: "alice" });
        const huge = `{"api":"kuando","src":"s","mt":"GetConfig","x":"${"y".repeat(2 * 1024 * 1024)}"}`;
        alice.send(huge);
        assert.deepEqual(alice.take().map((m) => [m.mt, m.src, errorCode(m)]), [["GetConfigResult", "s", "tooLarge"]]);
        // A src beyond the first characters is not looked for.
        alice.send(`{"api":"kuando","x":"${"y".repeat(70000)}","src":"late","mt":"GetConfig"}`);
        assert.deepEqual(alice.take().map((m) => [m.mt, m.src, errorCode(m)]), [["Error", undefined, "tooLarge"]]);
    });

    test("JSON built to confuse a JavaScript object is handled as data", async () => {
        const rt = await createRuntime();
        const alice = rt.connectApp({ sip: "alice" });
        alice.send('{"api":"kuando","src":"p","mt":"SetConfig","config":{"__proto__":{"pollInterval":0},"toString":1}}');
        await rt.run();
        alice.send('{"__proto__":{"mt":"GetConfig"},"api":"kuando","src":"q"}');
        const [set, odd] = alice.take();
        assert.equal(set.config.pollInterval, 2);
        assert.deepEqual([odd.mt, odd.src, errorCode(odd)], ["Error", "q", "malformed"]);
    });

    test("no answer is larger than the runtime can send", async () => {
        const rt = await createRuntime();
        const alice = rt.connectApp({ sip: "alice" });
        const everythingBad = {
            hubUrl: "ftp://x",
            token: "\t".repeat(600),
            pollInterval: 0,
            lamp: Object.fromEntries(
                ["ringing", "dialing", "connected", "held", "busy", "away", "dnd", "lunch"].map((s) => [
                    s,
                    { color: "x", sound: 9, volume: 101 },
                ])
            ),
        };
        alice.send(settings(everythingBad));
        await rt.run();
        const [reply] = alice.take();
        assert.equal(reply.error.fields.length, 1 + 3 + 1 + 24);
    });
});

test.describe("logging", () => {
    function tokenFree(rt) {
        const hex = Buffer.from(TOKEN, "utf8").toString("hex");
        for (const line of rt.logs) {
            assert.ok(!line.includes(TOKEN), `token in log: ${line}`);
            assert.ok(!line.toLowerCase().includes(hex), `hex token in log: ${line}`);
            assert.ok(line.startsWith("kuando-service: "), line);
        }
    }

    test("a token never reaches the log, whatever goes wrong", async () => {
        const rt = await createRuntime();
        const alice = rt.connectApp({ sip: "alice" });
        // The database error text quotes the statement, as PostgreSQL's may.
        rt.db.failNext.push({ error: "db" });
        alice.send(settings({ token: TOKEN }));
        alice.send(settings({ token: TOKEN, pollInterval: 0 }));
        alice.send(settings({ token: TOKEN, pollInterval: "x" }));
        alice.send(`{"api":"kuando","src":"s","mt":"SetConfig","config":{"token":"${TOKEN}"`);
        alice.send(`{"api":"kuando","src":"s","mt":"SetConfig","config":{"token":"${TOKEN}","token":"${TOKEN}"}}`);
        alice.send(`{"api":"kuando","src":"s","mt":"SetConfig","config":{"token":"${TOKEN}","pad":"${"z".repeat(70000)}"}}`);
        await rt.run();
        for (const m of alice.take()) {
            assert.ok(!JSON.stringify(m.error || {}).includes(TOKEN), JSON.stringify(m));
        }
        assert.ok(rt.logs.length >= 4, "the failures were logged");
        tokenFree(rt);
    });

    test("stored settings that cannot be read are logged without their content", async () => {
        const rt = await createRuntime();
        await rt.db.put("user_config", { sip: "alice", config: `{"token":"${TOKEN}","pollInterval":"x"}` });
        const alice = rt.connectApp({ sip: "alice" });
        alice.send({ api: "kuando", src: "g", mt: "GetConfig" });
        await rt.run();
        assert.equal(alice.take()[0].config.token, "");
        assert.ok(rt.logs.some((l) => /unreadable/.test(l)));
        tokenFree(rt);
    });

    test("the redaction helper masks token parameters and known secrets", async () => {
        const rt = await createRuntime();
        const redact = rt.context.redact;
        assert.equal(
            redact("GET http://h:8989/?action=x&http_token=abc&accesstoken=def#f", []),
            "GET http://h:8989/?action=x&http_token=***&accesstoken=***#f"
        );
        assert.equal(redact("my_http_token=1", []), "my_http_token=1");
        assert.equal(redact(`a ${TOKEN} b ${TOKEN}`, [TOKEN, ""]), "a *** b ***");
    });

    test("ordinary traffic is not logged: an always-running app must stay quiet", async () => {
        const rt = await createRuntime();
        answeringPbx(rt);
        const before = rt.logs.length;
        const alice = rt.connectApp({ sip: "alice" });
        alice.send(presence("1"));
        alice.send({ api: "kuando", src: "2", mt: "GetConfig" });
        alice.send(settings({ pollInterval: 5 }));
        alice.send({ api: "kuando", src: "3", mt: "GetLicense" });
        await rt.run();
        alice.close();
        assert.equal(rt.logs.length, before);
    });
});

test.describe("the package", () => {
    const config = JSON.parse(fs.readFileSync(CONFIG_FILE, "utf8"));

    test("config.json evaluates every service script, kuando.js first, and creates the per-user settings table keyed by sip", async () => {
        const listed = config.javascript.eval;
        assert.equal(listed[0], "kuando.js");
        assert.equal(listed[listed.length - 1], "fleet.js");
        assert.equal(new Set(listed).size, listed.length, "each file once");
        // A script left out of the list would not run on the AppPlatform (nor ship: pack reads the same list).
        const present = fs.readdirSync(SERVICE_DIR).filter((f) => f.endsWith(".js"));
        assert.deepEqual([...listed].sort(), present.sort());
        const [table] = config.database.init;
        assert.equal(table.cmd, "table");
        assert.equal(table.name, "user_config");
        const cols = Object.fromEntries(table.init.map((c) => [c.name, c.type]));
        assert.match(cols.sip, /PRIMARY KEY/);
        assert.match(cols.config, /TEXT/);
    });

    test("config.json: the hidden app provides phoneinfo and autostarts; the config app is visible", async () => {
        const hidden = config.apis["innovaphone-kuando"];
        assert.equal(hidden.hidden, true);
        assert.ok(hidden["com.innovaphone.phoneinfo"]);
        assert.ok(hidden["com.innovaphone.autostart"]);
        const visible = config.apis["innovaphone-kuando-config"];
        assert.ok(visible);
        assert.notEqual(visible.hidden, true);
    });

    test("every service script is old-style JavaScript: no let/const, arrows, classes, template strings or modules", async () => {
        for (const file of SERVICE_FILES) {
            const code = fs
                .readFileSync(file, "utf8")
                // Drop comments and string/regex literals before looking for syntax.
                .replace(/\/\*[\s\S]*?\*\//g, "")
                .replace(/\/\/.*$/gm, "")
                .replace(/"(?:[^"\\\n]|\\.)*"/g, '""')
                .replace(/'(?:[^'\\\n]|\\.)*'/g, "''")
                .replace(/\/(?:[^/\\\n]|\\.)+\/[gimuy]*/g, "/re/");
            for (const [what, re] of [
                ["let/const", /\b(let|const)\s/],
                ["arrow function", /=>/],
                ["class", /\bclass\s/],
                ["template string", /`/],
                ["module syntax", /\b(import|export|require)\b/],
                ["spread", /\.\.\./],
                ["Node global", /(^|[^.\w])(process|Buffer|console|setTimeout|setInterval|setImmediate|globalThis)\b/],
            ]) {
                assert.doesNotMatch(code, re, `${what} in ${path.basename(file)}`);
            }
        }
    });

    test("database.init made the table in PostgreSQL as config.json says, and the service's SQL runs on it", async () => {
        const rt = await createRuntime();
        const cols = await rt.database.client.query(
            "SELECT column_name, data_type, character_maximum_length, is_nullable FROM information_schema.columns " +
                "WHERE table_schema = current_schema() AND table_name = 'user_config' ORDER BY ordinal_position"
        );
        assert.deepEqual(
            cols.rows.map((r) => [r.column_name, r.data_type, r.character_maximum_length, r.is_nullable]),
            [
                ["sip", "character varying", 255, "NO"],
                ["config", "text", null, "NO"],
            ]
        );
        const alice = rt.connectApp({ sip: "alice" });
        alice.send(settings({ pollInterval: 6 }));
        await rt.run();
        alice.send(settings({ pollInterval: 7 }));
        await rt.run();
        const rows = await rt.database.client.query("SELECT sip, config FROM user_config");
        assert.equal(rows.rows.length, 1, "one row per user, updated in place");
        assert.equal(JSON.parse(rows.rows[0].config).pollInterval, 7);
        assert.deepEqual(rt.dbErrors, []);
    });

    test("an unknown database.init command is refused at start, not ignored", () => {
        const { initStatements } = require("../../sim/runtime/appplatform.js");
        assert.throws(() => initStatements({ database: { init: [{ cmd: "statement", name: "x" }] } }), /not simulated/);
        assert.throws(() => initStatements({ database: { init: [{ cmd: "table", name: "a;b", init: [] }] } }), /identifier/);
    });

    test("the service registers exactly its APIs and no more", async () => {
        const rt = await createRuntime();
        assert.deepEqual([...rt.jsonApis.keys()], ["kuando"]);
        assert.deepEqual([...rt.pbxApis.keys()].sort(), ["PbxAdminApi", "PbxApi"]);
    });
});
