// rtd_zz_pgrestart.test.mjs: chat-rtd losing PostgreSQL: it reconnects with
// backoff and delivers from eventos whatever was written meanwhile, each
// event exactly once, to sockets that stayed open. Named to run last: the
// restart also breaks the other programs' idle connections.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, realpathSync } from "node:fs";
import { io } from "socket.io-client";
import { join } from "node:path";
import { BASE, VAR, RUN, mint, userId, makeChat, emit, sql, connect, collect, sleep } from "./lib.mjs";

const PG_CTL = "/usr/lib/postgresql/15/bin/pg_ctl";
const opened = [];
after(() => { for (const s of opened) s.close(); });

/** The server's own options from its last start (to start it again). */
function pgOpts() {
    const opts = readFileSync(join(realpathSync(join(VAR, "pg")), "postmaster.opts"), "utf8").trim();
    // postmaster.opts is the binary, then "-D" "<dir>" only when the server
    // was started with -D rather than PGDATA: drop both, keep the rest
    return opts.replace(/^\S+\s*/, "").replace(/^"-D"\s+"[^"]*"\s*/, "");
}

function pgCtl(...args) {
    const data = realpathSync(join(VAR, "pg"));
    const cmd = [PG_CTL, "-D", data, ...args];
    if (process.getuid && process.getuid() === 0) {
        execFileSync("runuser", ["-u", "postgres", "--", ...cmd], { stdio: "ignore", cwd: "/" });
    } else {
        execFileSync(cmd[0], cmd.slice(1), { stdio: "ignore" });
    }
}

async function until(pred, ms, what) {
    for (let t = 0; t < ms; t += 50) {
        if (pred()) return;
        await sleep(50);
    }
    throw new Error(`timed out waiting for ${what}`);
}

/** Inserts events, retrying while the server is still coming up. */
async function emitRetry(...args) {
    for (let i = 0; ; i++) {
        try {
            return emit(...args);
        } catch (e) {
            if (i > 100) throw e;
            await sleep(100);
        }
    }
}

async function setup(tag) {
    const idErp = `pg-${tag}-${RUN}`;
    const id = userId(idErp, tag);
    const chat = makeChat([id]);
    const s = await connect(mint(idErp, tag));
    opened.push(s);
    return { s, chat, got: collect(s, "mensaje:nuevo") };
}

test("events written while the listener is cut off arrive once, in order", async () => {
    const { s, chat, got } = await setup("kill");
    emit("mensaje:nuevo", `chat:${chat}`, { n: 0 });
    await until(() => got.length === 1, 3000, "the first event");
    // cut the LISTEN connection(s) and write at once, with no NOTIFY
    sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE query LIKE '%eventos_despues%' AND pid <> pg_backend_pid()`);
    for (let n = 1; n <= 10; n++) emit("mensaje:nuevo", `chat:${chat}`, { n }, { notify: false });
    await until(() => got.length >= 11, 8000, "the events written meanwhile");
    await sleep(1500);
    assert.deepEqual(got.map((m) => m.n), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.ok(s.connected, "the socket stayed open");
});

test("after a PostgreSQL restart: reconnects, nothing lost, nothing twice, new sockets authenticate", async () => {
    const { s, chat, got } = await setup("restart");
    emit("mensaje:nuevo", `chat:${chat}`, { n: 0 });
    await until(() => got.length === 1, 3000, "the first event");
    pgCtl("-m", "fast", "-w", "-t", "60", "restart");
    for (let n = 1; n <= 10; n++) await emitRetry("mensaje:nuevo", `chat:${chat}`, { n }, { notify: n % 2 === 0 });
    await until(() => got.length >= 11, 15000, "the events written after the restart");
    await sleep(1500);
    assert.deepEqual(got.map((m) => m.n), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.ok(s.connected, "the socket stayed open");
    // the workers' connections came back too: a new socket authenticates
    const idErp = `pg-new-${RUN}`;
    let s2;
    for (let i = 0; i < 20 && !s2; i++) {
        try { s2 = await connect(mint(idErp)); } catch { await sleep(250); }
    }
    assert.ok(s2?.connected);
    s2.close();
});

test("while PostgreSQL is down a connecting client gets no final refusal, and gets in once it is back", async () => {
    const tok = mint(`pg-down-${RUN}`);
    const opts = pgOpts();
    pgCtl("-m", "fast", "-w", "-t", "60", "stop");
    let s;
    try {
        const health = await fetch(`${BASE}/chat/rtd/salud`);
        assert.equal(health.status, 503);
        assert.equal((await health.json()).db, "inaccesible");
        s = io(BASE, { path: "/chat/socket.io", transports: ["websocket"], auth: { token: tok }, forceNew: true,
            reconnectionDelay: 200, reconnectionDelayMax: 500 });
        const refusals = collect(s, "connect_error");
        await sleep(1500);
        assert.equal(s.connected, false);
        assert.deepEqual(refusals.filter((e) => /token_invalido|usuario_desactivado/.test(e.message)), []);
    } finally {
        pgCtl("-w", "-t", "60", "-l", join(VAR, "log", "postgres.log"), "-o", opts, "start");
    }
    const t = setTimeout(() => s.close(), 15000);
    if (!s.connected) await new Promise((ok) => s.once("connect", ok));
    clearTimeout(t);
    assert.ok(s.connected);
    s.close();
});
