/*
 * Connector for kuando® — the app service: connections of the apps and the intake of their messages.
 *
 * Evaluated after kuando-rules.js (config.json "javascript.eval", in order, one global scope; ES5 like every
 * file of the service).
 *
 * Who a connection is and what its app may ask; the limits per connection and user (rate, connections,
 * size); the answers' envelope; handleMessage, which every message passes, cheapest refusals first, and
 * which hands a readable request to its handler (kuando-settings.js, kuando-license.js, or REQUEST_HANDLERS
 * of a later file).
 */

/* The user's open connections, by sip. A null-prototype object: a sip is never mistaken for a built-in. */
var clientsBySip = Object.create(null);

function Client(conn) {
    this.conn = conn;
    // The identity of everything this connection does; taken once, from the login.
    this.sip = typeof conn.sip === "string" ? conn.sip : "";
    this.guid = typeof conn.guid === "string" ? conn.guid : undefined;
    this.app = typeof conn.app === "string" ? conn.app : "";
    this.open = true;
    // Set once the PBX confirmed a license for a connection the runtime marked unlicensed.
    this.licenseConfirmed = false;
    // Set once the PBX answered a license check for this connection: later ones may use the user's cache.
    this.licenseChecked = false;
    // The message budget (see RATE_BURST).
    this.tokens = RATE_BURST;
    this.refilled = Date.now();
    // null, or the error code every message of this connection is answered with.
    this.refused = null;
}

/* Which app may do what (ARCHITECTURE.md, "Which app may do what"): the hidden app reads and writes the
 * user's settings, asks for the license and sets the presence (plain, claim, release); the config app
 * reads and writes settings and asks for the license, but never sets the presence; any other app of the
 * instance (a PBX Manager login, another app object's app) gets nothing. By the runtime's conn.app. */
var APP_REQUESTS = {
    "innovaphone-kuando": ["GetConfig", "SetConfig", "GetLicense", "SetPresence"],
    "innovaphone-kuando-config": ["GetConfig", "SetConfig", "GetLicense"]
};

function mayRequest(client, mt) {
    return hasOwn.call(APP_REQUESTS, client.app) && contains(APP_REQUESTS[client.app], mt);
}

/* A new connection: served, or refused for good (unknown app, too many connections of the user). */
function admitConnection(client) {
    if (!hasOwn.call(APP_REQUESTS, client.app)) {
        client.refused = "forbidden";
        logOffender("app", client.sip, "connection of " + client.sip + " from the app \"" + client.app +
            "\" refused: only the connector's apps are served");
        return;
    }
    if (ADMIN_APPS[client.app] === true) return;
    var list = client.sip ? clientsBySip[client.sip] : null;
    if (list && list.length >= MAX_CONNECTIONS_PER_USER) {
        client.refused = "tooManyConnections";
        logOffender("connections", client.sip, client.sip + " has more than " + MAX_CONNECTIONS_PER_USER +
            " connections: the newer ones are refused");
        return;
    }
    addClient(client);
}

/* One more message from the connection within its budget? */
function takeToken(client) {
    var now = Date.now();
    if (now > client.refilled) {
        client.tokens = Math.min(RATE_BURST, client.tokens + (now - client.refilled) * RATE_PER_S / 1000);
    }
    client.refilled = now;
    if (client.tokens < 1) return false;
    client.tokens -= 1;
    return true;
}

/* Log lines about a client's misbehaviour, at most one per user and kind per OFFENDER_LOG_MS, with the
 * number left out since the last one. Entries older than that are dropped as lines are written. */
var offenders = Object.create(null);
var offendersSwept = 0;

function logOffender(kind, sip, text) {
    var now = Date.now();
    var key = kind + " " + sip;
    var o = offenders[key];
    if (o && now >= o.at && now - o.at < OFFENDER_LOG_MS) {
        o.skipped++;
        return;
    }
    logLine(text + (o && o.skipped > 0 ? " (" + o.skipped + " more since the last such line)" : ""));
    offenders[key] = { at: now, skipped: 0 };
    if (now - offendersSwept >= OFFENDER_LOG_MS) {
        offendersSwept = now;
        for (var k in offenders) {
            if (now - offenders[k].at >= OFFENDER_LOG_MS && k !== key) delete offenders[k];
        }
    }
}

function addClient(client) {
    if (!client.sip) return;
    var list = clientsBySip[client.sip] || (clientsBySip[client.sip] = []);
    list.push(client);
}

function removeClient(client) {
    var list = clientsBySip[client.sip];
    if (!list) return;
    for (var i = 0; i < list.length; i++) {
        if (list[i] === client) {
            list.splice(i, 1);
            break;
        }
    }
    if (list.length === 0) delete clientsBySip[client.sip];
}

function send(client, msg) {
    if (!client.open) return; // the app went away while we waited for the PBX or the database
    var text = JSON.stringify(msg);
    try {
        client.conn.send(text);
    } catch (e) {
        logLine("send to " + client.sip + " failed: " + e);
    }
}

