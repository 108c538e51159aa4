// rtd_presence_bursts.test.mjs: presence stays exact when 1,000 sockets
// (250 users x 4 tabs, tabs alternating between two chat-rtd instances)
// connect and leave in bursts: afterwards nobody whose tabs all closed is
// left en_linea, and nobody with a tab still open was ever shown
// desconectado. Checks the batched presence writes of both instances
// against each other (the user rows are locked in id order by each batch).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { RUN, sql, signToken, connect, sleep, startRtd } from "./lib.mjs";

const USERS = 250, TABS = 4;
const env = { CHAT_PRESENCE_GRACE_SECONDS: "1", CHAT_LIMITE_SESIONES: "0" };
let x, y;
const open = new Set();

before(async () => { [x, y] = await Promise.all([startRtd(env), startRtd(env)]); });
after(async () => {
    for (const s of open) s.close();
    await Promise.all([x && x.stop(), y && y.stop()]);
});

/** Polls fn until it returns true (or fails after ms). */
async function until(fn, ms, what) {
    const end = Date.now() + ms;
    for (;;) {
        if (fn()) return;
        if (Date.now() > end) {
            const tail = (r) => r.log().split("\n").filter((l) => /warn|error|fail/.test(l)).slice(-5).join("\n");
            assert.fail(`timed out: ${what}\n${tail(x)}\n${tail(y)}`);
        }
        await sleep(200);
    }
}

const count = (text) => Number(sql(text)[0][0]);

test("1,000 sockets across two instances connect and leave in bursts: counts exact", { timeout: 120000 }, async () => {
    const exp = Math.floor(Date.now() / 1000) + 600;
    const rows = sql(`INSERT INTO usuarios (id_erp, nombre)
        SELECT 'pb-${RUN}-' || g, 'PB ' || g FROM generate_series(1, ${USERS}) g RETURNING id, id_erp, nombre`);
    const users = rows.map(([id, idErp, nombre]) => ({
        id: Number(id), tok: signToken({ idErp, nombre, permisos: [], exp }), tabs: [],
    }));
    const ids = (list) => `ARRAY[${list.map((u) => u.id).join(",")}]::bigint[]`;
    const all = ids(users);

    // connect: one burst per tab, every user at once, tabs alternating x / y
    for (let t = 0; t < TABS; t++) {
        const socks = await Promise.all(users.map((u) => connect(u.tok, { base: t % 2 ? y.base : x.base })));
        socks.forEach((s, i) => { users[i].tabs.push(s); open.add(s); });
    }
    await until(() => count(`SELECT count(*) FROM usuarios WHERE id = ANY(${all}) AND estatus = 'en_linea'`) === USERS,
        20000, "every user en_linea");
    await until(() => count(`SELECT count(*) FROM (SELECT sum(sockets) s FROM presencia_conexiones
        WHERE usuario_id = ANY(${all}) GROUP BY usuario_id) t WHERE s = ${TABS}`) === USERS,
        20000, `${TABS} sockets counted for every user`);

    // leave in bursts: the first half closes every tab, the second half all
    // but one (a different one per user, so both instances keep some)
    const gone = users.slice(0, USERS / 2), stay = users.slice(USERS / 2);
    const startedAt = count("SELECT coalesce(max(id), 0) FROM eventos");
    for (let t = 0; t < TABS; t++) {
        for (const [i, u] of users.entries()) {
            if (i >= USERS / 2 && t === i % TABS) continue;
            u.tabs[t].close();
            open.delete(u.tabs[t]);
        }
        await sleep(100);
    }
    await until(() => count(`SELECT count(*) FROM usuarios WHERE id = ANY(${ids(gone)})
        AND estatus = 'desconectado'`) === gone.length, 20000, "every user without tabs desconectado");
    await sleep(1500); // past the grace period once more
    assert.equal(count(`SELECT count(*) FROM usuarios WHERE id = ANY(${ids(stay)}) AND estatus = 'en_linea'`),
        stay.length, "every user with an open tab still en_linea");
    assert.equal(count(`SELECT count(*) FROM (SELECT sum(sockets) s FROM presencia_conexiones
        WHERE usuario_id = ANY(${ids(stay)}) GROUP BY usuario_id) t WHERE s = 1`), stay.length,
        "one socket counted for each user who kept a tab");
    assert.equal(count(`SELECT count(*) FROM presencia_conexiones WHERE usuario_id = ANY(${ids(gone)})`), 0,
        "no rows left for users without tabs");
    assert.equal(count(`SELECT count(*) FROM eventos WHERE id > ${startedAt} AND tipo = 'usuario:estatus'
        AND usuario_id = ANY(${ids(stay)}) AND payload->>'estatus' = 'desconectado'`), 0,
        "nobody with an open tab was shown desconectado");
});
