"use strict";
/*
 * Replays every vector of vectors.json (generated from the Rust protocol types by tests/proto_vectors.rs)
 * against the service: the reply, the push to the user's other connections, the message to the PBX, and
 * that nothing else happens. A mismatch means the service and the Rust apps disagree.
 */

const test = require("node:test");
const assert = require("node:assert/strict");
const vectors = require("./vectors.json");
const { createRuntime, closeAll, endAll } = require("./runtime.js");

test.afterEach(closeAll);
test.after(endAll);

const LICENSE_NAMES = {
    withBusylight: "App(innovaphone-kuando-with-busylight)",
    connector: "App(innovaphone-kuando)",
};

function textOf(x) {
    if (typeof x.text === "string") return x.text;
    const b = x.build;
    return b.prefix + b.pad.repeat(b.count) + b.suffix;
}

/**
 * The service's answer with its error text checked and removed: texts are the service's own words (the
 * vectors carry ""), but there must be one.
 */
function comparable(msg, what) {
    const copy = JSON.parse(JSON.stringify(msg));
    if (copy.error !== undefined) {
        assert.equal(typeof copy.error.text, "string", `${what}: error.text`);
        assert.ok(copy.error.text.length > 0, `${what}: error.text is empty`);
        copy.error.text = "";
    }
    return copy;
}

/** The world of a vector: defaultEnv with its env's changes. */
async function setUp(env) {
    const e = { ...vectors.defaultEnv, ...(env || {}) };
    const rt = await createRuntime();
    if (e.stored !== undefined) await rt.db.put("user_config", { sip: "alice", config: e.stored });
    if (e.db === "fails") rt.db.failure = { error: "db", dbErrorCode: "XX000" };
    let pbxApi = null;
    if (e.pbx !== "down") {
        pbxApi = rt.connectPbx("PbxApi", (msg) => {
            if (msg.mt !== "SetPresence") return undefined;
            return e.pbx === "refuses"
                ? { api: "PbxApi", mt: "SetPresenceResult", error: 7, errorText: "refused", src: msg.src }
                : { api: "PbxApi", mt: "SetPresenceResult", error: 0, errorText: "", src: msg.src };
        });
        if (e.pbx !== "noAdmin") rt.connectPbx("PbxAdminApi", (msg) => {
            if (msg.mt !== "CheckAppLic") return undefined;
            const ok = e.licenses.some((l) => LICENSE_NAMES[l] === msg.lic) && msg.h323 === "alice";
            return { api: "PbxAdminApi", mt: "CheckAppLicResult", ok, src: msg.src };
        });
    }
    // The vector's sender (the hidden app unless env.app says otherwise) and alice's other app.
    const HIDDEN = "innovaphone-kuando";
    const CONFIG = "innovaphone-kuando-config";
    const app = e.app || HIDDEN;
    const alice = rt.connectApp({ sip: "alice", guid: "guid-alice", dn: "Alice", unlicensed: e.unlicensed, app });
    const aliceConfigApp = rt.connectApp({
        sip: "alice",
        guid: "guid-alice",
        app: app === HIDDEN ? CONFIG : HIDDEN,
        unlicensed: e.unlicensed,
    });
    const bob = rt.connectApp({ sip: "bob", guid: "guid-bob" });
    return { rt, alice, aliceConfigApp, bob, pbxApi };
}

test("the vectors are about this service's protocol", async () => {
    assert.equal(vectors.api, "kuando");
    const rt = await createRuntime();
    const ctx = rt.context;
    assert.equal(ctx.API, vectors.api);
    assert.equal(ctx.MAX_MESSAGE_LEN, vectors.maxMessageLen);
    assert.deepEqual([...ctx.REQUEST_KINDS], vectors.requestKinds);
    assert.deepEqual([...ctx.ERROR_CODES], vectors.errorCodes);
    assert.deepEqual([...ctx.LICENSES], vectors.licenses);
    assert.deepEqual(JSON.parse(JSON.stringify(ctx.defaultConfig())), vectors.defaultConfig);
});

for (const [group, list] of Object.entries(vectors.exchanges)) {
    test.describe(`vectors: ${group}`, () => {
        for (const x of list) {
            test(x.name, async () => {
                const { rt, alice, aliceConfigApp, bob, pbxApi } = await setUp(x.env);
                alice.send(textOf(x));
                await rt.run();

                const replies = alice.take();
                assert.equal(replies.length, 1, `exactly one reply, got ${JSON.stringify(replies)}`);
                assert.deepEqual(comparable(replies[0], "reply"), x.reply);

                assert.deepEqual(aliceConfigApp.take(), x.push ? [x.push] : [], "push to alice's other app");
                assert.deepEqual(bob.take(), [], "nothing for another user");

                const presence = pbxApi ? pbxApi.received.filter((m) => m.mt === "SetPresence") : [];
                if (x.pbx) {
                    assert.equal(presence.length, 1, "one SetPresence to the PBX");
                    const { src, ...sent } = presence[0];
                    assert.equal(typeof src, "string");
                    assert.deepEqual(sent, {
                        api: "PbxApi",
                        mt: "SetPresence",
                        sip: "alice",
                        guid: "guid-alice",
                        contact: x.pbx.contact,
                        activity: x.pbx.activity,
                        note: x.pbx.note,
                    });
                } else {
                    assert.deepEqual(presence, [], "no SetPresence to the PBX");
                }

                // Stored settings are what GetConfig returns afterwards; refused ones change nothing.
                alice.send({ api: "kuando", src: "check", mt: "GetConfig" });
                await rt.run();
                const [after] = alice.take();
                if (x.push) {
                    assert.deepEqual(after.config, x.push.config, "GetConfig returns the stored settings");
                } else if (!x.env || (x.env.stored === undefined && x.env.db !== "fails")) {
                    assert.deepEqual(after.config, vectors.defaultConfig, "nothing was stored");
                }

                assert.deepEqual(rt.dbErrors, [], "PostgreSQL refused none of the service's statements");
                assert.deepEqual(rt.sendsAfterClose, []);
            });
        }
    });
}
