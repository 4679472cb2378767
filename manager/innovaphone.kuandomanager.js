/* Connector for kuando®: the PBX Manager plugin (plugins.json "js"). ES5.
 *
 * innovaphone's PBX Manager loads this file and calls new plugin.innovaphone.kuandomanager(start, item, app)
 * (docs/platform-facts.md §6.2). It uses only what the manager page provides:
 *   start  the page's start object: lang, scheme, consumeApi("com.innovaphone.manager") (GetInstanceLogin,
 *          SetInstancePassword, provider item.ap)
 *   item   the instance: uri / httpsUri / apUri, ap
 *   app    the manager's connection to the PBX, for PbxAdminApi (GetAppObjects, GetConfigObjects, GetObject,
 *          UpdateObject, DeleteObject, GetAppLogin); app.domain
 *   innovaphone.ui1.nodePrototype, which the plugin object must use (a div of class item-node)
 * and the browser's WebSocket and crypto.getRandomValues.
 *
 * The decisions (which objects, their names, SIP names, URLs, options, the requests, template edits) are in
 * plugin.innovaphone.kuandomanager.model: pure functions the node tests (manager/test) check, and the README's
 * manual table is checked against. The controller sequences the requests through injected io; the view draws.
 */
var plugin = plugin || {};
plugin.innovaphone = plugin.innovaphone || {};

