"use strict";
/*
 * A stand-in for the innovaphone AppPlatform JavaScript runtime, enough to run service/kuando.js under Node.
 *
 * It provides exactly the globals the runtime documents for app services (JsonApi, PbxApi, Database, log and,
 * unless switched off, Timers) and nothing else: kuando.js is evaluated in a fresh vm context, so a use of
 * require, process, console, setTimeout or any other Node API fails the tests as it would fail on the
 * AppPlatform. Behaviour follows the runtime's documentation (JsonApi.htm, PbxApi.htm, Database.htm,
 * Timers.htm, appgeneric.htm); where the documentation is silent the choice is marked [inferred].
 *
 * Everything is deterministic: the runtime's asynchronous callbacks (database results, PBX answers) are
 * queued and delivered by rt.run(); time is virtual and moves only with rt.advance(ms).
 */

const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");

const SERVICE_DIR = path.join(__dirname, "..");
const SERVICE_FILE = path.join(SERVICE_DIR, "kuando.js");
const CONFIG_FILE = path.join(SERVICE_DIR, "config.json");

/** The AppWebsocket send limit (JsonApi.htm: "send takes at most 65535 characters"). */
const SEND_LIMIT = 65535;

/** Tables as config.json's database.init creates them: name → { columns: [{name, type}], key }. */
function tablesFromConfig(config) {
    const tables = new Map();
    for (const cmd of (config.database && config.database.init) || []) {
        if (cmd.cmd !== "table") continue;
        const columns = (cmd.init || []).filter((c) => c.cmd === "column");
        const key = columns.find((c) => /PRIMARY KEY/i.test(c.type));
        tables.set(cmd.name, { columns, key: key && key.name, rows: new Map() });
    }
    return tables;
}

/** PostgreSQL's decode(hex) + convert_from(UTF8), strictly. */
function fromHexUtf8(hex) {
    if (hex.length % 2 !== 0) throw new Error("odd hex digits");
    const text = Buffer.from(hex, "hex").toString("utf8");
    if (Buffer.from(text, "utf8").toString("hex") !== hex.toLowerCase()) throw new Error("invalid UTF-8");
    return text;
}

const TEXT = String.raw`convert_from\(decode\('([0-9a-f]*)','hex'\),'UTF8'\)`;

