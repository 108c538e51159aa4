// lib.mjs: helpers for the realtime tests: tokens, SQL, sockets, and extra
// chat-rtd instances started with their own settings.
import { execFileSync, spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { readFileSync, readlinkSync, existsSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { io } from "socket.io-client";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export const BASE = process.env.CHAT_TEST_BASE;
export const API = process.env.CHAT_TEST_URL;
export const CONFIG = process.env.CHAT_CONFIG;
export const VAR = process.env.CHAT_TEST_VAR;
if (!BASE || !CONFIG || !VAR) {
    throw new Error("run through scripts/run-tests.sh (CHAT_TEST_BASE, CHAT_CONFIG, CHAT_TEST_VAR)");
}

/** A suffix that keeps the ids of this run apart from earlier runs. */
export const RUN = `${process.pid}${Date.now() % 100000}`;

/** The binary the stack runs (same build, sanitizer or not). */
function stackBin(name) {
    try {
        const pid = readFileSync(join(VAR, "run", `${name}.pid`), "utf8").split("\n")[0].trim();
        const exe = readlinkSync(`/proc/${pid}/exe`);
        if (existsSync(exe)) return exe;
    } catch { /* fall back to the default build */ }
    return join(ROOT, "build/bin", name);
}

export const RTD_BIN = stackBin("chat-rtd");
const CRON_BIN = existsSync(join(dirname(RTD_BIN), "chat-cron")) ? join(dirname(RTD_BIN), "chat-cron")
    : join(ROOT, "build/bin/chat-cron");
/** The chat-cron of the same build as the stack's chat-rtd. */
export const CRON = CRON_BIN;

/** A user token from chat-cron token. */
export function mint(idErp, nombre = idErp, extra = []) {
    return execFileSync(CRON_BIN, ["--config", CONFIG, "token", "--id-erp", idErp, "--nombre", nombre,
        "--ttl", "600", ...extra], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
}

export function serviceToken() {
    return execFileSync(CRON_BIN, ["--config", CONFIG, "token", "--scope", "chat:interno", "--ttl", "600"],
        { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
}

function confValue(key) {
    const re = new RegExp(`^\\s*${key}\\s*=`);
    const line = readFileSync(CONFIG, "utf8").split("\n").find((l) => re.test(l));
    return line ? line.replace(/^[^=]*=\s*/, "").trim() : undefined;
}

/** The stack's database, for psql. */
export function conninfo() {
    return process.env.CHAT_DB_CONNINFO || confValue("db_conninfo");
}

/** An HS256 token with exactly these claims, signed with the stack's secret
 * (or another one), for the cases chat-cron cannot mint (expired...). */
export function signToken(claims, secret = process.env.CHAT_JWT_SECRET || confValue("jwt_secret")) {
    const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const head = b64({ alg: "HS256", typ: "JWT" }) + "." + b64(claims);
    return head + "." + createHmac("sha256", secret).update(head).digest("base64url");
}

/** Runs SQL through psql; returns the rows as arrays of text. */
export function sql(text) {
    const out = execFileSync("psql", [conninfo(), "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
        "-f", "-"], { encoding: "utf8", input: text });
    return out.split("\n").filter((l) => l.length).map((l) => l.split("\t"));
}

export const q = (s) => `'${String(s).replace(/'/g, "''")}'`;

/** The usuarios.id of id_erp, creating the row if needed. */
export function userId(idErp, nombre = idErp) {
    return Number(sql(`INSERT INTO usuarios (id_erp, nombre) VALUES (${q(idErp)}, ${q(nombre)})
        ON CONFLICT (id_erp) DO UPDATE SET updated_at = now() RETURNING id`)[0][0]);
}

/** A group chat with these members (usuarios.id); returns its id. */
export function makeChat(members, nombre = "grupo") {
    const id = Number(sql(`INSERT INTO chats (tipo, nombre, creado_por) VALUES ('grupo', ${q(nombre)}, ${members[0]})
        RETURNING id`)[0][0]);
    for (const m of members) addMember(id, m);
    return id;
}

export function addMember(chatId, uid) {
    sql(`INSERT INTO usuarios_chat (chat_id, usuario_id) VALUES (${chatId}, ${uid}) ON CONFLICT DO NOTHING`);
}

export function removeMember(chatId, uid) {
    sql(`DELETE FROM usuarios_chat WHERE chat_id = ${chatId} AND usuario_id = ${uid}`);
}

/** Writes an eventos row and (unless quiet) its NOTIFY; returns its id. */
export function emit(tipo, sala, payload, { notify = true } = {}) {
    const id = Number(sql(`INSERT INTO eventos (tipo, sala, payload) VALUES (${q(tipo)}, ${q(sala)},
        ${q(JSON.stringify(payload))}::jsonb) RETURNING id`)[0][0]);
    if (notify) {
        sql(`SELECT pg_notify('chat_eventos', ${q(JSON.stringify({ id, tipo, sala }))})`);
    }
    return id;
}

/** Connects with socket.io-client; resolves with the connected socket or
 * rejects with the connect_error. */
export function connect(token, { base = BASE, path = "/chat/socket.io", opts = {} } = {}) {
    return new Promise((ok, fail) => {
        const s = io(base, { path, transports: ["websocket"], reconnection: false, forceNew: true,
            auth: token === undefined ? undefined : { token }, ...opts });
        const t = setTimeout(() => { s.close(); fail(new Error("connect timeout")); }, Number(process.env.CHAT_TEST_CONNECT_MS || 8000));
        s.once("connect", () => { clearTimeout(t); ok(s); });
        s.once("connect_error", (e) => { clearTimeout(t); s.close(); fail(e); });
    });
}

/** Resolves with the first `name` event whose payload passes pred. */
export function waitFor(s, name, pred = () => true, ms = 5000) {
    return new Promise((ok, fail) => {
        const t = setTimeout(() => { s.off(name, h); fail(new Error(`no ${name} within ${ms} ms`)); }, ms);
        function h(p) {
            if (!pred(p)) return;
            clearTimeout(t);
            s.off(name, h);
            ok(p);
        }
        s.on(name, h);
    });
}

/** Collects every `name` event into an array. */
export function collect(s, name) {
    const got = [];
    s.on(name, (p) => got.push(p));
    return got;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Emits with an ack; resolves with the ack. */
export function ask(s, name, payload, ms = 5000) {
    return s.timeout(ms).emitWithAck(name, payload);
}

async function freePort() {
    return new Promise((ok, fail) => {
        const srv = createServer();
        srv.listen(0, "127.0.0.1", () => {
            const { port } = srv.address();
            srv.close(() => ok(port));
        });
        srv.on("error", fail);
    });
}

/** Starts one more chat-rtd on a free port with extra CHAT_* settings;
 * resolves with {base, port, stop()} once its health answers. */
export async function startRtd(env = {}) {
    const port = await freePort();
    const child = spawn(RTD_BIN, [], {
        env: { ...process.env, CHAT_CONFIG: CONFIG, CHAT_RTD_PORT: String(port), ...env },
        stdio: ["ignore", "ignore", "pipe"],
    });
    let log = "";
    child.stderr.on("data", (d) => { log += d; });
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 100; i++) {
        try {
            const r = await fetch(`${base}/rtd/salud`);
            if (r.status === 200) break;
        } catch { /* not up yet */ }
        if (child.exitCode !== null) throw new Error(`chat-rtd exited: ${log}`);
        await sleep(100);
    }
    return {
        base, port, child,
        log: () => log,
        /** SIGTERM; resolves with the exit code, rejects on a sanitizer report. */
        stop: () => new Promise((ok, fail) => {
            const done = (code) => {
                if (/AddressSanitizer|LeakSanitizer|runtime error:/.test(log)) {
                    process.stderr.write(log);
                    fail(new Error("sanitizer report from the extra chat-rtd"));
                } else {
                    ok(code);
                }
            };
            if (child.exitCode !== null || child.signalCode !== null) return done(child.exitCode);
            child.once("exit", (code) => done(code));
            child.kill("SIGTERM");
        }),
    };
}
