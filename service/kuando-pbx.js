/*
 * Connector for kuando® — the app service: requests to the PBX over the PbxApi connections its App object
 * opens.
 *
 * Evaluated after kuando-settings.js (config.json "javascript.eval", in order, one global scope; ES5 like
 * every file of the service).
 *
 * PbxApi and PbxAdminApi: the newest connection of each carries requests, answers are matched by src, an
 * unanswered request fails after PBX_TIMEOUT_MS. The presence guard follows presences on the same
 * connections (kuando-guard-pbx.js).
 */

/* Open connections per API, the newest last. */
var pbxConns = { PbxApi: [], PbxAdminApi: [] };

/* Requests waiting for the PBX, by the src we gave them. */
var pending = Object.create(null);
var nextSrc = 1;

function timersAvailable() {
    return typeof Timers !== "undefined" && Timers !== null && typeof Timers.setTimeout === "function";
}

function finishPbx(src, err, result) {
    var p = pending[src];
    if (!p) return;
    delete pending[src];
    if (p.timer !== null) {
        try {
            Timers.clearTimeout(p.timer);
        } catch (e) {
            // A timer that cannot be cleared fires into finishPbx, which ignores it.
        }
    }
    p.cb(err, result);
}

/* Sends msg on the newest connection of the API; cb(errorText | null, result). Fails at once when the PBX is
 * not connected, when the connection is lost before the answer, or after PBX_TIMEOUT_MS. Without Timers in
 * the runtime there is no timeout: a request the PBX never answers fails when its connection closes. */
function pbxRequest(apiName, msg, cb) {
    var conns = pbxConns[apiName];
    if (conns.length === 0) {
        cb("the PBX is not connected");
        return;
    }
    var conn = conns[conns.length - 1];
    var src = "kuando" + nextSrc++;
    msg.src = src;
    var p = { src: src, conn: conn, mt: msg.mt + "Result", seq: nextSrc, cb: cb, timer: null };
    pending[src] = p;
    if (timersAvailable()) {
        p.timer = Timers.setTimeout(function () {
            logLine(msg.mt + " " + src + ": the PBX did not answer in " + PBX_TIMEOUT_MS / 1000 + " s");
            finishPbx(src, "the PBX did not answer");
        }, PBX_TIMEOUT_MS);
    }
    try {
        conn.send(JSON.stringify(msg));
    } catch (e) {
        finishPbx(src, "the PBX connection failed");
    }
}

/* [inferred] The PBX echoes src in its answers (the SDK's examples rely on it). Should an answer come without
 * one, it belongs to the oldest request of its type on that connection: a connection answers in order. */
function oldestPending(conn, mt) {
    var best = null;
    for (var k in pending) {
        var p = pending[k];
        if (p.conn === conn && p.mt === mt && (best === null || p.seq < best.seq)) best = p;
    }
    return best;
}

function onPbxMessage(conn, text) {
    var m;
    try {
        m = JSON.parse(text);
    } catch (e) {
        logLine("unreadable message from the PBX");
        return;
    }
    if (m === null || typeof m !== "object") return;
    if (m.mt === "PresenceUpdate") {
        guardPresenceUpdate(m);
        return;
    }
    var p = null;
    if (typeof m.src === "string") {
        p = pending[m.src] || null;
        if (p !== null && p.conn !== conn) p = null;
    } else if (m.src === undefined && typeof m.mt === "string") {
        p = oldestPending(conn, m.mt);
    }
    if (p === null) return; // an answer after its timeout, or an event we did not ask for
    if (m.mt !== p.mt) {
        finishPbx(p.src, "unexpected answer from the PBX");
        return;
    }
    finishPbx(p.src, null, m);
}

function trackPbx(apiName) {
    new PbxApi(apiName).onconnected(function (conn) {
        pbxConns[apiName].push(conn);
        if (apiName === "PbxApi") guardPbxConnected(conn);
        logLine(apiName + " connected" + (conn.pbx ? " (PBX " + conn.pbx + ")" : ""));
        conn.onmessage(function (text) {
            try {
                onPbxMessage(conn, text);
            } catch (e) {
                logLine("internal error on a PBX message: " + e);
            }
        });
        conn.onclose(function () {
            var list = pbxConns[apiName];
            for (var i = 0; i < list.length; i++) {
                if (list[i] === conn) {
                    list.splice(i, 1);
                    break;
                }
            }
            logLine(apiName + " disconnected");
            // Nothing more will come on this connection: fail its requests now instead of at the timeout.
            var lost = [];
            for (var k in pending) {
                if (pending[k].conn === conn) lost.push(k);
            }
            for (var j = 0; j < lost.length; j++) finishPbx(lost[j], "the PBX connection was lost");
        });
    });
}

trackPbx("PbxApi");
trackPbx("PbxAdminApi");
