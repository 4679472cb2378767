/*
 * Connector for kuando® — the app service: the presence guard — its rules and its state.
 *
 * Evaluated after kuando-api.js (config.json "javascript.eval", in order, one global scope; ES5 like every
 * file of the service).
 */

/* ======================================================================================================== */
/* The presence guard: nobody is left "on the phone" when a PC dies.                                        */
/*                                                                                                          */
/* A hidden app sets a presence because of its hub with SetPresence guard "claim" (and the presence to      */
/* restore), and gives it back with guard "release". The service is the one party that sees all of a user's */
/* connectors and outlives them, so the arbitration lives here (ARCHITECTURE.md, "The presence guard"):     */
/*   - per user one guard: what the service set, what to restore, and which connections claim it;          */
/*   - the user shows the strongest live claim (a call over any other hub presence; the newest among       */
/*     equals); a release, or a client that claims nothing, never undoes another connection's claim;       */
/*   - the last claim released: restored at once; the last claiming connection closed without releasing:  */
/*     restored after the grace period unless a connector of the user claims again;                         */
/*   - restored only if the PBX still shows what the service set: the service follows the user's presence  */
/*     (PbxApi SubscribePresence / PresenceUpdate) and drops the guard when the user changed it;           */
/*   - kept in the database (presence_guard), so a restarted service still restores (after the grace      */
/*     period from its start, since every connector reconnects and claims again within it);                */
/*   - restores are paced (RESTORE_PER_S): a mass disconnect does not flood the PBX.                        */
/* A SetPresence without guard (an older hidden app, the config app) is relayed as before.                  */
/* ======================================================================================================== */

/* Default grace period: long enough for a reload or a reconnect. The instance's config item
 * guardGraceSeconds (config.json config.init) overrides it; tests use a short one. */
var GUARD_GRACE_DEFAULT_S = 60;
var GUARD_GRACE_MAX_S = 3600;
/* A restore the PBX refuses (or cannot take) is tried again after 1 min, doubling up to 1 h, and given up
 * after 24 h of trying (one log line; the guard goes): a deleted user or a note the PBX will not take must
 * not be retried for ever. */
var RESTORE_RETRY_BASE_MS = 60000;
var RESTORE_RETRY_MAX_MS = 3600000;
var RESTORE_GIVE_UP_MS = 24 * 3600000;
/* A claim the PBX did not confirm, reading the stored guards, writing or deleting a guard row: tried again
 * after 2 s, doubling up to 1 min, for as long as it is needed. */
var GUARD_RETRY_BASE_MS = 2000;
var GUARD_RETRY_MAX_MS = 60000;
/* At most this many restores a second go to the PBX, in ticks of RESTORE_TICK_MS. */
var RESTORE_PER_S = 200;
var RESTORE_TICK_MS = 100;

var GUARD_KINDS = ["claim", "release"];

/* The user's guard, by sip. */
var guards = Object.create(null);
/* Guards whose grace period ended, waiting for their paced restore. */
var restoreQueue = [];
var restoreTimer = null;
/* Claims are ordered by this (newest wins among equals). */
var claimSeq = 0;
/* The guards are loaded from the database (a restart): until then PbxApi subscriptions wait. */
var guardsLoaded = false;
/* Failed reads of the stored guards so far (the back-off of loadGuards). */
var loadFailures = 0;
/* Rows whose DELETE failed, by sip: deleted again (unless a new guard of the user stores its own row). */
var staleRows = Object.create(null);

/* The n-th retry's delay: base doubling up to max. */
function backoffMs(n, base, max) {
    return Math.min(base * Math.pow(2, Math.min(Math.max(n - 1, 0), 20)), max);
}

/* Runs fn after ms, if the runtime has timers (without them nothing can be retried: the next event will). */
function later(ms, fn) {
    if (!timersAvailable()) return null;
    return Timers.setTimeout(fn, ms);
}

