/*
 * The runtime's documented globals inside Duktape (kuando-duk-host evaluates this before the service):
 * JsonApi, PbxApi, Database (+escape), Timers, Config and log, as thin forwarders. Every call the service
 * makes becomes an output line; every event (a login, a message, a timer, a database answer) comes in as a
 * line and goes to the function the service registered, by id. What is IO — PostgreSQL, the connections,
 * time — stays on the Node side (sim/runtime/duk.js, host.js, service/test/runtime.js). ES5, as Duktape runs it.
 *
 * Node → engine (one JSON line each; every line is answered by the host's {"t":"done","cpu","heap"})
 *   {"t":"init","files":[path…],"config":{name:value}|null,"timers":bool,"clock":"virtual"?}  evaluate the
 *       service; with a virtual clock Date.now() is the "now" (ms) of the latest line (the tests' time)
 *   {"t":"json","id":N,"api":A,"conn":{domain,sip,dn,guid,app,info,unlicensed}}  an app logged in
 *   {"t":"pbx","id":N,"api":A,"conn":{domain,pbx,pbxDns,version,build,info}}     the PBX connected
 *   {"t":"msg","id":N,"text":T}        a message on connection N      {"t":"close","id":N}  N went away
 *   {"t":"timer","id":N}               timer N is due
 *   {"t":"db","id":N,"rows":R}  or  {"t":"db","id":N,"error":E,"errorText":X,"dbErrorCode":C}
 *   {"t":"dbthrows","on":bool}         Database.exec throws (no database connection) while on
 *   {"t":"stats"}                      full GC, then the heap in bytes
 *   {"t":"peek","name":X}  {"t":"call","name":X,"args":[…]}   tests: a global of the service, or a call
 * engine → Node
 *   {"t":"ready","json":[api…],"pbx":[api…]}   {"t":"error","text":T}   {"t":"log","text":T}
 *   {"t":"send","id":N,"text":T}   {"t":"detach","id":N}  (the service closed its PbxApi connection N)
 *   {"t":"exec","id":N,"sql":S,"insert":bool}   {"t":"settimer","id":N,"ms":M,"every":bool}
 *   {"t":"cleartimer","id":N}   {"t":"stats","heap":B}   {"t":"value","value":V,"fn":bool}
 * Lines hold printable ASCII only (everything else \u-escaped), so a service string is UTF-16 code units on
 * both sides, surrogate pairs included, as in any ECMAScript engine. [inferred] for the real runtime's bridge.
 */
