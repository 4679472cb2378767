// The PBX Manager plugin's decisions and request sequences, with a fake PBX behind a fake `app` and a fake
// `com.innovaphone.manager` (node --test manager/test/).
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");

const DIR = path.join(__dirname, "..");
const ROOT = path.join(DIR, "..");
const PLUGIN = fs.readFileSync(path.join(DIR, "innovaphone.kuandomanager.js"), "utf8");
const TEXTS = fs.readFileSync(path.join(DIR, "innovaphone.kuandomanagertexts.js"), "utf8");

// Loads the two scripts as the manager page does: texts, then the plugin, into one global scope.
function load() {
  const ctx = { innovaphone: { ui1: { nodePrototype: {} } } };
  vm.createContext(ctx);
  vm.runInContext(TEXTS, ctx, { filename: "innovaphone.kuandomanagertexts.js" });
  vm.runInContext(PLUGIN, ctx, { filename: "innovaphone.kuandomanager.js" });
  return ctx;
}
const ctx = load();
const Plugin = ctx.plugin.innovaphone.kuandomanager;
const model = Plugin.model;
const plain = (v) => (v === undefined ? v : JSON.parse(JSON.stringify(v)));
// Values from the vm realm: compared as JSON.
const eq = (a, b, m) => assert.deepEqual(plain(a), plain(b), m);

const ITEM = {
  uri: "https://ap.example.com/example.com/kuandoconnector/innovaphone.kuandomanager",
  httpsUri: "https://ap.example.com/example.com/kuandoconnector/innovaphone.kuandomanager",
  apUri: "/example.com/kuandoconnector/innovaphone.kuandomanager",
  ap: "ap",
};
const BASE = "https://ap.example.com/example.com/kuandoconnector/";

test("the constructor is plugin.innovaphone.kuandomanager on ui1's nodePrototype", () => {
  assert.equal(typeof Plugin, "function");
  assert.equal(Plugin.prototype, ctx.innovaphone.ui1.nodePrototype);
  const plugins = JSON.parse(fs.readFileSync(path.join(DIR, "plugins.json"), "utf8")).plugins;
  assert.equal(plugins.length, 1);
  assert.equal(plugins[0].js, "innovaphone.kuandomanager");
  assert.equal(plugins[0].lang, "innovaphone.kuandomanagertexts");
  assert.ok(fs.existsSync(path.join(DIR, plugins[0].icon)));
});

test("URLs come from the instance the plugin was loaded from", () => {
  assert.equal(model.instanceUrl(ITEM), BASE);
  assert.equal(model.instanceWs(ITEM), "wss://ap.example.com/example.com/kuandoconnector/");
  assert.equal(model.instanceWs({ uri: "http://127.0.0.1:9/d/i/p" }), "ws://127.0.0.1:9/d/i/");
  assert.equal(model.instancePath(ITEM), "/example.com/kuandoconnector");
  assert.equal(model.instancePath({ uri: "http://h:1/dom/inst/x" }), "/dom/inst");
  assert.equal(model.appUrl(ITEM, model.def("hidden")), BASE + "innovaphone-kuando");
  assert.equal(model.appUrl(ITEM, model.def("config")), BASE + "innovaphone-kuando-config");
});

test("the hidden app object gets Hidden, Websocket, Admin, PbxApi and nothing else; the config app none", () => {
  const h = plain(model.pseudo(ITEM, model.def("hidden")));
  assert.equal(h.type, "app");
  assert.equal(h.app.url, BASE + "innovaphone-kuando");
  const on = Object.keys(h.app).filter((k) => h.app[k] === true).sort();
  eq(on, ["admin", "hidden", "pbx", "websocket"]);
  assert.equal(Object.keys(h.app).length, 1 + model.FLAGS.length);
  const c = plain(model.pseudo(ITEM, model.def("config")));
  eq(Object.keys(c.app).filter((k) => c.app[k] === true), []);
});

test("create: the first object carries the password, the second copies it", () => {
  const reqs = plain(model.createRequests(ITEM, model.defaults(), "Secret123"));
  assert.equal(reqs.length, 2);
  eq(
    reqs.map((r) => [r.mt, r.cn, r.h323, r.pwd, r.copyPwd, r.hide]),
    [
      ["UpdateObject", "Connector for kuando®", "kuando", "Secret123", undefined, true],
      ["UpdateObject", "Connector for kuando® Config", "kuando-config", undefined, "kuando", true],
    ],
  );
  assert.ok(reqs.every((r) => r.api === "PbxAdminApi" && r.guid === undefined));
});

