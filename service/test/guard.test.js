"use strict";
/*
 * The presence guard (issue 13): the service keeps what it set because of a hub, for all of a user's
 * connectors, and restores it when none claims it any more — after the grace period when a connector died,
 * only if the PBX still shows it, also after a service restart, paced when many go at once.
 * Against a PBX that keeps each user's tel: presence and sends PresenceUpdate to its subscribers, as the
 * simulator's PBX does; on PostgreSQL, in virtual time.
 */

const test = require("node:test");
const assert = require("node:assert/strict");
const { createRuntime, closeAll, endAll } = require("./runtime.js");

test.afterEach(closeAll);
test.after(endAll);

const GRACE_MS = 60000;
const TEAMS = { activity: "on-the-phone", note: "MS Teams" };
const AVAILABLE = { activity: "", note: "" };

/** A PBX with users' presences; SubscribePresence/PresenceUpdate/SetPresence as PbxApi.htm describes. */
function presencePbx(rt, initial = {}) {
    const pbx = { presence: { ...initial }, subs: new Set(), srcs: {}, sets: [], refuse: false, refuseNext: 0, refused: 0, conn: null };
    const update = (sip) => ({
        api: "PbxApi",
        mt: "PresenceUpdate",
        // PbxApi.htm does not promise the sip in a PresenceUpdate: this PBX leaves it out, the src tells.
        src: pbx.srcs[sip],
        presence: [
            { contact: "tel:", status: "open", ...(pbx.presence[sip] || AVAILABLE) },
            { contact: "im:", status: "open", activity: "", note: "" },
        ],
    });
    pbx.notify = (sip) => {
        if (pbx.subs.has(sip)) rt.later(() => pbx.conn.deliver(update(sip)));
    };
    /** The user changes their presence by hand (another client, the phone). */
    pbx.userSets = (sip, p) => {
        pbx.presence[sip] = p;
        pbx.notify(sip);
    };
    pbx.of = (sip) => pbx.presence[sip] || AVAILABLE;
    pbx.conn = rt.connectPbx("PbxApi", (msg) => {
        if (msg.mt === "SetPresence") {
            if (pbx.refuse || pbx.refuseNext > 0) {
                if (pbx.refuseNext > 0) pbx.refuseNext--;
                pbx.refused++;
                return { api: "PbxApi", mt: "SetPresenceResult", error: 1, errorText: "down", src: msg.src };
            }
            pbx.sets.push({ sip: msg.sip, activity: msg.activity, note: msg.note, at: rt.now });
            pbx.presence[msg.sip] = { activity: msg.activity, note: msg.note };
            pbx.notify(msg.sip);
            return { api: "PbxApi", mt: "SetPresenceResult", error: 0, errorText: "", src: msg.src };
        }
        if (msg.mt === "SubscribePresence") {
            pbx.subs.add(msg.sip);
            pbx.srcs[msg.sip] = msg.src;
            rt.later(() => pbx.conn.deliver(update(msg.sip)));
            return { api: "PbxApi", mt: "SubscribePresenceResult", src: msg.src };
        }
        if (msg.mt === "UnsubscribePresence") {
            pbx.subs.delete(msg.sip);
            return { api: "PbxApi", mt: "UnsubscribePresenceResult", src: msg.src };
        }
        return undefined;
    });
    return pbx;
}

function claim(src, p, restore = AVAILABLE) {
    return { api: "kuando", src, mt: "SetPresence", activity: p.activity, note: p.note, guard: "claim", restore };
}

function release(src, p = AVAILABLE) {
    return { api: "kuando", src, mt: "SetPresence", activity: p.activity, note: p.note, guard: "release" };
}

async function rows(rt) {
    return (await rt.database.client.query("SELECT * FROM presence_guard ORDER BY sip")).rows;
}

/** alice's connector has claimed "on the phone (MS Teams)" (runtime `options` as createRuntime's). */
async function aliceInATeamsCall(options) {
    const rt = await createRuntime(options);
    const pbx = presencePbx(rt);
    const a = rt.connectApp({ sip: "alice" });
    a.send(claim("1", TEAMS));
    await rt.run();
    return { rt, pbx, a };
}