(function (G, host) {
    var SEND_LIMIT = 65535; // JsonApi.htm / PbxApi.htm: send takes at most 65535 characters

    var NOT_ASCII = /[^\x20-\x7e]/g;
    function esc(c) {
        var h = c.charCodeAt(0).toString(16);
        return "\\u" + "0000".substring(h.length) + h;
    }
    function line(m) {
        var s = JSON.stringify(m);
        NOT_ASCII.lastIndex = 0;
        if (NOT_ASCII.test(s)) {
            NOT_ASCII.lastIndex = 0;
            s = s.replace(NOT_ASCII, esc);
        }
        host.out(s);
    }

    function log(text) {
        line({ t: "log", text: String(text) });
    }

    /* A service exception must not take the runtime down: the real runtime logs it and goes on. */
    function guarded(fn, args) {
        var t0 = host.cpu();
        try {
            fn.apply(null, args || []);
        } catch (e) {
            log("runtime: uncaught exception in the service: " + String(e));
        }
        host.serviceCpu(host.cpu() - t0);
    }

    // ---- connections ----------------------------------------------------------------------------------
    var conns = {};

    function Connection(id) {
        this._id = id;
        this._message = null;
        this._close = null;
        this._closed = false;
    }
    Connection.prototype.onmessage = function (fn) { this._message = fn; return this; };
    Connection.prototype.onclose = function (fn) { this._close = fn; return this; };
    Connection.prototype.send = function (text) {
        if (typeof text !== "string") throw new TypeError("send takes a string");
        if (text.length > SEND_LIMIT) throw new Error("send: " + text.length + " characters, limit " + SEND_LIMIT);
        // On a closed connection the runtime drops it; the Node side sees it (tests count such sends).
        line({ t: "send", id: this._id, text: text });
    };
    Connection.prototype.setFlowControl = function () {};
    Connection.prototype.messageComplete = function () {};
    Connection.prototype.encrypt = Connection.prototype.decrypt = Connection.prototype.hash = function () {
        throw new Error("not simulated: the service does not use it");
    };

    function copy(to, from, keys) {
        for (var i = 0; i < keys.length; i++) to[keys[i]] = from[keys[i]];
    }

    function registry(kind) {
        var apis = {};
        function Api(name) {
            if (!(this instanceof Api)) throw new TypeError(kind + " is a constructor");
            if (Object.prototype.hasOwnProperty.call(apis, name)) throw new Error(kind + " \"" + name + "\" registered twice");
            this.name = name;
            this.connected = null;
            apis[name] = this;
        }
        Api.prototype.onconnected = function (fn) { this.connected = fn; return this; };
        Api.names = function () { return Object.keys(apis); };
        Api.get = function (name) { return Object.prototype.hasOwnProperty.call(apis, name) ? apis[name] : null; };
        return Api;
    }
    var JsonApi = registry("JsonApi");
    var PbxApi = registry("PbxApi");

    function connect(m) {
        var api = (m.t === "json" ? JsonApi : PbxApi).get(m.api);
        if (!api || !api.connected) return;
        var c = new Connection(m.id);
        var info = m.conn || {};
        if (m.t === "json") {
            copy(c, info, ["domain", "sip", "dn", "guid", "app", "info"]);
            c.unlicensed = info.unlicensed === true;
        } else {
            c.api = m.api;
            copy(c, info, ["domain", "pbx", "pbxDns", "version", "build", "info"]);
            c.close = function () {
                if (this._closed) return;
                this._closed = true;
                delete conns[this._id];
                line({ t: "detach", id: this._id });
            };
        }
        conns[m.id] = c;
        guarded(api.connected, [c]);
    }

    // ---- Database ---------------------------------------------------------------------------------------
    var ops = {};
    var nextOp = 1;
    var dbThrows = false;

    function operation(sql, insert) {
        if (dbThrows) throw new Error("no database connection");
        if (typeof sql !== "string") throw new TypeError("Database.exec needs a string");
        var id = nextOp++;
        var op = { complete: null, error: null };
        var handle = {
            oncomplete: function (fn) { op.complete = fn; return handle; },
            onerror: function (fn) { op.error = fn; return handle; }
        };
        ops[id] = op;
        line({ t: "exec", id: id, sql: sql, insert: insert });
        return handle;
    }

    var Database = {
        exec: function (sql) { return operation(sql, false); },
        // Database.htm: the library appends " RETURNING id;" and hands over the new row's id.
        insert: function (sql) { return operation(sql, true); },
        // [inferred] Doubles single quotes (the quotes around the literal are the caller's).
        escape: function (s) { return String(s).replace(/'/g, "''"); },
        transaction: function () { throw new Error("Database.transaction is not simulated: the service does not use it"); }
    };

    // ---- Timers -------------------------------------------------------------------------------------------
    var timers = {};
    var nextTimer = 1;
    function arm(fn, ms, every) {
        var id = nextTimer++;
        timers[id] = { fn: fn, every: every };
        line({ t: "settimer", id: id, ms: Number(ms), every: every });
        return id;
    }
    function disarm(id) {
        if (!Object.prototype.hasOwnProperty.call(timers, id)) return;
        delete timers[id];
        line({ t: "cleartimer", id: id });
    }
    var Timers = {
        setTimeout: function (fn, ms) { return arm(fn, ms, false); },
        clearTimeout: disarm,
        setInterval: function (fn, ms) { return arm(fn, ms, true); },
        clearInterval: disarm
    };

    /* Config.htm: one property per config.init item; save() and onchanged() accepted, nothing changes. */
    function configObject(values) {
        var c = {};
        for (var k in values) if (Object.prototype.hasOwnProperty.call(values, k)) c[k] = values[k];
        Object.defineProperty(c, "save", { value: function () {}, enumerable: false });
        Object.defineProperty(c, "onchanged", { value: function () {}, enumerable: false });
        return c;
    }

    /* A test's look at a global of the service: JSON when it can be, else its keys. */
    function peek(v) {
        if (typeof v === "function") return { t: "value", fn: true };
        try {
            return { t: "value", value: v === undefined ? null : JSON.parse(JSON.stringify(v)) };
        } catch (e) {
            var keys = {};
            for (var k in v) keys[k] = null;
            return { t: "value", value: keys };
        }
    }

    // ---- dispatch ------------------------------------------------------------------------------------------
    var virtualNow = null;

    function init(m) {
        if (m.clock === "virtual") {
            virtualNow = typeof m.now === "number" ? m.now : 0;
            Date.now = function () { return virtualNow; };
        }
        G.JsonApi = JsonApi;
        G.PbxApi = PbxApi;
        G.Database = Database;
        G.log = log;
        if (m.timers !== false) G.Timers = Timers;
        if (m.config) G.Config = configObject(m.config);
        // The files in order, one global scope, as the runtime evaluates javascript.eval; a failure names its file.
        var i = 0;
        try {
            for (; i < m.files.length; i++) host.load(m.files[i]);
        } catch (e) {
            var file = String(m.files[i]).replace(/^.*[\/\\]/, "");
            line({ t: "error", text: "evaluating the service's " + file + ": " + String(e) +
                (e && e.lineNumber ? " (line " + e.lineNumber + ")" : "") });
            return;
        }
        line({ t: "ready", json: JsonApi.names(), pbx: PbxApi.names() });
    }

    function dispatch(text) {
        var m;
        try {
            m = JSON.parse(text);
        } catch (e) {
            log("runtime: unreadable line from the simulator");
            return;
        }
        if (virtualNow !== null && typeof m.now === "number") virtualNow = m.now;
        var c = typeof m.id === "number" && Object.prototype.hasOwnProperty.call(conns, m.id) ? conns[m.id] : null;
        if (m.t === "msg") {
            if (c && c._message && !c._closed) guarded(c._message, [m.text]);
        } else if (m.t === "timer") {
            var tm = timers[m.id];
            if (!tm) return;
            if (!tm.every) delete timers[m.id];
            guarded(tm.fn);
        } else if (m.t === "db") {
            var op = ops[m.id];
            if (!op) return;
            delete ops[m.id];
            if (m.error === undefined) {
                if (op.complete) guarded(op.complete, [m.rows]);
            } else if (op.error) {
                guarded(op.error, [m.error, m.errorText, m.dbErrorCode]);
            }
        } else if (m.t === "json" || m.t === "pbx") {
            connect(m);
        } else if (m.t === "close") {
            if (!c) return;
            delete conns[m.id];
            c._closed = true;
            if (c._close) guarded(c._close);
        } else if (m.t === "dbthrows") {
            dbThrows = m.on === true;
        } else if (m.t === "stats") {
            host.gc();
            line({ t: "stats", heap: host.heap() });
        } else if (m.t === "peek") {
            // A global, or a property path from one ("Duktape.version").
            var v = G;
            var names = String(m.name).split(".");
            for (var i = 0; i < names.length && v !== undefined && v !== null; i++) v = v[names[i]];
            line(peek(v));
        } else if (m.t === "call") {
            var r;
            try {
                r = G[m.name].apply(null, m.args || []);
            } catch (e) {
                line({ t: "value", error: String(e) });
                return;
            }
            line(peek(r));
        } else if (m.t === "init") {
            init(m);
        }
    }

    host.setDispatch(dispatch);
})(this, __kuandoHost);
delete this.__kuandoHost;
