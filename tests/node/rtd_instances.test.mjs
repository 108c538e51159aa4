// rtd_instances.test.mjs: several chat-rtd instances sharing PostgreSQL:
// users on different instances see each other's messages, typing and
// presence; a dead instance's users end up desconectado.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
    RUN, mint, userId, makeChat, emit, connect, waitFor, collect, ask, sleep, startRtd,
} from "./lib.mjs";

let x, y;
const opened = [];
before(async () => {
    [x, y] = await Promise.all([
        startRtd({ CHAT_PRESENCE_GRACE_SECONDS: "1" }),
        startRtd({ CHAT_PRESENCE_GRACE_SECONDS: "1" }),
    ]);
});
after(async () => {
    for (const s of opened) s.close();
    await Promise.all([x?.stop(), y?.stop()]);
});

function pre(tag) {
    const idErp = `in-${tag}-${RUN}`;
    return { idErp, id: userId(idErp, tag), tok: mint(idErp, tag) };
}

async function sock(u, inst) {
    const s = await connect(u.tok, inst ? { base: inst.base } : {});
    opened.push(s);
    return s;
}

test("messages and typing cross instances", async () => {
    const a = pre("a1"), b = pre("b1");
    const chat = makeChat([a.id, b.id]);
    const as = await sock(a);       // through nginx
    const bs = await sock(b, x);    // straight to another instance
    const got = [waitFor(as, "mensaje:nuevo"), waitFor(bs, "mensaje:nuevo")];
    emit("mensaje:nuevo", `chat:${chat}`, { id: 10, chat_id: chat });
    for (const m of await Promise.all(got)) assert.equal(m.id, 10);

    const ta = waitFor(as, "chat:escribiendo");
    assert.deepEqual(await ask(bs, "chat:typing", { chat_id: chat, escribiendo: true }), { ok: true });
    assert.deepEqual(await ta, { chat_id: chat, usuario_id: b.id, escribiendo: true });
    const tb = waitFor(bs, "chat:escribiendo");
    await ask(as, "chat:typing", { chat_id: chat, escribiendo: true });
    assert.deepEqual(await tb, { chat_id: chat, usuario_id: a.id, escribiendo: true });

    const h = await (await fetch(`${x.base}/rtd/salud`)).json();
    assert.ok(h.conexiones >= 1 && h.salas >= 1);
});

test("presence counts sockets across instances", async () => {
    const p = pre("p2"), q = pre("q2");
    makeChat([p.id, q.id]);
    const qs = await sock(q);
    const seen = collect(qs, "usuario:estatus");
    const mine = () => seen.filter((e) => e.usuario_id === p.id).map((e) => e.estatus);
    const on = waitFor(qs, "usuario:estatus", (e) => e.usuario_id === p.id);
    const px = await sock(p, x);
    assert.equal((await on).estatus, "en_linea");
    const py = await sock(p, y);
    await sleep(300); // y writes its count right after the CONNECT answer
    await ask(px, "presence:status", { estatus: "inactivo" });
    await sleep(500);
    assert.deepEqual(mine(), ["en_linea"], "idle on one instance, active on the other: en_linea");
    px.close();
    await sleep(2000); // past x's grace period: y still holds a socket
    assert.deepEqual(mine(), ["en_linea"]);
    const off = waitFor(qs, "usuario:estatus", (e) => e.usuario_id === p.id && e.estatus === "desconectado");
    py.close();
    await off;
});

test("the users of an instance that dies are marked desconectado by the survivors", { timeout: 60000 }, async () => {
    const z = await startRtd({ CHAT_PRESENCE_GRACE_SECONDS: "1" });
    const p = pre("p3"), q = pre("q3");
    makeChat([p.id, q.id]);
    const qs = await sock(q);
    const on = waitFor(qs, "usuario:estatus", (e) => e.usuario_id === p.id && e.estatus === "en_linea");
    await sock(p, z);
    await on;
    const off = waitFor(qs, "usuario:estatus", (e) => e.usuario_id === p.id && e.estatus === "desconectado",
        50000);
    z.child.kill("SIGKILL");
    await off;
});
