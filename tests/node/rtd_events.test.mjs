// rtd_events.test.mjs: delivery of eventos rows to rooms, membership
// changes moving sockets, typing, read marks and reactions from the socket.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
    RUN, mint, userId, makeChat, addMember, removeMember, emit, sql, conninfo, connect, waitFor, collect, ask, sleep,
} from "./lib.mjs";

const opened = [];
after(() => { for (const s of opened) s.close(); });

async function user(tag, tabs = 1) {
    const idErp = `ev-${tag}-${RUN}`;
    const id = userId(idErp, tag);
    const tok = mint(idErp, tag);
    const sockets = [];
    for (let i = 0; i < tabs; i++) {
        const s = await connect(tok);
        opened.push(s);
        sockets.push(s);
    }
    return { id, idErp, tok, s: sockets[0], sockets };
}

/** Users created (and put in chats) before they connect. */
function pre(tag) {
    const idErp = `ev-${tag}-${RUN}`;
    return { idErp, id: userId(idErp, tag), tok: mint(idErp, tag) };
}

async function online(u, tabs = 1) {
    u.sockets = [];
    for (let i = 0; i < tabs; i++) {
        const s = await connect(u.tok);
        opened.push(s);
        u.sockets.push(s);
    }
    u.s = u.sockets[0];
    return u;
}

test("a chat event reaches every socket of every member, and nobody else", async () => {
    const a = pre("a1"), b = pre("b1"), c = pre("c1");
    const chat = makeChat([a.id, b.id]);
    await online(a, 2);
    await online(b);
    await online(c);
    const gotC = collect(c.s, "mensaje:nuevo");
    const waits = [...a.sockets, b.s].map((s) => waitFor(s, "mensaje:nuevo", (m) => m.chat_id === chat));
    emit("mensaje:nuevo", `chat:${chat}`, { id: 1, chat_id: chat, contenido: "hola / ñandú" });
    const got = await Promise.all(waits);
    for (const m of got) assert.deepEqual(m, { id: 1, chat_id: chat, contenido: "hola / ñandú" });
    await sleep(300);
    assert.equal(gotC.length, 0);
});

test("a user:<id> event reaches only that user", async () => {
    const a = await user("a2"), b = await user("b2");
    const gotB = collect(b.s, "comunicado:nuevo");
    const p = waitFor(a.s, "comunicado:nuevo");
    emit("comunicado:nuevo", `user:${a.id}`, { id: 77, titulo: "Aviso" });
    assert.deepEqual(await p, { id: 77, titulo: "Aviso" });
    await sleep(300);
    assert.equal(gotB.length, 0);
});

test("without a NOTIFY the event still arrives (timer read)", async () => {
    const a = await user("a3");
    const t0 = Date.now();
    const p = waitFor(a.s, "comunicado:nuevo", () => true, 4000);
    emit("comunicado:nuevo", `user:${a.id}`, { id: 78 }, { notify: false });
    await p;
    assert.ok(Date.now() - t0 < 3000);
});

test("events of one transaction arrive in order, each once", async () => {
    const a = pre("a4");
    const chat = makeChat([a.id]);
    await online(a);
    const got = collect(a.s, "mensaje:nuevo");
    const rows = Array.from({ length: 20 }, (_, i) =>
        `('mensaje:nuevo', 'chat:${chat}', '{"id":${i},"chat_id":${chat}}')`).join(",");
    sql(`BEGIN; INSERT INTO eventos (tipo, sala, payload) VALUES ${rows};
         SELECT pg_notify('chat_eventos', '{}'); COMMIT;`);
    for (let i = 0; i < 50 && got.length < 20; i++) await sleep(50);
    await sleep(1200); // another timer read must not repeat them
    assert.deepEqual(got.map((m) => m.id), Array.from({ length: 20 }, (_, i) => i));
});

test("chat:nuevo moves the user's sockets into the new chat's room", async () => {
    const a = await user("a5", 2);
    const chat = makeChat([a.id]); // after connecting: not joined yet
    const before = collect(a.s, "mensaje:nuevo");
    emit("mensaje:nuevo", `chat:${chat}`, { id: 1, chat_id: chat });
    await sleep(400);
    assert.equal(before.length, 0, "not in the room before chat:nuevo");
    const nuevo = Promise.all(a.sockets.map((s) => waitFor(s, "chat:nuevo")));
    emit("chat:nuevo", `user:${a.id}`, { id: chat, tipo: "grupo", nombre: "nuevo" });
    await nuevo;
    const p = Promise.all(a.sockets.map((s) => waitFor(s, "mensaje:nuevo", (m) => m.id === 2)));
    emit("mensaje:nuevo", `chat:${chat}`, { id: 2, chat_id: chat });
    await p;
});