test("the form refuses empty names, odd SIP names and one SIP name twice", () => {
  eq(plain(model.validate(model.defaults())), []);
  eq(plain(model.validate([{ name: " ", sip: "a" }])), ["missingName"]);
  eq(plain(model.validate([{ name: "x", sip: "a b" }])), ["badSip"]);
  eq(plain(model.validate([{ name: "x", sip: "K" }, { name: "y", sip: "k" }])), ["sameSip"]);
});

test("template edits add and remove SIP names, keeping the others in order", () => {
  assert.equal(model.appsWith("a, b,,kuando", ["kuando", "kuando-config"]), "a,b,kuando,kuando-config");
  assert.equal(model.appsWith("", ["kuando"]), "kuando");
  assert.equal(model.appsWithout("a,kuando,b,kuando-config", ["kuando", "kuando-config"]), "a,b");
});

test("only this instance's objects are listed, by the page their URL names", () => {
  const ours = model.ours(ITEM, [
    { sip: "kuando", url: BASE + "innovaphone-kuando" },
    { sip: "cfg", url: BASE.toUpperCase().replace("HTTPS", "https") + "innovaphone-kuando-config" },
    { sip: "other", url: "https://ap.example.com/example.com/other/innovaphone-kuando" },
    { sip: "stray", url: BASE + "something-else" },
  ]);
  eq(ours.map((o) => [o.obj.sip, o.def.key]), [["kuando", "hidden"], ["cfg", "config"]]);
  eq(model.missing(ours).map((d) => d.key), []);
  eq(model.missing([]).map((d) => d.key), ["hidden", "config"]);
});

test("passwords use 62 characters without modulo bias", () => {
  const bytes = Array.from({ length: 64 }, (_, i) => (i * 37 + 11) % 256);
  const p = model.password(bytes, 16);
  assert.equal(p.length, 16);
  assert.match(p, /^[A-Za-z0-9]{16}$/);
  assert.equal(model.password([248, 255, 0], 16), "A", "bytes 248..255 are skipped");
});

test("texts: English and German with the same keys and the plugin title", () => {
  const t = ctx.innovaphone.kuandomanagertexts;
  eq(Object.keys(t.de).sort(), Object.keys(t.en).sort());
  assert.equal(t.en.pluginTitle, "Connector for kuando®");
  assert.equal(t.de.pluginTitle, "Connector for kuando®");
  assert.equal(model.texts(t, "fr"), t.en);
  assert.equal(model.texts(t, "de"), t.de);
});

test("the README's manual table matches the plugin's definitions", () => {
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  const rows = readme
    .split("\n")
    .filter((l) => /^\| Connector for kuando®/.test(l))
    .map((l) => l.split("|").slice(1, -1).map((c) => c.trim()));
  assert.equal(rows.length, model.OBJECTS.length, "one row per app object");
  model.OBJECTS.forEach((d, i) => {
    const [name, sip, url, options] = rows[i];
    assert.equal(name, d.name);
    assert.equal(sip, "`" + d.sip + "`");
    assert.ok(url.includes("/<instance>/" + d.htm + "`"), url);
    assert.ok(url.includes("/kuandoconnector/" + d.htm + "`"), url);
    const labels = d.options.map((o) => "**" + model.OPTION_LABELS[o] + "**");
    assert.equal(options, labels.length ? labels.join(", ") : "none");
  });
});