/* SetPresence's guard fields, read like proto::PresenceGuard: guard absent, "claim" or "release"; restore an
 * object {activity, note} (both default ""), only read with a claim. */
function readGuardFields(r, v, req) {
    var g = r.get(v, "guard", "guard");
    if (g === undefined || g === null) return;
    if (typeof g !== "string" || !contains(GUARD_KINDS, g)) {
        throw new Malformed("guard", "must be one of " + GUARD_KINDS.join(", "));
    }
    req.guard = g;
    if (g !== "claim") return;
    req.restore = { activity: "", note: "" };
    var x = r.get(v, "restore", "restore");
    if (x === undefined || x === null) return;
    if (!isObject(x)) throw new Malformed("restore", "must be an object");
    var a = r.get(x, "activity", "restore.activity");
    if (a !== undefined) req.restore.activity = readPresenceText(a, MAX_ACTIVITY_LEN, "restore.activity");
    var n = r.get(x, "note", "restore.note");
    if (n !== undefined) req.restore.note = readPresenceText(n, MAX_NOTE_LEN, "restore.note");
}

function graceMs() {
    var s = GUARD_GRACE_DEFAULT_S;
    try {
        if (typeof Config !== "undefined" && Config !== null) {
            var v = Number(Config.guardGraceSeconds);
            if (isFinite(v) && v >= 1 && v <= GUARD_GRACE_MAX_S) s = Math.floor(v);
        }
    } catch (e) {
        // No config: the default.
    }
    return s * 1000;
}

/* An activity in one spelling, like presence::activity_key in the core: case and blanks ignored,
 * "available" is "". */
function activityKey(p) {
    var a = String(p.activity).replace(/^\s+|\s+$/g, "").toLowerCase();
    if (a === "available") return "";
    if (a === "onthephone") return "on-the-phone";
    return a;
}

/* presence::similar: the PBX may normalise what it stores; the note of "on the phone" does not count. */
function similarPresence(a, b) {
    var ka = activityKey(a);
    if (ka !== activityKey(b)) return false;
    return ka === "on-the-phone" || String(a.note).replace(/^\s+|\s+$/g, "") === String(b.note).replace(/^\s+|\s+$/g, "");
}

function samePresence(a, b) {
    return a.activity === b.activity && a.note === b.note;
}

/* For the log: the activity only. A note is the user's own text and has no place in the instance log. */
function showPresence(p) {
    return p.activity || "available";
}

/* Calls over presence (the concept's rule 3), across clients too. */
function claimRank(c) {
    return activityKey(c) === "on-the-phone" ? 1 : 0;
}

function strongestClaim(g) {
    var best = null;
    for (var i = 0; i < g.claims.length; i++) {
        var c = g.claims[i];
        if (best === null || claimRank(c) > claimRank(best) || (claimRank(c) === claimRank(best) && c.seq > best.seq)) {
            best = c;
        }
    }
    return best;
}

function newGuard(sip, guid, restore) {
    return {
        sip: sip,
        guid: guid,
        restore: { activity: restore.activity, note: restore.note },
        set: null, // what the PBX confirmed the service set (null: nothing yet); only this decides a restore
        asked: null, // asked of the PBX and not confirmed yet (in flight, timed out or to be sent again)
        confirmed: false, // the PBX reported what was set
        pbx: null, // the user's tel: presence as the PBX reported it last
        first: null, // the PBX's first report, from before the service set anything (stale rows are told by it)
        loaded: false, // read from the database at start, not yet reconciled with what the PBX shows
        claimRestore: null, // the first claim's restore while a loaded guard is not reconciled
        claims: [], // {client, activity, note, seq}
        timer: null, // grace period running, or the next restore
        retry: null, // the next SetPresence of a claim the PBX did not confirm
        setFailures: 0,
        restoreFailures: 0,
        restoreWaited: 0, // ms of back-off spent on a refused restore
        saveTimer: null,
        saveFailures: 0,
        queued: false, // waiting in restoreQueue
        restoring: false
    };
}
