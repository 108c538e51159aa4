// rtd_hardening.test.mjs: chat-rtd against sockets from other sites and
// greedy clients, with the real socket.io-client: a cross-site WebSocket
// carrying the ERP cookie is refused (API.md §9), a socket ends at its
// token's exp with sesion:expirada, a 1 MB ping before CONNECT is not echoed
// and leaves rtd's memory flat, a typing flood is cut to its budget, and one
// user's sockets on an instance are capped; a chat_efimeros NOTIFY that
// the programs did not sign reaches nobody.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import WebSocket from "ws";
import { createHmac } from "node:crypto";
import { BASE, RUN, mint, connect, waitFor, collect, sleep, startRtd, userId, makeChat, sql, q } from "./lib.mjs";

const COOKIE = process.env.CHAT_JWT_COOKIE || "erp_jwt";
const LISTED = (process.env.CHAT_ORIGENES_PERMITIDOS || "").split(/[ ,]+/).filter(Boolean)[0];

/** Connects through nginx with the ERP cookie and the given Origin (none when null). */
function viaCookie(token, origin) {
    const headers = { cookie: `${COOKIE}=${token}` };
    if (origin) headers.origin = origin;
    return connect(undefined, { opts: { extraHeaders: headers } });
}

test("a cross-site WebSocket with the ERP cookie is refused; same-site, listed and bearer ones work", async () => {
    const tok = mint(`rh-origin-${RUN}`, "Olga Socket");
    await assert.rejects(viaCookie(tok, "https://evil.example"));
    await assert.rejects(viaCookie(tok, "null"));
    await assert.rejects(viaCookie(tok, BASE + ".evil.example"));
    const same = await viaCookie(tok, BASE);
    assert.ok(same.connected);
    same.close();
    assert.ok(LISTED, "the test stack lists an origin (CHAT_ORIGENES_PERMITIDOS)");
    const listed = await viaCookie(tok, LISTED);
    assert.ok(listed.connected);
    listed.close();
    // no Origin at all: not a browser, so not another site's page
    const none = await viaCookie(tok, null);
    none.close();
    // the token in CONNECT's auth: no cookie, the Origin does not matter
    const bearer = await connect(tok, { opts: { extraHeaders: { origin: "https://evil.example" } } });
    assert.ok(bearer.connected);
    bearer.close();
});

test("a socket ends at its token's exp: sesion:expirada, then disconnect", async () => {
    const rtd = await startRtd({ CHAT_RTD_PING_INTERVAL_MS: "300", CHAT_JWT_LEEWAY: "0" });
    try {
        const short = mint(`rh-exp-${RUN}`, "Ernesto Expira", ["--ttl", "3"]);
        const long = mint(`rh-exp2-${RUN}`, "Eva Dura");
        const s = await connect(short, { base: rtd.base });
        const other = await connect(long, { base: rtd.base });
        const t0 = Date.now();
        const gone = waitFor(s, "disconnect", () => true, 10000);
        await waitFor(s, "sesion:expirada", () => true, 10000);
        // closed as a transport, so a stock socket.io-client reconnects by
        // itself (calling its auth function for a fresh token)
        assert.equal(await gone, "transport close");
        const took = (Date.now() - t0) / 1000;
        assert.ok(took >= 1 && took < 6, `closed after ${took} s`);
        assert.match(rtd.log(), /event=session_expired/);
        // a token that has not expired keeps its socket
        await sleep(500);
        assert.ok(other.connected);
        other.close();
        s.close();
    } finally {
        assert.equal(await rtd.stop(), 0);
    }
});

/** rtd's resident memory in kB. */
function rssKb(pid) {
    return Number(readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+)/)[1]);
}

test("a 1 MB ping before CONNECT is not echoed and rtd's memory stays flat", async () => {
    const rtd = await startRtd();
    try {
        const url = rtd.base.replace(/^http/, "ws") + "/chat/socket.io/?EIO=4&transport=websocket";
        const big = "2" + "x".repeat(1024 * 1024);
        const before = rssKb(rtd.child.pid);
        let echoed = 0;
        for (let round = 0; round < 4; round++) {
            const socks = await Promise.all(Array.from({ length: 10 }, () => new Promise((ok, fail) => {
                const ws = new WebSocket(url);
                ws.on("message", (d) => { if (d.toString().startsWith("3")) echoed++; });
                ws.once("open", () => ok(ws));
                ws.once("error", fail);
            })));
            for (const ws of socks) ws.send(big);
            await Promise.all(socks.map((ws) => new Promise((ok) => {
                if (ws.readyState === WebSocket.CLOSED) return ok();
                ws.once("close", ok);
                setTimeout(ok, 5000);
            })));
            for (const ws of socks) assert.equal(ws.readyState, WebSocket.CLOSED);
        }
        assert.equal(echoed, 0);
        const after = rssKb(rtd.child.pid);
        // 40 MB were sent; rtd keeps none of it
        assert.ok(after - before < 8 * 1024, `rtd grew ${after - before} kB`);
        // a small ping ("probe") is still answered
        const ws = new WebSocket(url);
        const pong = await new Promise((ok, fail) => {
            ws.on("message", (d) => { if (d.toString().startsWith("3")) ok(d.toString()); });
            ws.once("open", () => ws.send("2probe"));
            ws.once("error", fail);
            setTimeout(() => fail(new Error("no pong")), 5000);
        });
        assert.equal(pong, "3probe");
        ws.close();
    } finally {
        assert.equal(await rtd.stop(), 0);
    }
});

