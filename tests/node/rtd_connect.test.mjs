// rtd_connect.test.mjs: connecting to chat-rtd through nginx: the Engine.IO
// handshake, auth failures, deactivation, ping timeout, malformed frames.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { BASE, API, RUN, mint, serviceToken, signToken, connect, waitFor, ask, sleep, startRtd } from "./lib.mjs";

const WS_URL = BASE.replace(/^http/, "ws") + "/chat/socket.io/?EIO=4&transport=websocket";
const opened = [];
after(() => { for (const s of opened) s.close(); });

/** A raw websocket that records text frames. */
function raw(url = WS_URL) {
    return new Promise((ok, fail) => {
        const ws = new WebSocket(url);
        ws.frames = [];
        ws.on("message", (d) => ws.frames.push(d.toString()));
        ws.once("open", () => ok(ws));
        ws.once("error", fail);
    });
}

function closed(ws, ms = 5000) {
    return new Promise((ok, fail) => {
        if (ws.readyState === WebSocket.CLOSED) return ok();
        const t = setTimeout(() => fail(new Error("socket not closed")), ms);
        ws.once("close", (code) => { clearTimeout(t); ok(code); });
    });
}

async function until(pred, ms = 3000) {
    for (let t = 0; t < ms; t += 20) {
        if (pred()) return;
        await sleep(20);
    }
    throw new Error("condition not met");
}

test("connects through nginx with auth.token and reports itself in /chat/rtd/salud", async () => {
    const s = await connect(mint(`rt-ok-${RUN}`, "Ana"));
    opened.push(s);
    assert.ok(s.connected);
    assert.ok(s.id);
    const r = await fetch(`${BASE}/chat/rtd/salud`);
    assert.equal(r.status, 200);
    const body = await r.json();
    assert.equal(body.estado, "ok");
    assert.equal(body.db, "ok");
    assert.ok(body.conexiones >= 1);
    assert.ok(body.usuarios >= 1);
    assert.equal(typeof body.salas, "number");
    assert.ok(body.version);
    s.close();
});

test("the open packet carries sid, no upgrades, ping settings and maxPayload", async () => {
    const ws = await raw();
    await until(() => ws.frames.length > 0);
    assert.match(ws.frames[0], /^0\{/);
    const open = JSON.parse(ws.frames[0].slice(1));
    assert.ok(open.sid);
    assert.deepEqual(open.upgrades, []);
    assert.ok(open.pingInterval > 0 && open.pingTimeout > 0 && open.maxPayload > 0);
    ws.close();
});

test("a bad, expired or missing token gets connect_error token_invalido", async () => {
    await assert.rejects(connect("not-a-jwt"), { message: "token_invalido" });
    const parts = mint(`rt-sig-${RUN}`).split(".");
    // a forged signature
    await assert.rejects(connect(parts.slice(0, 2).join(".") + ".AAAA"), { message: "token_invalido" });
    await assert.rejects(connect(undefined), { message: "token_invalido" });
    await assert.rejects(connect(serviceToken()), { message: "token_invalido" });
});

test("an expired token, or one signed with another key, is refused", async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { idErp: `rt-exp-${RUN}`, nombre: "Exp", permisos: [] };
    // sanity: the same claims, valid, connect
    const s = await connect(signToken({ ...claims, exp: now + 600 }));
    s.close();
    await assert.rejects(connect(signToken({ ...claims, exp: now - 3600 })), { message: "token_invalido" });
    await assert.rejects(connect(signToken({ ...claims, exp: now + 600 }, "another-secret-of-32-characters!!")),
        { message: "token_invalido" });
});

test("the server closes the websocket after CONNECT_ERROR", async () => {
    const ws = await raw();
    ws.send('40{"token":"garbage"}');
    await until(() => ws.frames.some((f) => f.startsWith("44")));
    assert.deepEqual(JSON.parse(ws.frames.find((f) => f.startsWith("44")).slice(2)), { message: "token_invalido" });
    await closed(ws);
});

test("a deactivated user gets usuario_desactivado, and deactivation closes open sockets", async () => {
    const idErp = `rt-deact-${RUN}`;
    const tok = mint(idErp, "Desactivable");
    const s1 = await connect(tok);
    const s2 = await connect(tok);
    opened.push(s1, s2);
    const gone = Promise.all([waitFor(s1, "disconnect"), waitFor(s2, "disconnect")]);
    const r = await fetch(`${API}/interno/usuarios/${encodeURIComponent(idErp)}/desactivar`, {
        method: "POST", headers: { authorization: `Bearer ${serviceToken()}` },
    });
    assert.equal(r.status, 200);
    const reasons = await gone;
    assert.deepEqual(reasons, ["io server disconnect", "io server disconnect"]);
    await assert.rejects(connect(tok), { message: "usuario_desactivado" });
    // reactivation lets the user back in
    const r2 = await fetch(`${API}/interno/usuarios/${encodeURIComponent(idErp)}/reactivar`, {
        method: "POST", headers: { authorization: `Bearer ${serviceToken()}` },
    });
    assert.equal(r2.status, 200);
    const s3 = await connect(tok);
    s3.close();
});

test("the polling transport gets a 400 with Engine.IO's error body", async () => {
    const r = await fetch(`${BASE}/chat/socket.io/?EIO=4&transport=polling`);
    assert.equal(r.status, 400);
    const body = await r.json();
    assert.equal(typeof body.code, "number");
    assert.equal(typeof body.message, "string");
    const r3 = await fetch(`${BASE}/chat/socket.io/?EIO=3&transport=polling`);
    assert.equal(r3.status, 400);
});

