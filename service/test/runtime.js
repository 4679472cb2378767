"use strict";
/*
 * The innovaphone AppPlatform JavaScript runtime for the service's Node tests: the service's files (config.json
 * "javascript.eval", in order, one global scope, as the runtime evaluates them) run in
 * Duktape 2.7, the runtime's engine (sim/runtime/duk.js: a host process of its own, driven synchronously), with
 * exactly the runtime's documented globals (JsonApi, PbxApi, Database, Config, log and, unless switched off,
 * Timers) as the prelude's forwarders, so anything beyond ES5 or the runtime's globals fails the tests as it
 * would fail on the AppPlatform. rt.cpu() and rt.heap() measure the engine (hardening tests).
 *
 * The database is real: PostgreSQL (KUANDO_PG_URL, set by ./build.sh test; else the repository's cluster,
 * started by tools/pg.sh), one schema per runtime with config.json's database.init applied as the
 * AppPlatform applies it. Tests can still make it fail (rt.db.failure, failNext, throws), as a broken
 * database would.
 *
 * The rest is deterministic: the runtime's callbacks are queued and delivered by `await rt.run()` (which also
 * waits for the database), time is virtual and moves only with `await rt.advance(ms)`. The apps' and the
 * PBX's connections are the test's ends.
 */

const path = require("node:path");
const { execFileSync } = require("node:child_process");
const { openDatabase, readConfig, configObject } = require("../../sim/runtime/appplatform.js");
const { SyncEngine, initLine } = require("../../sim/runtime/duk.js");

const SERVICE_DIR = path.join(__dirname, "..");
const CONFIG_FILE = path.join(SERVICE_DIR, "config.json");
/** The service's scripts, in evaluation order: the one list, config.json's javascript.eval. */
const SERVICE_FILES = readConfig(SERVICE_DIR).javascript.eval.map((f) => path.join(SERVICE_DIR, f));

/** What the service's Date.now() says at virtual time 0 (the tests' clock; 2026-01-01). */
const EPOCH = Date.UTC(2026, 0, 1);

/** The AppWebsocket send limit (JsonApi.htm: "send takes at most 65535 characters"). */
const SEND_LIMIT = 65535;

/** The PostgreSQL cluster: KUANDO_PG_URL, else the repository's own (started when it is not running). */
let pgUrl = null;
function clusterUrl() {
    if (pgUrl) return pgUrl;
    pgUrl = (process.env.KUANDO_PG_URL || "").trim();
    if (!pgUrl) {
        const root = path.join(__dirname, "..", "..");
        pgUrl = execFileSync("bash", [path.join(root, "tools", "pg.sh"), "start", path.join(root, "target", "pg")], {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "inherit"],
        }).trim();
    }
    return pgUrl;
}

/*
 * Every runtime gets an empty database of its own. Connections and their schemas are reused from test to
 * test (emptied with TRUNCATE, then database.init applied again as at every start of an instance): a fresh
 * schema per runtime would cost PostgreSQL's catalog work 300 times per run.
 */
const open = [];
/** The Duktape hosts of the test's runtimes, stopped by closeAll. */
const live = [];
const idle = [];
let nextSchema = 1;

async function takeClient(config) {
    const reuse = idle.pop();
    if (reuse) return reuse;
    const { Client } = require(require.resolve("pg", { paths: [path.join(__dirname, "..", "..", "sim", "runtime")] }));
    const client = new Client({ connectionString: clusterUrl(), application_name: "kuando-service-tests" });
    await client.connect();
    const schema = `kuando_test_${process.pid}_${nextSchema++}`;
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.query(`CREATE SCHEMA ${schema}`);
    await client.query(`SET search_path TO ${schema}`);
    return { client, schema, tables: config.database.init.filter((c) => c.cmd === "table").map((c) => c.name) };
}

/** Ends every runtime of the test (afterEach) and, at the end of the file, the connections (after). */
async function closeAll() {
    for (const engine of live.splice(0)) engine.close();
    for (const slot of open.splice(0)) {
        try {
            await slot.database.whenIdle();
            if (slot.tables.length > 0) await slot.client.query(`TRUNCATE ${slot.tables.join(", ")}`);
            idle.push(slot);
        } catch (e) {
            await slot.client.end().catch(() => {});
        }
    }
}

async function endAll() {
    await closeAll();
    for (const slot of idle.splice(0)) {
        await slot.client.query(`DROP SCHEMA IF EXISTS ${slot.schema} CASCADE`).catch(() => {});
        await slot.client.end().catch(() => {});
    }
}