test("a claim sets the presence at once and is kept in the database", async () => {
    const rt = await createRuntime();
    const pbx = presencePbx(rt);
    const a = rt.connectApp({ sip: "alice", guid: "g-alice" });
    a.send(claim("1", TEAMS, { activity: "away", note: "back at 3" }));
    await rt.run();
    assert.deepEqual(a.take(), [{ api: "kuando", src: "1", mt: "SetPresenceResult" }]);
    assert.deepEqual(pbx.of("alice"), TEAMS);
    const [row] = await rows(rt);
    assert.equal(row.sip, "alice");
    assert.equal(row.set_activity, "on-the-phone");
    assert.equal(row.restore_activity, "away");
    assert.equal(row.restore_note, "back at 3");
    assert.ok(pbx.subs.has("alice"), "the service follows alice's presence");
});

test("a killed browser: restored after the grace period, not before", async () => {
    const rt = await createRuntime();
    const pbx = presencePbx(rt, { alice: { activity: "away", note: "" } });
    const a = rt.connectApp({ sip: "alice" });
    a.send(claim("1", TEAMS, { activity: "away", note: "" }));
    await rt.run();
    a.close(); // no release: the browser process died
    await rt.advance(GRACE_MS - 1000);
    assert.deepEqual(pbx.of("alice"), TEAMS, "still on the phone within the grace period");
    await rt.advance(2000);
    assert.deepEqual(pbx.of("alice"), { activity: "away", note: "" }, "restored after it");
    assert.deepEqual(await rows(rt), [], "the guard is gone");
    assert.ok(!pbx.subs.has("alice"), "no longer followed");
    assert.ok(rt.logs.some((l) => l.startsWith("kuando-service: presence of alice restored to away")));
});

test("the grace period is the instance's config item guardGraceSeconds", async () => {
    const { rt, pbx, a } = await aliceInATeamsCall({ config: { guardGraceSeconds: 3 } });
    a.close();
    await rt.advance(2900);
    assert.deepEqual(pbx.of("alice"), TEAMS);
    await rt.advance(200);
    assert.deepEqual(pbx.of("alice"), AVAILABLE);
});

test("a reload: the connector claims again within the grace period and nothing is restored", async () => {
    const { rt, pbx, a } = await aliceInATeamsCall();
    a.close();
    await rt.advance(30000);
    const b = rt.connectApp({ sip: "alice" });
    b.send(claim("1", TEAMS, TEAMS)); // the new page sees "on the phone" as the user's presence
    await rt.run();
    await rt.advance(10 * GRACE_MS);
    assert.deepEqual(pbx.of("alice"), TEAMS);
    assert.equal(pbx.sets.length, 1, "no SetPresence for the same presence again");
    b.send(release("2", TEAMS));
    await rt.run();
    assert.deepEqual(pbx.of("alice"), AVAILABLE, "the first restore value is kept, not the page's view");
});

test("the user sets dnd meanwhile: dnd stays, nothing is restored", async () => {
    const { rt, pbx, a } = await aliceInATeamsCall();
    a.close();
    await rt.advance(10000);
    pbx.userSets("alice", { activity: "dnd", note: "" });
    await rt.run();
    await rt.advance(2 * GRACE_MS);
    assert.deepEqual(pbx.of("alice"), { activity: "dnd", note: "" });
    assert.equal(pbx.sets.length, 1);
    assert.deepEqual(await rows(rt), []);
    assert.ok(rt.logs.some((l) => l.includes("changed to dnd") && l.includes("nothing will be restored")));
});

