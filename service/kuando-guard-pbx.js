/*
 * Connector for kuando® — the app service: the presence guard and the PBX: following the user's presence.
 *
 * Evaluated after kuando-guard-store.js (config.json "javascript.eval", in order, one global scope; ES5 like
 * every file of the service).
 *
 * PbxApi SubscribePresence for every guarded user; PresenceUpdate tells what the PBX shows, which decides
 * whether a guard still holds what the service set; the guard's own SetPresence requests.
 */

function subscribe(g, conn) {
    var c = conn || newestPbx();
    if (!c) return;
    try {
        c.send(JSON.stringify({ api: "PbxApi", mt: "SubscribePresence", sip: g.sip, src: GUARD_SRC + g.sip }));
    } catch (e) {
        logLine("SubscribePresence for " + g.sip + " failed: " + e);
    }
}

function unsubscribe(sip) {
    var c = newestPbx();
    if (!c) return;
    try {
        c.send(JSON.stringify({ api: "PbxApi", mt: "UnsubscribePresence", sip: sip, src: GUARD_SRC + sip }));
    } catch (e) {
        // The subscription ends with the connection anyway.
    }
}

function newestPbx() {
    var list = pbxConns.PbxApi;
    return list.length > 0 ? list[list.length - 1] : null;
}

/* A PbxApi connection came up: follow every guarded user on it (subscriptions do not outlive a connection). */
function guardPbxConnected(conn) {
    if (!guardsLoaded) return; // loadGuards subscribes once it has them
    for (var sip in guards) subscribe(guards[sip], conn);
}

/* cb(err | null, refused): refused is true when the PBX answered with an error (it did not take it), false
 * when the outcome is unknown (no connection, no answer in time). */
function pbxSetPresence(sip, guid, p, cb) {
    pbxRequest("PbxApi", {
        api: "PbxApi", mt: "SetPresence", sip: sip, guid: guid, contact: "tel:", activity: p.activity, note: p.note
    }, function (err, result) {
        if (err) {
            cb(err, false);
            return;
        }
        if (result.error) {
            cb("the PBX refused: " + (typeof result.errorText === "string" && result.errorText ? result.errorText
                : "error " + String(result.error)), true);
            return;
        }
        cb(null, false);
    });
}

/* The user's tel: presence in a PresenceUpdate (the first such item: the newest). No tel: item is
 * "available": the user has set nothing. */
function telPresence(list) {
    if (!(list instanceof Array)) return null;
    for (var i = 0; i < list.length; i++) {
        var it = list[i];
        if (it !== null && typeof it === "object" && it.contact === "tel:") {
            return {
                activity: typeof it.activity === "string" ? it.activity : "",
                note: typeof it.note === "string" ? it.note : ""
            };
        }
    }
    return { activity: "", note: "" };
}

/* [inferred] PbxApi.htm does not say that PresenceUpdate names the user; services that use it match it by
 * the src of their SubscribePresence. So the src carries the sip, and a sip in the update is used when there. */
var GUARD_SRC = "guard:";

function guardPresenceUpdate(m) {
    var sip = typeof m.sip === "string" ? m.sip
        : typeof m.src === "string" && m.src.indexOf(GUARD_SRC) === 0 ? m.src.substring(GUARD_SRC.length) : null;
    if (sip === null) return;
    var g = guards[sip];
    if (!g) return;
    var p = telPresence(m.presence);
    if (p === null) return;
    g.pbx = p;
    if (g.first === null) g.first = p;
    if (g.restoring) return;
    if (g.loaded) {
        reconcileLoaded(g, p);
        if (guards[g.sip] !== g) return;
    }
    if (g.asked !== null && similarPresence(p, g.asked)) {
        // The PBX shows what was asked (its answer may have been lost): confirmed.
        confirmSet(g, g.asked);
        return;
    }
    if (g.set === null) return;
    if (similarPresence(p, g.set)) {
        g.confirmed = true;
        return;
    }
    // An update from before the service's SetPresence landed says nothing about the user.
    if (!g.confirmed) return;
    logLine("presence of " + g.sip + " changed to " + showPresence(p) + " while the connector showed " +
        showPresence(g.set) + ": kept, nothing will be restored");
    dropGuard(g);
}

/* A stored guard meets the PBX's first report: it still shows what the guard set (a restart during a call),
 * or the row is stale (its DELETE was lost; the user's presence moved on): then its restore value is not
 * trusted, and the claims that joined it meanwhile restore what their first one said. */
function reconcileLoaded(g, p) {
    g.loaded = false;
    if (g.set !== null && similarPresence(p, g.set)) {
        g.confirmed = true;
        g.claimRestore = null;
        return;
    }
    logLine("the stored presence guard of " + g.sip + " is stale (the PBX shows " + showPresence(p) +
        ", not " + (g.set === null ? "available" : showPresence(g.set)) + "): its restore value is not used");
    g.set = null;
    g.confirmed = false;
    if (g.claims.length === 0) {
        dropGuard(g);
        return;
    }
    if (g.claimRestore !== null) g.restore = g.claimRestore;
    g.claimRestore = null;
    showStrongest(g, function () {});
}

/* The PBX took p (its answer, or its report): what the guard set from now on, stored. */
function confirmSet(g, p) {
    if (g.asked !== null && samePresence(g.asked, p)) g.asked = null;
    g.set = { activity: p.activity, note: p.note };
    g.confirmed = g.pbx !== null && similarPresence(g.pbx, g.set);
    if (g.retry !== null && g.asked === null) {
        try {
            Timers.clearTimeout(g.retry);
        } catch (e) {
            // It fires into showStrongest, which finds nothing to do.
        }
        g.retry = null;
    }
    if (g.setFailures > 0) logLine("the presence of " + g.sip + " is set now: " + showPresence(g.set));
    g.setFailures = 0;
    saveGuard(g);
}