/* The envelope of an answer, in serde's field order: api, src (only when the request had one), mt. */
function envelope(src, mt) {
    var m = { api: API };
    if (typeof src === "string") m.src = src;
    m.mt = mt;
    return m;
}

function sendError(client, src, mt, code, text, fields) {
    var m = envelope(src, mt);
    var e = { code: code, text: text };
    if (fields && fields.length > 0) e.fields = fields;
    m.error = e;
    send(client, m);
}

/* ---- Intake: every message passes here, cheapest refusals first ----------------------------------------- */

/* The src and mt of a message that is not parsed, from its first PREFIX_LEN characters only. */
var PREFIX_SRC = /"src"\s*:\s*"([^"\\\x00-\x1f]*)"/;
var PREFIX_MT = /"mt"\s*:\s*"([A-Za-z]{1,32})"/;

function prefixParts(text) {
    var parts = { src: undefined, mt: "Error" };
    if (typeof text !== "string") return parts;
    var head = text.length > PREFIX_LEN ? text.substring(0, PREFIX_LEN) : text;
    var s = PREFIX_SRC.exec(head);
    if (s !== null && s[1].length <= MAX_SRC_LEN) parts.src = s[1];
    var m = PREFIX_MT.exec(head);
    if (m !== null && contains(REQUEST_KINDS, m[1])) parts.mt = m[1] + "Result";
    return parts;
}

/* Longer than MAX_MESSAGE_LEN UTF-8 bytes? The UTF-16 length is a lower bound of it, and 3 bytes per unit
 * an upper one: only texts between the two are counted. */
function tooLarge(text) {
    if (text.length > MAX_MESSAGE_LEN) return true;
    return text.length * 3 > MAX_MESSAGE_LEN && utf8Length(text) > MAX_MESSAGE_LEN;
}

var REFUSALS = {
    rateLimited: "more than " + RATE_PER_S + " messages a second: not carried out, try again later",
    tooManyConnections: "the user has more than " + MAX_CONNECTIONS_PER_USER + " connections open: this one is not served",
    forbidden: "this app is not served by the connector's service"
};

function handleMessage(client, text) {
    if (!takeToken(client)) {
        var rp = prefixParts(text);
        sendError(client, rp.src, rp.mt, "rateLimited", REFUSALS.rateLimited);
        logOffender("rate", client.sip, "connection of " + client.sip + " (" + client.app + ") sends more than " +
            RATE_PER_S + " messages a second: refused");
        return;
    }
    if (typeof text !== "string") {
        sendError(client, undefined, "Error", "malformed", "not a text message");
        return;
    }
    if (client.refused !== null) {
        var fp = prefixParts(text);
        sendError(client, fp.src, fp.mt, client.refused, REFUSALS[client.refused]);
        return;
    }
    if (tooLarge(text)) {
        // Refused before any parsing: the cost of a message must not grow with what a client sends.
        var tp = prefixParts(text);
        sendError(client, tp.src, tp.mt, "tooLarge", "message too large");
        logOffender("tooLarge", client.sip, "refused a message of " + text.length + " characters from " + client.sip);
        return;
    }
    var parsed = parseJson(text, "");
    if (parsed.tooLarge !== undefined) {
        var vp = prefixParts(text);
        sendError(client, vp.src, vp.mt, "tooLarge", parsed.tooLarge);
        logOffender("tooLarge", client.sip, "refused a message of " + parsed.tooLarge + " from " + client.sip);
        return;
    }
    if (parsed.error !== undefined) {
        sendError(client, undefined, "Error", "malformed", "not JSON: " + parsed.error);
        logOffender("unreadable", client.sip, "unreadable message from " + client.sip + ": " + parsed.error);
        return;
    }
    var parts = readableParts(parsed.value);
    var req;
    try {
        req = readRequest(parsed);
    } catch (e) {
        if (!(e instanceof Malformed)) throw e;
        var where = e.path ? e.path + ": " : "";
        sendError(client, parts.src, parts.mt, "malformed", where + e.why);
        // The path and the rule only: a value could be the token.
        logOffender("malformed", client.sip, "malformed message from " + client.sip + ": " + where + e.why);
        return;
    }
    if (!client.sip) {
        // The runtime always logs a user in; without one there is nobody to act for.
        sendError(client, req.src, req.mt + "Result", "unlicensed", "no user on this connection");
        return;
    }
    if (!mayRequest(client, req.mt)) {
        sendError(client, req.src, req.mt + "Result", "forbidden", "the " + client.app + " app may not send " + req.mt);
        logOffender("forbidden", client.sip, "the " + client.app + " app of " + client.sip + " sent " + req.mt +
            ", which it may not: refused");
        return;
    }
    if (req.mt === "GetConfig") getConfig(client, req);
    else if (req.mt === "SetConfig") setConfig(client, req);
    else if (req.mt === "SetPresence") setPresence(client, req);
    else if (req.mt === "GetLicense") getLicense(client, req);
    else REQUEST_HANDLERS[req.mt](client, req);
}