test("a stale PresenceUpdate from before the service's SetPresence does not drop the guard", async () => {
    const rt = await createRuntime();
    const pbx = presencePbx(rt, { alice: { activity: "away", note: "" } });
    const a = rt.connectApp({ sip: "alice" });
    a.send(claim("1", TEAMS, { activity: "away", note: "" }));
    await rt.run();
    // The subscription's first update (away) comes after the claim was sent: it must not count as a change.
    assert.deepEqual(pbx.of("alice"), TEAMS);
    a.close();
    await rt.advance(GRACE_MS + 1000);
    assert.deepEqual(pbx.of("alice"), { activity: "away", note: "" });
});

test("two clients: the quiet one neither undoes nor restores; the call's end restores", async () => {
    const rt = await createRuntime();
    const pbx = presencePbx(rt);
    const desk = rt.connectApp({ sip: "alice" });
    const laptop = rt.connectApp({ sip: "alice" });
    desk.send(claim("1", TEAMS));
    await rt.run();
    // The laptop sees "on the phone (MS Teams)" as a leftover and its hub shows nothing: it gives back.
    laptop.send(release("1", AVAILABLE));
    await rt.run();
    assert.deepEqual(laptop.take().map((m) => m.mt), ["SetPresenceResult"]);
    assert.deepEqual(pbx.of("alice"), TEAMS, "the laptop does not undo the desk's call");
    laptop.close();
    await rt.advance(2 * GRACE_MS);
    assert.deepEqual(pbx.of("alice"), TEAMS, "a closing client without a claim starts no restore");
    desk.send(release("2"));
    await rt.run();
    assert.deepEqual(pbx.of("alice"), AVAILABLE);
});

test("two clients with calls: on the phone while either has one; the killed one's claim ends after nothing", async () => {
    const rt = await createRuntime();
    const pbx = presencePbx(rt);
    const desk = rt.connectApp({ sip: "alice" });
    const laptop = rt.connectApp({ sip: "alice" });
    desk.send(claim("1", { activity: "away", note: "" }));
    await rt.run();
    laptop.send(claim("1", { activity: "on-the-phone", note: "Zoom" }, { activity: "away", note: "" }));
    await rt.run();
    assert.deepEqual(pbx.of("alice"), { activity: "on-the-phone", note: "Zoom" });
    desk.send(claim("2", { activity: "busy", note: "" }));
    await rt.run();
    assert.deepEqual(pbx.of("alice"), { activity: "on-the-phone", note: "Zoom" }, "a call over a newer presence");
    laptop.close(); // killed mid-call: the desk still claims
    await rt.run();
    assert.deepEqual(pbx.of("alice"), { activity: "busy", note: "" }, "the remaining claim shows at once");
    desk.close();
    await rt.advance(GRACE_MS + 1);
    assert.deepEqual(pbx.of("alice"), AVAILABLE, "the first claim's restore value");
});

test("the service restarts during a call: no wrong restore, the guard still works", async () => {
    const rt = await createRuntime();
    const pbx = presencePbx(rt);
    const a = rt.connectApp({ sip: "alice" });
    a.send(claim("1", TEAMS, { activity: "away", note: "" }));
    await rt.run();

    // The AppPlatform restarts: every connection goes, the database stays.
    const rt2 = await createRuntime({ restartOf: rt });
    const pbx2 = presencePbx(rt2, { alice: TEAMS });
    await rt2.run();
    assert.ok(pbx2.subs.has("alice"), "the subscription is renewed at start");
    const a2 = rt2.connectApp({ sip: "alice" });
    a2.send(claim("1", TEAMS, TEAMS));
    await rt2.run();
    await rt2.advance(3 * GRACE_MS);
    assert.deepEqual(pbx2.of("alice"), TEAMS, "the call goes on: nothing restored");
    assert.deepEqual(pbx2.sets, [], "and nothing set again");
    a2.close(); // then the PC dies
    await rt2.advance(GRACE_MS + 1);
    assert.deepEqual(pbx2.of("alice"), { activity: "away", note: "" }, "restored to what was saved before the restart");
});

