"use strict";
/*
 * The service's engine: Duktape 2.7 in a process of its own (sim/runtime/duk/host.c + prelude.js; the line
 * protocol is described in prelude.js). Two ways to drive it:
 *
 * - SyncEngine (the service's tests): each input line is answered before dispatch() returns, over two FIFOs
 *   read and written with blocking calls, so the tests' runtime stays synchronous where the vm one was
 *   (a message delivered, its answers there) and time stays virtual.
 * - AsyncEngine (the simulator's runtime host, the benchmark): pipes, lines as they come.
 *
 * The host binary is built here when missing or older than its sources (cc … -lduktape -lm, into target/);
 * ./build.sh installs Debian's duktape-dev (Duktape 2.7) and a C compiler.
 */

const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { spawn, execFileSync } = require("node:child_process");
const readline = require("node:readline");

const ROOT = path.join(__dirname, "..", "..");
const SOURCE = path.join(__dirname, "duk", "host.c");
const PRELUDE = path.join(__dirname, "duk", "prelude.js");
const BINARY = path.join(ROOT, "target", "duk-host", "kuando-duk-host");

let checked = false;

/** The host binary, (re)built when missing or older than host.c; checked to start once per process. */
function binary() {
    if (checked) return BINARY;
    let stale = true;
    try {
        stale = fs.statSync(BINARY).mtimeMs < fs.statSync(SOURCE).mtimeMs;
    } catch (e) {
        stale = true;
    }
    if (stale) {
        fs.mkdirSync(path.dirname(BINARY), { recursive: true });
        // Built beside it and renamed: test files run in parallel, and none may run a half-written binary.
        const tmp = `${BINARY}.${process.pid}`;
        try {
            execFileSync("cc", ["-std=c99", "-O2", "-Wall", "-o", tmp, SOURCE, "-lduktape", "-lm"], { stdio: "inherit" });
        } catch (e) {
            throw new Error(
                `building ${path.relative(ROOT, SOURCE)} failed: Duktape 2.7 (Debian duktape-dev) and cc are needed; ./build.sh installs them`
            );
        }
        fs.renameSync(tmp, BINARY);
    }
    // A host that cannot start (a missing libduktape) would leave SyncEngine waiting on its FIFOs forever.
    execFileSync(BINARY, ["--version"], { stdio: "ignore" });
    checked = true;
    return BINARY;
}

/** A line as the engine reads it: JSON with everything but printable ASCII \u-escaped. */
function lineOf(m) {
    return JSON.stringify(m).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** The init line: the service's javascript.eval files, the Config values (or none), Timers or not. */
function initLine(serviceDir, config, { values = null, timers = true } = {}) {
    const files = (config.javascript && config.javascript.eval) || [];
    for (const f of files) {
        if (typeof f !== "string" || f.includes("..") || f.endsWith("*")) {
            throw new Error(`config.json javascript.eval: ${JSON.stringify(f)} is not simulated`);
        }
    }
    return { t: "init", files: files.map((f) => path.join(serviceDir, f)), config: values, timers };
}

class SyncEngine {
    constructor() {
        const bin = binary();
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "kuando-duk-"));
        const toHost = path.join(this.dir, "in");
        const fromHost = path.join(this.dir, "out");
        execFileSync("mkfifo", [toHost, fromHost]);
        this.child = spawn(bin, ["--in", toHost, "--out", fromHost, PRELUDE], { stdio: ["ignore", "inherit", "inherit"] });
        this.child.unref();
        // The host opens "in" then "out"; so does this side (blocking until the other end is there).
        this.fdIn = fs.openSync(toHost, "w");
        this.fdOut = fs.openSync(fromHost, "r");
        this.buf = Buffer.alloc(0);
        this.chunk = Buffer.alloc(1 << 16);
        /** CPU time (µs) of the last line, the part of it in the service's callbacks, and the heap (bytes). */
        this.cpu = 0;
        this.service = 0;
        this.heap = 0;
        this.closed = false;
    }

    readLine() {
        for (;;) {
            const nl = this.buf.indexOf(10);
            if (nl >= 0) {
                const text = this.buf.toString("latin1", 0, nl);
                this.buf = this.buf.subarray(nl + 1);
                return text;
            }
            const n = fs.readSync(this.fdOut, this.chunk, 0, this.chunk.length, null);
            if (n === 0) throw new Error("the Duktape host ended");
            this.buf = this.buf.length === 0 ? Buffer.from(this.chunk.subarray(0, n)) : Buffer.concat([this.buf, this.chunk.subarray(0, n)]);
        }
    }

    /** Hands one line to the engine; returns what it wrote, in order, up to its "done". */
    dispatch(m) {
        if (this.closed) throw new Error("the Duktape host is closed");
        const text = `${lineOf(m)}\n`;
        fs.writeSync(this.fdIn, text, null, "latin1");
        const outs = [];
        for (;;) {
            const o = JSON.parse(this.readLine());
            if (o.t === "done") {
                this.cpu = o.cpu;
                this.service = o.service;
                this.heap = o.heap;
                return outs;
            }
            outs.push(o);
        }
    }

    close() {
        if (this.closed) return;
        this.closed = true;
        try {
            fs.closeSync(this.fdIn);
            fs.closeSync(this.fdOut);
        } catch (e) {
            // already gone
        }
        this.child.kill("SIGKILL");
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

class AsyncEngine {
    /** onLine(m) gets every line but "done"; onDone(cpu, heap) every "done"; onExit(code) once. */
    constructor({ onLine, onDone = () => {}, onExit = () => {} }) {
        this.child = spawn(binary(), [PRELUDE], { stdio: ["pipe", "pipe", "inherit"] });
        this.child.on("exit", (code) => onExit(code));
        this.child.stdin.on("error", () => {}); // the host died: its exit says so
        const rl = readline.createInterface({ input: this.child.stdout });
        rl.on("line", (l) => {
            let m;
            try {
                m = JSON.parse(l);
            } catch (e) {
                return;
            }
            if (m.t === "done") onDone(m.cpu, m.heap);
            else onLine(m);
        });
    }

    send(m) {
        this.child.stdin.write(`${lineOf(m)}\n`);
    }

    end() {
        this.child.stdin.end();
    }
}

module.exports = { binary, lineOf, initLine, SyncEngine, AsyncEngine, PRELUDE };
