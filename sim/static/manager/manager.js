// The simulated PBX Manager page: gives each AP plugin what innovaphone's manager page gives it — start
// (lang, scheme, consumeApi("com.innovaphone.manager")), item (the instance), app (the PBX connection for
// PbxAdminApi, with domain), innovaphone.ui1.nodePrototype — and pipes the messages over a websocket to the
// simulated PBX and AP. Nothing here decides anything.
(function () {
  "use strict";
  var params = new URLSearchParams(location.search);
  var lang = params.get("lang") === "de" ? "de" : "en";
  var scheme = params.get("scheme") === "dark" ? "dark" : "light";
  document.documentElement.className = scheme;
  document.documentElement.lang = lang;

  var ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/_sim/manager/socket");
  var queue = [];
  function send(o) {
    var t = JSON.stringify(o);
    if (ws.readyState === 1) ws.send(t); else queue.push(t);
  }
  ws.onopen = function () { queue.forEach(function (t) { ws.send(t); }); queue = []; };

  window.innovaphone = window.innovaphone || {};
  innovaphone.ui1 = innovaphone.ui1 || {};
  innovaphone.ui1.nodePrototype = {
    createNode: function (type, style, content, cls) {
      var e = document.createElement(type);
      if (style) e.setAttribute("style", style);
      if (content) e.textContent = content;
      if (cls) e.className = cls;
      this.container = e;
      return this;
    },
    add: function (node) { this.container.appendChild(node.container || node); return node; }
  };

  var app = { domain: "", onmessage: null, send: function (msg) { send({ t: "admin", msg: msg }); } };
  var listeners = [];
  var managerApi = {
    onmessage: { attach: function (f) { listeners.push(f); } },
    send: function (msg, provider, src) { send({ t: "manager", provider: provider, src: src, msg: msg }); }
  };
  var start = {
    lang: lang,
    scheme: scheme,
    consumeApi: function (name) { return name === "com.innovaphone.manager" ? managerApi : null; }
  };
  ws.onmessage = function (ev) {
    var m = JSON.parse(ev.data);
    if (m.t === "admin" && app.onmessage) app.onmessage(app, m.msg);
    else if (m.t === "manager") listeners.forEach(function (f) { f(managerApi, { msg: m.msg, src: m.src, provider: m.provider }); });
  };

  function script(src) {
    return new Promise(function (ok, fail) {
      var s = document.createElement("script");
      s.src = src;
      s.onload = ok;
      s.onerror = function () { fail(new Error("cannot load " + src)); };
      document.head.appendChild(s);
    });
  }
  function path(o, dotted) {
    return dotted.split(".").reduce(function (v, k) { return v && v[k]; }, o);
  }
  function show(c) {
    var texts = path(window, c.langName) || {};
    var t = texts[lang] || texts.en || {};
    var entry = document.createElement("div");
    entry.className = "entry";
    var img = document.createElement("img");
    img.src = c.png;
    img.alt = "";
    entry.appendChild(img);
    entry.appendChild(document.createTextNode(t.pluginTitle || c.js));
    document.getElementById("list").appendChild(entry);
    var Ctor = path(window.plugin, c.js);
    var item = { ap: c.ap, apDn: c.apDn, uri: c.uri, httpsUri: c.uri, apUri: c.apUri, png: c.png };
    var node = new Ctor(start, item, app);
    document.getElementById("plugins").appendChild(node.container);
  }
  fetch("/_sim/manager/controls").then(function (r) { return r.json(); }).then(function (c) {
    app.domain = c.domain;
    document.getElementById("domain").textContent = c.domain;
    return c.controls.reduce(function (p, ctl) {
      return p.then(function () { return script(ctl.lang + ".js"); })
        .then(function () { return script(ctl.uri + ".js"); })
        .then(function () { show(ctl); });
    }, Promise.resolve());
  }).catch(function (e) { console.error("pbx-manager-sim: " + e.message); });
})();
