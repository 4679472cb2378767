"use strict";
/*
 * The fleet view's figures on Duktape, the runtime's engine — a measurement, not a test.
 *
 *   node service/bench/fleet-bench.js [--clients 10000]   (./build.sh bench-service runs it after the guard's)
 *
 * In the tests' runtime (service/test/runtime.js: the shipped service in Duktape 2.7, the database on
 * PostgreSQL): --clients hidden apps, each a user of its own, report their health (one in eight with a
 * problem); then all close. It prints, next to their targets:
 *   - heap per client: (heap with every row kept and no connection open − heap before) / clients, after a full
 *     GC, as Duktape's heap counts it (the host's counting allocator)
 *   - the PBX Manager's GetFleet while the clients run: the engine's CPU time for the service's callback (the
 *     host's figure) for the first page, the last page, "only problems" and a search by name, worst of 5.
 */

const { createRuntime, endAll } = require("../test/runtime.js");

function arg(name, def) {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : def;
}
const CLIENTS = arg("clients", 10000);

const FINE = { run: true, hub: "ok", lic: "withBusylight", lamps: 1, local: true, build: "1.0.0", browser: "Chrome 131" };
const DOWN = { run: true, hub: "unreachable", lic: "withBusylight", lamps: 0, local: true, err: "unreachable", build: "1.0.0", browser: "Edge 131" };

async function main() {
    const rt = await createRuntime();
    const before = rt.heap(true);
    const apps = [];
    for (let i = 0; i < CLIENTS; i++) {
        const sip = `user${String(i).padStart(5, "0")}`;
        const app = rt.connectApp({ sip, guid: `g${i}`, dn: `User ${i} Example` });
        app.send({ api: "kuando", src: "h", mt: "ReportHealth", client: `client-${i}-abcdefgh`, health: i % 8 === 0 ? DOWN : FINE });
        apps.push(app);
        if (i % 500 === 499) await rt.run();
    }
    await rt.run();
    const open = rt.heap(true);

    // The manager looks while the clients run.
    const manager = rt.connectApp({ sip: "pbx-manager", dn: "PBX Manager", app: "-" });
    const page = async (q) => {
        let worst = 0;
        let r = null;
        for (let k = 0; k < 5; k++) {
            manager.send({ api: "kuando", src: "f", mt: "GetFleet", ...q });
            worst = Math.max(worst, rt.serviceCpu() / 1000);
            await rt.run();
            r = manager.take().find((m) => m.src === "f");
        }
        return { ms: worst, r };
    };
    // The first request sorts the rows' keys (again after a client was added or dropped).
    const first = await page({ offset: 0, limit: 50 });
    const last = await page({ offset: CLIENTS - 50, limit: 50 });
    const problems = await page({ offset: 0, limit: 50, problems: true });
    const search = await page({ offset: 0, limit: 50, search: "user 7777" });
    manager.close();
    for (const a of apps) a.close();
    await rt.run();
    const kept = rt.heap(true);
    const answerLen = JSON.stringify(first.r).length;

    const line = (what, value, target) => console.log(`${what.padEnd(58)} ${String(value).padStart(12)}   ${target}`);
    console.log(`fleet view on Duktape 2.7: ${CLIENTS} clients, PostgreSQL`);
    line("heap per client (its row kept, connection closed)", `${((kept - before) / CLIENTS).toFixed(0)} B`, "target ≤ 1 KB");
    line("heap per client with its connection open", `${((open - before) / CLIENTS).toFixed(0)} B`, "(information)");
    line("GetFleet first page of 50, service CPU", `${first.ms.toFixed(2)} ms`, "target ≤ 200 ms");
    line("GetFleet last page", `${last.ms.toFixed(2)} ms`, "target ≤ 200 ms");
    line(`GetFleet only problems (${problems.r.matched})`, `${problems.ms.toFixed(2)} ms`, "target ≤ 200 ms");
    line(`GetFleet search by name (${search.r.matched})`, `${search.ms.toFixed(2)} ms`, "target ≤ 200 ms");
    line("GetFleet answer of 50 rows", `${answerLen} chars`, "≤ 65535 (send limit)");
    await endAll();
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
