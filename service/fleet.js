/*
 * Connector for kuando® — the app service's fleet view: every user's connector at a glance.
 *
 * Evaluated last (config.json "javascript.eval"), after kuando.js and the kuando-*.js files, in the same global
 * scope and ES5 as they.
 *
 *   ReportHealth  the hidden app's compact health summary of its client (src/health.rs): kept per user and
 *                 client with first and last seen, in memory and in the table client_health (survives a
 *                 restart); a client unseen for FLEET_KEEP_MS is dropped; a client whose connection closed
 *                 is "not running since" its close. The instance config item healthReports (default on)
 *                 switches it off: reports are answered {off:true} and nothing is kept.
 *   GetFleet      a page of the rows (offset, limit, problems only, search by name), with the totals. The PBX
 *                 Manager plugin's connection reads every user's rows and is sent FleetChanged (at most one
 *                 a second) while it is open; a user's own apps read only their own rows.
 *
 * The PBX Manager plugin logs in to the instance with GetInstanceLogin (docs/platform-facts.md §6.3) and the
 * app name it chose, FLEET_MANAGER_APP. [inferred] that the runtime's conn.app is that name: a user's login
 * comes from an App object, whose app is one of the instance's pages, and no page has this name, so only the
 * PBX Manager (or an administrator's own App object) can hold such a connection.
 */

var FLEET_MANAGER_APP = "-";
var FLEET_KEEP_MS = 30 * 24 * 3600 * 1000;
var FLEET_PRUNE_MS = 3600 * 1000;
var FLEET_PUSH_MS = 1000;
var FLEET_MAX_PAGE = 200;
var FLEET_MAX_SEARCH = 64;
/* Per client, each text bounded: what one row may hold (memory per client stays under 1 KB). */
var HEALTH_MAX_TEXT = 40;
var HEALTH_MAX_DN = 80;
var HEALTH_CLIENT_ID = /^[A-Za-z0-9_-]{8,40}$/;
/* Clients kept per user: a new one beyond this replaces the user's least recently seen (a user's PCs and
 * browser profiles are a handful; a client inventing ids must not grow the table). */
var FLEET_CLIENTS_PER_USER = 16;
/* The hub states a report may name (src/health.rs HubHealth). */
var HEALTH_HUB = ["ok", "unknown", "notConfigured", "unreachable", "tooOld", "unauthorized", "blocked", "asks",
    "notUnderstood"];
var HEALTH_LICENSES = ["none", "connector", "withBusylight"];

/* ReportHealth is a request of the apps' protocol (src/proto.rs); GetFleet is the plugin's, read here only. */
REQUEST_KINDS.push("ReportHealth");
APP_REQUESTS["innovaphone-kuando"].push("ReportHealth", "GetFleet");
APP_REQUESTS["innovaphone-kuando-config"].push("GetFleet");
APP_REQUESTS[FLEET_MANAGER_APP] = ["GetFleet"];
ADMIN_APPS[FLEET_MANAGER_APP] = true;

/* The rows by key (sip + " " + client), the keys in order (sip, client) once sorted, the open managers. */
var fleet = Object.create(null);
var fleetOrder = null;
var fleetWatchers = [];
var fleetPushTimer = null;
var fleetLoaded = false;
/* The keys of each user's rows (at most FLEET_CLIENTS_PER_USER). */
var fleetBySip = Object.create(null);

function fleetAdd(key, e) {
    var list = fleetBySip[e[F_SIP]] || (fleetBySip[e[F_SIP]] = []);
    if (list.length >= FLEET_CLIENTS_PER_USER) {
        var old = 0;
        for (var i = 1; i < list.length; i++) if (fleet[list[i]][F_LAST] < fleet[list[old]][F_LAST]) old = i;
        fleetDrop(list[old]);
        list = fleetBySip[e[F_SIP]] || (fleetBySip[e[F_SIP]] = []);
    }
    list.push(key);
    fleet[key] = e;
    fleetOrder = null;
}

