// metrics.test.mjs: the three Prometheus endpoints answer in the text
// format and their numbers move when traffic flows: chat-rtd's
// /chat/rtd/metrics, chat-fcgi's /interno/metricas (service token; the
// counters are shared by every pre-forked worker, so N requests add exactly
// N whichever workers served them), and `chat-cron metrics` (push queue,
// eventos, chat-cron's counters in the database).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { API, BASE, CONFIG, CRON, RUN, mint, serviceToken, connect, waitFor, sleep } from "./lib.mjs";

const opened = [];
after(() => { for (const s of opened) s.close(); });

/** Parses Prometheus text into Map("name{labels}" -> number); checks that
 * every sample line is well formed and every family has TYPE. */
function parse(text) {
    const m = new Map(), typed = new Set();
    for (const line of text.split("\n")) {
        if (!line) continue;
        const t = /^# TYPE (\S+) (counter|gauge|histogram)$/.exec(line);
        if (t) { typed.add(t[1]); continue; }
        if (line.startsWith("# HELP ")) continue;
        const s = /^([a-z_:][a-z0-9_:]*)(\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\})? (\S+)$/.exec(line);
        assert.ok(s, `bad sample line: ${JSON.stringify(line)}`);
        assert.ok(s[1].startsWith("chat_"), `name without chat_ prefix: ${s[1]}`);
        const family = s[1].replace(/_(bucket|sum|count)$/, "");
        assert.ok(typed.has(s[1]) || typed.has(family), `no TYPE for ${s[1]}`);
        const v = Number(s[3]);
        assert.ok(Number.isFinite(v), `not a number: ${line}`);
        m.set(s[1] + (s[2] ?? ""), v);
    }
    return m;
}

const val = (m, k) => m.get(k) ?? 0;

async function rtdMetrics() {
    const r = await fetch(`${BASE}/chat/rtd/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-type"), /^text\/plain; version=0\.0\.4/);
    return parse(await r.text());
}

async function fcgiMetrics(tok) {
    const r = await fetch(`${API}/interno/metricas`, { headers: { authorization: `Bearer ${tok}` } });
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-type"), /^text\/plain; version=0\.0\.4/);
    return parse(await r.text());
}

function cronMetrics(args = []) {
    return execFileSync(CRON, ["--config", CONFIG, "metrics", ...args], { encoding: "utf8" });
}

async function call(tok, method, path, body) {
    const r = await fetch(`${API}${path}`, {
        method,
        headers: { authorization: `Bearer ${tok}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null };
}

test("chat-rtd: connections, events by name, delivery lag and auth failures move", async () => {
    const a = mint(`mt-a-${RUN}`, "A"), b = mint(`mt-b-${RUN}`, "B");
    const m0 = await rtdMetrics();
    const sa = await connect(a), sb = await connect(b);
    opened.push(sa, sb);
    const idB = (await call(b, "GET", "/me")).body.usuario.id;
    const chat = await call(a, "POST", "/chats/directo", { usuario_id: idB });
    assert.ok(chat.status === 200 || chat.status === 201, JSON.stringify(chat.body));
    const got = waitFor(sb, "mensaje:nuevo", (p) => p.client_id === `mt-${RUN}`);
    const sent = await call(a, "POST", `/chats/${chat.body.id}/mensajes`, { tipo: "texto", contenido: "hola", client_id: `mt-${RUN}` });
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    await got;
    await assert.rejects(connect("no-es-un-token"));

    const m1 = await rtdMetrics();
    assert.ok(val(m1, "chat_rtd_connects_total") >= val(m0, "chat_rtd_connects_total") + 3);
    assert.ok(val(m1, 'chat_rtd_connections{state="conectada"}') >= 2);
    assert.ok(val(m1, "chat_rtd_users") >= 2);
    assert.ok(val(m1, "chat_rtd_rooms") >= 1);
    const ev = 'chat_rtd_events_delivered_total{event="mensaje:nuevo"}';
    assert.ok(val(m1, ev) >= val(m0, ev) + 1, `${ev}: ${val(m0, ev)} -> ${val(m1, ev)}`);
    // both members' sockets got the frame: two lag observations at least
    const lagN = "chat_rtd_delivery_lag_seconds_count";
    assert.ok(val(m1, lagN) >= val(m0, lagN) + 2);
    assert.equal(val(m1, 'chat_rtd_delivery_lag_seconds_bucket{le="+Inf"}'), val(m1, lagN));
    assert.ok(val(m1, "chat_rtd_delivery_lag_seconds_sum") >= val(m0, "chat_rtd_delivery_lag_seconds_sum"));
    const bad = 'chat_rtd_auth_failures_total{reason="token_invalido"}';
    assert.equal(val(m1, bad), val(m0, bad) + 1);
    assert.ok(val(m1, "chat_rtd_feed_notifies_total") > val(m0, "chat_rtd_feed_notifies_total"));
    assert.ok(m1.has("chat_rtd_feed_timer_reads_total"));
    assert.ok(m1.has("chat_rtd_send_queue_bytes"));
    assert.ok(m1.has("chat_rtd_slow_consumers_total"));
    assert.ok(m1.has("chat_rtd_db_reconnects_total"));
    assert.equal(val(m1, "chat_rtd_db_up"), 1);
});

