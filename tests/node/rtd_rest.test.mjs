// rtd_rest.test.mjs: end to end with the REST API writing the events: a
// group is created, messages flow, a member is removed, an announcement to
// everyone goes out; each event reaches the right sockets only.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { API, RUN, mint, connect, waitFor, collect, ask, sleep } from "./lib.mjs";

const opened = [];
after(() => { for (const s of opened) s.close(); });

async function who(tag, permisos) {
    const tok = mint(`re-${tag}-${RUN}`, tag, permisos ? ["--permisos", permisos] : []);
    const s = await connect(tok);
    opened.push(s);
    const me = await (await fetch(`${API}/me`, { headers: { authorization: `Bearer ${tok}` } })).json();
    return { tok, s, id: me.usuario.id };
}

async function call(u, method, path, body) {
    const r = await fetch(`${API}${path}`, {
        method,
        headers: { authorization: `Bearer ${u.tok}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null };
}

test("REST writes reach the right sockets", async () => {
    const a = await who("a", "567"), b = await who("b"), c = await who("c");
    const gotC = collect(c.s, "mensaje:nuevo");

    const nuevoB = waitFor(b.s, "chat:nuevo");
    const created = await call(a, "POST", "/chats", { nombre: `grupo ${RUN}`, miembros: [b.id] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const chat = created.body.id;
    assert.equal((await nuevoB).id, chat);

    const msgB = waitFor(b.s, "mensaje:nuevo", (m) => m.client_id === `m1-${RUN}`);
    const msgA = waitFor(a.s, "mensaje:nuevo", (m) => m.client_id === `m1-${RUN}`);
    const sent = await call(a, "POST", `/chats/${chat}/mensajes`, { tipo: "texto", contenido: "hola", client_id: `m1-${RUN}` });
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    const [mb] = await Promise.all([msgB, msgA]);
    assert.equal(mb.id, sent.body.id);
    assert.equal(mb.chat_id, chat);
    assert.equal(mb.contenido, "hola");

    const leido = waitFor(a.s, "mensaje:leido");
    assert.equal((await ask(b.s, "chat:marcar_leido", { chat_id: chat, mensaje_id: mb.id })).ok, true);
    assert.equal((await leido).usuario_id, b.id);

    const out = await call(a, "DELETE", `/chats/${chat}/miembros/${b.id}`);
    assert.equal(out.status, 204, JSON.stringify(out.body));
    await sleep(500);
    const gotB = collect(b.s, "mensaje:nuevo");
    const again = waitFor(a.s, "mensaje:nuevo", (m) => m.client_id === `m2-${RUN}`);
    await call(a, "POST", `/chats/${chat}/mensajes`, { tipo: "texto", contenido: "ya no", client_id: `m2-${RUN}` });
    await again;
    await sleep(400);
    assert.equal(gotB.filter((m) => m.chat_id === chat).length, 0, "a removed member hears nothing more");
    assert.equal(gotC.length, 0, "an outsider heard nothing");

    const anuncioB = waitFor(b.s, "comunicado:nuevo");
    const anuncioC = waitFor(c.s, "comunicado:nuevo");
    const com = await call(a, "POST", "/comunicados", {
        titulo: `Aviso ${RUN}`, contenido: "para todos", destinatarios: { todos: true },
    });
    assert.equal(com.status, 201, JSON.stringify(com.body));
    assert.equal((await anuncioB).id, com.body.id);
    assert.equal((await anuncioC).id, com.body.id);
});