test("a malformed frame closes only that socket", async () => {
    const good = await connect(mint(`rt-mal-${RUN}`));
    opened.push(good);
    const ws = await raw();
    ws.send('40{"token":' + JSON.stringify(mint(`rt-mal2-${RUN}`)) + "}");
    await until(() => ws.frames.some((f) => f.startsWith("40")));
    ws.send("42this is not json");
    await closed(ws);
    const ws2 = await raw();
    ws2.send("\u00ff\u00fe garbage");
    await closed(ws2);
    const ws3 = await raw();
    ws3.send(Buffer.from([1, 2, 3]), { binary: true });
    await closed(ws3);
    // an event before CONNECT is a protocol error too
    const ws4 = await raw();
    ws4.send('42["chat:typing",{}]');
    await closed(ws4);
    // the well-behaved socket is still fine
    const ack = await ask(good, "presence:status", { estatus: "en_linea" });
    assert.deepEqual(ack, { ok: true });
    good.close();
});

test("acks: an unknown event or bad payload gets {ok:false,error}", async () => {
    const s = await connect(mint(`rt-ack-${RUN}`));
    opened.push(s);
    assert.deepEqual(await ask(s, "no:existe", {}), { ok: false, error: "evento_desconocido" });
    // names the server sends are not events a client may send
    for (const name of ["mensaje:nuevo", "chat:escribiendo", "chat:eliminado"])
        assert.deepEqual(await ask(s, name, { chat_id: 1 }), { ok: false, error: "evento_desconocido" });
    assert.deepEqual(await ask(s, "presence:status", { estatus: "dormido" }), { ok: false, error: "solicitud_invalida" });
    assert.deepEqual(await ask(s, "chat:typing", { chat_id: 999999999, escribiendo: true }),
        { ok: false, error: "no_encontrado" });
    s.close();
});

test("a client that never answers pings is dropped after pingTimeout", async () => {
    const rtd = await startRtd({ CHAT_RTD_PING_INTERVAL_MS: "300", CHAT_RTD_PING_TIMEOUT_MS: "300" });
    try {
        const url = rtd.base.replace(/^http/, "ws") + "/chat/socket.io/?EIO=4&transport=websocket";
        // one that answers stays up
        const polite = await raw(url);
        polite.on("message", (d) => { if (d.toString() === "2") polite.send("3"); });
        const rude = await raw(url);
        const t0 = Date.now();
        await closed(rude, 6000);
        const took = Date.now() - t0;
        assert.ok(rude.frames.includes("2"), "it was pinged");
        assert.ok(took >= 500 && took < 5000, `dropped after ${took} ms`);
        await sleep(800);
        assert.equal(polite.readyState, WebSocket.OPEN);
        polite.close();
    } finally {
        await rtd.stop();
    }
});

test("SIGTERM closes sockets cleanly (the client sees a transport close, not an error)", async () => {
    const rtd = await startRtd();
    const s = await connect(mint(`rt-term-${RUN}`), { base: rtd.base });
    const why = waitFor(s, "disconnect");
    const code = await rtd.stop();
    assert.equal(code, 0);
    assert.equal(await why, "transport close");
    assert.match(rtd.log(), /event=disconnect .*reason=server_shutdown/);
    s.close();
});

test("the ERP cookie authenticates when jwt_cookie names it (and only then)", async () => {
    const rtd = await startRtd({ CHAT_JWT_COOKIE: "erp_sesion" });
    try {
        const tok = mint(`rt-cookie-${RUN}`, "Galleta");
        const viaCookie = await connect(undefined, {
            base: rtd.base, opts: { extraHeaders: { cookie: `otra=1; erp_sesion=${tok}; x=y` } },
        });
        assert.ok(viaCookie.connected);
        viaCookie.close();
        await assert.rejects(connect(undefined, {
            base: rtd.base, opts: { extraHeaders: { cookie: "erp_sesion=basura" } },
        }), { message: "token_invalido" });
        // auth.token wins over the cookie
        const both = await connect(tok, { base: rtd.base, opts: { extraHeaders: { cookie: "erp_sesion=basura" } } });
        both.close();
    } finally {
        assert.equal(await rtd.stop(), 0);
    }
    // the stack has no jwt_cookie: a cookie alone is not enough
    await assert.rejects(connect(undefined, {
        opts: { extraHeaders: { cookie: `erp_sesion=${mint(`rt-cookie-${RUN}`)}` } },
    }), { message: "token_invalido" });
});

test("a frame past maxPayload closes that socket", async () => {
    const rtd = await startRtd({ CHAT_RTD_MAX_PAYLOAD: "4096" });
    try {
        const url = rtd.base.replace(/^http/, "ws") + "/chat/socket.io/?EIO=4&transport=websocket";
        const ws = await raw(url);
        ws.send('42["presence:status",{"x":"' + "y".repeat(10000) + '"}]');
        await closed(ws);
        const s = await connect(mint(`rt-max-${RUN}`), { base: rtd.base });
        assert.deepEqual(await ask(s, "presence:status", { estatus: "en_linea", x: "y".repeat(3000) }), { ok: true });
        s.close();
    } finally {
        assert.equal(await rtd.stop(), 0);
    }
});
