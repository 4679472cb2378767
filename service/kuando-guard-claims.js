/*
 * Connector for kuando® — the app service: the presence guard's claims, releases, grace periods and paced
 * restores.
 *
 * Evaluated after kuando-guard-pbx.js (config.json "javascript.eval", in order, one global scope; ES5 like
 * every file of the service).
 *
 * The last file of the service proper: it starts reading the stored guards (loadGuards).
 */

/* A licensed SetPresence: plain, or through the guard. */
function licensedPresence(client, req) {
    if (req.guard === "claim") guardClaim(client, req);
    else if (req.guard === "release") guardRelease(client, req);
    else relayPresence(client, req);
}

function answerPresence(client, req) {
    return function (err) {
        if (err) sendError(client, req.src, "SetPresenceResult", "pbx", err);
        else send(client, envelope(req.src, "SetPresenceResult"));
    };
}

function findClaim(g, client) {
    for (var i = 0; i < g.claims.length; i++) {
        if (g.claims[i].client === client) return i;
    }
    return -1;
}

function stopGrace(g) {
    if (g.timer !== null) {
        try {
            Timers.clearTimeout(g.timer);
        } catch (e) {
            // It fires into a guard with claims, which restores nothing.
        }
        g.timer = null;
    }
    if (g.queued) {
        for (var i = 0; i < restoreQueue.length; i++) {
            if (restoreQueue[i] === g) {
                restoreQueue.splice(i, 1);
                break;
            }
        }
        g.queued = false;
    }
}

function guardClaim(client, req) {
    var g = guards[client.sip];
    if (!g) {
        g = newGuard(client.sip, client.guid, req.restore);
        guards[client.sip] = g;
        subscribe(g);
    }
    stopGrace(g);
    g.restoreFailures = 0;
    g.restoreWaited = 0;
    if (g.loaded && g.claimRestore === null) g.claimRestore = { activity: req.restore.activity, note: req.restore.note };
    var i = findClaim(g, client);
    var c = { client: client, activity: req.activity, note: req.note, seq: ++claimSeq };
    if (i >= 0) g.claims[i] = c;
    else g.claims.push(c);
    showStrongest(g, answerPresence(client, req));
}

/* Makes the PBX show the strongest claim; cb(err | null). The guard records it only once the PBX confirmed it
 * (answer or report); a claim not confirmed is sent again with back-off while it stands. */
function showStrongest(g, cb) {
    var c = strongestClaim(g);
    if (c === null) {
        cb(null);
        return;
    }
    var want = { activity: c.activity, note: c.note };
    // Shown already, unless it is a stored guard the PBX has not confirmed yet.
    if (g.asked === null && !g.loaded && g.set !== null && samePresence(g.set, want)) {
        cb(null);
        return;
    }
    g.asked = want;
    pbxSetPresence(g.sip, g.guid, want, function (err, refused) {
        if (guards[g.sip] !== g) {
            cb(err);
            return;
        }
        if (!err) {
            // Its report may have confirmed it already.
            if (g.asked !== null || g.set === null || !samePresence(g.set, want)) confirmSet(g, want);
            cb(null);
            return;
        }
        // Refused: the PBX shows what it showed (g.set stays the last confirmed claim). Unknown: a report
        // may still confirm it.
        if (refused && g.asked !== null && samePresence(g.asked, want)) g.asked = null;
        g.setFailures++;
        var delay = backoffMs(g.setFailures, GUARD_RETRY_BASE_MS, GUARD_RETRY_MAX_MS);
        if (g.setFailures === 1) {
            logLine("the presence of " + g.sip + " could not be set: " + err + "; tried again while claimed");
        }
        if (g.retry === null) {
            g.retry = later(delay, function () {
                g.retry = null;
                if (guards[g.sip] === g && g.claims.length > 0 && !g.restoring) showStrongest(g, function () {});
            });
        }
        cb(err);
    });
}

function guardRelease(client, req) {
    var g = guards[client.sip];
    if (!g) {
        // Nothing guarded (an older service set it, or the user changed it since): as before.
        relayPresence(client, req);
        return;
    }
    var i = findClaim(g, client);
    if (i >= 0) g.claims.splice(i, 1);
    if (g.claims.length > 0) {
        // Another connector still shows a hub state: that one stays (or becomes) the user's presence.
        showStrongest(g, answerPresence(client, req));
        return;
    }
    if (g.set === null && g.asked === null) {
        // The PBX never took a claim: nothing to restore; the presence asked for is relayed as before.
        dropGuard(g);
        relayPresence(client, req);
        return;
    }
    stopGrace(g);
    restoreGuard(g, answerPresence(client, req));
}

/* A connection closed: its claim ends without a release. The last one starts the grace period. */
function guardConnectionClosed(client) {
    var g = guards[client.sip];
    if (!g) return;
    var i = findClaim(g, client);
    if (i < 0) return;
    g.claims.splice(i, 1);
    if (g.claims.length > 0) {
        showStrongest(g, function () {});
        return;
    }
    logLine("the last connector claiming the presence of " + g.sip + " went away: restored in " +
        graceMs() / 1000 + " s unless it comes back");
    startGrace(g);
}

