"use strict";
/*
 * The AppPlatform JavaScript runtime host of the myApps simulator: runs the shipped service (service/kuando.js
 * by config.json) with the runtime's documented globals — JsonApi, PbxApi, Database (PostgreSQL), Timers, log —
 * and nothing else. The simulator (sim/src/myapps/runtime.rs) plays the AppPlatform's network side and the
 * PBX: it starts this process, and talks to it in JSON lines.
 *
 *   node host.js --service DIR --db URL --database NAME [--existing-database] [--config NAME=VALUE]...
 *
 * --config sets an instance config item (config.json config.init), as an administrator would; the service
 * reads it from the Config global (e.g. guardGraceSeconds=3 for tests that must not wait 60 s).
 *
 * simulator → host (stdin)
 *   {"t":"json","id":N,"api":A,"conn":{domain,sip,dn,guid,app,info,unlicensed}}  an app logged in (JsonApi A)
 *   {"t":"pbx","id":N,"api":A,"conn":{domain,pbx,pbxDns,version,build,info}}      the PBX app object connected
 *   {"t":"msg","id":N,"text":T}                                                     a message on connection N
 *   {"t":"close","id":N}                                                           connection N went away
 *   {"t":"stats"}                      the host's heap (after a GC when node runs with --expose-gc): benchmarks
 *   {"t":"dbFault","fail":N}           the next N database statements fail (a short database outage)
 * host → simulator (stdout)
 *   {"t":"ready","json":[api…],"pbx":[api…]}  the service is evaluated; the APIs it registered
 *   {"t":"send","id":N,"text":T}               the service sent T on connection N
 *   {"t":"detach","id":N}                      the service closed its PbxApi connection N (PbxApiConnection.close)
 *   {"t":"log","text":T}                       log(T)
 *   {"t":"error","text":T}                     the host failed (then it exits)
 *   {"t":"stats","heapUsed":B,"gc":bool}       the answer to stats
 * The database NAME is created in the cluster at URL on start and dropped when stdin closes (the instance
 * is removed); stdin closing stops the host. With --existing-database the instance starts again (the
 * AppPlatform restarted it after its process was killed): the database is kept as it is, and the service
 * finds what it stored before.
 */

const readline = require("node:readline");
const { Client } = require("pg");
const { SEND_LIMIT, openDatabase, readConfig, evaluate, configObject } = require("./appplatform.js");

function arg(name) {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : undefined;
}

function out(msg) {
    process.stdout.write(`${JSON.stringify(msg)}\n`);
}

function fail(text) {
    out({ t: "error", text });
    process.exit(1);
}

/** The cluster URL with another database name. */
function withDatabase(url, name) {
    const u = new URL(url);
    u.pathname = `/${name}`;
    return u.toString();
}