/* Drops a row; its stored row too unless `kept` (the caller deletes them together). */
function fleetDrop(key, kept) {
    var e = fleet[key];
    if (!e) return;
    delete fleet[key];
    fleetOrder = null;
    var list = fleetBySip[e[F_SIP]] || [];
    for (var i = 0; i < list.length; i++) if (list[i] === key) list.splice(i--, 1);
    if (list.length === 0) delete fleetBySip[e[F_SIP]];
    if (kept) return;
    dbExec("DELETE FROM client_health WHERE id=" + sqlText(key), function (err) {
        if (err) logDbError("dropping a client's health report", e[F_SIP], err);
    });
}

function healthReportsOn() {
    try {
        if (typeof Config !== "undefined" && Config !== null && Config.healthReports === false) return false;
    } catch (e) {
        // No config: on.
    }
    return true;
}

function readHealthText(v, path, max) {
    if (typeof v !== "string" || v.length > max || CONTROL_CHAR.test(v)) {
        throw new Malformed(path, "must be a string of at most " + max + " characters");
    }
    return v;
}

function readOneOf(v, list, path) {
    if (typeof v !== "string" || !contains(list, v)) throw new Malformed(path, "unknown");
    return v;
}

REQUEST_READERS.ReportHealth = function (r, v, req) {
    req.client = readHealthText(r.get(v, "client", "client"), "client", 40);
    if (!HEALTH_CLIENT_ID.test(req.client)) throw new Malformed("client", "must be 8 to 40 letters, digits, - or _");
    var h = r.get(v, "health", "health");
    if (!isObject(h)) throw new Malformed("health", "must be an object");
    var out = {};
    out.run = readBool(r.get(h, "run", "health.run"), "health.run");
    out.hub = readOneOf(r.get(h, "hub", "health.hub"), HEALTH_HUB, "health.hub");
    var lic = r.get(h, "lic", "health.lic");
    if (lic !== undefined) out.lic = readOneOf(lic, HEALTH_LICENSES, "health.lic");
    var lamps = r.get(h, "lamps", "health.lamps");
    if (lamps !== undefined) out.lamps = readUint(lamps, 99, "health.lamps");
    var local = r.get(h, "local", "health.local");
    if (local !== undefined) out.local = readBool(local, "health.local");
    var err = r.get(h, "err", "health.err");
    if (err !== undefined) out.err = readOneOf(err, HEALTH_HUB, "health.err");
    out.build = readHealthText(r.get(h, "build", "health.build") || "", "health.build", HEALTH_MAX_TEXT);
    out.browser = readHealthText(r.get(h, "browser", "health.browser") || "", "health.browser", HEALTH_MAX_TEXT);
    req.health = out;
};

REQUEST_READERS.GetFleet = function (r, v, req) {
    var o = r.get(v, "offset", "offset");
    req.offset = o === undefined ? 0 : readUint(o, U32_MAX, "offset");
    var l = r.get(v, "limit", "limit");
    req.limit = l === undefined ? 50 : readUint(l, FLEET_MAX_PAGE, "limit");
    var p = r.get(v, "problems", "problems");
    req.problems = p === undefined ? false : readBool(p, "problems");
    var s = r.get(v, "search", "search");
    req.search = s === undefined ? "" : readHealthText(s, "search", FLEET_MAX_SEARCH);
};

/* ---- The rows ------------------------------------------------------------------------------------------- */

/* A row is an array (a Duktape array's dense part costs 8 bytes an item, an object's properties far more):
 * the report itself is kept as its JSON text, which Duktape interns, so equal reports share it. */
var F_SIP = 0, F_DN = 1, F_CLIENT = 2, F_HEALTH = 3, F_FIRST = 4, F_LAST = 5, F_HUB_SINCE = 6, F_ERR_AT = 7,
    F_OPEN = 8, F_BAD = 9, F_RUN = 10, F_HUB = 11, F_ERR = 12;

function rowKey(e) { return e[F_SIP] + " " + e[F_CLIENT]; }

/* What a report says: fine, or a problem (not running, the hub not answering, no Busylight). */
function reportBad(h) {
    return !h.run || h.hub !== "ok" || h.lamps === 0;
}

/* fine | problem | off: what the fleet view's mark shows. */
function rowState(e) {
    if (!e[F_OPEN]) return "off";
    return e[F_BAD] ? "problem" : "fine";
}