function createRuntime(options = {}) {
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
        /** Statements the stand-in database does not know: a test failure. */
        unknownSql: [],
        sql: [],
    };

    rt.later = (fn) => rt.queue.push(fn);

    /** Delivers every queued runtime callback (and those they queue). */
    rt.run = () => {
        for (let n = 0; rt.queue.length > 0; n++) {
            if (n > 100000) throw new Error("the service keeps the runtime busy forever");
            rt.queue.shift()();
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
    rt.advance = (ms) => {
        const end = rt.now + ms;
        rt.run();
        for (;;) {
            const due = rt.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
            if (!due) break;
            rt.now = due.at;
            if (due.every > 0) due.at += due.every;
            else rt.timers = rt.timers.filter((t) => t !== due);
            due.fn();
            rt.run();
        }
        rt.now = end;
    };

    // ---- Database (Database.htm) ------------------------------------------------------------------------
    const config = JSON.parse(fs.readFileSync(CONFIG_FILE, "utf8"));
    const db = {
        tables: tablesFromConfig(config),
        /** Every statement fails while set: {error, errorText, dbErrorCode}. */
        failure: null,
        /** The next statements fail, one entry each. */
        failNext: [],
        /** Database.exec itself throws while set (a runtime without a database connection). */
        throws: false,
    };
    rt.db = db;

    db.put = (table, row) => {
        const t = db.tables.get(table);
        t.rows.set(row[t.key], { ...row });
    };
    db.get = (table, key) => {
        const row = db.tables.get(table).rows.get(key);
        return row ? { ...row } : undefined;
    };

    /** Runs one statement the way PostgreSQL would, for the statements the service uses. */
    function execute(sql) {
        let m = new RegExp(`^SELECT (\\w+) FROM (\\w+) WHERE (\\w+)=${TEXT}$`).exec(sql);
        if (m) {
            const [, col, table, keyCol, keyHex] = m;
            const t = db.tables.get(table);
            if (!t || t.key !== keyCol || !t.columns.some((c) => c.name === col)) {
                throw { error: "sql", errorText: `no such table or column in: ${sql}`, dbErrorCode: "42703" };
            }
            const row = t.rows.get(fromHexUtf8(keyHex));
            // [inferred] oncomplete gets an array of row objects keyed by column name.
            return row ? [{ [col]: row[col] }] : [];
        }
        m = new RegExp(
            `^INSERT INTO (\\w+) \\((\\w+),(\\w+)\\) VALUES \\(${TEXT},${TEXT}\\) ` +
                `ON CONFLICT \\((\\w+)\\) DO UPDATE SET (\\w+)=EXCLUDED\\.(\\w+)$`
        ).exec(sql);
        if (m) {
            const [, table, keyCol, valCol, keyHex, valHex, conflictCol, setCol, excludedCol] = m;
            const t = db.tables.get(table);
            const ok =
                t &&
                t.key === keyCol &&
                conflictCol === keyCol &&
                setCol === valCol &&
                excludedCol === valCol &&
                t.columns.some((c) => c.name === valCol);
            if (!ok) throw { error: "sql", errorText: `no such table or column in: ${sql}`, dbErrorCode: "42703" };
            const key = fromHexUtf8(keyHex);
            const keyType = t.columns.find((c) => c.name === keyCol).type;
            const limit = /VARCHAR\((\d+)\)/i.exec(keyType);
            if (limit && [...key].length > Number(limit[1])) {
                throw { error: "sql", errorText: "value too long for type character varying", dbErrorCode: "22001" };
            }
            t.rows.set(key, { [keyCol]: key, [valCol]: fromHexUtf8(valHex) });
            return [];
        }
        rt.unknownSql.push(sql);
        throw { error: "sql", errorText: `syntax error (stand-in does not know): ${sql}`, dbErrorCode: "42601" };
    }

    function operation(sql) {
        rt.sql.push(sql);
        const op = { complete: null, error: null };
        const handle = {
            oncomplete(fn) {
                op.complete = fn;
                return handle;
            },
            onerror(fn) {
                op.error = fn;
                return handle;
            },
        };
        // The runtime answers later, never inside exec().
        rt.later(() => {
            const fail = db.failNext.length > 0 ? db.failNext.shift() : db.failure;
            let result;
            let err = fail
                ? {
                      error: fail.error || "db",
                      // Like PostgreSQL, the text may quote the statement.
                      errorText: fail.errorText || `failed: ${sql}`,
                      dbErrorCode: fail.dbErrorCode || "XX000",
                  }
                : null;
            if (!err) {
                try {
                    result = execute(sql);
                } catch (e) {
                    err = e;
                }
            }
            if (err) {
                if (op.error) op.error(err.error, err.errorText, err.dbErrorCode);
            } else if (op.complete) {
                op.complete(result);
            }
        });
        return handle;
    }

    const Database = {
        exec(sql) {
            if (db.throws) throw new Error("no database connection");
            if (typeof sql !== "string") throw new TypeError("Database.exec needs a string");
            return operation(sql);
        },
        insert(sql) {
            if (db.throws) throw new Error("no database connection");
            // Database.htm: the library appends " RETURNING id;".
            return operation(`${sql} RETURNING id;`);
        },
        escape(s) {
            // [inferred] Doubles single quotes; the service does not rely on it.
            return String(s).replace(/'/g, "''");
        },
        transaction() {
            throw new Error("Database.transaction is not part of the stand-in: the service does not use it");
        },
    };

    // ---- JsonApi (JsonApi.htm) ----------------------------------------------------------------------------
    function JsonApi(name) {
        if (!(this instanceof JsonApi)) throw new TypeError("JsonApi is a constructor");
        if (rt.jsonApis.has(name)) throw new Error(`JsonApi "${name}" registered twice`);
        this.name = name;
        this.connected = null;
        rt.jsonApis.set(name, this);
    }
    JsonApi.prototype.onconnected = function (fn) {
        this.connected = fn;
        return this;
    };

    /** A connection of an app (an AppWebsocket after AppLogin). */
    class AppConnection {
        constructor(user) {
            this.domain = user.domain || "example.com";
            this.sip = user.sip;
            this.dn = user.dn;
            this.guid = user.guid;
            this.app = user.app || "innovaphone-kuando";
            this.info = JSON.stringify(user.info || {});
            this.unlicensed = Boolean(user.unlicensed);
            this._message = null;
            this._close = null;
            this._closed = false;
            this._sent = [];
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
            if (this._closed) {
                rt.sendsAfterClose.push(text);
                return;
            }
            this._sent.push(text);
        }
        setFlowControl() {}
        messageComplete() {}
        encrypt() {
            throw new Error("not part of the stand-in");
        }
        decrypt() {
            throw new Error("not part of the stand-in");
        }
        hash() {
            throw new Error("not part of the stand-in");
        }
    }

    /**
     * Connects an app of `user` ({sip, guid, dn, domain, app, unlicensed, info}) to the JsonApi `api`.
     * Returns the test's end: send(textOrObject), messages (parsed), texts, take(), close().
     */
    rt.connectApp = (user, api = "kuando") => {
        const jsonApi = rt.jsonApis.get(api);
        if (!jsonApi || !jsonApi.connected) throw new Error(`no JsonApi "${api}" with onconnected`);
        const conn = new AppConnection(user);
        jsonApi.connected(conn);
        const end = {
            conn,
            /** Delivers a message to the service as the runtime would (it routes by api before). */
            send(msg) {
                if (conn._closed) throw new Error("connection closed");
                if (!conn._message) throw new Error("the service registered no onmessage");
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
                if (conn._close) conn._close();
            },
        };
        return end;
    };

    // ---- PbxApi (PbxApi.htm) ------------------------------------------------------------------------------
    function PbxApi(name) {
        if (!(this instanceof PbxApi)) throw new TypeError("PbxApi is a constructor");
        if (rt.pbxApis.has(name)) throw new Error(`PbxApi "${name}" registered twice`);
        this.name = name;
        this.connected = null;
        rt.pbxApis.set(name, this);
    }
    PbxApi.prototype.onconnected = function (fn) {
        this.connected = fn;
        return this;
    };

    class PbxConnection {
        constructor(api, pbx) {
            this.api = api;
            this.domain = "example.com";
            this.pbx = pbx;
            this.pbxDns = `${pbx}.example.com`;
            this.version = "14r2";
            this.build = "1";
            this.info = JSON.stringify({ appobj: "kuando" });
            this._message = null;
            this._close = null;
            this._closed = false;
            this.received = [];
            /** msg → answer object (sent later), or undefined for no answer. */
            this.answer = null;
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
            if (this._closed) {
                rt.sendsAfterClose.push(text);
                return;
            }
            const msg = JSON.parse(text);
            this.received.push(msg);
            if (this.answer) {
                const reply = this.answer(msg);
                if (reply !== undefined) rt.later(() => this.deliver(reply));
            }
        }
        close() {
            this.drop();
        }
        setFlowControl() {}
        messageComplete() {}
        /** The PBX sends a message (object or text) to the service. */
        deliver(msg) {
            if (this._closed) return;
            this._message(typeof msg === "string" ? msg : JSON.stringify(msg));
        }
        /** The connection goes away (PBX restart, network). */
        drop() {
            if (this._closed) return;
            this._closed = true;
            if (this._close) this._close();
        }
    }

    /** Connects the PBX app object's websocket for API `api`; `answer(msg)` returns the PBX's reply. */
    rt.connectPbx = (api, answer, pbxName = "pbx1") => {
        const pbxApi = rt.pbxApis.get(api);
        if (!pbxApi || !pbxApi.connected) throw new Error(`no PbxApi "${api}" with onconnected`);
        const conn = new PbxConnection(api, pbxName);
        conn.answer = answer || null;
        pbxApi.connected(conn);
        return conn;
    };

    // ---- the service --------------------------------------------------------------------------------------
    const globals = { JsonApi, PbxApi, Database, log };
    if (options.timers !== false) globals.Timers = Timers;
    rt.context = vm.createContext(globals);
    const source = fs.readFileSync(SERVICE_FILE, "utf8");
    vm.runInContext(source, rt.context, { filename: SERVICE_FILE });
    return rt;
}

module.exports = { createRuntime, SERVICE_DIR, SERVICE_FILE, CONFIG_FILE, SEND_LIMIT };
