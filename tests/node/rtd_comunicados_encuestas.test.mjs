// rtd_comunicados_encuestas.test.mjs: announcement and poll events end to
// end (REST write -> eventos -> rtd -> socket): each reaches its audience
// only, and an anonymous poll's events never name a voter.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { API, RUN, mint, connect, waitFor, collect, sleep } from "./lib.mjs";

const opened = [];
after(() => { for (const s of opened) s.close(); });

async function who(tag, permisos) {
    const tok = mint(`ce-${tag}-${RUN}`, tag, permisos ? ["--permisos", permisos] : []);
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

test("a targeted announcement reaches its recipients and author only", async () => {
    const a = await who("a", "567"), b = await who("b"), c = await who("c"), out = await who("out");
    const heardOut = collect(out.s, "comunicado:nuevo");
    const reacOut = collect(out.s, "comunicado:reaccion");
    const leidoC = collect(c.s, "comunicado:leido");
    const nuevoB = waitFor(b.s, "comunicado:nuevo", (m) => m.titulo === `Aviso ${RUN}`);
    const nuevoC = waitFor(c.s, "comunicado:nuevo", (m) => m.titulo === `Aviso ${RUN}`);
    const nuevoA = waitFor(a.s, "comunicado:nuevo", (m) => m.titulo === `Aviso ${RUN}`);
    const com = await call(a, "POST", "/comunicados", {
        titulo: `Aviso ${RUN}`, contenido: "solo a dos", destinatarios: { usuario_ids: [b.id, c.id] },
    });
    assert.equal(com.status, 201, JSON.stringify(com.body));
    const id = com.body.id;
    const [mb] = await Promise.all([nuevoB, nuevoC, nuevoA]);
    assert.equal(mb.id, id);
    assert.equal(mb.destinatarios_total, 2);
    assert.equal(mb.leido_at, null);

    const reacA = waitFor(a.s, "comunicado:reaccion", (e) => e.comunicado_id === id);
    const reacC = waitFor(c.s, "comunicado:reaccion", (e) => e.comunicado_id === id);
    assert.equal((await call(b, "POST", `/comunicados/${id}/reacciones`, { emoji: "👍" })).status, 200);
    const ev = await reacA;
    assert.deepEqual({ ...ev }, { comunicado_id: id, usuario_id: b.id, emoji: "👍", accion: "agregar" });
    await reacC;

    const leidoA = waitFor(a.s, "comunicado:leido", (e) => e.comunicado_id === id);
    assert.equal((await call(b, "POST", `/comunicados/${id}/leido`)).status, 200);
    const l = await leidoA;
    assert.equal(l.usuario_id, b.id);
    assert.ok(l.leido_at);

    await sleep(500);
    assert.equal(heardOut.filter((m) => m.id === id).length, 0, "an outsider heard nothing");
    assert.equal(reacOut.filter((e) => e.comunicado_id === id).length, 0);
    assert.equal(leidoC.filter((e) => e.comunicado_id === id).length, 0, "comunicado:leido is for the author");
});

test("poll votes reach the chat; an anonymous poll names no voter", async () => {
    const a = await who("pa"), b = await who("pb"), out = await who("pout");
    const heardOut = collect(out.s, "encuesta:voto");
    const created = await call(a, "POST", "/chats", { nombre: `encuesta ${RUN}`, miembros: [b.id] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const chat = created.body.id;
    await sleep(300);   // the sockets join the new chat's room

    for (const anonima of [true, false]) {
        const nuevo = waitFor(b.s, "mensaje:nuevo", (m) => m.tipo === "encuesta" && m.encuesta?.anonima === anonima);
        const p = await call(a, "POST", `/chats/${chat}/encuestas`, {
            pregunta: anonima ? "¿Secreta?" : "¿Abierta?", opciones: ["sí", "no"], anonima,
        });
        assert.equal(p.status, 201, JSON.stringify(p.body));
        const m = await nuevo;
        assert.equal(m.encuesta.id, p.body.encuesta.id);
        assert.ok(!("mis_votos" in m.encuesta), "an event carries no one's mis_votos");

        const votoA = waitFor(a.s, "encuesta:voto", (e) => e.encuesta.id === p.body.encuesta.id);
        const voted = await call(b, "PUT", `/encuestas/${p.body.encuesta.id}/voto`,
            { opciones: [p.body.encuesta.opciones[0].id] });
        assert.equal(voted.status, 200, JSON.stringify(voted.body));
        const e = await votoA;
        assert.equal(e.chat_id, chat);
        assert.equal(e.mensaje_id, p.body.id);
        assert.equal(e.encuesta.opciones[0].votos, 1);
        assert.ok(!("mis_votos" in e.encuesta));
        const text = JSON.stringify(e);
        if (anonima) {
            assert.ok(!text.includes('"votantes"'), text);
            assert.ok(!text.includes(`"usuario_id":${b.id}`), text);
        } else {
            assert.deepEqual(e.encuesta.opciones[0].votantes, [b.id]);
        }
    }
    await sleep(400);
    assert.equal(heardOut.filter((e) => e.chat_id === chat).length, 0, "an outsider heard nothing");
});
