/*
 * Connector for kuando® — the app service: the user's settings in the database (GetConfig, SetConfig).
 *
 * Evaluated after kuando-intake.js (config.json "javascript.eval", in order, one global scope; ES5 like every
 * file of the service).
 *
 * One row per user in user_config, the settings as JSON text; also the database helpers (sqlText, dbExec)
 * the presence guard and the fleet view use.
 */

/* A text as an SQL expression that cannot break out of its literal: hex of its UTF-8, decoded by PostgreSQL.
 * Used instead of Database.escape because its contract (quotes added or not) is not documented, and a
 * wrong guess would be an injection or a broken statement. */
function sqlText(s) {
    return "convert_from(decode('" + utf8Hex(s) + "','hex'),'UTF8')";
}

/* Runs one statement; cb(errorInfo | null, rows). Never calls back twice, never throws. */
function dbExec(sql, cb) {
    var done = false;
    function finish(err, rows) {
        if (done) return;
        done = true;
        cb(err, rows);
    }
    try {
        Database.exec(sql)
            .oncomplete(function (rows) { finish(null, rows); })
            .onerror(function (error, errorText, dbErrorCode) {
                finish({ error: error, errorText: errorText, dbErrorCode: dbErrorCode });
            });
    } catch (e) {
        finish({ error: "exception", errorText: String(e), dbErrorCode: undefined });
    }
}

/* Database errors are logged by code only: their text may quote the statement, which holds the settings
 * (with the token, hex-encoded). */
function logDbError(what, sip, err) {
    logLine(what + " for " + sip + " failed in the database (error " + String(err.error) +
        ", code " + String(err.dbErrorCode) + ")");
}

/* Stored settings, read like Config::from_json: unknown fields dropped, missing ones defaulted. Settings that
 * cannot be read give the defaults: the user's apps keep working and the config app shows what to re-enter. */
function storedConfig(text, sip) {
    if (typeof text !== "string") return defaultConfig();
    var parsed = parseJson(text, "config");
    if (parsed.error === undefined && parsed.tooLarge === undefined) {
        try {
            var c = readConfig(new Reader(parsed.dups), parsed.value, "config");
            // Settings an older service stored without the stored-form rule would make every answer too long.
            if (storedFormErrors(c).length === 0 && storedText(c) !== null) return c;
        } catch (e) {
            if (!(e instanceof Malformed)) throw e;
        }
    }
    logLine("stored settings of " + sip + " are unreadable, using the defaults");
    return defaultConfig();
}

function getConfig(client, req) {
    dbExec("SELECT config FROM user_config WHERE sip=" + sqlText(client.sip), function (err, rows) {
        if (err) {
            logDbError("reading the settings", client.sip, err);
            sendError(client, req.src, "GetConfigResult", "database", "the settings could not be read");
            return;
        }
        // [inferred] Rows come as an array of objects keyed by column name.
        var row = rows && rows.length > 0 ? rows[0] : null;
        var m = envelope(req.src, "GetConfigResult");
        m.config = row ? storedConfig(row.config, client.sip) : defaultConfig();
        send(client, m);
    });
}

function setConfig(client, req) {
    var config = req.config;
    var fields = storedFormErrors(config);
    if (fields.length === 0) fields = validateConfig(config);
    if (fields.length > 0) {
        sendError(client, req.src, "SetConfigResult", "invalidConfig", "invalid settings", fields);
        return;
    }
    // The canonical form is stored (unknown fields already dropped), so a row is a few KB at most.
    var text = storedText(config);
    if (text === null) {
        sendError(client, req.src, "SetConfigResult", "invalidConfig", "the settings are too long to store");
        return;
    }
    var sql = "INSERT INTO user_config (sip,config) VALUES (" + sqlText(client.sip) + "," + sqlText(text) +
        ") ON CONFLICT (sip) DO UPDATE SET config=EXCLUDED.config";
    dbExec(sql, function (err) {
        if (err) {
            logDbError("storing the settings", client.sip, err);
            sendError(client, req.src, "SetConfigResult", "database", "the settings could not be stored");
            return;
        }
        var m = envelope(req.src, "SetConfigResult");
        m.config = config;
        send(client, m);
        // The user's other apps (the hidden app on every PC, other config windows) follow at once.
        var others = (clientsBySip[client.sip] || []).slice();
        for (var i = 0; i < others.length; i++) {
            if (others[i] === client) continue;
            var push = envelope(undefined, "ConfigChanged");
            push.config = config;
            send(others[i], push);
        }
    });
}
