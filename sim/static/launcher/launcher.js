// myApps simulator launcher. This script is deliberately dumb:
// - everything an app iframe posts goes to the simulator over the websocket, tagged with the iframe's name;
// - everything the simulator says for an iframe is posted into it;
// - the panels show the simulator's view and call its control API (/_sim/...).
// All myApps, PBX and app-service behaviour lives in Rust (sim/src/myapps/).
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const user = params.get("user");

  const TEXT = {
    en: {
      simulator: "simulator", light: "Light", dark: "Dark", restart: "Restart apps", presence: "Presence (PBX)",
      set: "Set", phone: "Softphone", call: "Call", incoming: "Incoming call", nocalls: "No calls.", apps: "Apps",
      license: "License", nolicense: "no license", wire: "Wire log", follow: "follow", clear: "Clear",
      pick: "Open the launcher of a user:",
      notbuilt: "The app is not built yet: run <code>./build.sh demo</code>. The simulator itself works — try the phone and the presence on the left.",
      answer: "Answer", reject: "Reject", giveup: "Caller gives up", hangup: "Hang up", hold: "Hold", resume: "Resume",
      ringback: "Remote rings", remoteanswer: "Remote answers", lost: "Connection to the simulator lost — retrying…",
      p_: "Available", p_away: "Away", p_busy: "Busy", p_dnd: "Do not disturb", p_lunch: "Lunch",
      "p_on-the-phone": "On the phone", p_vacation: "Vacation",
      loading: "loading", alive: "Alive", ws: "websocket", phoneinfo: "provides phoneinfo", nofile: "file missing",
      hiddenapp: "hidden",
    },
    de: {
      simulator: "Simulator", light: "Hell", dark: "Dunkel", restart: "Apps neu starten", presence: "Präsenz (PBX)",
      set: "Setzen", phone: "Softphone", call: "Anrufen", incoming: "Eingehend", nocalls: "Keine Anrufe.",
      apps: "Apps", license: "Lizenz", nolicense: "keine Lizenz", wire: "Protokoll", follow: "mitlaufen",
      clear: "Leeren", pick: "Launcher eines Benutzers öffnen:",
      notbuilt: "Die App ist noch nicht gebaut: <code>./build.sh demo</code> ausführen. Der Simulator selbst funktioniert — Telefon und Präsenz links ausprobieren.",
      answer: "Annehmen", reject: "Ablehnen", giveup: "Anrufer legt auf", hangup: "Auflegen", hold: "Halten", resume: "Zurückholen",
      ringback: "Gegenstelle klingelt", remoteanswer: "Gegenstelle nimmt an",
      lost: "Verbindung zum Simulator verloren — neuer Versuch…",
      p_: "Verfügbar", p_away: "Abwesend", p_busy: "Beschäftigt", p_dnd: "Nicht stören", p_lunch: "Mittagspause",
      "p_on-the-phone": "Am Telefon", p_vacation: "Urlaub",
      loading: "lädt", alive: "Alive", ws: "Websocket", phoneinfo: "liefert phoneinfo", nofile: "Datei fehlt",
      hiddenapp: "versteckt",
    },
  };
  // Presence choices: value "activity|note".
  const PRESENCES = ["|", "away|", "busy|", "dnd|", "away|lunch", "on-the-phone|", "vacation|"];

  let lang = params.get("lang") === "de" ? "de" : "en";
  let scheme = params.get("scheme") === "light" ? "light" : "dark";
  const t = (k) => (TEXT[lang] && TEXT[lang][k]) || TEXT.en[k] || k;

  let ws = null;
  let retry = 500;
  let setup = null; // {frames: [...]} from the simulator
  let view = null; // latest view
  const frames = {}; // name -> {info, iframe, status}

  // ---------------------------------------------------------------------------------------------------
  // helpers

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const c of children) if (c != null) e.append(c);
    return e;
  }

  function toast(text) {
    const b = $("toast");
    b.textContent = text;
    b.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => (b.hidden = true), 4000);
  }

  async function control(path, body) {
    try {
      const r = await fetch(path, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      if (!r.ok) {
        const e = await r.json().catch(() => ({}));
        toast(e.error || r.status + " " + r.statusText);
      }
    } catch (e) {
      toast(String(e));
    }
  }

  function presenceKey(p) {
    const a = (p.activity || "").trim();
    if (a === "away" && (p.note || "").trim().toLowerCase() === "lunch") return "lunch";
    return a;
  }

  function presenceLabel(p) {
    const k = presenceKey(p);
    const known = TEXT.en["p_" + k] !== undefined;
    const name = known ? t("p_" + k) : k;
    const note = k === "lunch" ? "" : (p.note || "");
    return note ? `${name} — ${note}` : name;
  }

  function dotKind(p) {
    const k = presenceKey(p);
    return ["", "away", "busy", "dnd", "lunch", "on-the-phone"].includes(k) ? k : "other";
  }

  // ---------------------------------------------------------------------------------------------------
  // the pipe

  function send(obj) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(obj));
  }

  window.addEventListener("message", (e) => {
    for (const [name, f] of Object.entries(frames)) {
      if (f.iframe && f.iframe.contentWindow === e.source) {
        let data = e.data;
        // Non-JSON data (e.g. a Blob) cannot travel; the simulator logs what arrives.
        try { JSON.stringify(data); } catch (_) { data = String(data); }
        send({ t: "msg", frame: name, data });
        return;
      }
    }
  });

  function connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const q = new URLSearchParams({ user, lang, scheme });
    ws = new WebSocket(`${proto}//${location.host}/_sim/client?${q}`);
    ws.onopen = () => {
      retry = 500;
      $("banner").hidden = true;
    };
    ws.onmessage = (e) => {
      let m;
      try { m = JSON.parse(e.data); } catch (_) { return; }
      switch (m.t) {
        case "setup": setup = m; loadApps(); break;
        case "post": {
          const f = frames[m.frame];
          if (f && f.iframe && f.iframe.contentWindow) f.iframe.contentWindow.postMessage(m.msg, "*");
          break;
        }
        // After the app answered PrepareReload: myApps loads it again in a new iframe.
        case "reload": { const f = frames[m.frame]; if (f) loadFrame(f.info); break; }
        case "view": view = m; render(); break;
        case "logs": for (const entry of m.entries) addLog(entry); break;
        case "log": addLog(m.entry); break;
      }
    };
    ws.onclose = () => {
      $("banner").textContent = t("lost");
      $("banner").hidden = false;
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 8000);
    };
  }

  // A new simulator session is a new myApps client: the apps start afresh.
  function loadApps() {
    for (const f of Object.values(frames)) if (f.iframe) f.iframe.remove();
    for (const info of setup.frames) loadFrame(info);
  }

  function loadFrame(info) {
    const old = frames[info.frame];
    if (old && old.iframe) old.iframe.remove();
    send({ t: "reset", frame: info.frame });
    const iframe = el("iframe", { title: info.title, name: info.frame, "data-frame": info.frame });
    const f = (frames[info.frame] = { info, iframe, status: 0 });
    iframe.src = info.src;
    (info.hidden ? $("hidden-host") : $("config-host")).append(iframe);
    captureConsole(info.frame, iframe);
    if (!info.hidden) $("config-title").textContent = info.title;
    fetch(info.src.split("?")[0], { method: "HEAD", cache: "no-store" })
      .then((r) => { f.status = r.status; render(); })
      .catch(() => { f.status = -1; render(); });
  }

  // myApps shows an app's console in its log. The app frames are served from this page's origin, so the page
  // may wrap their console: as soon as a frame's own document is live (before its wasm has started), each
  // console line also goes to the simulator, which logs it. The apps stay unaware of the simulator.
  function captureConsole(name, iframe) {
    const started = Date.now();
    const tryHook = () => {
      let win = null;
      try {
        win = iframe.contentWindow;
        if (!win || !win.location.pathname.endsWith(".htm")) win = null;
      } catch (_) { win = null; }
      if (!win) {
        if (iframe.isConnected && Date.now() - started < 10000) setTimeout(tryHook, 0);
        return;
      }
      if (win.__kuandoConsole) return;
      win.__kuandoConsole = true;
      for (const level of ["log", "info", "warn", "error", "debug"]) {
        const original = win.console[level].bind(win.console);
        win.console[level] = (...args) => {
          original(...args);
          send({ t: "console", frame: name, text: args.map((a) => String(a)).join(" ") });
        };
      }
    };
    tryHook();
  }

  // myApps knows when it closes an app. A frame removed from the page (by a test, or with the browser's
  // tools) is reported as closed, so that the simulator withdraws its APIs as myApps does.
  function watchRemovals() {
    const observer = new MutationObserver((records) => {
      for (const r of records) {
        for (const n of r.removedNodes) {
          for (const [name, f] of Object.entries(frames)) {
            if (f.iframe === n) {
              f.iframe = null;
              send({ t: "closed", frame: name });
            }
          }
        }
      }
    });
    for (const host of [$("hidden-host"), $("config-host")]) observer.observe(host, { childList: true });
  }

  // ---------------------------------------------------------------------------------------------------
  // rendering

  function applyText() {
    document.documentElement.lang = lang;
    document.documentElement.dataset.scheme = scheme;
    for (const e of document.querySelectorAll("[data-i18n]")) {
      const v = t(e.dataset.i18n);
      if (v.includes("<code>")) e.innerHTML = v; else e.textContent = v;
    }
    const sel = $("presence-select");
    const current = sel.value;
    sel.replaceChildren(...PRESENCES.map((v) => {
      const [a, n] = v.split("|");
      return el("option", { value: v }, presenceLabel({ activity: a, note: n }));
    }));
    if (current) sel.value = current;
    for (const b of $("scheme").children) b.classList.toggle("on", b.dataset.v === scheme);
    for (const b of $("lang").children) b.classList.toggle("on", b.dataset.v === lang);
  }

  function render() {
    if (!view) return;
    if (view.scheme !== scheme || view.lang !== lang) {
      scheme = view.scheme;
      lang = view.lang;
      applyText();
    }
    const u = view.user;
    $("me-name").textContent = u.dn;
    $("me-sub").textContent = `${u.sip}@${u.domain} · ${u.num}`;
    $("avatar").textContent = u.dn.slice(0, 1).toUpperCase();
    document.title = `myApps simulator — ${u.dn}`;
    const p = view.presence;
    for (const d of [$("me-dot"), $("presence-dot")]) {
      d.dataset.a = dotKind(p);
      d.title = presenceLabel(p);
    }
    $("presence-now").textContent = presenceLabel(p);
    const sel = $("presence-select");
    if (document.activeElement !== sel) {
      const v = `${p.activity}|${p.note}`;
      if (!PRESENCES.includes(v) && ![...sel.options].some((o) => o.value === v)) {
        sel.append(el("option", { value: v }, presenceLabel(p)));
      }
      sel.value = v;
    }
    if (document.activeElement !== $("presence-note")) $("presence-note").value = presenceKey(p) === "lunch" ? "" : p.note;
    if (document.activeElement !== $("license")) $("license").value = view.license;
    renderCalls();
    renderApps();
  }

  function renderCalls() {
    const list = $("calls");
    list.replaceChildren(...view.calls.map((c) => {
      const act = (action, label, cls) =>
        el("button", { type: "button", class: `btn small ${cls || ""}`, onclick: () => control("/_sim/call", { user, action, id: c.id }) }, label);
      const actions = [];
      if (c.state === "Alerting") actions.push(act("answer", t("answer"), "accent"), act("hangup", t("reject"), "danger"), act("giveup", t("giveup")));
      else if (c.state === "Dialing") actions.push(act("ringback", t("ringback")), act("answer", t("remoteanswer")), act("hangup", t("hangup"), "danger"));
      else if (c.state === "Ringback") actions.push(act("answer", t("remoteanswer")), act("hangup", t("hangup"), "danger"));
      else if (c.state === "Connected") actions.push(act("hold", t("hold")), act("hangup", t("hangup"), "danger"));
      else if (c.state === "Holding") actions.push(act("resume", t("resume")), act("hangup", t("hangup"), "danger"));
      else actions.push(act("hangup", t("hangup"), "danger"));
      return el("li", { class: "call" },
        el("div", { class: "call-head" },
          el("span", { class: "call-dir", title: c.dir === "i" ? "incoming" : "outgoing" }, c.dir === "i" ? "↘" : "↗"),
          el("span", { class: "call-num" }, c.dn || c.num, c.dn ? el("small", {}, c.num) : null),
          el("span", { class: "state", "data-s": c.state }, c.state)),
        el("div", { class: "call-actions" }, ...actions));
    }));
    $("no-calls").hidden = view.calls.length > 0;
  }

  function renderApps() {
    if (!setup) return;
    const items = setup.frames.map((info) => {
      const f = frames[info.frame] || {};
      const st = view.frames[info.frame] || {};
      const chip = (text, cls) => el("span", { class: `chip ${cls || ""}` }, text);
      const chips = [];
      if (info.hidden) chips.push(chip(t("hiddenapp")));
      if (f.status === 0) chips.push(chip(t("loading")));
      else if (f.status !== 200) chips.push(chip(`${info.htm}.htm: ${f.status > 0 ? f.status : "?"}`, "bad"));
      if (st.alive) chips.push(chip(t("alive"), "ok"));
      if ((st.registered || []).includes("com.innovaphone.phoneinfo")) chips.push(chip(t("phoneinfo"), "ok"));
      const conns = view.apps.filter((a) => a.app === info.htm);
      if (conns.length) chips.push(chip(`${t("ws")} ✓${conns.length > 1 ? " ×" + conns.length : ""}`, "ok"));
      return el("li", { class: "app-line" },
        el("span", { class: "app-name" }, info.title),
        el("span", { class: "chips" }, ...chips));
    });
    $("apps").replaceChildren(...items);
    const cfg = setup.frames.find((i) => !i.hidden);
    const cf = cfg && frames[cfg.frame];
    const missing = !!cf && cf.status !== 0 && cf.status !== 200;
    $("config-missing").hidden = !missing;
    if (missing) {
      $("config-missing-code").textContent = cf.status > 0 ? cf.status : "—";
      $("config-missing-file").textContent = `${cfg.htm}.htm`;
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // the wire log

  const MAX_LOG = 1500;

  function fmtMs(ms) {
    const s = Math.floor(ms / 1000);
    const m = Math.floor(s / 60);
    return `${String(m).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}.${String(ms % 1000).padStart(3, "0")}`;
  }

  function who(e) {
    if (e.via === "console") return `${e.peer} console`;
    const side = e.via === "client" ? "myApps" : e.via === "app" ? "service" : e.via === "pbx" ? "PBX"
      : e.via === "service" ? "kuando.js" : "sim";
    if (e.dir === "in") return `${e.peer} → ${side}`;
    if (e.dir === "out") return `${side} → ${e.peer}`;
    return `${side}: ${e.peer}`;
  }

  function addLog(e) {
    const box = $("log");
    const row = el("div", { class: `entry ${e.dir}`, "data-seq": e.seq },
      el("span", { class: "t" }, fmtMs(e.ms)),
      el("span", { class: "w", title: who(e) }, who(e)),
      el("span", { class: "x" }, e.text));
    if (e.text.length > 300) {
      row.classList.add("clip");
      row.addEventListener("click", () => row.classList.remove("clip"));
    }
    filterRow(row);
    box.append(row);
    while (box.childElementCount > MAX_LOG) box.firstElementChild.remove();
    if ($("log-follow").checked) box.scrollTop = box.scrollHeight;
  }

  function filterRow(row) {
    const f = $("log-filter").value.trim().toLowerCase();
    row.hidden = !!f && !row.textContent.toLowerCase().includes(f);
  }

  // ---------------------------------------------------------------------------------------------------
  // controls

  function wire() {
    $("presence-set").onclick = () => {
      const [activity, note0] = $("presence-select").value.split("|");
      const note = note0 || $("presence-note").value;
      control("/_sim/presence", { user, activity, note });
    };
    $("presence-select").onchange = () => {
      const [activity, note] = $("presence-select").value.split("|");
      $("presence-note").value = "";
      control("/_sim/presence", { user, activity, note });
    };
    $("presence-note").onkeydown = (e) => { if (e.key === "Enter") $("presence-set").click(); };
    $("out-call").onclick = () => control("/_sim/call", { user, action: "outgoing", num: $("out-num").value });
    $("in-call").onclick = () => control("/_sim/call", { user, action: "incoming", num: $("in-num").value });
    $("license").onchange = () => control("/_sim/license", { user, license: $("license").value });
    for (const b of $("scheme").children) b.onclick = () => control("/_sim/scheme", { user, scheme: b.dataset.v });
    for (const b of $("lang").children) b.onclick = () => control("/_sim/lang", { user, lang: b.dataset.v });
    $("restart").onclick = () => { if (setup) loadApps(); };
    $("log-clear").onclick = () => $("log").replaceChildren();
    $("log-filter").oninput = () => { for (const r of $("log").children) filterRow(r); };
  }

  async function picker() {
    $("layout").hidden = true;
    document.querySelector(".topbar").hidden = true;
    $("picker").hidden = false;
    try {
      const s = await (await fetch("/_sim/state")).json();
      $("picker-users").replaceChildren(...Object.entries(s.users).map(([name, u]) =>
        el("li", {}, el("a", { href: `/?user=${encodeURIComponent(name)}` }, `${u.dn} (${u.sip}@${s.domain})`))));
    } catch (e) {
      toast(String(e));
    }
  }

  applyText();
  if (!user) {
    picker();
  } else {
    wire();
    watchRemovals();
    connect();
  }
})();