async function createRuntime(options = {}) {
    const rt = {
        logs: [],
        /** Runtime callbacks waiting to be delivered. */
        queue: [],
        now: 0,
        timers: [],
        nextTimer: 1,
        jsonApis: new Map(),
        pbxApis: new Map(),
        /** Everything the service sent on a closed connection (the runtime would drop it). */
        sendsAfterClose: [],
        /** Statements PostgreSQL refused without a test asking for it: a test failure. */
        dbErrors: [],
        sql: [],
    };

    rt.later = (fn) => rt.queue.push(fn);

    /** Delivers every queued runtime callback (and those they queue), waiting for the database's answers. */
    rt.run = async () => {
        for (let n = 0; ; n++) {
            if (n > 100000) throw new Error("the service keeps the runtime busy forever");
            if (rt.queue.length > 0) {
                rt.queue.shift()();
            } else if (rt.database.busy) {
                await rt.database.whenIdle();
            } else {
                break;
            }
        }
    };

    // ---- log ------------------------------------------------------------------------------------------
    function log(text) {
        rt.logs.push(String(text));
    }

    // ---- Timers (Timers.htm) ----------------------------------------------------------------------------
    const Timers = {
        setTimeout(fn, ms) {
            const id = rt.nextTimer++;
            rt.timers.push({ id, at: rt.now + Number(ms), fn, every: 0 });
            return id;
        },
        clearTimeout(id) {
            rt.timers = rt.timers.filter((t) => t.id !== id);
        },
        setInterval(fn, ms) {
            const id = rt.nextTimer++;
            rt.timers.push({ id, at: rt.now + Number(ms), fn, every: Number(ms) });
            return id;
        },
        clearInterval(id) {
            rt.timers = rt.timers.filter((t) => t.id !== id);
        },
    };

    /** Moves virtual time, firing due timers in order; queued callbacks run between them. */
    rt.advance = async (ms) => {
        const end = rt.now + ms;
        await rt.run();
        for (;;) {
            const due = rt.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
            if (!due) break;
            rt.now = due.at;
            if (due.every > 0) due.at += due.every;
            else rt.timers = rt.timers.filter((t) => t !== due);
            due.fn();
            await rt.run();
        }
        rt.now = end;
    };

    // ---- Database (Database.htm), on PostgreSQL ---------------------------------------------------------
    const config = readConfig(SERVICE_DIR);
    const db = {
        /** Every statement fails while set: {error, errorText, dbErrorCode}. */
        failure: null,
        /** The next statements fail, one entry each. */
        failNext: [],
        /** Database.exec itself throws while set (a runtime without a database connection). */
        throws: false,
    };
    rt.db = db;
    const hooks = {
        fault(sql) {
            rt.sql.push(sql);
            const fail = db.failNext.length > 0 ? db.failNext.shift() : db.failure;
            if (!fail) return null;
            return {
                error: fail.error || "db",
                // Like PostgreSQL, the text may quote the statement.
                errorText: fail.errorText || `failed: ${sql}`,
                dbErrorCode: fail.dbErrorCode || "XX000",
            };
        },
        throws: () => db.throws,
    };
    // options.restartOf: the same instance started again (an AppPlatform restart): its database as it was.
    const slot = options.restartOf ? options.restartOf.slot : await takeClient(config);
    rt.slot = slot;
    rt.database = await openDatabase({
        client: slot.client,
        config,
        later: rt.later,
        hooks,
        onDbError: (sql, err) => rt.dbErrors.push({ sql, ...err }),
    });
    slot.database = rt.database;
    // options.dbFail: the first N statements of this start fail (a database that is not up yet).
    if (options.dbFail) rt.database.failNext(options.dbFail);
    if (!options.restartOf) open.push(slot);
    const tableKey = (table) => {
        const t = config.database.init.find((c) => c.cmd === "table" && c.name === table);
        const key = t && t.init.find((c) => c.cmd === "column" && /PRIMARY KEY/i.test(c.type));
        if (!key) throw new Error(`no table ${table} with a primary key in config.json`);
        return key.name;
    };
    /** A row written straight into the table (as an older version of the service might have left it). */
    db.put = async (table, row) => {
        const cols = Object.keys(row);
        const sql = `INSERT INTO ${table} (${cols.join(",")}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(",")})`;
        await rt.database.client.query(sql, cols.map((c) => row[c]));
    };
    /** The row of `key` as PostgreSQL has it, or undefined. */
    db.get = async (table, key) => {
        const res = await rt.database.client.query(`SELECT * FROM ${table} WHERE ${tableKey(table)}=$1`, [key]);
        return res.rows[0];
    };

    // ---- the engine: Duktape, with the runtime's globals as forwarders (sim/runtime/duk/prelude.js) ----------
    const engine = new SyncEngine();
    rt.engine = engine;
    live.push(engine);
    /** CPU time (µs) the engine spent on the last line it was handed (a message, a timer, an answer). */
    rt.cpu = () => engine.cpu;
    /** The part of it spent in the service's own callbacks (without the host decoding the line). */
    rt.serviceCpu = () => engine.service;
    /** The engine's heap in bytes (after a full collection when `gc`). */
    rt.heap = (gc = false) => {
        if (!gc) return engine.heap;
        const [stats] = engine.dispatch({ t: "stats" });
        return stats.heap;
    };
    const conns = new Map(); // id → the test's end of a connection
    let nextConn = 1;
    const timerFns = new Map(); // the engine's timer id → rt.timers entry
    let dbThrows = false;

    /** Hands a line to the engine and carries out what it wrote. */
    function dispatch(m) {
        if (db.throws !== dbThrows) {
            dbThrows = db.throws;
            engine.dispatch({ t: "dbthrows", on: dbThrows });
        }
        const outs = engine.dispatch({ ...m, now: EPOCH + rt.now });
        for (const o of outs) apply(o);
        return outs;
    }

    function apply(o) {
        if (o.t === "send") {
            const c = conns.get(o.id);
            if (c) c.fromService(o.text);
        } else if (o.t === "detach") {
            const c = conns.get(o.id);
            if (c) c._closed = true;
        } else if (o.t === "log") {
            log(o.text);
        } else if (o.t === "exec") {
            const Database = rt.database.Database;
            const handle = o.insert ? Database.insert(o.sql) : Database.exec(o.sql);
            handle
                .oncomplete((rows) => dispatch({ t: "db", id: o.id, rows }))
                .onerror((error, errorText, dbErrorCode) => dispatch({ t: "db", id: o.id, error, errorText, dbErrorCode }));
        } else if (o.t === "settimer") {
            const t = { id: rt.nextTimer++, at: rt.now + o.ms, fn: () => dispatch({ t: "timer", id: o.id }), every: o.every ? o.ms : 0 };
            timerFns.set(o.id, t);
            rt.timers.push(t);
        } else if (o.t === "cleartimer") {
            const t = timerFns.get(o.id);
            timerFns.delete(o.id);
            rt.timers = rt.timers.filter((x) => x !== t);
        } else if (o.t === "error") {
            throw new Error(`the service failed in Duktape: ${o.text}`);
        }
    }

    /** A connection's test end: what the service sent on it, and its way in. */
    class Connection {
        constructor() {
            this.id = nextConn++;
            this._closed = false;
            conns.set(this.id, this);
            // The runtime's delivery of a message (any value, as a broken runtime might hand one over).
            this._message = (text) => {
                dispatch({ t: "msg", id: this.id, text });
            };
            this._close = () => dispatch({ t: "close", id: this.id });
        }
        /** The service sent `text` on this connection (the runtime drops it once closed). */
        fromService(text) {
            if (this._closed) rt.sendsAfterClose.push(text);
            else this.sent(text);
        }
    }

    /** A connection of an app (an AppWebsocket after AppLogin). */
    class AppConnection extends Connection {
        constructor(user) {
            super();
            this.domain = user.domain || "example.com";
            this.sip = user.sip;
            this.dn = user.dn;
            this.guid = user.guid;
            this.app = user.app || "innovaphone-kuando";
            this.info = JSON.stringify(user.info || {});
            this.unlicensed = Boolean(user.unlicensed);
            this._sent = [];
        }
        sent(text) {
            this._sent.push(text);
        }
    }

    /**
     * Connects an app of `user` ({sip, guid, dn, domain, app, unlicensed, info}) to the JsonApi `api`.
     * Returns the test's end: send(textOrObject), messages (parsed), texts, take(), close().
     */
    rt.connectApp = (user, api = "kuando") => {
        if (!rt.jsonApis.has(api)) throw new Error(`no JsonApi "${api}"`);
        const conn = new AppConnection(user);
        const { domain, sip, dn, guid, app, info, unlicensed } = conn;
        dispatch({ t: "json", id: conn.id, api, conn: { domain, sip, dn, guid, app, info, unlicensed } });
        const end = {
            conn,
            /** Delivers a message to the service as the runtime would (it routes by api before). */
            send(msg) {
                if (conn._closed) throw new Error("connection closed");
                conn._message(typeof msg === "string" ? msg : JSON.stringify(msg));
            },
            get texts() {
                return conn._sent.slice();
            },
            get messages() {
                return conn._sent.map((t) => JSON.parse(t));
            },
            /** The messages received since the last take(). */
            take() {
                const out = conn._sent.map((t) => JSON.parse(t));
                conn._sent.length = 0;
                return out;
            },
            close() {
                conn._closed = true;
                conn._close();
            },
        };
        return end;
    };

    // ---- PbxApi (PbxApi.htm) ------------------------------------------------------------------------------
    class PbxConnection extends Connection {
        constructor(api, pbx) {
            super();
            this.api = api;
            this.domain = "example.com";
            this.pbx = pbx;
            this.pbxDns = `${pbx}.example.com`;
            this.version = "14r2";
            this.build = "1";
            this.info = JSON.stringify({ appobj: "kuando" });
            this.received = [];
            /** msg → answer object (sent later), or undefined for no answer. */
            this.answer = null;
        }
        sent(text) {
            const msg = JSON.parse(text);
            this.received.push(msg);
            if (this.answer) {
                const reply = this.answer(msg);
                if (reply !== undefined) rt.later(() => this.deliver(reply));
            }
        }
        /** The PBX sends a message (object or text) to the service. */
        deliver(msg) {
            if (this._closed) return;
            this._message(typeof msg === "string" ? msg : JSON.stringify(msg));
        }
        /** The connection goes away (PBX restart, network). */
        drop() {
            if (this._closed) return;
            this._closed = true;
            this._close();
        }
    }

    /** Connects the PBX app object's websocket for API `api`; `answer(msg)` returns the PBX's reply. */
    rt.connectPbx = (api, answer, pbxName = "pbx1") => {
        if (!rt.pbxApis.has(api)) throw new Error(`no PbxApi "${api}"`);
        const conn = new PbxConnection(api, pbxName);
        conn.answer = answer || null;
        const { domain, pbx, pbxDns, version, build, info } = conn;
        dispatch({ t: "pbx", id: conn.id, api, conn: { domain, pbx, pbxDns, version, build, info } });
        return conn;
    };

    // ---- the service --------------------------------------------------------------------------------------
    const values = { ...configObject(config, options.config || {}) };
    const outs = dispatch({ ...initLine(SERVICE_DIR, config, { values, timers: options.timers !== false }), clock: "virtual" });
    const ready = outs.find((o) => o.t === "ready");
    if (!ready) throw new Error("the service did not start in Duktape");
    for (const name of ready.json) rt.jsonApis.set(name, true);
    for (const name of ready.pbx) rt.pbxApis.set(name, true);

    /**
     * The service's globals, as a test may look at them: plain values as JSON copies, functions as calls
     * into the engine (arguments and result as JSON).
     */
    rt.context = new Proxy(
        {},
        {
            get(_, name) {
                if (typeof name !== "string") return undefined;
                const [v] = engine.dispatch({ t: "peek", name });
                if (!v.fn) return v.value;
                return (...args) => {
                    const [r] = dispatch({ t: "call", name, args });
                    if (r.error !== undefined) throw new Error(r.error);
                    return r.value;
                };
            },
        }
    );
    return rt;
}

/** A PBX that answers every request it knows, granting the given licenses to everyone. */
function answeringPbx(rt, { licenses = ["App(innovaphone-kuando)"], refuse = false } = {}) {
    const pbx = rt.connectPbx("PbxApi", (msg) =>
        msg.mt === "SetPresence"
            ? { api: "PbxApi", mt: "SetPresenceResult", error: refuse ? 3 : 0, errorText: refuse ? "no" : "", src: msg.src }
            : undefined
    );
    const admin = rt.connectPbx("PbxAdminApi", (msg) =>
        msg.mt === "CheckAppLic"
            ? { api: "PbxAdminApi", mt: "CheckAppLicResult", ok: licenses.includes(msg.lic), src: msg.src }
            : undefined
    );
    return { pbx, admin };
}

module.exports = { createRuntime, closeAll, endAll, answeringPbx, SERVICE_DIR, SERVICE_FILES, CONFIG_FILE, SEND_LIMIT };