test("chat-fcgi: service token only; N requests add exactly N across workers", async () => {
    const svc = serviceToken(), u = mint(`mt-u-${RUN}`, "U");
    const anon = await fetch(`${API}/interno/metricas`);
    assert.equal(anon.status, 401);
    await anon.arrayBuffer();
    const user = await fetch(`${API}/interno/metricas`, { headers: { authorization: `Bearer ${u}` } });
    assert.equal(user.status, 403);
    await user.arrayBuffer();

    assert.equal((await call(u, "GET", "/me")).status, 200);
    const m0 = await fcgiMetrics(svc);
    const N = 24;
    // concurrently, so several workers serve them
    const rs = await Promise.all(Array.from({ length: N }, () => call(u, "GET", "/me")));
    assert.ok(rs.every((r) => r.status === 200));
    const nf = await call(u, "GET", "/no/existe");
    assert.equal(nf.status, 404);
    const m1 = await fcgiMetrics(svc);

    const k = 'chat_fcgi_requests_total{route="GET /me",status="200"}';
    assert.equal(val(m1, k) - val(m0, k), N);
    const c = 'chat_fcgi_request_duration_seconds_count{route="GET /me"}';
    assert.equal(val(m1, c) - val(m0, c), N);
    assert.equal(val(m1, 'chat_fcgi_request_duration_seconds_bucket{route="GET /me",le="+Inf"}'), val(m1, c));
    assert.ok(val(m1, 'chat_fcgi_request_duration_seconds_sum{route="GET /me"}') >
        val(m0, 'chat_fcgi_request_duration_seconds_sum{route="GET /me"}'));
    assert.ok(val(m1, 'chat_fcgi_request_db_seconds_total{route="GET /me"}') >
        val(m0, 'chat_fcgi_request_db_seconds_total{route="GET /me"}'));
    const o = 'chat_fcgi_requests_total{route="other",status="404"}';
    assert.equal(val(m1, o) - val(m0, o), 1);
    // the scrape itself was counted once, by the time of the second scrape
    const self = 'chat_fcgi_requests_total{route="GET /interno/metricas",status="200"}';
    assert.equal(val(m1, self) - val(m0, self), 1);
    assert.ok(m1.has("chat_fcgi_rate_limited_total"));
    assert.ok(m1.has("chat_fcgi_worker_restarts_total"));
    assert.ok(val(m1, "chat_fcgi_workers") >= 1);
});

test("chat-cron metrics: the push queue and its counters move; --out writes the file whole", async () => {
    const a = mint(`mt-pa-${RUN}`, "PA"), b = mint(`mt-pb-${RUN}`, "PB");
    const idB = (await call(b, "GET", "/me")).body.usuario.id;
    const dev = await call(b, "POST", "/dispositivos", { token: `ExponentPushToken[mt${RUN}]`, plataforma: "android" });
    assert.ok(dev.status === 200 || dev.status === 201, JSON.stringify(dev.body));
    const m0 = parse(cronMetrics());
    for (const k of ["chat_cron_push_queue_pending", "chat_cron_push_queue_oldest_age_seconds",
        "chat_cron_push_receipts_pending", "chat_eventos_rows", "chat_eventos_waiting_horizon",
        "chat_eventos_horizon_age_seconds", "chat_eventos_past_retention"]) {
        assert.ok(m0.has(k), `missing ${k}`);
    }
    const chat = await call(a, "POST", "/chats/directo", { usuario_id: idB });
    const sent = await call(a, "POST", `/chats/${chat.body.id}/mensajes`, { tipo: "texto", contenido: "push", client_id: `mtp-${RUN}` });
    assert.equal(sent.status, 201);
    const m1 = parse(cronMetrics());
    const queued = (m) => val(m, "chat_cron_push_queue_pending") + val(m, "chat_cron_push_queue_sending");
    // B is offline with a device: one more push waits (or is being sent)
    assert.ok(queued(m1) >= 1 || val(m1, "chat_cron_push_retried_total") > val(m0, "chat_cron_push_retried_total"));
    // the stack's expo_url refuses connections: the loop (every 5 s) retries
    let m2 = m1;
    for (let i = 0; i < 40 && val(m2, "chat_cron_push_retried_total") <= val(m0, "chat_cron_push_retried_total"); i++) {
        await sleep(500);
        m2 = parse(cronMetrics());
    }
    assert.ok(val(m2, "chat_cron_push_retried_total") > val(m0, "chat_cron_push_retried_total"));
    assert.ok(val(m2, "chat_cron_push_queue_oldest_age_seconds") > 0);

    const dir = mkdtempSync(join(tmpdir(), "chat-prom-"));
    try {
        const file = join(dir, "chat.prom");
        assert.equal(cronMetrics(["--out", file]), "");
        const m3 = parse(readFileSync(file, "utf8"));
        assert.ok(m3.has("chat_cron_metrics_timestamp_seconds"));
        assert.deepEqual(readdirSync(dir), ["chat.prom"]);
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
});
