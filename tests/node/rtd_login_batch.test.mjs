// rtd_login_batch.test.mjs: socket logins arriving together are checked
// together (a worker takes the waiting ones in one round trip), and each
// still gets exactly its own answer: a burst mixing good tokens, a bad one,
// a deactivated user, a first login, a changed profile and one user over
// limite_sesiones ends as the same logins one by one would, and every
// socket that connected is in its own chats' rooms.
import { test } from "node:test";
import assert from "node:assert/strict";
import { API, RUN, mint, serviceToken, connect, waitFor, startRtd, userId, makeChat, sql } from "./lib.mjs";

test("a burst of socket logins: each gets its own answer, rooms and rate limit as one by one", async () => {
    const rtd = await startRtd({ CHAT_LIMITE_SESIONES: "3" });
    const opened = [];
    try {
        // users already stored, in chats of their own
        const n = 12;
        const ids = [], toks = [];
        for (let i = 0; i < n; i++) {
            const erp = `lb-${RUN}-${i}`;
            ids.push(userId(erp, `Lote ${i}`));
            toks.push(mint(erp, `Lote ${i}`));
        }
        const chats = [];
        for (let i = 0; i < n; i += 2) chats.push(makeChat([ids[i], ids[i + 1]], `lote-${i}`));
        // a deactivated user, a first login, a changed name, a bad token
        const deact = `lb-${RUN}-off`;
        userId(deact, "Apagado");
        const off = await fetch(`${API}/interno/usuarios/${encodeURIComponent(deact)}/desactivar`, {
            method: "POST", headers: { authorization: `Bearer ${serviceToken()}` },
        });
        assert.equal(off.status, 200);
        const tokOff = mint(deact, "Apagado");
        const tokNew = mint(`lb-${RUN}-nuevo`, "Recién Llegado");
        // (a user of its own: two logins of one user with different names
        // race, and the last one written wins, one by one too)
        const renId = userId(`lb-${RUN}-ren`, "Antes del Cambio");
        const tokRenamed = mint(`lb-${RUN}-ren`, "Después del Cambio");
        // one user opening five sockets at once, over a limit of three
        const tokGreedy = mint(`lb-${RUN}-greedy`, "Muchas Pestañas");

        const attempts = [
            ...toks.map((t) => ({ kind: "ok", t })),
            { kind: "off", t: tokOff },
            { kind: "new", t: tokNew },
            { kind: "renamed", t: tokRenamed },
            { kind: "bad", t: toks[1].slice(0, -4) + "AAAA" },
            ...Array.from({ length: 5 }, () => ({ kind: "greedy", t: tokGreedy })),
        ];
        const res = await Promise.allSettled(attempts.map((a) => connect(a.t, { base: rtd.base })));
        const by = (kind) => res.filter((_, i) => attempts[i].kind === kind);
        for (const r of res) if (r.status === "fulfilled") opened.push(r.value);

        // every stored user connected (the renamed one too: its profile is rewritten)
        const ok = by("ok");
        assert.ok(ok.every((r) => r.status === "fulfilled"), "every good token connects");
        assert.equal(by("renamed")[0].status, "fulfilled");
        assert.equal(by("new")[0].status, "fulfilled");
        assert.equal(by("off")[0].status, "rejected");
        assert.equal(by("off")[0].reason.message, "usuario_desactivado");
        assert.equal(by("bad")[0].status, "rejected");
        assert.equal(by("bad")[0].reason.message, "token_invalido");
        const greedy = by("greedy");
        assert.equal(greedy.filter((r) => r.status === "fulfilled").length, 3, "three units of limite_sesiones");
        const refused = greedy.filter((r) => r.status === "rejected");
        assert.equal(refused.length, 2);
        for (const r of refused) assert.equal(r.reason.message, "limite_excedido");

        // the rename was stored
        const me = await fetch(`${API}/usuarios/${renId}`, { headers: { authorization: `Bearer ${toks[2]}` } });
        assert.equal((await me.json()).nombre, "Después del Cambio");

        // each socket is in its own chat's room
        const socks = ok.map((r) => r.value);
        const got = socks.map((s, i) =>
            waitFor(s, "mensaje:nuevo", (p) => p.chat_id === chats[Math.floor(i / 2)], 10000));
        // every chat's event in one statement and one wake-up (a psql per
        // chat would eat the wait on a loaded machine)
        sql(`INSERT INTO eventos (tipo, sala, payload)
             SELECT 'mensaje:nuevo', 'chat:' || c, jsonb_build_object('chat_id', c, 'id', 1)
               FROM unnest(ARRAY[${chats.join(",")}]::bigint[]) AS c;
             SELECT pg_notify('chat_eventos', '{}');`);
        const payloads = await Promise.all(got);
        payloads.forEach((p, i) => assert.equal(p.chat_id, chats[Math.floor(i / 2)]));
    } finally {
        for (const s of opened) s.close();
        await rtd.stop();
    }
});
