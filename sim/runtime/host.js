"use strict";
/*
 * The AppPlatform JavaScript runtime host of the myApps simulator: runs the shipped service (the files of
 * service/ that config.json's javascript.eval lists, in order) in Duktape 2.7, the runtime's engine (a
 * kuando-duk-host process, sim/runtime/duk.js), with the runtime's documented globals — JsonApi, PbxApi,
 * Database (PostgreSQL), Timers, Config, log — and nothing else. This process keeps what is IO: the database,
 * real timers, the connections. The simulator (sim/src/myapps/runtime.rs) plays the AppPlatform's network side
 * and the PBX: it starts this process, and talks to it in JSON lines.
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
 *   {"t":"stats"}                      the engine's heap after a full GC: benchmarks
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
const { openDatabase, readConfig, configObject } = require("./appplatform.js");
const { AsyncEngine, initLine } = require("./duk.js");

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

    // ---- the engine: the service in Duktape, the globals forwarded to this process (sim/runtime/duk.js) ----
    const open = new Set(); // connection ids the service may send on
    const timers = new Map(); // the engine's timer id → Node timer
    let stats = false;
    const engine = new AsyncEngine({
        onLine: (m) => {
            if (m.t === "send") {
                // The runtime drops what is sent on a closed connection.
                if (open.has(m.id)) out({ t: "send", id: m.id, text: m.text });
            } else if (m.t === "detach") {
                open.delete(m.id);
                out({ t: "detach", id: m.id });
            } else if (m.t === "log") {
                out({ t: "log", text: m.text });
            } else if (m.t === "exec") {
                const handle = m.insert ? db.Database.insert(m.sql) : db.Database.exec(m.sql);
                handle
                    .oncomplete((rows) => engine.send({ t: "db", id: m.id, rows }))
                    .onerror((error, errorText, dbErrorCode) => engine.send({ t: "db", id: m.id, error, errorText, dbErrorCode }));
            } else if (m.t === "settimer") {
                const fire = () => {
                    if (!m.every) timers.delete(m.id);
                    engine.send({ t: "timer", id: m.id });
                };
                timers.set(m.id, m.every ? setInterval(fire, m.ms) : setTimeout(fire, m.ms));
            } else if (m.t === "cleartimer") {
                clearTimeout(timers.get(m.id));
                clearInterval(timers.get(m.id));
                timers.delete(m.id);
            } else if (m.t === "stats") {
                stats = false;
                out({ t: "stats", heapUsed: m.heap, gc: true });
            } else if (m.t === "ready") {
                out({ t: "ready", json: m.json, pbx: m.pbx });
            } else if (m.t === "error") {
                fail(m.text);
            }
        },
        onExit: (code) => fail(`the Duktape host exited (${code})`),
    });

    const db = await openDatabase({
        url: withDatabase(url, name),
        config,
        later: (fn) => setImmediate(fn),
    });

    const values = {};
    process.argv.forEach((a, i) => {
        if (a !== "--config") return;
        const kv = String(process.argv[i + 1] || "");
        const eq = kv.indexOf("=");
        if (eq > 0) values[kv.slice(0, eq)] = kv.slice(eq + 1);
    });
    engine.send(initLine(serviceDir, config, { values: { ...configObject(config, values) } }));

    function onLine(line) {
        let m;
        try {
            m = JSON.parse(line);
        } catch (e) {
            out({ t: "log", text: "runtime: unreadable line from the simulator" });
            return;
        }
        if (m.t === "json" || m.t === "pbx") {
            open.add(m.id);
            engine.send(m);
        } else if (m.t === "msg") {
            engine.send(m);
        } else if (m.t === "dbFault") {
            db.failNext(m.fail);
        } else if (m.t === "close") {
            open.delete(m.id);
            engine.send(m);
        } else if (m.t === "stats") {
            if (!stats) engine.send({ t: "stats" });
            stats = true;
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
        engine.end();
        process.exit(0);
    });
}

main().catch((e) => fail(`runtime host: ${e && e.message ? e.message : e}`));
