"use strict";
/*
 * The innovaphone AppPlatform JavaScript runtime, simulated for the app service: the parts that are the same
 * for the myApps simulator's runtime host (host.js) and the service's Node tests (service/test/runtime.js).
 *
 * - openDatabase(): the instance's database on a real PostgreSQL, config.json's database.init applied as the
 *   runtime applies it, and the `Database` global over it (Database.htm: exec, insert, escape, transaction).
 * - configObject(): the `Config` global's values (config.json's config.init with the instance's values).
 * The service itself runs in Duktape (duk.js, duk/): this module is the IO side of the runtime.
 *
 * Facts: shared/spec/appplatform-deployment.md §2 (config.json), §4 (runtime semantics), app-service.md.
 */

const fs = require("node:fs");
const path = require("node:path");
const { Client } = require("pg");

/** The AppWebsocket send limit (JsonApi.htm / PbxApi.htm: send takes at most 65535 characters). */
const SEND_LIMIT = 65535;

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

function ident(name, what) {
    if (typeof name !== "string" || !IDENT.test(name)) {
        throw new Error(`config.json database: ${what} name ${JSON.stringify(name)} is not an SQL identifier`);
    }
    return name;
}

/**
 * The SQL that config.json's database.init stands for, in order. Tables are created when missing and gain
 * the columns a newer config.json adds ([inferred]: the runtime upgrades an instance's tables in place when
 * an app update adds columns; it never drops any). Constraints go into CREATE TABLE; indexes and sequences
 * are created when missing. Prepared statements (`cmd:"statement"`) are a client-side framework feature the
 * service does not use: they are refused here, so that nobody relies on a simulation of them.
 */
function initStatements(config) {
    const out = [];
    const init = (config && config.database && config.database.init) || [];
    if (!Array.isArray(init)) throw new Error("config.json database.init is not an array");
    for (const cmd of init) {
        if (cmd.cmd === "table") {
            const table = ident(cmd.name, "table");
            const parts = [];
            const columns = [];
            const after = [];
            for (const c of cmd.init || []) {
                if (c.cmd === "column") {
                    columns.push(`${ident(c.name, "column")} ${String(c.type)}`);
                } else if (c.cmd === "constraint") {
                    parts.push(`CONSTRAINT ${ident(c.name, "constraint")} ${String(c.value)}`);
                } else if (c.cmd === "index") {
                    const cols = String(c.value)
                        .split(",")
                        .map((s) => ident(s.trim(), "index column"))
                        .join(", ");
                    after.push(
                        `CREATE ${c.unique ? "UNIQUE " : ""}INDEX IF NOT EXISTS ${ident(c.name, "index")} ON ${table} (${cols})`
                    );
                } else {
                    throw new Error(`config.json database: table ${table}: unknown cmd ${JSON.stringify(c.cmd)}`);
                }
            }
            if (columns.length === 0) throw new Error(`config.json database: table ${table} has no column`);
            out.push(`CREATE TABLE IF NOT EXISTS ${table} (${columns.concat(parts).join(", ")})`);
            for (const col of columns) {
                // PRIMARY KEY / UNIQUE columns exist from CREATE TABLE; later ones are added plain.
                if (!/PRIMARY KEY/i.test(col)) out.push(`ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ${col}`);
            }
            out.push(...after);
        } else if (cmd.cmd === "sequence") {
            out.push(`CREATE SEQUENCE IF NOT EXISTS ${ident(cmd.name, "sequence")}`);
        } else {
            throw new Error(`config.json database: cmd ${JSON.stringify(cmd.cmd)} is not simulated`);
        }
    }
    return out;
}

/**
 * Connects to the instance's database (`url`, optionally with a schema of its own; or a `client` already
 * connected) and applies config.json's database.init. Returns {client, Database, whenIdle, busy, close}.
 *
 * `later(fn)` delivers a runtime callback; the runtime never calls back inside exec(). `hooks` lets a test
 * fail statements as a broken database would: hooks.fault(sql) returns {error, errorText, dbErrorCode} or
 * null, hooks.throws() makes exec itself throw (no database connection).
 */
