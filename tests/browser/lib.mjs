// lib.mjs: helpers for the browser tests: headless Debian chromium driven by
// playwright-core (installed in tests/node), tokens minted with chat-cron,
// users in their own browser contexts, screenshots, REST calls for set-up,
// and restarting the stack's chat-rtd.
import { execFileSync, spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { existsSync, mkdirSync, readFileSync, readlinkSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const require = createRequire(join(ROOT, "tests/node/package.json"));
const { chromium } = require("playwright-core");

export const BASE = process.env.CHAT_TEST_BASE;
export const API = process.env.CHAT_TEST_URL || (BASE && BASE + "/chat/api/v1");
export const CONFIG = process.env.CHAT_CONFIG;
export const VAR = process.env.CHAT_TEST_VAR;
if (!BASE || !CONFIG || !VAR) {
    throw new Error("run through scripts/run-tests.sh (CHAT_TEST_BASE, CHAT_CONFIG, CHAT_TEST_VAR)");
}
export const CHROMIUM = process.env.CHAT_CHROMIUM || "/usr/bin/chromium";
export const SHOTS = process.env.CHAT_SCREENSHOTS || join(ROOT, "build/screenshots");
mkdirSync(SHOTS, { recursive: true });

/** A suffix that keeps the users of this run apart from earlier runs. */
export const RUN = `${process.pid % 10000}${Date.now() % 100000}`;

function pidOf(name) {
    try {
        const pid = Number(readFileSync(join(VAR, "run", `${name}.pid`), "utf8").split("\n")[0].trim());
        return pid > 0 ? pid : 0;
    } catch { return 0; }
}

/** The stack's binaries: the folder of the running chat-fcgi (sanitizer build or not). */
export function binDir() {
    if (process.env.CHAT_BIN) return process.env.CHAT_BIN;
    const pid = pidOf("chat-fcgi");
    try {
        const exe = readlinkSync(`/proc/${pid}/exe`);
        if (existsSync(exe)) return dirname(exe);
    } catch { /* default below */ }
    return join(ROOT, "build/bin");
}

/** mint(idErp, nombre, permisos?): a user JWT from chat-cron token. */
export function mint(idErp, nombre, permisos = []) {
    const args = ["--config", CONFIG, "token", "--id-erp", String(idErp), "--nombre", nombre, "--ttl", "900"];
    if (permisos.length) args.push("--permisos", permisos.join(","));
    return execFileSync(join(binDir(), "chat-cron"), args,
        { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}

/** rest(token, method, path, body?): {status, body} from the API. */
export async function rest(token, method, path, body) {
    const res = await fetch(API + path, {
        method,
        headers: Object.assign({ Authorization: "Bearer " + token },
            body === undefined ? {} : { "Content-Type": "application/json" }),
        body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { json = text; }
    return { status: res.status, body: json };
}

/** has(token, method, path, body?): whether the route exists on this stack (not "Ruta desconocida"). */
export async function has(token, method, path, body) {
    const r = await rest(token, method, path, body);
    return !(r.status === 404 && r.body && r.body.error && /Ruta desconocida/.test(r.body.error.mensaje || ""));
}

/**
 * launch(): headless Debian chromium with the flags of DESIGN.md. The
 * legacy page of the widget test is answered by playwright's routing, and
 * chromium files a response that came from no network address under the
 * "public" address space, so Local Network Access would block its WebSocket
 * to 127.0.0.1; a real ERP page comes from the same server as the chat and
 * has no such problem, hence the switch here.
 */
export function launch() {
    return chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage",
            "--disable-features=LocalNetworkAccessChecks"],
    });
}

/**
 * user(browser, {idErp, nombre, permisos, viewport, path}): a new browser
 * context logged in through ?token=, the full page loaded and the socket
 * connected. Returns {ctx, page, token, me, errors} (errors: page errors seen).
 */
export async function user(browser, { idErp, nombre, permisos = [], viewport = { width: 1100, height: 720 }, connect = true } = {}) {
    const token = mint(idErp, nombre, permisos);
    const me = (await rest(token, "GET", "/me")).body.usuario;
    const ctx = await browser.newContext({ viewport, locale: "es-MX", timezoneId: "America/Mexico_City" });
    const page = await ctx.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => { if (m.type() === "error" && !/Failed to load resource|WebSocket connection/.test(m.text())) errors.push(m.text()); });
    await page.goto(`${BASE}/chat/?token=${encodeURIComponent(token)}`);
    await page.locator(".cw-top").waitFor();
    if (connect) await page.locator('.cw-conn[data-estado="conectado"]').waitFor({ timeout: 15000 });
    return { ctx, page, token, me, errors };
}

/** shot(page, name): a PNG in SHOTS for people to review. */
export async function shot(page, name) {
    const file = join(SHOTS, name + ".png");
    await page.screenshot({ path: file });
    return file;
}

/** rtdRunning(): whether the stack runs a chat-rtd. */
export function rtdRunning() {
    const pid = pidOf("chat-rtd");
    return pid > 0 && existsSync(`/proc/${pid}`);
}

/** stopRtd(): stops the stack's chat-rtd (SIGTERM) and waits for it to be gone. */
export async function stopRtd() {
    const pid = pidOf("chat-rtd");
    if (!pid) throw new Error("no chat-rtd pid file");
    process.kill(pid, "SIGTERM");
    for (let i = 0; i < 100 && existsSync(`/proc/${pid}`); i++) {
        const st = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "")[0];
        if (st === "Z") break;
        await new Promise((r) => setTimeout(r, 100));
    }
}

/** startRtd(): starts chat-rtd again through scripts/stack.sh start (which starts only what is missing). */
export function startRtd() {
    const r = spawnSync("bash", [join(ROOT, "scripts/stack.sh"), "start"], {
        env: Object.assign({}, process.env, { CHAT_VAR: VAR, CHAT_BIN: binDir() }),
        encoding: "utf8", timeout: 60000,
    });
    if (r.status !== 0) throw new Error("stack.sh start: " + r.stdout + r.stderr);
}

/** until(fn, {timeout, what}): polls an async predicate until it returns truthy. */
export async function until(fn, { timeout = 20000, what = "condition" } = {}) {
    const end = Date.now() + timeout;
    let last;
    while (Date.now() < end) {
        try { last = await fn(); if (last) return last; } catch (e) { last = e; }
        await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${what} (last: ${last})`);
}

/** msg(page, text): the locator of the message bubble(s) holding that text. */
export function msg(page, text) {
    return page.locator(".cw-msg", { has: page.locator(".cw-msg-text", { hasText: text }) });
}

/** openChat(page, name): clicks the chat in the list and waits for its conversation. */
export async function openChat(page, name) {
    const narrowBack = page.locator(".cw-narrow.cw-en-main .cw-conv-head .cw-back");
    if (await narrowBack.count()) await narrowBack.click();
    await page.locator(".cw-chat-item", { hasText: name }).first().click();
    await page.locator(".cw-conv-title", { hasText: name }).waitFor();
}

/** send(page, text): types in the composer and presses Enter. */
export async function send(page, text) {
    const ta = page.locator(".cw-textarea").first();
    await ta.click();
    await ta.fill(text);
    await ta.press("Enter");
}

/** serviceToken(): the ERP's service JWT (scope chat:interno) for /interno/ calls. */
export function serviceToken() {
    return execFileSync(join(binDir(), "chat-cron"), ["--config", CONFIG, "token", "--scope", "chat:interno", "--ttl", "900"],
        { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}