test("after a restart nobody reclaims: restored after the grace period", async () => {
    const rt = await createRuntime();
    presencePbx(rt);
    const a = rt.connectApp({ sip: "alice" });
    a.send(claim("1", TEAMS));
    await rt.run();
    const rt2 = await createRuntime({ restartOf: rt });
    const pbx2 = presencePbx(rt2, { alice: TEAMS });
    await rt2.run();
    await rt2.advance(GRACE_MS - 1);
    assert.deepEqual(pbx2.of("alice"), TEAMS);
    await rt2.advance(2);
    assert.deepEqual(pbx2.of("alice"), AVAILABLE);
});

test("after a restart the user had changed the presence: nothing restored", async () => {
    const rt = await createRuntime();
    presencePbx(rt);
    const a = rt.connectApp({ sip: "alice" });
    a.send(claim("1", TEAMS));
    await rt.run();
    const rt2 = await createRuntime({ restartOf: rt });
    const pbx2 = presencePbx(rt2, { alice: { activity: "dnd", note: "" } });
    await rt2.run();
    await rt2.advance(2 * GRACE_MS);
    assert.deepEqual(pbx2.of("alice"), { activity: "dnd", note: "" });
    assert.deepEqual(pbx2.sets, []);
});

test("a restore the PBX refuses is tried again after a minute, not forgotten", async () => {
    const { rt, pbx, a } = await aliceInATeamsCall();
    a.close();
    pbx.refuse = true;
    await rt.advance(GRACE_MS + 1000);
    assert.deepEqual(pbx.of("alice"), TEAMS);
    pbx.refuse = false;
    await rt.advance(61000);
    assert.deepEqual(pbx.of("alice"), AVAILABLE);
    assert.deepEqual(await rows(rt), []);
});

test("a restore the PBX keeps refusing: tried with a growing back-off, given up after 24 h with one line", async () => {
    const { rt, pbx, a } = await aliceInATeamsCall();
    a.close();
    pbx.refuse = true;
    await rt.advance(GRACE_MS + 1000);
    const tries = () => pbx.refused;
    assert.equal(tries(), 1);
    await rt.advance(3600000);
    assert.ok(tries() <= 7, `at most 7 tries in the first hour (1, 2, 4 ... min), not ${tries()}`);
    await rt.advance(25 * 3600000);
    assert.ok(tries() >= 25 && tries() <= 32, `about one an hour for a day: ${tries()}`);
    const before = tries();
    await rt.advance(48 * 3600000);
    assert.equal(tries(), before, "given up: no more tries");
    const failed = rt.logs.filter((l) => l.includes("restoring the presence of alice failed"));
    const gaveUp = rt.logs.filter((l) => l.includes("gave up restoring the presence of alice"));
    assert.equal(failed.length, 1, "one line when it starts failing, not one per try");
    assert.equal(gaveUp.length, 1);
    assert.deepEqual(await rows(rt), [], "the guard row goes");
});

test("a claim the PBX refuses is not recorded: the PC dies, the last confirmed claim is restored", async () => {
    const rt = await createRuntime();
    const pbx = presencePbx(rt);
    const a = rt.connectApp({ sip: "alice" });
    // The hub's Manual Changer shows "away" for the available user: claimed and confirmed.
    a.send(claim("1", { activity: "away", note: "" }, AVAILABLE));
    await rt.run();
    // Then an MS Teams call: the PBX refuses it once.
    pbx.refuseNext = 1;
    a.send(claim("2", TEAMS, AVAILABLE));
    await rt.run();
    assert.deepEqual(a.take().map((m) => [m.src, m.error && m.error.code]), [["1", undefined], ["2", "pbx"]]);
    assert.deepEqual(pbx.of("alice"), { activity: "away", note: "" });
    assert.equal((await rows(rt))[0].set_activity, "away", "the row keeps what the PBX confirmed");
    a.close(); // killed before anything is sent again
    await rt.advance(GRACE_MS + 1000);
    assert.deepEqual(pbx.of("alice"), AVAILABLE, "restored: the PBX showed the guard's confirmed claim");
    assert.ok(!rt.logs.some((l) => l.includes("nothing restored")), rt.logs.join("\n"));
});