function startGrace(g) {
    stopGrace(g);
    if (!timersAvailable()) {
        queueRestore(g);
        return;
    }
    g.timer = Timers.setTimeout(function () {
        g.timer = null;
        if (guards[g.sip] === g && g.claims.length === 0) queueRestore(g);
    }, graceMs());
}

function queueRestore(g) {
    if (g.queued) return;
    g.queued = true;
    restoreQueue.push(g);
    pumpRestores();
}

/* Up to RESTORE_PER_S restores a second: a budget per tick of RESTORE_TICK_MS, refilled by the tick timer,
 * which runs while restores go out. */
var RESTORES_PER_TICK = Math.max(1, Math.floor(RESTORE_PER_S * RESTORE_TICK_MS / 1000));
var restoreBudget = RESTORES_PER_TICK;

function pumpRestores() {
    var sent = false;
    while (restoreQueue.length > 0 && (restoreBudget > 0 || !timersAvailable())) {
        // Without timers nothing could pace them: all go at once, better than nobody restored.
        var g = restoreQueue.shift();
        g.queued = false;
        if (guards[g.sip] !== g || g.claims.length > 0) continue;
        restoreBudget--;
        sent = true;
        restoreGuard(g, function () {});
    }
    if ((sent || restoreQueue.length > 0) && restoreTimer === null && timersAvailable()) {
        restoreTimer = Timers.setTimeout(function () {
            restoreTimer = null;
            restoreBudget = RESTORES_PER_TICK;
            pumpRestores();
        }, RESTORE_TICK_MS);
    }
}

/* Gives the user their presence back, if the PBX still shows what the service set. cb(err | null). */
function restoreGuard(g, cb) {
    if (g.set === null && g.asked !== null && (g.pbx === null || similarPresence(g.pbx, g.asked))) {
        // Asked, never answered: the PBX may show it. Restored like a confirmed one.
        g.set = g.asked;
    }
    if (g.set === null) {
        dropGuard(g);
        cb(null);
        return;
    }
    if (g.pbx !== null && !similarPresence(g.pbx, g.set)) {
        // [inferred] Should no PresenceUpdate have come (no subscription possible), the restore goes ahead:
        // a user left "on the phone" is the worse mistake.
        logLine("presence of " + g.sip + " is " + showPresence(g.pbx) + ", not what the connector set: " +
            "nothing restored");
        dropGuard(g);
        cb(null);
        return;
    }
    g.restoring = true;
    pbxSetPresence(g.sip, g.guid, g.restore, function (err) {
        g.restoring = false;
        if (guards[g.sip] !== g) {
            cb(err);
            return;
        }
        if (err) {
            if (g.claims.length > 0) {
                // Claimed again meanwhile: the claim is what counts now.
                g.asked = null;
                showStrongest(g, function () {});
                cb(err);
                return;
            }
            g.restoreFailures++;
            if (g.restoreWaited >= RESTORE_GIVE_UP_MS) {
                logLine("gave up restoring the presence of " + g.sip + " to " + showPresence(g.restore) +
                    " after " + g.restoreFailures + " attempts in " + RESTORE_GIVE_UP_MS / 3600000 + " h: " + err);
                dropGuard(g);
                cb(err);
                return;
            }
            var delay = backoffMs(g.restoreFailures, RESTORE_RETRY_BASE_MS, RESTORE_RETRY_MAX_MS);
            g.restoreWaited += delay;
            if (g.restoreFailures === 1) {
                logLine("restoring the presence of " + g.sip + " failed: " + err + "; trying again in " +
                    delay / 1000 + " s, then less often, for " + RESTORE_GIVE_UP_MS / 3600000 + " h");
            }
            g.timer = later(delay, function () {
                g.timer = null;
                if (guards[g.sip] === g && g.claims.length === 0) queueRestore(g);
            });
            cb(err);
            return;
        }
        if (g.claims.length > 0) {
            // Claimed again while the restore was on its way: show the claim again.
            g.set = null;
            g.asked = null;
            showStrongest(g, function () {});
            cb(null);
            return;
        }
        logLine("presence of " + g.sip + " restored to " + showPresence(g.restore) + " (was " +
            showPresence(g.set) + ")");
        dropGuard(g);
        cb(null);
    });
}

function dropGuard(g) {
    stopGrace(g);
    if (g.retry !== null) {
        try {
            Timers.clearTimeout(g.retry);
        } catch (e) {
            // It fires into a guard that is gone, which does nothing.
        }
        g.retry = null;
    }
    if (guards[g.sip] !== g) return;
    delete guards[g.sip];
    deleteGuardRow(g.sip);
    unsubscribe(g.sip);
}

loadGuards();