function fleetTouch() {
    if (fleetWatchers.length === 0 || fleetPushTimer !== null || !timersAvailable()) return;
    fleetPushTimer = Timers.setTimeout(function () {
        fleetPushTimer = null;
        for (var i = 0; i < fleetWatchers.length; i++) send(fleetWatchers[i], envelope(undefined, "FleetChanged"));
    }, FLEET_PUSH_MS);
}

function fleetSave(e) {
    var sql = "INSERT INTO client_health (id,sip,dn,client,health,first_seen,last_seen,hub_since,err_at) VALUES (" +
        sqlText(rowKey(e)) + "," + sqlText(e[F_SIP]) + "," + sqlText(e[F_DN]) + "," + sqlText(e[F_CLIENT]) + "," +
        sqlText(e[F_HEALTH]) + "," + e[F_FIRST] + "," + e[F_LAST] + "," + e[F_HUB_SINCE] + "," + e[F_ERR_AT] +
        ") ON CONFLICT (id) DO UPDATE SET dn=EXCLUDED.dn,health=EXCLUDED.health,last_seen=EXCLUDED.last_seen," +
        "hub_since=EXCLUDED.hub_since,err_at=EXCLUDED.err_at";
    dbExec(sql, function (err) {
        if (err) logDbError("storing a health report", e[F_SIP], err);
    });
}

/* A row from a report (h) or a stored text; open or not. */
function fleetRow(sip, dn, client, text, h, first) {
    return [sip, dn, client, text, first, first, first, 0, false, reportBad(h), h.run === true, h.hub,
        h.err === undefined ? "" : h.err];
}

/* The stored rows are read at the first request that needs them (nothing is read at start when nobody
 * asks); requests wait for it. Old rows are dropped at most once per FLEET_PRUNE_MS, as requests come. */
var fleetWaiting = [];
var fleetPruned = 0;

function withFleet(fn) {
    if (Date.now() - fleetPruned >= FLEET_PRUNE_MS && fleetLoaded) {
        fleetPruned = Date.now();
        fleetPrune();
    }
    if (fleetLoaded) return fn();
    fleetWaiting.push(fn);
    if (fleetWaiting.length === 1) fleetLoad();
}

function reportHealth(client, req) {
    withFleet(function () { reportLoaded(client, req); });
}

function reportLoaded(client, req) {
    if (!healthReportsOn()) {
        var off = envelope(req.src, "ReportHealthResult");
        off.off = true;
        send(client, off);
        return;
    }
    var now = Date.now(), h = req.health;
    var key = client.sip + " " + req.client;
    var dn = typeof client.conn.dn === "string" ? client.conn.dn : "";
    dn = dn.length > HEALTH_MAX_DN ? dn.substring(0, HEALTH_MAX_DN) : dn;
    var text = JSON.stringify(h);
    var e = fleet[key];
    if (!e) {
        e = fleetRow(client.sip, dn, req.client, text, h, now);
        fleetAdd(key, e);
    } else {
        if (e[F_HUB] !== h.hub) e[F_HUB_SINCE] = now;
        e[F_DN] = dn;
        e[F_HEALTH] = text;
        e[F_BAD] = reportBad(h);
        e[F_RUN] = h.run === true;
        e[F_HUB] = h.hub;
    }
    if (h.err !== undefined && e[F_ERR] !== h.err) {
        e[F_ERR] = h.err;
        e[F_ERR_AT] = now;
    }
    e[F_LAST] = now;
    e[F_OPEN] = true;
    client.fleetKey = key;
    fleetSave(e);
    fleetTouch();
    send(client, envelope(req.src, "ReportHealthResult"));
}

function rowOut(e) {
    var r = { sip: e[F_SIP], dn: e[F_DN], client: e[F_CLIENT], state: rowState(e), first: e[F_FIRST],
        last: e[F_LAST], hubSince: e[F_HUB_SINCE], h: JSON.parse(e[F_HEALTH]) };
    if (e[F_ERR_AT]) r.errAt = e[F_ERR_AT];
    return r;
}

function fleetKeys() {
    if (fleetOrder === null) {
        fleetOrder = [];
        for (var k in fleet) fleetOrder.push(k);
        fleetOrder.sort();
    }
    return fleetOrder;
}

function getFleet(client, req) {
    withFleet(function () { fleetPage(client, req); });
}