async function openDatabase({ url, schema, config, later, hooks = {}, onDbError, client: given }) {
    let client = given;
    if (!client) {
        client = new Client({ connectionString: url, application_name: "kuando-appplatform-sim" });
        await client.connect();
        if (schema) {
            ident(schema, "schema");
            await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
            await client.query(`SET search_path TO ${schema}`);
        }
    }
    for (const sql of initStatements(config)) await client.query(sql);

    let inFlight = 0;
    const idle = [];
    /** The simulated AppPlatform's database fault (`POST /_sim/service/db-fault`): the next N statements fail. */
    let failing = 0;
    function settled() {
        inFlight--;
        if (inFlight === 0) for (const fn of idle.splice(0)) fn();
    }

    function operation(sql, map) {
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
        inFlight++;
        let fault = hooks.fault ? hooks.fault(sql) : null;
        if (!fault && failing > 0) {
            failing--;
            fault = { error: "db", errorText: "simulated database fault", dbErrorCode: "08006" };
        }
        const run = fault ? Promise.reject(fault) : client.query(sql);
        run.then(
            (res) => {
                later(() => {
                    if (op.complete) op.complete(map(res));
                });
                settled();
            },
            (e) => {
                // pg's error: message, code (SQLSTATE). Database.htm: onerror(error, errorText, dbErrorCode).
                const err = fault
                    ? fault
                    : { error: "sql", errorText: String(e && e.message), dbErrorCode: e && e.code };
                if (!fault && onDbError) onDbError(sql, err);
                later(() => {
                    if (op.error) op.error(err.error, err.errorText, err.dbErrorCode);
                });
                settled();
            }
        );
        return handle;
    }

    function checkSql(sql) {
        if (hooks.throws && hooks.throws()) throw new Error("no database connection");
        if (typeof sql !== "string") throw new TypeError("Database.exec needs a string");
    }

    // [inferred] oncomplete gets the rows as an array of objects keyed by column name (the samples read
    // rows[i].column); values as PostgreSQL's client library converts them.
    const rowsOf = (res) => (Array.isArray(res) ? res[res.length - 1].rows : res.rows);

    const Database = {
        exec(sql) {
            checkSql(sql);
            return operation(sql, rowsOf);
        },
        insert(sql) {
            checkSql(sql);
            // Database.htm: the library appends " RETURNING id;" and hands over the new row's id.
            return operation(`${sql} RETURNING id;`, (res) => {
                const rows = rowsOf(res);
                return rows.length > 0 ? rows[0].id : undefined;
            });
        },
        escape(s) {
            // [inferred] Doubles single quotes (the quotes around the literal are the caller's); the
            // service does not use it.
            return String(s).replace(/'/g, "''");
        },
        transaction() {
            throw new Error("Database.transaction is not simulated: the service does not use it");
        },
    };

    return {
        client,
        Database,
        /** The next `n` statements fail (a short database outage). */
        failNext(n) {
            failing = Math.max(0, Math.floor(Number(n)) || 0);
        },
        /** Resolves once no statement is running. */
        whenIdle() {
            return inFlight === 0 ? Promise.resolve() : new Promise((r) => idle.push(r));
        },
        get busy() {
            return inFlight > 0;
        },
        async close(dropSchema) {
            try {
                if (schema && dropSchema) await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
            } finally {
                await client.end();
            }
        },
    };
}

/** config.json of a service directory. */
function readConfig(serviceDir) {
    return JSON.parse(fs.readFileSync(path.join(serviceDir, "config.json"), "utf8"));
}

/**
 * The `Config` global (Config.htm): one property per config.json `config.init` item, its `default`, or the
 * instance's value from `values` (name → text, as an administrator would set it); numeric items are clamped
 * to min/max as the runtime's items are. save() and onchanged() are accepted; nothing changes them here.
 */
function configObject(config, values = {}) {
    const items = (config && config.config && config.config.init) || [];
    const c = {};
    for (const it of items) {
        if (!it || it.cmd !== "item" || typeof it.name !== "string") continue;
        let v = Object.prototype.hasOwnProperty.call(values, it.name) ? values[it.name] : it.default;
        if (["INT", "DWORD", "LONG64", "ULONG64"].includes(it.type)) {
            v = Math.trunc(Number(v));
            if (!Number.isFinite(v)) v = Number(it.default) || 0;
            if (typeof it.min === "number") v = Math.max(it.min, v);
            if (typeof it.max === "number") v = Math.min(it.max, v);
        } else if (it.type === "BOOL") {
            v = v === true || v === "true";
        } else if (v !== undefined) {
            v = String(v);
        }
        c[it.name] = v;
    }
    Object.defineProperty(c, "save", { value: () => {}, enumerable: false });
    Object.defineProperty(c, "onchanged", { value: () => {}, enumerable: false });
    return c;
}

module.exports = { SEND_LIMIT, initStatements, openDatabase, readConfig, configObject };