async function main() {
    const serviceDir = arg("service");
    const url = arg("db");
    const name = arg("database");
    if (!serviceDir || !url || !name || !/^[a-z_][a-z0-9_]*$/.test(name)) {
        fail("usage: host.js --service DIR --db URL --database NAME (lower-case SQL identifier)");
    }
    const config = readConfig(serviceDir);

    // The instance's own database, as the AppPlatform gives every app instance one.
    const admin = new Client({ connectionString: url, application_name: "kuando-appplatform-sim" });
    await admin.connect();
    if (!process.argv.includes("--existing-database")) {
        await admin.query(`DROP DATABASE IF EXISTS ${name}`);
        await admin.query(`CREATE DATABASE ${name}`);
    }

    const db = await openDatabase({
        url: withDatabase(url, name),
        config,
        later: (fn) => setImmediate(guard(fn)),
    });

    // ---- log, Timers --------------------------------------------------------------------------------------
    const log = (text) => out({ t: "log", text: String(text) });
    const Timers = {
        setTimeout: (fn, ms) => setTimeout(guard(fn), Number(ms)),
        clearTimeout: (id) => clearTimeout(id),
        setInterval: (fn, ms) => setInterval(guard(fn), Number(ms)),
        clearInterval: (id) => clearInterval(id),
    };

    // ---- connections -------------------------------------------------------------------------------------
    const conns = new Map();

    class Connection {
        constructor(id) {
            this._id = id;
            this._message = null;
            this._close = null;
            this._closed = false;
        }
        onmessage(fn) {
            this._message = fn;
            return this;
        }
        onclose(fn) {
            this._close = fn;
            return this;
        }
        send(text) {
            if (typeof text !== "string") throw new TypeError("send takes a string");
            if (text.length > SEND_LIMIT) throw new Error(`send: ${text.length} characters, limit ${SEND_LIMIT}`);
            // The runtime drops what is sent on a closed connection.
            if (!this._closed) out({ t: "send", id: this._id, text });
        }
        setFlowControl() {}
        messageComplete() {}
    }
    for (const m of ["encrypt", "decrypt", "hash"]) {
        Connection.prototype[m] = function () {
            throw new Error(`${m} is not simulated: the service does not use it`);
        };
    }

    class JsonApiConnection extends Connection {
        constructor(id, c) {
            super(id);
            this.domain = c.domain;
            this.sip = c.sip;
            this.dn = c.dn;
            this.guid = c.guid;
            this.app = c.app;
            // JsonApi.htm: info is the JSON *string* of the login info.
            this.info = c.info;
            this.unlicensed = Boolean(c.unlicensed);
        }
    }

    class PbxApiConnection extends Connection {
        constructor(id, api, c) {
            super(id);
            this.api = api;
            this.domain = c.domain;
            this.pbx = c.pbx;
            this.pbxDns = c.pbxDns;
            this.version = c.version;
            this.build = c.build;
            this.info = c.info;
        }
        close() {
            if (this._closed) return;
            this._closed = true;
            conns.delete(this._id);
            out({ t: "detach", id: this._id });
        }
    }

    const jsonApis = new Map();
    const pbxApis = new Map();
    function registry(map, kind) {
        function Api(name) {
            if (!(this instanceof Api)) throw new TypeError(`${kind} is a constructor`);
            if (map.has(name)) throw new Error(`${kind} "${name}" registered twice`);
            this.name = name;
            this.connected = null;
            map.set(name, this);
        }
        Api.prototype.onconnected = function (fn) {
            this.connected = fn;
            return this;
        };
        return Api;
    }
    const JsonApi = registry(jsonApis, "JsonApi");
    const PbxApi = registry(pbxApis, "PbxApi");

    // A service exception must not take the runtime down: the real runtime logs it and goes on.
    function guard(fn) {
        return (...a) => {
            try {
                fn(...a);
            } catch (e) {
                log(`runtime: uncaught exception in the service: ${e && e.stack ? e.stack.split("\n")[0] : e}`);
            }
        };
    }

    const values = {};
    process.argv.forEach((a, i) => {
        if (a !== "--config") return;
        const kv = String(process.argv[i + 1] || "");
        const eq = kv.indexOf("=");
        if (eq > 0) values[kv.slice(0, eq)] = kv.slice(eq + 1);
    });
    const Config = configObject(config, values);
    evaluate(serviceDir, config, { JsonApi, PbxApi, Database: db.Database, Timers, log, Config });
    out({ t: "ready", json: [...jsonApis.keys()], pbx: [...pbxApis.keys()] });

    function onLine(line) {
        let m;
        try {
            m = JSON.parse(line);
        } catch (e) {
            log(`runtime: unreadable line from the simulator`);
            return;
        }
        if (m.t === "json" || m.t === "pbx") {
            const api = (m.t === "json" ? jsonApis : pbxApis).get(m.api);
            if (!api || !api.connected) return;
            const conn = m.t === "json" ? new JsonApiConnection(m.id, m.conn) : new PbxApiConnection(m.id, m.api, m.conn);
            conns.set(m.id, conn);
            guard(api.connected)(conn);
        } else if (m.t === "msg") {
            const conn = conns.get(m.id);
            if (conn && conn._message && !conn._closed) guard(conn._message)(m.text);
        } else if (m.t === "dbFault") {
            db.failNext(m.fail);
        } else if (m.t === "stats") {
            const gc = typeof global.gc === "function";
            if (gc) global.gc();
            out({ t: "stats", heapUsed: process.memoryUsage().heapUsed, gc });
        } else if (m.t === "close") {
            const conn = conns.get(m.id);
            if (!conn) return;
            conns.delete(m.id);
            conn._closed = true;
            if (conn._close) guard(conn._close)();
        }
    }

    const rl = readline.createInterface({ input: process.stdin });
    rl.on("line", onLine);
    rl.on("close", async () => {
        // The instance goes away: its database with it. Never hang here.
        setTimeout(() => process.exit(0), 3000).unref();
        try {
            await db.close(false);
            await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
            await admin.end();
        } catch (e) {
            // Best effort: a cluster that is already stopped keeps nothing anyway.
        }
        process.exit(0);
    });
}

main().catch((e) => fail(`runtime host: ${e && e.message ? e.message : e}`));