test("ES5 only, no SDK library referenced", () => {
  for (const [name, text] of [["plugin", PLUGIN], ["texts", TEXTS]]) {
    const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
    assert.doesNotMatch(code, /=>|`|\blet\s|\bconst\s|\bclass\s/, name);
    assert.doesNotMatch(text, /lib1|appwebsocket/i, name);
    assert.doesNotMatch(text, /innovaphone\.Manager\b/, name);
  }
});

// ------------------------------------------------------------------------------------------------------
// The controller against a fake PBX: what an admin's clicks do to the PBX's objects.

function fakePbx() {
  const pbx = {
    objects: [
      { guid: "g-tpl1", cn: "Standard", apps: "phone,chat", config: true },
      { guid: "g-tpl2", cn: "Sales", apps: "", config: true },
    ],
    instancePwd: null,
    sent: [],
    n: 0,
    // Answers on their way: every answer comes in a later turn of the event loop, as over a socket.
    pending: 0,
  };
  const answer = (f) => {
    pbx.pending++;
    setImmediate(() => {
      pbx.pending--;
      f();
    });
  };
  pbx.admin = (msg, cb) => {
    msg = plain(msg);
    pbx.sent.push(msg.mt);
    const find = (m) => pbx.objects.find((o) => (m.guid && o.guid === m.guid) || (!m.guid && m.cn && o.cn === m.cn));
    let r;
    switch (msg.mt) {
      case "GetAppObjects":
        r = { objects: pbx.objects.filter((o) => o.pseudo && o.pseudo.app.url.indexOf(msg.uri) === 0)
          .map((o) => ({ title: o.cn, sip: o.h323, guid: o.guid, url: o.pseudo.app.url })) };
        break;
      case "GetConfigObjects":
        r = { objects: pbx.objects.filter((o) => o.config).map((o) => ({ cn: o.cn })) };
        break;
      case "GetObject": {
        const o = find(msg);
        r = o ? { guid: o.guid, cn: o.cn, apps: o.apps } : { error: "no object" };
        break;
      }
      case "UpdateObject": {
        let o = msg.guid ? find(msg) : null;
        if (!o) {
          if (pbx.objects.some((x) => x.h323 && x.h323 === msg.h323)) { r = { error: "h323 in use" }; break; }
          o = { guid: "g" + ++pbx.n };
          pbx.objects.push(o);
          r = { guid: o.guid };
        } else r = {};
        for (const k of ["cn", "h323", "pseudo", "apps", "hide", "critical"]) if (k in msg) o[k] = msg[k];
        if ("pwd" in msg) o.pwd = msg.pwd;
        if ("copyPwd" in msg) o.pwd = (pbx.objects.find((x) => x.h323 === msg.copyPwd) || {}).pwd;
        break;
      }
      case "DeleteObject":
        pbx.objects = pbx.objects.filter((o) => o.guid !== msg.guid);
        r = {};
        break;
      case "GetAppLogin": {
        const o = pbx.objects.find((x) => x.h323 === msg.app);
        r = o ? { app: msg.app, domain: "example.com", digest: "d(" + o.pwd + "," + msg.challenge + ")" } : { error: "?" };
        break;
      }
      default:
        r = { error: "unknown" };
    }
    r.mt = msg.mt + "Result";
    answer(() => cb(r));
  };
  pbx.manager = (msg, cb) => {
    msg = plain(msg);
    pbx.sent.push(msg.mt);
    if (msg.mt === "SetInstancePassword" && msg.path === "/example.com/kuandoconnector") pbx.instancePwd = msg.pwd;
    answer(() => cb({ mt: msg.mt + "Result" }));
  };
  // The instance checks a digest against its own password.
  pbx.instanceCheck = (m, cb) => answer(() => cb(m.digest === "d(" + pbx.instancePwd + "," + m.challenge + ")"));
  return pbx;
}

function controller(pbx) {
  let bytes = 0;
  const states = [];
  const ctl = new Plugin.Controller(ITEM, {
    admin: pbx.admin,
    manager: pbx.manager,
    instanceCheck: pbx.instanceCheck,
    random: (n) => Array.from({ length: n }, () => (bytes = (bytes * 73 + 41) % 248)),
    domain: "example.com",
    changed: (s) => states.push(plain(s)),
  });
  return { ctl, states };
}
// Until the fake PBX has answered everything the controller asked (the password checks run on after `load`
// calls back): waits for the answers themselves, not for a time, and fails rather than hangs.
const settle = async (pbx) => {
  for (let turns = 0; pbx.pending > 0; turns++) {
    assert.ok(turns < 10000, "the controller keeps asking the PBX");
    await new Promise((r) => setImmediate(r));
  }
};
const run = (f) => new Promise((r) => f(r));

test("fresh PBX: the plugin offers both objects and lists the templates", async () => {
  const pbx = fakePbx();
  const { ctl } = controller(pbx);
  await run((d) => ctl.load(d));
  eq(ctl.state.objects, []);
  eq(ctl.state.missing.map((d) => d.key), ["hidden", "config"]);
  eq(ctl.state.templates.map((t) => [t.cn, t.apps]), [["Standard", "phone,chat"], ["Sales", ""]]);
});

test("create both in one step: objects, instance password, template, ticks", async () => {
  const pbx = fakePbx();
  const { ctl } = controller(pbx);
  await run((d) => ctl.load(d));
  const form = model.defaults();
  form[1].name = "Busylight settings";
  await run((d) => ctl.create(form, ["Standard"], d));
  await settle(pbx);
  const hidden = pbx.objects.find((o) => o.h323 === "kuando");
  const config = pbx.objects.find((o) => o.h323 === "kuando-config");
  assert.equal(hidden.cn, "Connector for kuando®");
  assert.equal(config.cn, "Busylight settings");
  assert.equal(hidden.pseudo.app.url, BASE + "innovaphone-kuando");
  assert.equal(config.pseudo.app.url, BASE + "innovaphone-kuando-config");
  assert.ok(hidden.pwd && hidden.pwd.length === 16, "a fresh 16-character password");
  assert.equal(config.pwd, hidden.pwd, "copied with copyPwd");
  assert.equal(pbx.instancePwd, hidden.pwd, "the instance got the same password");
  assert.equal(pbx.objects.find((o) => o.cn === "Standard").apps, "phone,chat,kuando,kuando-config");
  assert.equal(pbx.objects.find((o) => o.cn === "Sales").apps, "", "templates not ticked stay as they were");
  eq(ctl.state.objects.map((o) => o.def.key), ["hidden", "config"]);
  eq(ctl.state.missing, []);
  eq(plain(ctl.state.checks), { kuando: true, "kuando-config": true });
  // Order: objects first, then the password, then the template.
  const order = pbx.sent.filter((m) => m === "UpdateObject" || m === "SetInstancePassword");
  eq(order, ["UpdateObject", "UpdateObject", "SetInstancePassword", "UpdateObject"]);
});

test("an object whose password no longer matches loses its tick", async () => {
  const pbx = fakePbx();
  const { ctl } = controller(pbx);
  await run((d) => ctl.load(d));
  await run((d) => ctl.create(model.defaults(), [], d));
  await settle(pbx);
  pbx.objects.find((o) => o.h323 === "kuando-config").pwd = "changed by hand";
  await run((d) => ctl.load(d));
  await settle(pbx);
  eq(plain(ctl.state.checks), { kuando: true, "kuando-config": false });
});

test("a refused create shows the PBX's error and creates nothing more", async () => {
  const pbx = fakePbx();
  pbx.objects.push({ guid: "x", cn: "someone", h323: "kuando" });
  const { ctl, states } = controller(pbx);
  await run((d) => ctl.load(d));
  ctl.create(model.defaults(), ["Standard"]);
  await settle(pbx);
  assert.equal(ctl.state.error, "h323 in use");
  assert.equal(ctl.state.busy, false);
  assert.equal(pbx.instancePwd, null, "no password set");
  assert.equal(pbx.objects.find((o) => o.cn === "Standard").apps, "phone,chat");
  assert.ok(states.some((s) => s.error === "h323 in use"));
});

test("a bad form sends nothing", async () => {
  const pbx = fakePbx();
  const { ctl } = controller(pbx);
  await run((d) => ctl.load(d));
  const before = pbx.sent.length;
  ctl.create([{ key: "hidden", name: "", sip: "kuando" }, { key: "config", name: "c", sip: "kuando" }], []);
  assert.equal(pbx.sent.length, before);
  eq(plain(ctl.state.errorKeys), ["missingName", "sameSip"]);
});

test("edit renames, delete removes the object and takes it out of the templates", async () => {
  const pbx = fakePbx();
  const { ctl } = controller(pbx);
  await run((d) => ctl.load(d));
  await run((d) => ctl.create(model.defaults(), ["Standard", "Sales"], d));
  const cfg = ctl.state.objects.find((o) => o.def.key === "config");
  await run((d) => ctl.edit(cfg, "Kuando settings", "kuando-config", d));
  assert.equal(pbx.objects.find((o) => o.h323 === "kuando-config").cn, "Kuando settings");
  const hidden = ctl.state.objects.find((o) => o.def.key === "hidden");
  await run((d) => ctl.remove(hidden, d));
  assert.equal(pbx.objects.find((o) => o.h323 === "kuando"), undefined);
  assert.equal(pbx.objects.find((o) => o.cn === "Standard").apps, "phone,chat,kuando-config");
  assert.equal(pbx.objects.find((o) => o.cn === "Sales").apps, "kuando-config");
  eq(ctl.state.missing.map((d) => d.key), ["hidden"]);
});

test("with one object left, the other is created with its password and the instance keeps its own", async () => {
  const pbx = fakePbx();
  const { ctl } = controller(pbx);
  await run((d) => ctl.load(d));
  await run((d) => ctl.create(model.defaults(), ["Standard"], d));
  await settle(pbx);
  const pwd = pbx.instancePwd;
  const cfg = ctl.state.objects.find((o) => o.def.key === "config");
  await run((d) => ctl.remove(cfg, d));
  await settle(pbx);
  eq(ctl.state.missing.map((d) => d.key), ["config"]);
  const form = ctl.state.missing.map((d) => ({ key: d.key, name: d.name, sip: d.sip }));
  await run((d) => ctl.create(form, ["Standard"], d));
  await settle(pbx);
  assert.equal(pbx.instancePwd, pwd, "no new instance password");
  assert.equal(pbx.objects.find((o) => o.h323 === "kuando-config").pwd, pwd, "copied from the existing object");
  eq(ctl.state.checks, { kuando: true, "kuando-config": true });
  assert.equal(pbx.objects.find((o) => o.cn === "Standard").apps, "phone,chat,kuando,kuando-config");
  const reqs = plain(model.createRequests(ITEM, form, "x", "kuando"));
  eq(reqs.map((r) => [r.pwd, r.copyPwd]), [[undefined, "kuando"]]);
});

test("PbxAdminApi over app: replies paired by src, other messages left to the manager's own handler", () => {
  const sent = [];
  const seen = [];
  const app = { send: (m) => sent.push(plain(m)), onmessage: (conn, obj) => seen.push(obj.mt) };
  const admin = Plugin.io.admin(app);
  const got = [];
  admin({ api: "PbxAdminApi", mt: "GetAppObjects" }, (r) => got.push(["a", r.mt]));
  admin({ api: "PbxAdminApi", mt: "GetConfigObjects" }, (r) => got.push(["b", r.mt]));
  assert.equal(sent.length, 2);
  assert.notEqual(sent[0].src, sent[1].src);
  app.onmessage(app, { mt: "GetConfigObjectsResult", src: sent[1].src });
  app.onmessage(app, { mt: "SomethingOfTheManager" });
  app.onmessage(app, { mt: "GetAppObjectsResult", src: sent[0].src });
  app.onmessage(app, { mt: "GetAppObjectsResult", src: sent[0].src }); // a second reply goes nowhere
  eq(got, [["b", "GetConfigObjectsResult"], ["a", "GetAppObjectsResult"]]);
  eq(seen, ["SomethingOfTheManager", "GetAppObjectsResult"]);
});

test("PbxAdminApi over app.Src when the connection has it", () => {
  const made = [];
  function Src(cb) { this.cb = cb; made.push(this); }
  Src.prototype.send = function (m) { this.msg = plain(m); };
  const app = { Src: Src, send: () => assert.fail("not app.send") };
  const got = [];
  Plugin.io.admin(app)({ api: "PbxAdminApi", mt: "GetObject", cn: "Standard" }, (r) => got.push(r.apps));
  assert.equal(made.length, 1);
  assert.equal(made[0].msg.mt, "GetObject");
  made[0].cb({ mt: "GetObjectResult", apps: "x" });
  eq(got, ["x"]);
});

test("com.innovaphone.manager through start.consumeApi, to the AP object, paired by src", () => {
  let listener = null;
  const sent = [];
  const start = {
    consumeApi: (name) => {
      assert.equal(name, "com.innovaphone.manager");
      return { onmessage: { attach: (f) => (listener = f) }, send: (msg, provider, src) => sent.push([plain(msg), provider, src]) };
    },
  };
  const manager = Plugin.io.manager(start, { ap: "ap-object" });
  const got = [];
  manager({ mt: "SetInstancePassword", path: "/d/i", pwd: "p" }, (r) => got.push(r.mt));
  assert.equal(sent[0][1], "ap-object");
  listener(null, { src: "someone-else", msg: { mt: "Other" } });
  listener(null, { src: sent[0][2], msg: { mt: "SetInstancePasswordResult" } });
  eq(got, ["SetInstancePasswordResult"]);
});

// ---- The Users view ----------------------------------------------------------------------------------------

const T = (lang) => model.texts(ctx.innovaphone.kuandomanagertexts, lang);
const FMT = (ms) => `@${ms}`;

test("Users view: each row's problem in plain words with what to do, English and German", () => {
  const fine = { state: "fine", client: "abcdefgh1234", h: { run: true, hub: "ok", lamps: 1, local: true, build: "1.0", browser: "Chrome 131" } };
  const cases = [
    [fine, "pFine"],
    [{ state: "off", last: 5, h: fine.h }, "pOff"],
    [{ state: "problem", h: { run: false, hub: "unknown", lic: "none" } }, "pUnlicensed"],
    [{ state: "problem", h: { run: false, hub: "notConfigured" } }, "pNotConfigured"],
    [{ state: "problem", h: { run: false, hub: "ok" } }, "pStopped"],
    [{ state: "problem", hubSince: 7, h: { run: true, hub: "unreachable" } }, "pUnreachable"],
    [{ state: "problem", h: { run: true, hub: "tooOld" } }, "pTooOld"],
    [{ state: "problem", h: { run: true, hub: "unauthorized" } }, "pUnauthorized"],
    [{ state: "problem", h: { run: true, hub: "blocked" } }, "pBlocked"],
    [{ state: "problem", h: { run: true, hub: "asks" } }, "pAsks"],
    [{ state: "problem", h: { run: true, hub: "notUnderstood" } }, "pNotUnderstood"],
    [{ state: "problem", h: { run: true, hub: "ok", lamps: 0 } }, "pNoLamp"],
  ];
  for (const lang of ["en", "de"]) {
    const t = T(lang);
    for (const [row, key] of cases) {
      const text = model.fleetProblem(row, t, FMT);
      assert.equal(text, model.fill(t[key], { since: key === "pOff" ? "@5" : "@7" }), `${lang} ${key}`);
      assert.ok(!/\{[a-z]+\}/.test(text), `${lang} ${key}: every placeholder filled`);
    }
    assert.match(model.fleetProblem(cases[1][0], t, FMT), /@5/);
    assert.match(model.fleetProblem(cases[5][0], t, FMT), /@7/);
  }
  assert.equal(model.fleetClient(fine, T("en")), "abcdefgh · Chrome 131 · 1.0 · hub on this PC · Busylights: 1");
  assert.equal(model.fleetMark("problem", T("de")).text, "Problem");
});

test("Users view: pages, filter and search go to the service; late answers of older requests are dropped", () => {
  const sent = [];
  let changed = 0;
  const fleet = new Plugin.Fleet({ fleet: (msg, cb) => sent.push({ msg: plain(msg), cb }), changed: () => changed++ });
  fleet.load();
  eq(sent[0].msg, { mt: "GetFleet", offset: 0, limit: 50, problems: false, search: "" });
  sent[0].cb({ mt: "GetFleetResult", totals: { users: 120, running: 100, problems: 3 }, matched: 120, rows: [{ sip: "a" }], now: 1 });
  assert.equal(changed, 1);
  fleet.page(1);
  eq(sent[1].msg.offset, 50);
  fleet.page(-1);
  fleet.setProblems(true);
  fleet.setSearch("bo");
  eq(sent[4].msg, { mt: "GetFleet", offset: 0, limit: 50, problems: true, search: "bo" });
  // The answer to the page request comes after the search's: dropped.
  sent[4].cb({ mt: "GetFleetResult", totals: { users: 120, running: 100, problems: 3 }, matched: 1, rows: [{ sip: "bob" }] });
  sent[1].cb({ mt: "GetFleetResult", totals: {}, matched: 120, rows: [{ sip: "late" }] });
  eq(fleet.state.rows.map((r) => r.sip), ["bob"]);
  fleet.page(1);
  assert.equal(sent.length, 5, "no page beyond the last");
  fleet.load();
  sent[5].cb(null);
  assert.equal(fleet.state.failed, true);
  eq(fleet.state.rows.map((r) => r.sip), ["bob"], "the rows stay while the service is away");
});
