/*
 * Connector for kuando® — the app service: licenses (GetLicense) and SetPresence's license check and plain
 * relay.
 *
 * Evaluated after kuando-pbx.js (config.json "javascript.eval", in order, one global scope; ES5 like every
 * file of the service).
 */

/* The user's license as the PBX answered it last, for LICENSE_CACHE_MS: {license, at}; and the callbacks
 * waiting for a check in flight, by sip. So the PBX is asked once per user, not per message: a client
 * sending GetLicense or unlicensed SetPresence in a loop costs no PBX requests. A connection's first check
 * is always the PBX's (or joins one in flight): licenses change for a user when the apps start again (a new
 * login), and a license taken away must show then. Failures are not kept. */
var licenseCache = Object.create(null);
var licenseWaiting = Object.create(null);
var licenseSwept = 0;

/* cb(errorText | null, "none" | "connector" | "withBusylight"), from the cache or the PBX. */
function checkLicense(client, cb) {
    var sip = client.sip;
    var now = Date.now();
    var c = licenseCache[sip];
    if (client.licenseChecked && c && now >= c.at && now - c.at < LICENSE_CACHE_MS) {
        cb(null, c.license);
        return;
    }
    var asked = cb;
    cb = function (err, license) {
        if (!err) client.licenseChecked = true;
        asked(err, license);
    };
    if (licenseWaiting[sip]) {
        licenseWaiting[sip].push(cb);
        return;
    }
    licenseWaiting[sip] = [cb];
    askLicense(sip, function (err, license) {
        var waiting = licenseWaiting[sip] || [];
        delete licenseWaiting[sip];
        var at = Date.now();
        if (!err) licenseCache[sip] = { license: license, at: at };
        if (at - licenseSwept >= LICENSE_CACHE_MS) {
            licenseSwept = at;
            for (var k in licenseCache) {
                if (at - licenseCache[k].at >= LICENSE_CACHE_MS) delete licenseCache[k];
            }
        }
        for (var i = 0; i < waiting.length; i++) waiting[i](err, license);
    });
}

/* Both licenses of the concept, asked at once; cb(errorText | null, "none" | "connector" | "withBusylight").
 * The with-busylight license wins; App(innovaphone-kuando) alone is "connector" (valid with or without a
 * Busylight). If one check fails and the other does not grant a license, the answer is an error rather
 * than a wrong "none". */
function askLicense(sip, cb) {
    var left = 2;
    var granted = { withBusylight: false, connector: false };
    var failure = null;
    function ask(key, lic) {
        pbxRequest("PbxAdminApi", { api: "PbxAdminApi", mt: "CheckAppLic", h323: sip, lic: lic },
            function (err, result) {
                if (err) failure = err;
                else granted[key] = result.ok === true;
                left--;
                if (left > 0) return;
                if (granted.withBusylight) cb(null, "withBusylight");
                else if (granted.connector) cb(null, "connector");
                else if (failure !== null) cb(failure);
                else cb(null, "none");
            });
    }
    ask("withBusylight", LICENSE_WITH_BUSYLIGHT);
    ask("connector", LICENSE_CONNECTOR);
}

function getLicense(client, req) {
    if (pbxConns.PbxAdminApi.length === 0 && pbxConns.PbxApi.length > 0) {
        // The app object is connected but grants no PbxAdminApi: its Admin option is off. Say so, so that
        // the config app can tell the user what the administrator must change.
        sendError(client, req.src, "GetLicenseResult", "noAdmin",
            "no PbxAdminApi connection: the connector's app object needs the Admin option");
        return;
    }
    checkLicense(client, function (err, license) {
        if (err) {
            sendError(client, req.src, "GetLicenseResult", "pbx", err);
            return;
        }
        var m = envelope(req.src, "GetLicenseResult");
        m.license = license;
        send(client, m);
    });
}

function setPresence(client, req) {
    if (client.conn.unlicensed && !client.licenseConfirmed) {
        // [inferred] The runtime flags a connection unlicensed by the license named after the app,
        // App(innovaphone-kuando); a user with only App(innovaphone-kuando-with-busylight) is licensed too.
        // So ask the PBX before refusing, and remember a yes for this connection. When the PBX cannot be
        // asked, the flag stands.
        checkLicense(client, function (err, license) {
            if (!err && license !== "none") {
                client.licenseConfirmed = true;
                licensedPresence(client, req);
            } else {
                sendError(client, req.src, "SetPresenceResult", "unlicensed",
                    "no license for Connector for kuando");
            }
        });
        return;
    }
    licensedPresence(client, req);
}

function relayPresence(client, req) {
    var msg = {
        api: "PbxApi",
        mt: "SetPresence",
        sip: client.sip,
        guid: client.guid, // left out by JSON.stringify when the login had none
        contact: "tel:",
        activity: req.activity,
        note: req.note
    };
    pbxRequest("PbxApi", msg, function (err, result) {
        if (err) {
            sendError(client, req.src, "SetPresenceResult", "pbx", err);
            return;
        }
        if (result.error) {
            var why = typeof result.errorText === "string" && result.errorText ? result.errorText
                : "error " + String(result.error);
            logLine("the PBX refused the presence of " + client.sip + ": " + why);
            sendError(client, req.src, "SetPresenceResult", "pbx", "the PBX refused: " + why);
            return;
        }
        send(client, envelope(req.src, "SetPresenceResult"));
    });
}