test("a claim the PBX refuses is tried again with back-off while it stands", async () => {
    const rt = await createRuntime();
    const pbx = presencePbx(rt);
    pbx.refuseNext = 3;
    const a = rt.connectApp({ sip: "alice" });
    a.send(claim("1", TEAMS));
    await rt.run();
    assert.deepEqual(pbx.of("alice"), AVAILABLE);
    assert.deepEqual(await rows(rt), [], "nothing stored before the PBX confirmed it");
    await rt.advance(2000 + 4000 + 8000);
    assert.equal(pbx.refused, 3);
    assert.deepEqual(pbx.of("alice"), TEAMS, "set on the third retry");
    assert.equal((await rows(rt))[0].set_note, "MS Teams");
    assert.equal(rt.logs.filter((l) => l.includes("could not be set")).length, 1);
    a.close();
    await rt.advance(GRACE_MS + 1000);
    assert.deepEqual(pbx.of("alice"), AVAILABLE, "and restored after the PC died");
});

/** alice's Teams call (to be restored to away) is claimed, then the service restarts with the first `dbFail`
 * database statements failing. */
async function restartedWithFailingDatabase(dbFail) {
    const rt = await createRuntime();
    presencePbx(rt);
    const a = rt.connectApp({ sip: "alice" });
    a.send(claim("1", TEAMS, { activity: "away", note: "" }));
    await rt.run();
    const rt2 = await createRuntime({ restartOf: rt, dbFail });
    const pbx2 = presencePbx(rt2, { alice: TEAMS });
    await rt2.run();
    return { rt2, pbx2 };
}

test("the stored guards cannot be read at start: read again with back-off, then restored", async () => {
    const { rt2, pbx2 } = await restartedWithFailingDatabase(3);
    assert.ok(!pbx2.subs.has("alice"), "not read yet");
    await rt2.advance(2000 + 4000 + 8000);
    assert.ok(pbx2.subs.has("alice"), "read on the third retry and followed");
    assert.ok(rt2.logs.some((l) => l.includes("read after 3 failure(s)")));
    await rt2.advance(GRACE_MS);
    assert.deepEqual(pbx2.of("alice"), { activity: "away", note: "" }, "restored");
});

test("a claim that arrives before the stored guards are read is merged with them", async () => {
    const { rt2, pbx2 } = await restartedWithFailingDatabase(1);
    // The PC restarted too: its new page sees "on the phone" as a leftover and claims with "available".
    const a2 = rt2.connectApp({ sip: "alice" });
    a2.send(claim("1", TEAMS, AVAILABLE));
    await rt2.run();
    await rt2.advance(10000);
    a2.close();
    await rt2.advance(GRACE_MS + 1000);
    assert.deepEqual(pbx2.of("alice"), { activity: "away", note: "" }, "the stored restore value counts");
});

test("a guard DELETE lost to a database outage: no stale restore after the next restart", async () => {
    const rt = await createRuntime();
    const pbx = presencePbx(rt, { alice: { activity: "away", note: "at lunch" } });
    const a = rt.connectApp({ sip: "alice" });
    a.send(claim("1", TEAMS, { activity: "away", note: "at lunch" }));
    await rt.run();
    rt.database.failNext(1);
    a.send(release("2", { activity: "away", note: "at lunch" }));
    await rt.run();
    assert.deepEqual(pbx.of("alice"), { activity: "away", note: "at lunch" });
    pbx.userSets("alice", AVAILABLE); // back from lunch
    await rt.run();
    // The service restarts before the DELETE is tried again.
    const rt2 = await createRuntime({ restartOf: rt });
    const pbx2 = presencePbx(rt2, { alice: AVAILABLE });
    await rt2.run();
    const a2 = rt2.connectApp({ sip: "alice" });
    a2.send(claim("1", TEAMS, AVAILABLE)); // a new Teams call
    await rt2.run();
    assert.deepEqual(pbx2.of("alice"), TEAMS);
    a2.send(release("2", AVAILABLE));
    await rt2.run();
    assert.deepEqual(pbx2.of("alice"), AVAILABLE, "the user's presence, not the old \"at lunch\"");
    assert.ok(rt2.logs.some((l) => l.includes("is stale")), rt2.logs.join("\n"));
});