test("a typing flood is cut to its budget per socket and per user; others still type", async () => {
    const a = userId(`rh-typ-a-${RUN}`, "Tania Teclea");
    const b = userId(`rh-typ-b-${RUN}`, "Tito Lee");
    const chat = makeChat([a, b], "tecleo");
    const ta = mint(`rh-typ-a-${RUN}`, "Tania Teclea");
    const tb = mint(`rh-typ-b-${RUN}`, "Tito Lee");
    const socks = await Promise.all([connect(ta), connect(ta), connect(ta), connect(tb)]);
    const [a1, a2, a3, b1] = socks;
    try {
        // three sockets of one user, 30 typing events each within a second
        const acks = await Promise.all([a1, a2, a3].flatMap((s) => Array.from({ length: 30 },
            () => s.timeout(5000).emitWithAck("chat:typing", { chat_id: chat, escribiendo: true }))));
        const refused = acks.filter((x) => x && x.ok === false && x.error === "limite_excedido").length;
        const ok = acks.filter((x) => x && x.ok === true).length;
        assert.equal(ok + refused, 90);
        // at most 20 per socket and 40 per user in one second (a second boundary may split the burst)
        assert.ok(ok <= 80, `${ok} accepted`);
        assert.ok(refused >= 10, `${refused} refused`);
        // the other member is not affected
        const mine = await b1.timeout(5000).emitWithAck("chat:typing", { chat_id: chat, escribiendo: true });
        assert.deepEqual(mine, { ok: true });
    } finally {
        for (const s of socks) s.close();
    }
});

test("one user holds at most rtd_max_sockets_per_user sockets on an instance; others are not affected", async () => {
    const rtd = await startRtd({ CHAT_RTD_MAX_SOCKETS_PER_USER: "3" });
    const held = [];
    try {
        const tok = mint(`rh-cap-${RUN}`, "Carla Tope");
        for (let i = 0; i < 3; i++) held.push(await connect(tok, { base: rtd.base }));
        await assert.rejects(connect(tok, { base: rtd.base }), (e) => e.message === "limite_excedido");
        // someone else connects as usual
        const other = await connect(mint(`rh-cap2-${RUN}`, "Otto Libre"), { base: rtd.base });
        assert.ok(other.connected);
        other.close();
        // one closed: room for one again
        held.shift().close();
        let again;
        for (let i = 0; i < 20 && !again; i++) {
            await sleep(100);
            again = await connect(tok, { base: rtd.base }).catch(() => undefined);
        }
        assert.ok(again?.connected, "a socket connects again once one closed");
        held.push(again);
        assert.match(rtd.log(), /codigo=limite_excedido sockets=3/);
        const m = await (await fetch(`${rtd.base}/rtd/metrics`)).text();
        assert.match(m, /chat_rtd_auth_failures_total\{[^}]*limite_sockets[^}]*\} [1-9]/);
    } finally {
        for (const s of held) s.close();
        assert.equal(await rtd.stop(), 0);
    }
});

test("a chat_efimeros NOTIFY without the programs' signature reaches nobody; a genuine typing event does", async () => {
    const a = userId(`rh-ef-a-${RUN}`, "Elsa Firma");
    const b = userId(`rh-ef-b-${RUN}`, "Efren Lee");
    const chat = makeChat([a, b], "firmas");
    const sa = await connect(mint(`rh-ef-a-${RUN}`, "Elsa Firma"));
    const sb = await connect(mint(`rh-ef-b-${RUN}`, "Efren Lee"));
    try {
        const heard = collect(sb, "chat:escribiendo");
        const metric = async () => {
            const m = await (await fetch(`${BASE}/chat/rtd/metrics`)).text();
            return Number((m.match(/^chat_rtd_efimeros_rejected_total (\d+)/m) || [])[1]);
        };
        const before = await metric();
        const forged = JSON.stringify({ tipo: "chat:escribiendo", sala: `chat:${chat}`, excluir: 0,
            t: Math.floor(Date.now() / 1000), payload: { chat_id: chat, usuario_id: a, escribiendo: true, forjado: 1 } });
        // unsigned (the old format), signed with a guessed key, and a signature of other text
        const guess = createHmac("sha256", "not-the-key").update(forged).digest("hex");
        const other = createHmac("sha256", "not-the-key").update("{}").digest("hex");
        sql(`SELECT pg_notify('chat_efimeros', ${q(forged)});
             SELECT pg_notify('chat_efimeros', ${q(guess + "." + forged)});
             SELECT pg_notify('chat_efimeros', ${q(other + "." + forged)});`);
        await sleep(700);
        assert.equal(heard.length, 0, `forged events delivered: ${JSON.stringify(heard)}`);
        assert.equal(await metric(), before + 3);
        // the real thing still arrives
        const real = waitFor(sb, "chat:escribiendo", (p) => p.chat_id === chat);
        assert.deepEqual(await sa.timeout(5000).emitWithAck("chat:typing", { chat_id: chat, escribiendo: true }), { ok: true });
        assert.deepEqual(await real, { chat_id: chat, usuario_id: a, escribiendo: true });
    } finally {
        sa.close();
        sb.close();
    }
});
