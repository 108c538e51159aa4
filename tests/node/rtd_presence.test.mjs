// rtd_presence.test.mjs: presence as API.md §5 says: multi-tab, idle, grace
// period, vacation; usuario:estatus only to users who share a chat; GET
// /presencia agrees. The watched user connects to an extra chat-rtd with a
// 2 s grace period; the observers connect through nginx.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
    API, RUN, mint, serviceToken, userId, makeChat, connect, waitFor, collect, ask, sleep, startRtd,
} from "./lib.mjs";

let rtd;
const opened = [];
before(async () => { rtd = await startRtd({ CHAT_PRESENCE_GRACE_SECONDS: "2" }); });
after(async () => {
    for (const s of opened) s.close();
    if (rtd) await rtd.stop();
});

function pre(tag) {
    const idErp = `pr-${tag}-${RUN}`;
    return { idErp, id: userId(idErp, tag), tok: mint(idErp, tag) };
}

async function sock(u, base) {
    const s = await connect(u.tok, base ? { base } : {});
    opened.push(s);
    return s;
}

async function presencia(viewer, id) {
    const r = await fetch(`${API}/presencia?ids=${id}`, { headers: { authorization: `Bearer ${viewer.tok}` } });
    assert.equal(r.status, 200);
    const body = await r.json();
    return body.presencia.find((p) => p.usuario_id === id)?.estatus;
}

const statusOf = (id) => (e) => e.usuario_id === id;

test("en_linea, multi-tab, idle only when every socket is idle, desconectado after the grace period", async () => {
    const p = pre("p1"), q = pre("q1"), r = pre("r1");
    makeChat([p.id, q.id]);
    const qs = await sock(q);
    const rs = await sock(r);
    const seenQ = collect(qs, "usuario:estatus");
    const seenR = collect(rs, "usuario:estatus");
    const onlyP = () => seenQ.filter(statusOf(p.id)).map((e) => e.estatus);

    const online = waitFor(qs, "usuario:estatus", statusOf(p.id));
    const t1 = await sock(p, rtd.base);
    assert.deepEqual(await online, { usuario_id: p.id, estatus: "en_linea" });
    assert.equal(await presencia(q, p.id), "en_linea");

    const t2 = await sock(p, rtd.base); // a second tab: no change
    assert.deepEqual(await ask(t1, "presence:status", { estatus: "inactivo" }), { ok: true });
    await sleep(600);
    assert.deepEqual(onlyP(), ["en_linea"], "one idle tab of two changes nothing");

    const idle = waitFor(qs, "usuario:estatus", (e) => e.usuario_id === p.id && e.estatus === "inactivo");
    await ask(t2, "presence:status", { estatus: "inactivo" });
    await idle;
    assert.equal(await presencia(q, p.id), "inactivo");

    const back = waitFor(qs, "usuario:estatus", (e) => e.usuario_id === p.id && e.estatus === "en_linea");
    await ask(t1, "presence:status", { estatus: "en_linea" });
    await back;

    // a reload: the tab goes and comes back within the grace period
    t2.close(); // the idle tab first (else the idle one left would be "inactivo")
    await sleep(150);
    t1.close();
    await sleep(300);
    const t3 = await sock(p, rtd.base);
    await sleep(2500);
    assert.deepEqual(onlyP(), ["en_linea", "inactivo", "en_linea"], "no flap on reload");

    const gone = waitFor(qs, "usuario:estatus", (e) => e.usuario_id === p.id && e.estatus === "desconectado");
    const t0 = Date.now();
    t3.close();
    await gone;
    assert.ok(Date.now() - t0 >= 1800, "desconectado waits for the grace period");
    assert.equal(await presencia(q, p.id), "desconectado");
    assert.equal(seenR.filter(statusOf(p.id)).length, 0, "a user who shares no chat hears nothing");
});

test("vacation overrides socket presence", async () => {
    const p = pre("p2"), q = pre("q2");
    makeChat([p.id, q.id]);
    const qs = await sock(q);
    const seen = collect(qs, "usuario:estatus");
    const svc = { authorization: `Bearer ${serviceToken()}`, "content-type": "application/json" };
    const vac = waitFor(qs, "usuario:estatus", (e) => e.usuario_id === p.id && e.estatus === "vacaciones");
    let r = await fetch(`${API}/interno/usuarios/${p.idErp}/vacaciones`, {
        method: "PUT", headers: svc, body: JSON.stringify({ activo: true }),
    });
    assert.equal(r.status, 200);
    await vac;
    const ps = await sock(p, rtd.base);
    await sleep(800);
    assert.equal(await presencia(q, p.id), "vacaciones");
    assert.deepEqual(seen.filter(statusOf(p.id)).map((e) => e.estatus), ["vacaciones"], "no en_linea while on vacation");
    const back = waitFor(qs, "usuario:estatus", (e) => e.usuario_id === p.id && e.estatus === "en_linea");
    r = await fetch(`${API}/interno/usuarios/${p.idErp}/vacaciones`, {
        method: "PUT", headers: svc, body: JSON.stringify({ activo: false }),
    });
    assert.equal(r.status, 200);
    await back;
    ps.close();
});