test("a guard DELETE that fails is tried again", async () => {
    const { rt, a } = await aliceInATeamsCall();
    rt.database.failNext(2);
    a.send(release("2"));
    await rt.run();
    assert.equal((await rows(rt)).length, 1, "the DELETE failed");
    await rt.advance(2000 + 4000);
    assert.deepEqual(await rows(rt), [], "deleted on a retry");
});

test("a guard write that fails is tried again", async () => {
    const rt = await createRuntime();
    presencePbx(rt);
    rt.database.failNext(1);
    const a = rt.connectApp({ sip: "alice" });
    a.send(claim("1", TEAMS));
    await rt.run();
    assert.deepEqual(await rows(rt), []);
    await rt.advance(2000);
    assert.equal((await rows(rt))[0].set_note, "MS Teams");
    assert.equal(a.take().length, 1);
});

test("a mass disconnect restores at most 200 a second, and not those who came back", async () => {
    const rt = await createRuntime();
    const pbx = presencePbx(rt);
    const N = 500;
    const apps = [];
    for (let i = 0; i < N; i++) {
        const app = rt.connectApp({ sip: `u${i}` });
        app.send(claim("1", TEAMS));
        apps.push(app);
    }
    await rt.run();
    const setsBefore = pbx.sets.length;
    for (const app of apps) app.close();
    await rt.advance(GRACE_MS / 2);
    for (let i = 0; i < 100; i++) rt.connectApp({ sip: `u${i}` }).send(claim("1", TEAMS, TEAMS));
    await rt.run();
    await rt.advance(GRACE_MS / 2 + 10000);
    const restores = pbx.sets.slice(setsBefore);
    assert.equal(restores.length, N - 100);
    for (let i = 0; i < 100; i++) assert.deepEqual(pbx.of(`u${i}`), TEAMS, `u${i} came back`);
    for (let i = 100; i < N; i++) assert.deepEqual(pbx.of(`u${i}`), AVAILABLE);
    const perSecond = new Map();
    for (const s of restores) perSecond.set(Math.floor(s.at / 1000), (perSecond.get(Math.floor(s.at / 1000)) || 0) + 1);
    assert.ok(Math.max(...perSecond.values()) <= 200, JSON.stringify([...perSecond]));
});

test("an old hidden app (no guard) is relayed as before and a release without a guard too", async () => {
    const rt = await createRuntime();
    const pbx = presencePbx(rt);
    const a = rt.connectApp({ sip: "alice" });
    a.send({ api: "kuando", src: "1", mt: "SetPresence", activity: "busy", note: "" });
    await rt.run();
    a.close();
    await rt.advance(2 * GRACE_MS);
    assert.deepEqual(pbx.of("alice"), { activity: "busy", note: "" }, "unguarded: nothing restored");
    assert.deepEqual(await rows(rt), []);
    const b = rt.connectApp({ sip: "alice" });
    b.send(release("2", { activity: "away", note: "" }));
    await rt.run();
    assert.deepEqual(pbx.of("alice"), { activity: "away", note: "" });
});

test("bad guard fields are malformed, not guessed", async () => {
    const rt = await createRuntime();
    presencePbx(rt);
    const a = rt.connectApp({ sip: "alice" });
    a.send({ ...claim("1", TEAMS), guard: "grab" });
    a.send({ ...claim("2", TEAMS), restore: "available" });
    a.send({ ...claim("3", TEAMS), restore: { activity: 7 } });
    await rt.run();
    assert.deepEqual(a.take().map((m) => [m.src, m.error && m.error.code]), [
        ["1", "malformed"],
        ["2", "malformed"],
        ["3", "malformed"],
    ]);
});
