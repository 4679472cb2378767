/*
 * Connector for kuando® — the app service: the apps' JSON API: where connections come in.
 *
 * Evaluated after kuando-license.js (config.json "javascript.eval", in order, one global scope; ES5 like
 * every file of the service).
 *
 * Registers the JsonApi handler (the runtime accepts connections only once every javascript.eval file is
 * evaluated): a connection is admitted, each message goes to handleMessage (kuando-intake.js), and a close
 * ends the connection's claims in the presence guard and runs CLOSE_HOOKS. Nothing a client sends can
 * throw out of here.
 */

new JsonApi(API).onconnected(function (conn) {
    var client = new Client(conn);
    try {
        admitConnection(client);
    } catch (e) {
        logLine("internal error admitting a connection of " + client.sip + ": " + e);
    }
    conn.onmessage(function (text) {
        try {
            handleMessage(client, text);
        } catch (e) {
            // A bug, not the client's fault; the message itself is not logged (it may hold the token).
            logLine("internal error handling a message from " + client.sip + ": " + e);
        }
    });
    conn.onclose(function () {
        client.open = false;
        removeClient(client);
        try {
            guardConnectionClosed(client);
        } catch (e) {
            logLine("internal error in the presence guard: " + e);
        }
        for (var i = 0; i < CLOSE_HOOKS.length; i++) {
            try {
                CLOSE_HOOKS[i](client);
            } catch (e2) {
                logLine("internal error after a connection closed: " + e2);
            }
        }
    });
});