test("chat:miembros without a user takes that user's sockets out of the room", async () => {
    const a = pre("a6"), b = pre("b6");
    const chat = makeChat([a.id, b.id]);
    await online(a);
    await online(b);
    removeMember(chat, b.id);
    const seen = Promise.all([a.s, b.s].map((s) => waitFor(s, "chat:miembros")));
    emit("chat:miembros", `chat:${chat}`, { chat_id: chat, miembros: [{ usuario: { id: a.id }, rol: "admin" }] });
    await seen; // the removed member still hears of the change itself
    const gotB = collect(b.s, "mensaje:nuevo");
    const p = waitFor(a.s, "mensaje:nuevo");
    emit("mensaje:nuevo", `chat:${chat}`, { id: 3, chat_id: chat });
    await p;
    await sleep(300);
    assert.equal(gotB.length, 0);
    // and back in
    addMember(chat, b.id);
    const back = waitFor(b.s, "chat:miembros");
    emit("chat:miembros", `chat:${chat}`, {
        chat_id: chat, miembros: [{ usuario: { id: a.id } }, { usuario: { id: b.id } }],
    });
    await back;
    const p2 = waitFor(b.s, "mensaje:nuevo");
    emit("mensaje:nuevo", `chat:${chat}`, { id: 4, chat_id: chat });
    assert.equal((await p2).id, 4);
});

test("chat:eliminado empties the room", async () => {
    const a = pre("a7");
    const chat = makeChat([a.id]);
    await online(a);
    const del = waitFor(a.s, "chat:eliminado");
    emit("chat:eliminado", `chat:${chat}`, { chat_id: chat });
    assert.deepEqual(await del, { chat_id: chat });
    const got = collect(a.s, "mensaje:nuevo");
    emit("mensaje:nuevo", `chat:${chat}`, { id: 5, chat_id: chat });
    await sleep(400);
    assert.equal(got.length, 0);
});

test("chat:typing reaches the other members, none of the typist's sockets, and only members may type", async () => {
    const a = pre("a8"), b = pre("b8"), c = pre("c8");
    const chat = makeChat([a.id, b.id]);
    await online(a, 2);
    await online(b);
    await online(c);
    const mine = [collect(a.sockets[0], "chat:escribiendo"), collect(a.sockets[1], "chat:escribiendo")];
    const gotC = collect(c.s, "chat:escribiendo");
    const p = waitFor(b.s, "chat:escribiendo");
    assert.deepEqual(await ask(a.s, "chat:typing", { chat_id: chat, escribiendo: true }), { ok: true });
    assert.deepEqual(await p, { chat_id: chat, usuario_id: a.id, escribiendo: true });
    const p2 = waitFor(b.s, "chat:escribiendo");
    a.s.emit("chat:typing", { chat_id: chat, escribiendo: false }); // no ack asked
    assert.deepEqual(await p2, { chat_id: chat, usuario_id: a.id, escribiendo: false });
    assert.deepEqual(await ask(c.s, "chat:typing", { chat_id: chat, escribiendo: true }),
        { ok: false, error: "no_encontrado" });
    assert.deepEqual(await ask(a.s, "chat:typing", { escribiendo: true }), { ok: false, error: "solicitud_invalida" });
    await sleep(300);
    assert.equal(mine[0].length + mine[1].length, 0);
    assert.equal(gotC.length, 0);
});