(function () {
    "use strict";

    // ---------------------------------------------------------------------------------------------------
    // Model: pure.

    var model = {};

    // The concept's two app objects ("Creating app objects manually"). The option keys are the App object's
    // pseudo.app flags (docs/platform-facts.md §6.5); their labels are the PBX's UI names.
    model.OBJECTS = [
        { key: "hidden", htm: "innovaphone-kuando", name: "Connector for kuando®", sip: "kuando",
            options: ["hidden", "websocket", "admin", "pbx"] },
        { key: "config", htm: "innovaphone-kuando-config", name: "Connector for kuando® Config", sip: "kuando-config",
            options: [] }
    ];
    model.FLAGS = ["web", "websocket", "hidden", "pbx", "pbxsignal", "epsignal", "messages", "tableusers", "admin",
        "services", "rcc"];
    model.OPTION_LABELS = { web: "Plain Website", websocket: "Websocket", hidden: "Hidden", pbx: "PbxApi",
        pbxsignal: "PbxSignal", epsignal: "EpSignal", messages: "Messages", tableusers: "TableUsers", admin: "Admin",
        services: "Services", rcc: "RCC" };

    function cutAfterLastSlash(s) {
        s = String(s || "").split("?")[0].split("#")[0];
        return s.substring(0, s.lastIndexOf("/") + 1);
    }

    // The instance's URL (ending in "/") from the plugin's own URL: item.uri is the plugin file without ".js"
    // beside the app pages; httpsUri its https form, used for App object URLs (docs/platform-facts.md §6.2, [inferred] from
    // innovaphone's sample plugins).
    model.instanceUrl = function (item) {
        return cutAfterLastSlash(item.httpsUri || item.uri);
    };
    // The instance's websocket: the instance URL itself, ws(s).
    model.instanceWs = function (item) {
        var u = cutAfterLastSlash(item.uri || item.httpsUri);
        return u.indexOf("http") === 0 ? "ws" + u.slice(4) : u;
    };
    // The instance's path on the AP (GetInstanceLogin / SetInstancePassword "path"): item.apUri without the
    // file name, else the path of the instance URL; no trailing "/".
    model.instancePath = function (item) {
        var p = item.apUri ? cutAfterLastSlash(item.apUri) : model.instanceUrl(item).replace(/^[a-z]+:\/\/[^\/]*/i, "");
        return p.replace(/\/+$/, "");
    };
    model.appUrl = function (item, def) {
        return model.instanceUrl(item) + def.htm;
    };
    model.pseudo = function (item, def) {
        var app = { url: model.appUrl(item, def) };
        for (var i = 0; i < model.FLAGS.length; i++) {
            app[model.FLAGS[i]] = def.options.indexOf(model.FLAGS[i]) >= 0;
        }
        return { type: "app", app: app };
    };
    model.def = function (key) {
        for (var i = 0; i < model.OBJECTS.length; i++) if (model.OBJECTS[i].key === key) return model.OBJECTS[i];
        return null;
    };
    // What the create form starts with: the concept's names and the default SIP names.
    model.defaults = function () {
        var out = [];
        for (var i = 0; i < model.OBJECTS.length; i++) {
            out.push({ key: model.OBJECTS[i].key, name: model.OBJECTS[i].name, sip: model.OBJECTS[i].sip });
        }
        return out;
    };
    // A form's problems, as text keys (empty: fine).
    model.validate = function (form) {
        var errors = [], seen = {};
        for (var i = 0; i < form.length; i++) {
            var name = String(form[i].name || "").trim(), sip = String(form[i].sip || "").trim();
            if (!name) { if (errors.indexOf("missingName") < 0) errors.push("missingName"); }
            if (!/^[A-Za-z0-9._-]+$/.test(sip)) { if (errors.indexOf("badSip") < 0) errors.push("badSip"); }
            else if (seen[sip.toLowerCase()]) errors.push("sameSip");
            seen[sip.toLowerCase()] = true;
        }
        return errors;
    };
    // The UpdateObject requests that create the objects: the first carries the new instance password, the
    // others copy it from the first (copyPwd) (docs/platform-facts.md §6.3, §6.4). With `from` (the SIP name of an existing
    // object whose password matches the instance) all copy that one, and the instance password stays.
    model.createRequests = function (item, form, pwd, from) {
        var out = [], first = from || null;
        for (var i = 0; i < form.length; i++) {
            var def = model.def(form[i].key), sip = String(form[i].sip).trim();
            var r = { api: "PbxAdminApi", mt: "UpdateObject", cn: String(form[i].name).trim(), h323: sip,
                hide: true, critical: true, pseudo: model.pseudo(item, def) };
            if (first === null) { r.pwd = pwd; first = sip; } else r.copyPwd = first;
            // (no pwd at all when copying: the object gets the password of `first`)
            out.push(r);
        }
        return out;
    };
    function splitApps(apps) {
        var out = [], parts = String(apps || "").split(",");
        for (var i = 0; i < parts.length; i++) {
            var a = parts[i].trim();
            if (a && out.indexOf(a) < 0) out.push(a);
        }
        return out;
    }
    // A config template's "apps" with the SIP names added (kept in order, each once).
    model.appsWith = function (apps, sips) {
        var out = splitApps(apps);
        for (var i = 0; i < sips.length; i++) if (out.indexOf(sips[i]) < 0) out.push(sips[i]);
        return out.join(",");
    };
    model.appsWithout = function (apps, sips) {
        var out = [], list = splitApps(apps);
        for (var i = 0; i < list.length; i++) if (sips.indexOf(list[i]) < 0) out.push(list[i]);
        return out.join(",");
    };
    // The app objects of this instance among GetAppObjectsResult.objects, each with its definition (by the
    // page its URL names); objects of other instances or other pages are left out.
    model.ours = function (item, objects) {
        var base = model.instanceUrl(item).toLowerCase(), out = [];
        for (var i = 0; i < (objects || []).length; i++) {
            var o = objects[i], url = String(o.url || "");
            if (url.toLowerCase().indexOf(base) !== 0) continue;
            var htm = url.slice(base.length).split(/[?#]/)[0].replace(/\.htm$/, "");
            for (var j = 0; j < model.OBJECTS.length; j++) {
                if (model.OBJECTS[j].htm === htm) out.push({ def: model.OBJECTS[j], obj: o });
            }
        }
        return out;
    };
    // Which definitions have no object yet.
    model.missing = function (ours) {
        var out = [];
        for (var i = 0; i < model.OBJECTS.length; i++) {
            var found = false;
            for (var j = 0; j < ours.length; j++) if (ours[j].def === model.OBJECTS[i]) found = true;
            if (!found) out.push(model.OBJECTS[i]);
        }
        return out;
    };
    var PWD_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    // A password from random bytes (62 characters; the bias of 256 mod 62 is removed by rejection).
    model.password = function (bytes, n) {
        var out = "";
        for (var i = 0; i < bytes.length && out.length < n; i++) {
            if (bytes[i] < 248) out += PWD_CHARS.charAt(bytes[i] % 62);
        }
        return out;
    };
    model.texts = function (all, lang) {
        return (all && (all[lang] || all.en)) || {};
    };

    // ---- The Users view (fleet): rows as the connector's service keeps them (service/fleet.js) -------------

    model.FLEET_PAGE = 50;
    // A text with {name} placeholders filled in.
    model.fill = function (text, vars) {
        return String(text || "").replace(/\{([a-z]+)\}/g, function (m, k) {
            return vars && vars[k] !== undefined ? String(vars[k]) : m;
        });
    };
    var HUB_TEXTS = { unreachable: "pUnreachable", tooOld: "pTooOld", unauthorized: "pUnauthorized",
        blocked: "pBlocked", asks: "pAsks", notUnderstood: "pNotUnderstood", unknown: "pUnknown" };
    // The row's problem in plain words with what to do (fmt: a time of the service's clock as text).
    model.fleetProblem = function (r, t, fmt) {
        var h = (r && r.h) || {};
        if (r.state === "off") return model.fill(t.pOff, { since: fmt(r.last) });
        if (h.lic === "none") return t.pUnlicensed;
        if (h.hub === "notConfigured") return t.pNotConfigured;
        if (!h.run) return t.pStopped;
        if (HUB_TEXTS[h.hub]) return model.fill(t[HUB_TEXTS[h.hub]], { since: fmt(r.hubSince) });
        if (h.lamps === 0) return t.pNoLamp;
        return t.pFine;
    };
    // The client in a few words: its id's start, browser, build, where the hub runs, Busylights.
    model.fleetClient = function (r, t) {
        var h = (r && r.h) || {}, parts = [String(r.client || "").substring(0, 8)];
        if (h.browser) parts.push(h.browser);
        if (h.build) parts.push(h.build);
        if (h.local !== undefined) parts.push(h.local ? t.hubOnPc : t.hubRemote);
        if (typeof h.lamps === "number") parts.push(model.fill(t.lamps, { n: h.lamps }));
        return parts.join(" · ");
    };
    model.fleetMark = function (state, t) {
        if (state === "fine") return { symbol: "\u2714", text: t.markFine };
        if (state === "problem") return { symbol: "\u2716", text: t.markProblem };
        return { symbol: "\u2013", text: t.markOff };
    };

    // The view's requests: a page of rows, again when the service says something changed. io = { fleet(msg,
    // cb(result or null)), changed() }. Answers to an older request than the last one are dropped.
    function Fleet(io) {
        this.io = io;
        this.seq = 0;
        this.state = { loaded: false, failed: false, reports: true, totals: null, rows: [], matched: 0, offset: 0,
            limit: model.FLEET_PAGE, problems: false, search: "", now: 0 };
    }
    Fleet.prototype.load = function () {
        var self = this, s = this.state, seq = ++this.seq;
        this.io.fleet({ mt: "GetFleet", offset: s.offset, limit: s.limit, problems: s.problems, search: s.search }, function (r) {
            if (seq !== self.seq) return;
            if (!r || r.error || r.mt !== "GetFleetResult") {
                s.failed = true;
            } else {
                s.failed = false;
                s.loaded = true;
                s.totals = r.totals;
                s.rows = r.rows || [];
                s.matched = r.matched || 0;
                s.now = r.now || 0;
                s.reports = r.reports !== false;
                if (s.offset > 0 && s.offset >= s.matched) {
                    s.offset = Math.max(0, s.matched - (s.matched % s.limit || s.limit));
                    return self.load();
                }
            }
            self.io.changed();
        });
    };
    Fleet.prototype.setProblems = function (on) { this.state.problems = !!on; this.state.offset = 0; this.load(); };
    Fleet.prototype.setSearch = function (text) { this.state.search = String(text).substring(0, 64); this.state.offset = 0; this.load(); };
    Fleet.prototype.page = function (delta) {
        var s = this.state, o = s.offset + delta * s.limit;
        if (o < 0 || o >= s.matched) return;
        s.offset = o;
        this.load();
    };

    // ---------------------------------------------------------------------------------------------------
    // Controller: the request sequences. io = { admin(msg, cb(result)), manager(msg, cb(result)),
    // instanceCheck(sip, getLogin, cb(ok)), random(n) -> bytes, changed(state) }.

    function Controller(item, io) {
        this.item = item;
        this.io = io;
        this.state = { busy: false, error: "", objects: [], missing: model.OBJECTS.slice(), templates: [], checks: {} };
    }
    Controller.prototype.changed = function () { this.io.changed(this.state); };
    Controller.prototype.fail = function (r) {
        this.state.busy = false;
        this.state.error = (r && (r.errorText || r.error)) ? String(r.errorText || r.error) : "?";
        this.changed();
    };
    function failed(r) { return !r || r.error || /Result$/.test(r.mt || "") === false; }

    // GetAppObjects for the instance URL, then the password check of each; GetConfigObjects, then GetObject
    // of each template for its apps.
    Controller.prototype.load = function (done) {
        var self = this, io = this.io;
        self.state.busy = true;
        self.changed();
        io.admin({ api: "PbxAdminApi", mt: "GetAppObjects", uri: model.instanceUrl(self.item) }, function (r) {
            if (failed(r)) return self.fail(r);
            self.state.objects = model.ours(self.item, r.objects);
            self.state.missing = model.missing(self.state.objects);
            self.loadTemplates([], null, function () {
                self.state.busy = false;
                self.changed();
                self.checkAll();
                if (done) done();
            });
        });
    };
    Controller.prototype.loadTemplates = function (acc, more, done) {
        var self = this, req = { api: "PbxAdminApi", mt: "GetConfigObjects", limit: 50 };
        if (more) req.more = more;
        self.io.admin(req, function (r) {
            if (failed(r)) return self.fail(r);
            var list = r.objects || [], i = 0;
            (function next() {
                if (i >= list.length) {
                    if (r.more && list.length) return self.loadTemplates(acc, r.more, done);
                    self.state.templates = acc;
                    return done();
                }
                var cn = list[i++].cn;
                self.io.admin({ api: "PbxAdminApi", mt: "GetObject", cn: cn }, function (o) {
                    if (!failed(o)) acc.push({ cn: o.cn || cn, guid: o.guid, apps: o.apps || "" });
                    next();
                });
            })();
        });
    };
    // The tick: the PBX's digest for the object (GetAppLogin) checked by the instance (AppCheckLogin).
    Controller.prototype.checkAll = function () {
        var self = this;
        for (var i = 0; i < self.state.objects.length; i++) {
            (function (sip) {
                if (!sip) return;
                var challenge = model.password(self.io.random(32), 16);
                self.io.admin({ api: "PbxAdminApi", mt: "GetAppLogin", app: sip, challenge: challenge }, function (r) {
                    if (failed(r)) { self.state.checks[sip] = false; return self.changed(); }
                    self.io.instanceCheck({ mt: "AppCheckLogin", app: r.app || sip, domain: r.domain || self.io.domain,
                        challenge: challenge, digest: r.digest }, function (ok) {
                        self.state.checks[sip] = !!ok;
                        self.changed();
                    });
                });
            })(self.state.objects[i].obj.sip);
        }
    };
    // Creates the objects of the form, sets the instance password, adds the objects to the ticked templates.
    Controller.prototype.create = function (form, templateCns, done) {
        var self = this, io = this.io, errors = model.validate(form);
        if (errors.length) { self.state.error = errors.join(" "); self.state.errorKeys = errors; self.changed(); return; }
        self.state.error = "";
        self.state.busy = true;
        self.changed();
        // An existing object whose password matches the instance: the new ones copy it, the instance keeps it.
        var from = null;
        for (var e = 0; e < self.state.objects.length; e++) {
            var osip = self.state.objects[e].obj.sip;
            if (from === null && osip && self.state.checks[osip] === true) from = osip;
        }
        var pwd = model.password(io.random(64), 16), reqs = model.createRequests(self.item, form, pwd, from), i = 0;
        var sips = [];
        for (var k = 0; k < reqs.length; k++) sips.push(reqs[k].h323);
        (function next() {
            if (i < reqs.length) {
                return io.admin(reqs[i++], function (r) { if (failed(r)) return self.fail(r); next(); });
            }
            var templates = function () { self.addToTemplates(templateCns, sips, function () { self.load(done); }); };
            if (from !== null) return templates();
            io.manager({ mt: "SetInstancePassword", path: model.instancePath(self.item), pwd: pwd }, function (r) {
                if (!r || r.error) return self.fail(r);
                templates();
            });
        })();
    };
    Controller.prototype.addToTemplates = function (cns, sips, done, without) {
        var self = this, i = 0;
        (function next() {
            if (i >= cns.length) return done();
            var cn = cns[i++];
            self.io.admin({ api: "PbxAdminApi", mt: "GetObject", cn: cn }, function (o) {
                if (failed(o)) return self.fail(o);
                var apps = without ? model.appsWithout(o.apps, sips) : model.appsWith(o.apps, sips);
                if (apps === String(o.apps || "")) return next();
                self.io.admin({ api: "PbxAdminApi", mt: "UpdateObject", guid: o.guid, cn: o.cn || cn, apps: apps },
                    function (r) { if (failed(r)) return self.fail(r); next(); });
            });
        })();
    };
    // Renames an object (name and SIP name) and writes its URL and options again.
    Controller.prototype.edit = function (entry, name, sip, done) {
        var self = this, errors = model.validate([{ name: name, sip: sip }]);
        if (errors.length) { self.state.error = errors.join(" "); self.state.errorKeys = errors; self.changed(); return; }
        self.io.admin({ api: "PbxAdminApi", mt: "UpdateObject", guid: entry.obj.guid, cn: String(name).trim(),
            h323: String(sip).trim(), pseudo: model.pseudo(self.item, entry.def) }, function (r) {
            if (failed(r)) return self.fail(r);
            self.load(done);
        });
    };
    // Deletes an object and takes it out of the templates that list it.
    Controller.prototype.remove = function (entry, done) {
        var self = this, sip = entry.obj.sip, cns = [];
        for (var i = 0; i < self.state.templates.length; i++) {
            if (splitApps(self.state.templates[i].apps).indexOf(sip) >= 0) cns.push(self.state.templates[i].cn);
        }
        self.io.admin({ api: "PbxAdminApi", mt: "DeleteObject", guid: entry.obj.guid }, function (r) {
            if (failed(r)) return self.fail(r);
            self.addToTemplates(cns, [sip], function () { self.load(done); }, true);
        });
    };

    // ---------------------------------------------------------------------------------------------------
    // Host glue: the manager's objects as io, and the view.

    // PbxAdminApi over the manager's PBX connection: replies are paired by src. app.Src (the connection's
    // src helper, [inferred] from innovaphone's sample plugins) when there is one, else app.send with an own
    // src and the connection's onmessage chained.
    function adminIo(app) {
        var n = 0, waiting = {};
        if (typeof app.Src !== "function") {
            var prev = app.onmessage;
            app.onmessage = function (conn, obj) {
                var cb = obj && obj.src && waiting[obj.src];
                if (cb) { delete waiting[obj.src]; cb(obj); } else if (prev) prev.apply(this, arguments);
            };
        }
        return function (msg, cb) {
            if (typeof app.Src === "function") {
                var src = new app.Src(function (obj) { src.close && src.close(); cb(obj); });
                src.send(msg);
            } else {
                msg.src = "kuandomanager-" + (++n);
                waiting[msg.src] = cb;
                app.send(msg);
            }
        };
    }
    // com.innovaphone.manager, provided by the AP object (item.ap) (docs/platform-facts.md §6.3).
    function managerIo(start, item) {
        var api = start.consumeApi("com.innovaphone.manager"), n = 0, waiting = {};
        api.onmessage.attach(function (sender, obj) {
            var cb = obj && waiting[obj.src];
            if (cb) { delete waiting[obj.src]; cb(obj.msg); }
        });
        return function (msg, cb) {
            var src = "kuandomanager-" + (++n);
            waiting[src] = cb;
            api.send(msg, item.ap, src);
        };
    }
    // AppCheckLogin on the instance's websocket, logged in as the PBX Manager (GetInstanceLogin): AppChallenge,
    // GetInstanceLogin, AppLogin, then the check; one connection per check, closed after it.
    function instanceCheck(item, manager, domain) {
        return function (check, cb) {
            var ws, finished = false;
            function finish(ok) { if (finished) return; finished = true; try { ws.close(); } catch (e) { } cb(ok); }
            try { ws = new WebSocket(model.instanceWs(item)); } catch (e) { return cb(false); }
            ws.onerror = function () { finish(false); };
            ws.onclose = function () { finish(false); };
            ws.onopen = function () { ws.send(JSON.stringify({ mt: "AppChallenge" })); };
            ws.onmessage = function (ev) {
                var m;
                try { m = JSON.parse(ev.data); } catch (e) { return finish(false); }
                if (m.mt === "AppChallengeResult") {
                    manager({ mt: "GetInstanceLogin", path: model.instancePath(item), app: "-", challenge: m.challenge },
                        function (l) {
                            if (!l || l.error) return finish(false);
                            ws.send(JSON.stringify({ mt: "AppLogin", app: l.app || "-", domain: l.domain || domain,
                                sip: l.sip, guid: l.guid, dn: l.dn, digest: l.digest }));
                        });
                } else if (m.mt === "AppLoginResult") {
                    if (!m.ok) return finish(false);
                    ws.send(JSON.stringify(check));
                } else if (m.mt === "AppCheckLoginResult") {
                    finish(!!m.ok);
                }
            };
        };
    }
    // The Users view's connection to the connector's service: the instance's websocket, logged in as the PBX
    // Manager (GetInstanceLogin), kept open while the plugin is; FleetChanged pushes call onPush. A lost
    // connection is opened again after 10 s, and every request waiting on it is answered with null.
    var FLEET_RETRY_MS = 10000;
    function fleetIo(item, manager, domain) {
        var ws = null, ready = false, n = 0, waiting = {}, queue = [], io;
        function drop() {
            ready = false;
            ws = null;
            var w = waiting;
            waiting = {};
            queue = [];
            for (var k in w) if (w.hasOwnProperty(k)) w[k](null);
            setTimeout(function () { if (!ws) { connect(); if (io.onReconnect) io.onReconnect(); } }, FLEET_RETRY_MS);
        }
        function connect() {
            var sock;
            try { sock = new WebSocket(model.instanceWs(item)); } catch (e) { ws = null; return; }
            ws = sock;
            sock.onclose = function () { if (ws === sock) drop(); };
            sock.onopen = function () { sock.send(JSON.stringify({ mt: "AppChallenge" })); };
            sock.onmessage = function (ev) {
                var m;
                try { m = JSON.parse(ev.data); } catch (e) { return; }
                if (m.mt === "AppChallengeResult") {
                    manager({ mt: "GetInstanceLogin", path: model.instancePath(item), app: "-", challenge: m.challenge },
                        function (l) {
                            if (!l || l.error) return sock.close();
                            sock.send(JSON.stringify({ mt: "AppLogin", app: l.app || "-", domain: l.domain || domain,
                                sip: l.sip, guid: l.guid, dn: l.dn, digest: l.digest }));
                        });
                } else if (m.mt === "AppLoginResult") {
                    if (!m.ok) return sock.close();
                    ready = true;
                    var q = queue;
                    queue = [];
                    for (var i = 0; i < q.length; i++) sock.send(JSON.stringify(q[i]));
                } else if (m.api === "kuando" && m.mt === "FleetChanged") {
                    if (io.onPush) io.onPush();
                } else if (m.api === "kuando" && m.src && waiting[m.src]) {
                    var cb = waiting[m.src];
                    delete waiting[m.src];
                    cb(m);
                }
            };
        }
        io = function (msg, cb) {
            msg.api = "kuando";
            msg.src = "fleet-" + (++n);
            waiting[msg.src] = cb;
            if (ready) ws.send(JSON.stringify(msg));
            else queue.push(msg);
            if (!ws) connect();
        };
        return io;
    }
    function randomBytes(n) {
        var a = new Uint8Array(n);
        window.crypto.getRandomValues(a);
        return a;
    }

    function el(parent, tag, text, style) {
        var e = document.createElement(tag);
        if (text !== undefined && text !== null) e.textContent = text;
        if (style) e.setAttribute("style", style);
        if (parent) parent.appendChild(e);
        return e;
    }

    var BOX = "border:1px solid rgba(128,128,128,0.5);border-radius:4px;padding:8px 12px;margin:8px 0;";
    var BTN = "margin:4px 8px 4px 0;padding:4px 12px;cursor:pointer;font:inherit;";
    var INPUT = "font:inherit;padding:2px 4px;margin:2px 8px 2px 0;min-width:18em;";

    function View(root, ctl, t) {
        this.root = root;
        this.ctl = ctl;
        this.t = t;
        this.editing = null;
    }
    View.prototype.render = function (s) {
        var self = this, t = this.t, root = this.root;
        // A render keeps the keyboard where it was: the focused control (by class) gets the focus back.
        var active = typeof document !== "undefined" ? document.activeElement : null, keep = null, caret = null;
        if (active && active.className && root.contains(active)) {
            keep = active.className;
            try { caret = active.selectionStart; } catch (e) { caret = null; }
        }
        while (root.firstChild) root.removeChild(root.firstChild);
        self.renderAll(s);
        if (keep) {
            var again = root.getElementsByClassName(keep)[0];
            if (again) {
                again.focus();
                try { if (caret !== null && again.setSelectionRange) again.setSelectionRange(caret, caret); } catch (e) { }
            }
        }
    };
    View.prototype.renderAll = function (s) {
        var self = this, t = this.t, root = this.root;
        root.setAttribute("style", "padding:12px 16px;font-family:inherit;color:inherit;");
        el(root, "h2", t.pluginTitle, "margin:0 0 4px 0;font-size:1.3em;font-weight:normal;");
        el(root, "div", t.intro, "opacity:0.8;margin-bottom:8px;");
        el(root, "h3", t.objects, "margin:12px 0 4px 0;font-size:1.05em;");
        if (!s.objects.length) el(root, "div", t.none, "opacity:0.8;");
        for (var i = 0; i < s.objects.length; i++) self.renderObject(s, s.objects[i]);
        if (s.missing.length) self.renderCreate(s);
        if (s.error) {
            var keys = s.errorKeys || [], text = "";
            for (var k = 0; k < keys.length; k++) text += (t[keys[k]] || keys[k]) + " ";
            el(root, "div", keys.length ? text : t.failed + s.error, "color:#d32f2f;margin:8px 0;").className = "kuando-error";
            s.errorKeys = null;
        }
        if (s.busy) el(root, "div", t.working, "opacity:0.7;");
        if (self.fleet) self.renderFleet(self.fleet.state);
    };
    // The Users view: totals, "only problems", search, a page of rows, paging.
    View.prototype.renderFleet = function (f) {
        var self = this, t = this.t, dark = this.scheme === "dark";
        var colors = { fine: dark ? "#81c784" : "#1b5e20", problem: dark ? "#ef9a9a" : "#b71c1c", off: "inherit" };
        var box = el(this.root, "section", null, "margin-top:16px;");
        box.className = "kuando-fleet";
        box.setAttribute("aria-labelledby", "kuando-fleet-title");
        el(box, "h3", t.users, "margin:12px 0 4px 0;font-size:1.05em;").id = "kuando-fleet-title";
        el(box, "div", t.usersIntro, "opacity:0.8;margin-bottom:8px;");
        if (!f.reports) el(box, "div", t.fleetOff, "margin:4px 0;");
        if (f.failed) el(box, "div", t.fleetFailed, "margin:4px 0;").className = "kuando-fleet-failed";
        var tot = f.totals || { users: 0, running: 0, problems: 0 };
        var totals = el(box, "div", model.fill(t.totals, tot), "margin:4px 0 8px 0;font-weight:bold;");
        totals.className = "kuando-fleet-totals";
        totals.setAttribute("data-users", String(tot.users));
        totals.setAttribute("data-running", String(tot.running));
        totals.setAttribute("data-problems", String(tot.problems));
        var bar = el(box, "div", null, "margin:4px 0;");
        var label = el(bar, "label", null, "margin-right:16px;"), only = el(label, "input");
        only.type = "checkbox";
        only.className = "kuando-fleet-problems";
        only.checked = f.problems;
        only.onchange = function () { self.fleet.setProblems(only.checked); };
        el(label, "span", " " + t.onlyProblems);
        var search = el(bar, "input", null, INPUT);
        search.type = "search";
        search.className = "kuando-fleet-search";
        search.value = f.search;
        search.setAttribute("aria-label", t.search);
        search.placeholder = t.search;
        search.oninput = function () { self.fleet.setSearch(search.value); };
        if (!f.rows.length) {
            el(box, "div", f.search || f.problems ? t.noMatch : t.noUsers, "opacity:0.8;margin:8px 0;").className = "kuando-fleet-empty";
        } else {
            var table = el(box, "table", null, "border-collapse:collapse;margin:8px 0;width:100%;");
            table.className = "kuando-fleet-table";
            var head = el(el(table, "thead"), "tr");
            var cols = [t.colStatus, t.colUser, t.colClient, t.colSeen, t.colProblem];
            for (var c = 0; c < cols.length; c++) {
                el(head, "th", cols[c], "text-align:left;padding:4px 8px;border-bottom:1px solid rgba(128,128,128,0.5);").setAttribute("scope", "col");
            }
            var body = el(table, "tbody");
            var fmt = function (ms) { return ms ? new Date(ms).toLocaleString(self.lang === "de" ? "de-DE" : "en-GB") : ""; };
            for (var i = 0; i < f.rows.length; i++) {
                var r = f.rows[i], tr = el(body, "tr"), mark = model.fleetMark(r.state, t);
                tr.className = "kuando-fleet-row";
                tr.setAttribute("data-sip", r.sip);
                tr.setAttribute("data-state", r.state);
                var cell = "padding:4px 8px;vertical-align:top;border-bottom:1px solid rgba(128,128,128,0.25);";
                el(el(tr, "td", null, cell), "span", mark.symbol + " " + mark.text, "color:" + colors[r.state] + ";white-space:nowrap;").className = "kuando-fleet-mark";
                el(tr, "td", r.dn ? r.dn + " (" + r.sip + ")" : r.sip, cell);
                el(tr, "td", model.fleetClient(r, t), cell);
                el(tr, "td", r.state === "off" ? fmt(r.last) : t.seenNow, cell);
                var p = el(tr, "td", model.fleetProblem(r, t, fmt), cell);
                p.className = "kuando-fleet-problem";
                if (r.h && r.h.err && r.errAt && r.state === "fine") {
                    el(p, "div", model.fill(t.lastProblem, { err: r.h.err, at: fmt(r.errAt) }), "opacity:0.8;font-size:0.9em;");
                }
            }
        }
        if (f.matched > f.limit) {
            var pager = el(box, "div", null, "margin:4px 0;");
            var prev = el(pager, "button", "\u2039", BTN), next;
            prev.setAttribute("aria-label", t.prev);
            prev.className = "kuando-fleet-prev";
            prev.disabled = f.offset === 0;
            prev.onclick = function () { self.fleet.page(-1); };
            el(pager, "span", model.fill(t.pageOf, { from: f.offset + 1, to: Math.min(f.offset + f.limit, f.matched), count: f.matched }), "margin:0 8px;").className = "kuando-fleet-page";
            next = el(pager, "button", "\u203a", BTN);
            next.setAttribute("aria-label", t.next);
            next.className = "kuando-fleet-next";
            next.disabled = f.offset + f.limit >= f.matched;
            next.onclick = function () { self.fleet.page(1); };
        }
    };
    View.prototype.renderObject = function (s, entry) {
        var self = this, t = this.t, o = entry.obj, box = el(this.root, "div", null, BOX);
        box.className = "kuando-object";
        box.setAttribute("data-key", entry.def.key);
        var head = el(box, "div", null, "font-weight:bold;");
        var check = s.checks[o.sip];
        var tick = el(head, "span", check === true ? "\u2714 " : check === false ? "\u2716 " : "\u2026 ",
            "color:" + (check === true ? "#2e7d32" : check === false ? "#d32f2f" : "inherit") + ";");
        tick.className = "kuando-tick";
        tick.setAttribute("data-ok", String(check));
        tick.title = check === true ? t.loginOk : check === false ? t.loginBad : t.loginUnknown;
        el(head, "span", o.title || o.cn || "");
        el(box, "div", t.sip + ": " + (o.sip || ""));
        el(box, "div", t.url + ": " + (o.url || ""), "word-break:break-all;");
        var opts = [];
        for (var i = 0; i < entry.def.options.length; i++) opts.push(model.OPTION_LABELS[entry.def.options[i]]);
        el(box, "div", t.options + ": " + (opts.length ? opts.join(", ") : t.noOptions));
        if (self.editing === o.guid) {
            var name = el(box, "input", null, INPUT), sip = el(box, "input", null, INPUT);
            name.value = o.title || o.cn || "";
            sip.value = o.sip || "";
            name.className = "kuando-edit-name";
            sip.className = "kuando-edit-sip";
            var save = el(box, "button", t.save, BTN), cancel = el(box, "button", t.cancel, BTN);
            save.onclick = function () { self.editing = null; self.ctl.edit(entry, name.value, sip.value); };
            cancel.onclick = function () { self.editing = null; self.render(self.ctl.state); };
        } else {
            var edit = el(box, "button", t.edit, BTN), del = el(box, "button", t.remove, BTN);
            edit.className = "kuando-edit";
            del.className = "kuando-delete";
            edit.disabled = del.disabled = s.busy;
            edit.onclick = function () { self.editing = o.guid; self.render(self.ctl.state); };
            del.onclick = function () { self.ctl.remove(entry); };
        }
    };
    View.prototype.renderCreate = function (s) {
        var self = this, t = this.t, box = el(this.root, "div", null, BOX), inputs = [];
        box.className = "kuando-create";
        var head = el(box, "div", null, "margin:4px 0;opacity:0.8;");
        el(head, "span", t.name, "display:inline-block;min-width:18em;margin-right:12px;");
        el(head, "span", t.sip);
        for (var i = 0; i < s.missing.length; i++) {
            var d = s.missing[i], row = el(box, "div", null, "margin:4px 0;");
            var name = el(row, "input", null, INPUT), sip = el(row, "input", null, INPUT);
            name.value = d.name;
            sip.value = d.sip;
            name.className = "kuando-name";
            sip.className = "kuando-sip";
            name.setAttribute("data-key", d.key);
            name.setAttribute("aria-label", t.name);
            sip.setAttribute("aria-label", t.sip);
            inputs.push({ key: d.key, name: name, sip: sip });
        }
        el(box, "div", t.templates, "margin-top:8px;");
        var ticks = [];
        if (!s.templates.length) el(box, "div", t.noTemplates, "opacity:0.8;");
        for (var j = 0; j < s.templates.length; j++) {
            var label = el(box, "label", null, "display:block;margin:2px 0;"), cb = el(label, "input");
            cb.type = "checkbox";
            cb.className = "kuando-template";
            cb.value = s.templates[j].cn;
            el(label, "span", " " + s.templates[j].cn);
            ticks.push(cb);
        }
        var go = el(box, "button", t.create, BTN + "margin-top:8px;");
        go.className = "kuando-create-button";
        go.disabled = s.busy;
        go.onclick = function () {
            var form = [], cns = [];
            for (var i = 0; i < inputs.length; i++) form.push({ key: inputs[i].key, name: inputs[i].name.value, sip: inputs[i].sip.value });
            for (var j = 0; j < ticks.length; j++) if (ticks[j].checked) cns.push(ticks[j].value);
            self.ctl.create(form, cns);
        };
    };

    var Plugin = function (start, item, app) {
        this.createNode("div", null, null, "item-node");
        var texts = model.texts(innovaphone.kuandomanagertexts, start.lang), view = null;
        var manager = managerIo(start, item);
        var ctl = new Controller(item, {
            admin: adminIo(app),
            manager: manager,
            instanceCheck: instanceCheck(item, manager, app.domain),
            random: randomBytes,
            domain: app.domain,
            changed: function (s) { if (view) view.render(s); }
        });
        view = new View(this.container, ctl, texts);
        view.lang = start.lang;
        view.scheme = start.scheme;
        var fio = fleetIo(item, manager, app.domain);
        view.fleet = new Fleet({ fleet: fio, changed: function () { view.render(ctl.state); } });
        fio.onPush = fio.onReconnect = function () { view.fleet.load(); };
        view.render(ctl.state);
        ctl.load();
        view.fleet.load();
    };
    Plugin.prototype = innovaphone.ui1.nodePrototype;
    Plugin.model = model;
    Plugin.Controller = Controller;
    Plugin.Fleet = Fleet;
    // The host glue over the manager's objects, for the tests with a fake app and start.
    Plugin.io = { admin: adminIo, manager: managerIo };
    plugin.innovaphone.kuandomanager = Plugin;
})();