/* Case-insensitive "contains", without a lower-cased copy of every name. */
function searchPattern(text) {
    return text ? new RegExp(text.replace(/[\\^$.*+?()[\]{}|\/-]/g, "\\$&"), "i") : null;
}

function fleetPage(client, req) {
    var manager = client.app === FLEET_MANAGER_APP;
    if (manager && !contains(fleetWatchers, client)) fleetWatchers.push(client);
    var keys = fleetKeys(), rows = [], matched = 0;
    var users = Object.create(null), running = Object.create(null), problems = Object.create(null);
    var nUsers = 0, nRunning = 0, nProblems = 0;
    var search = searchPattern(req.search);
    var end = req.offset + req.limit;
    for (var i = 0; i < keys.length; i++) {
        var e = fleet[keys[i]], sip = e[F_SIP];
        if (!manager && sip !== client.sip) continue;
        var st = rowState(e);
        if (!users[sip]) { users[sip] = true; nUsers++; }
        if (st !== "off" && e[F_RUN] && !running[sip]) { running[sip] = true; nRunning++; }
        if (st === "problem" && !problems[sip]) { problems[sip] = true; nProblems++; }
        if (req.problems && st !== "problem") continue;
        if (search !== null && !search.test(sip) && !search.test(e[F_DN])) continue;
        if (matched >= req.offset && matched < end) rows.push(rowOut(e));
        matched++;
    }
    var m = envelope(req.src, "GetFleetResult");
    m.totals = { users: nUsers, running: nRunning, problems: nProblems };
    m.matched = matched;
    m.offset = req.offset;
    m.rows = rows;
    m.now = Date.now();
    m.reports = healthReportsOn();
    send(client, m);
}

REQUEST_HANDLERS.ReportHealth = reportHealth;
REQUEST_HANDLERS.GetFleet = getFleet;

CLOSE_HOOKS.push(function (client) {
    for (var i = 0; i < fleetWatchers.length; i++) {
        if (fleetWatchers[i] === client) fleetWatchers.splice(i--, 1);
    }
    var e = client.fleetKey ? fleet[client.fleetKey] : null;
    if (!e || !e[F_OPEN]) return;
    // Another connection of the same client (a reload) may have reported since: only the last one closes it.
    var list = clientsBySip[client.sip] || [];
    for (var j = 0; j < list.length; j++) if (list[j].fleetKey === client.fleetKey) return;
    e[F_OPEN] = false;
    e[F_LAST] = Date.now();
    fleetSave(e);
    fleetTouch();
});

/* ---- Restart and pruning -------------------------------------------------------------------------------- */

function fleetPrune() {
    var cut = Date.now() - FLEET_KEEP_MS;
    for (var k in fleet) {
        if (fleet[k][F_LAST] < cut) fleetDrop(k, true);
    }
    dbExec("DELETE FROM client_health WHERE last_seen<" + cut, function (err) {
        if (err) logDbError("dropping old health reports", "", err);
    });
}

function fleetLoad() {
    dbExec("SELECT id,sip,dn,client,health,first_seen,last_seen,hub_since,err_at FROM client_health", function (err, rows) {
        if (err) {
            // Served from what is known; read again at the next request.
            logDbError("reading the health reports", "", err);
            fleetLoaded = true;
            fleetFlush();
            fleetLoaded = false;
            return;
        }
        for (var i = 0; rows && i < rows.length; i++) {
            var r = rows[i];
            if (fleet[r.id]) continue; // reported again since the start
            var h;
            try { h = JSON.parse(r.health); } catch (x) { continue; }
            if (!isObject(h) || r.id !== r.sip + " " + r.client) continue;
            var e = fleetRow(r.sip, r.dn || "", r.client, r.health, h, Number(r.first_seen));
            fleetAdd(r.id, e);
            e[F_LAST] = Number(r.last_seen);
            e[F_HUB_SINCE] = Number(r.hub_since);
            e[F_ERR_AT] = Number(r.err_at);
        }
        fleetOrder = null;
        fleetLoaded = true;
        fleetPruned = Date.now();
        fleetPrune();
        fleetFlush();
    });
}

function fleetFlush() {
    var list = fleetWaiting;
    fleetWaiting = [];
    for (var i = 0; i < list.length; i++) {
        try {
            list[i]();
        } catch (e) {
            logLine("internal error in the fleet view: " + e);
        }
    }
}
