// rtd_instances.test.mjs: several chat-rtd instances sharing PostgreSQL:
// users on different instances see each other's messages, typing and
// presence; a dead instance's users end up desconectado.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
    RUN, mint, userId, makeChat, emit, connect, waitFor, collect, ask, sleep, startRtd, sql,
} from "./lib.mjs";

async function freePort() {
    return new Promise((ok) => {
        const srv = createServer();
        srv.listen(0, "127.0.0.1", () => {
            const { port } = srv.address();
            srv.close(() => ok(port));
        });
    });
}

/** An nginx of its own balancing /chat/socket.io/ over the given rtd ports
 * (round robin: no stickiness is needed for the websocket transport). */
async function balancer(ports) {
    const dir = mkdtempSync(join(tmpdir(), "rtd-lb-"));
    for (const d of ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]) mkdirSync(join(dir, d));
    const port = await freePort();
    const root = process.getuid && process.getuid() === 0 ? "user root;" : "";
    writeFileSync(join(dir, "nginx.conf"), `${root}
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path ${dir}/client_body;
    proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fastcgi;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;
    upstream rtd { ${ports.map((p) => `server 127.0.0.1:${p};`).join(" ")} }
    server {
        listen 127.0.0.1:${port};
        location /chat/socket.io/ {
            proxy_pass http://rtd;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_read_timeout 3600s;
        }
    }
}
`);
    const child = spawn("nginx", ["-p", dir, "-c", join(dir, "nginx.conf"), "-e", join(dir, "error.log"),
        "-g", "daemon off;"], { stdio: "ignore" });
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 100; i++) {
        try {
            await fetch(`${base}/chat/socket.io/?EIO=4&transport=polling`);
            break;
        } catch { await sleep(50); }
    }
    return {
        base,
        stop: () => new Promise((ok) => {
            child.once("exit", () => { rmSync(dir, { recursive: true, force: true }); ok(); });
            child.kill("SIGQUIT");
        }),
    };
}

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
    // y writes its count in its next presence batch, after the CONNECT
    // answer: wait for it (a loaded machine may take longer than a moment)
    const held = () => Number(sql(`SELECT coalesce(sum(sockets), 0) FROM presencia_conexiones WHERE usuario_id = ${p.id}`)[0][0]);
    for (let i = 0; i < 100 && held() < 2; i++) await sleep(100);
    assert.equal(held(), 2, "both instances counted their socket");
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

test("two instances behind one nginx: users on different instances talk to each other", async () => {
    const lb = await balancer([x.port, y.port]);
    try {
        const a = pre("a4"), b = pre("b4");
        const chat = makeChat([a.id, b.id]);
        const countX0 = (await (await fetch(`${x.base}/rtd/salud`)).json()).conexiones;
        const as = await sock(a, lb);
        const bs = await sock(b, lb);
        // round robin put one socket on each instance
        const countX = (await (await fetch(`${x.base}/rtd/salud`)).json()).conexiones;
        assert.equal(countX - countX0, 1, "one of the two sockets is on x, the other on y");
        const got = [waitFor(as, "mensaje:nuevo"), waitFor(bs, "mensaje:nuevo")];
        emit("mensaje:nuevo", `chat:${chat}`, { id: 20, chat_id: chat });
        for (const m of await Promise.all(got)) assert.equal(m.id, 20);
        const t = waitFor(bs, "chat:escribiendo");
        await ask(as, "chat:typing", { chat_id: chat, escribiendo: true });
        assert.equal((await t).usuario_id, a.id);
        const st = waitFor(bs, "usuario:estatus", (e) => e.usuario_id === a.id && e.estatus === "inactivo");
        await ask(as, "presence:status", { estatus: "inactivo" });
        await st;
        as.close();
        bs.close();
    } finally {
        await lb.stop();
    }
});
