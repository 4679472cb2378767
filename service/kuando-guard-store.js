/*
 * Connector for kuando® — the app service: the presence guard's rows in the database (presence_guard).
 *
 * Evaluated after kuando-guard.js (config.json "javascript.eval", in order, one global scope; ES5 like every
 * file of the service).
 *
 * Each guard is stored, so a restarted service still restores; loadGuards reads them at start and merges
 * what connectors claimed meanwhile. Every write is retried with back-off until it succeeds.
 */

function saveGuard(g) {
    // Until the stored guards are read, a user's row is what a previous run knew: loadGuards merges, then
    // stores.
    if (g.set === null || guards[g.sip] !== g || !guardsLoaded) return;
    // The upsert overwrites a row whose DELETE was lost.
    delete staleRows[g.sip];
    var sql = "INSERT INTO presence_guard (sip,guid,set_activity,set_note,restore_activity,restore_note) VALUES (" +
        sqlText(g.sip) + "," + (g.guid === undefined ? "NULL" : sqlText(g.guid)) + "," +
        sqlText(g.set.activity) + "," + sqlText(g.set.note) + "," +
        sqlText(g.restore.activity) + "," + sqlText(g.restore.note) +
        ") ON CONFLICT (sip) DO UPDATE SET guid=EXCLUDED.guid,set_activity=EXCLUDED.set_activity," +
        "set_note=EXCLUDED.set_note,restore_activity=EXCLUDED.restore_activity,restore_note=EXCLUDED.restore_note";
    dbExec(sql, function (err) {
        if (!err) {
            g.saveFailures = 0;
            return;
        }
        // Without its row a guard would not survive a restart: written again, with back-off.
        g.saveFailures++;
        if (g.saveFailures === 1) logDbError("storing the presence guard", g.sip, err);
        if (g.saveTimer !== null) return;
        g.saveTimer = later(backoffMs(g.saveFailures, GUARD_RETRY_BASE_MS, GUARD_RETRY_MAX_MS), function () {
            g.saveTimer = null;
            saveGuard(g);
        });
    });
}

/* Deletes the user's row; a failed DELETE is tried again, since a stale row would be loaded after a restart
 * (unless a new guard of the user has stored its own row over it by then). */
function deleteGuardRow(sip, failures) {
    var g = guards[sip];
    if (g && g.set !== null) {
        saveGuard(g);
        return;
    }
    staleRows[sip] = true;
    dbExec("DELETE FROM presence_guard WHERE sip=" + sqlText(sip), function (err) {
        if (!err) {
            if (!guards[sip] || guards[sip].set === null) delete staleRows[sip];
            return;
        }
        var n = (failures || 0) + 1;
        if (n === 1) logDbError("removing the presence guard", sip, err);
        later(backoffMs(n, GUARD_RETRY_BASE_MS, GUARD_RETRY_MAX_MS), function () {
            if (staleRows[sip]) deleteGuardRow(sip, n);
        });
    });
}

/* At start: the guards a previous run left. Every connector reconnects and claims again within the grace
 * period; whatever nobody claims by then is restored (if the PBX still shows it). A failed read is tried
 * again with back-off until it succeeds; claims that arrived meanwhile are merged with what it reads. */
function loadGuards() {
    dbExec("SELECT sip,guid,set_activity,set_note,restore_activity,restore_note FROM presence_guard", function (err, rows) {
        if (err) {
            loadFailures++;
            if (loadFailures === 1) {
                logDbError("reading the presence guards", "all users", err);
                logLine("the stored presence guards are read again until the database answers");
            }
            if (later(backoffMs(loadFailures, GUARD_RETRY_BASE_MS, GUARD_RETRY_MAX_MS), loadGuards) === null) {
                guardsLoaded = true;
            }
            return;
        }
        guardsLoaded = true;
        var n = 0;
        for (var i = 0; rows && i < rows.length; i++) {
            var row = rows[i];
            if (typeof row.sip !== "string") continue;
            var set = { activity: String(row.set_activity || ""), note: String(row.set_note || "") };
            var restore = { activity: String(row.restore_activity || ""), note: String(row.restore_note || "") };
            var live = guards[row.sip];
            if (live) {
                mergeLoaded(live, set, restore);
                continue;
            }
            var g = newGuard(row.sip, typeof row.guid === "string" ? row.guid : undefined, restore);
            g.set = set;
            // It was shown when the service stopped: the PBX's first report tells whether it still is (else
            // the row is stale, e.g. its DELETE was lost, and is not trusted); a later different report is
            // the user's change.
            g.loaded = true;
            guards[row.sip] = g;
            startGrace(g);
            n++;
        }
        for (var k in guards) {
            if (!guards[k].loaded) saveGuard(guards[k]);
        }
        if (n > 0) logLine(n + " presence guard(s) from before the restart, restored unless claimed again");
        if (loadFailures > 0) logLine("the stored presence guards were read after " + loadFailures + " failure(s)");
        for (var j = 0; j < pbxConns.PbxApi.length; j++) {
            for (var sip in guards) subscribe(guards[sip], pbxConns.PbxApi[j]);
        }
    });
}

/* A stored guard for a user who claimed again before it was read: its restore value (older, from before the
 * restart) is kept only if the PBX showed its presence before the new claim; else the row is stale. */
function mergeLoaded(g, set, restore) {
    if (g.first !== null && similarPresence(g.first, set)) {
        g.restore = restore;
        if (g.set === null && g.asked === null) g.set = set;
    }
}