test("chat:marcar_leido and chat:reaccionar run the domain code and answer with acks", async () => {
    const a = pre("a9"), b = pre("b9");
    const chat = makeChat([a.id, b.id]);
    const m = Number(sql(`INSERT INTO mensajes (chat_id, autor_id, tipo, contenido)
        VALUES (${chat}, ${b.id}, 'texto', 'hola') RETURNING id`)[0][0]);
    await online(a);
    await online(b);
    const leido = waitFor(b.s, "mensaje:leido");
    const ack = await ask(a.s, "chat:marcar_leido", { chat_id: chat, mensaje_id: m });
    assert.equal(ack.ok, true, JSON.stringify(ack));
    const ev = await leido;
    assert.equal(ev.chat_id, chat);
    assert.equal(ev.usuario_id, a.id);
    assert.equal(ev.mensaje_id, m);

    const reac = waitFor(b.s, "mensaje:reaccion", (e) => e.accion === "agregar");
    const r1 = await ask(a.s, "chat:reaccionar", { mensaje_id: m, emoji: "👍" });
    assert.equal(r1.ok, true, JSON.stringify(r1));
    assert.equal(r1.accion, "agregar");
    await reac;
    const quit = waitFor(b.s, "mensaje:reaccion", (e) => e.accion === "quitar");
    const r2 = await ask(a.s, "chat:reaccionar", { mensaje_id: m, emoji: "👍" });
    assert.equal(r2.accion, "quitar");
    await quit;

    // toggles at once from two tabs serialise: 9 of them leave the reaction
    // on, with one more "agregar" than "quitar" answered
    const tab2 = await connect(a.tok);
    opened.push(tab2);
    const all = await Promise.all(Array.from({ length: 9 }, (_, i) =>
        ask(i % 2 ? tab2 : a.s, "chat:reaccionar", { mensaje_id: m, emoji: "🎉" })));
    assert.ok(all.every((r) => r.ok), JSON.stringify(all));
    const adds = all.filter((r) => r.accion === "agregar").length;
    assert.equal(adds - (all.length - adds), 1);
    assert.equal(sql(`SELECT count(*) FROM reacciones_mensajes WHERE mensaje_id = ${m} AND emoji = '🎉'`)[0][0], "1");

    const bad = await ask(a.s, "chat:marcar_leido", { chat_id: chat });
    assert.deepEqual(bad, { ok: false, error: "solicitud_invalida" });
    const other = makeChat([b.id]);
    const nf = await ask(a.s, "chat:marcar_leido", { chat_id: other, mensaje_id: m });
    assert.equal(nf.ok, false);
});

test("big frames both ways: a 300 kB event is delivered whole, a 20 kB client frame is reassembled", async () => {
    const a = pre("a10");
    const chat = makeChat([a.id]);
    await online(a);
    const big = "ñ".repeat(150000);
    const p = waitFor(a.s, "mensaje:nuevo", (m) => m.chat_id === chat);
    emit("mensaje:nuevo", `chat:${chat}`, { id: 1, chat_id: chat, contenido: big });
    assert.equal((await p).contenido, big);
    // a big client frame still parses (the ack proves it was read whole)
    const ack = await ask(a.s, "presence:status", { estatus: "en_linea", relleno: "x".repeat(20000) });
    assert.deepEqual(ack, { ok: true });
});

test("an old open transaction does not hold back a notified event, which still arrives once", async () => {
    const a = pre("a11");
    const chat = makeChat([a.id]);
    await online(a);
    const got = collect(a.s, "mensaje:nuevo");
    // a session holding an xid: the eventos horizon cannot pass it
    const holder = spawn("psql", [conninfo(), "-X", "-q", "-v", "ON_ERROR_STOP=1"], { stdio: ["pipe", "ignore", "ignore"] });
    holder.stdin.write("BEGIN; SELECT pg_current_xact_id();\n");
    await sleep(500);
    try {
        const t0 = Date.now();
        emit("mensaje:nuevo", `chat:${chat}`, { id: 1, chat_id: chat });
        emit("mensaje:nuevo", `chat:${chat}`, { id: 2, chat_id: chat }, { notify: false });
        for (let i = 0; i < 60 && got.length < 1; i++) await sleep(50);
        assert.deepEqual(got.map((m) => m.id), [1], "the notified row went out ahead of the horizon");
        assert.ok(Date.now() - t0 < 2500);
        await sleep(1200);
        assert.deepEqual(got.map((m) => m.id), [1], "the silent one waits for the horizon");
    } finally {
        holder.stdin.end("COMMIT;\n");
        await new Promise((ok) => holder.once("exit", ok));
    }
    for (let i = 0; i < 60 && got.length < 2; i++) await sleep(50);
    await sleep(1200);
    assert.deepEqual(got.map((m) => m.id), [1, 2], "each once, the rest when the horizon moved");
});

test("a socket flooding typing events is limited, and others are not affected", async () => {
    const a = pre("a12"), b = pre("b12");
    const chat = makeChat([a.id, b.id]);
    await online(a);
    await online(b);
    const acks = await Promise.all(Array.from({ length: 80 }, () =>
        ask(a.s, "chat:typing", { chat_id: chat, escribiendo: true })));
    const limited = acks.filter((x) => x.error === "limite_excedido").length;
    assert.ok(limited >= 20, `limited ${limited} of 80`); // even across a second boundary
    assert.ok(acks.filter((x) => x.ok).length >= 10);
    assert.deepEqual(await ask(b.s, "chat:typing", { chat_id: chat, escribiendo: true }), { ok: true });
});
