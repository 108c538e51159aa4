// browser_widget.test.mjs: the widget injected into a legacy ERP page whose
// own CSS is hostile (tests/browser/legacy.html, served on the chat's origin
// through playwright's routing): floating button with the unread count, the
// chat panel in a shadow root, CSS isolated both ways, one global only, the
// token from data-token or from a page-provided ChatERP.getToken(); on a
// record's page (data-contexto) the record's conversation, counted and opened.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { launch, user, shot, rest, until, msg, openChat, send, mint, serviceToken, BASE, ROOT, RUN } from "../browser/lib.mjs";

const LEGACY = readFileSync(join(ROOT, "tests/browser/legacy.html"), "utf8");
const PAGE = BASE + "/erp/pedidos.html";
let browser;
let beto, chatId;
const A = "Ana Widget" + RUN;
const B = "Beto Widget" + RUN;
let anaToken, anaMe;

before(async () => {
    browser = await launch();
    anaToken = mint("wa" + RUN, A);
    anaMe = (await rest(anaToken, "GET", "/me")).body.usuario;
    beto = await user(browser, { idErp: "wb" + RUN, nombre: B });
    const c = await rest(beto.token, "POST", "/chats/directo", { usuario_id: anaMe.id });
    chatId = c.body.id;
    await openChat(beto.page, A);
});

after(async () => {
    if (browser) await browser.close();
});

/** legacyPage({viewport, html}): a context whose /erp/pedidos.html is the legacy page. */
async function legacyPage({ viewport = { width: 1200, height: 800 }, html, init } = {}) {
    const ctx = await browser.newContext({ viewport, locale: "es-MX", timezoneId: "America/Mexico_City" });
    const page = await ctx.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.route(PAGE, (route) => route.fulfill({ status: 200, contentType: "text/html; charset=utf-8", body: html }));
    // what the page's window holds before any script runs, to find new globals
    await page.addInitScript(() => { Object.defineProperty(window, "__antes", { value: Object.getOwnPropertyNames(window), enumerable: false }); });
    if (init) await page.addInitScript(init);
    await page.goto(PAGE);
    return { ctx, page, errors };
}

test("the widget on a hostile legacy page: button, unread count, panel, isolated CSS, one global", async () => {
    const { ctx, page, errors } = await legacyPage({ html: LEGACY.replace("__TOKEN__", anaToken) });
    try {
        const fab = page.locator("chat-erp-widget .cw-fab");
        await fab.waitFor();
        // where and how big, whatever the page's CSS says
        const box = await fab.boundingBox();
        assert.ok(box, "the button is rendered");
        assert.equal(Math.round(box.width), 58);
        assert.ok(Math.abs(box.x + box.width - (1200 - 20)) <= 2 && Math.abs(box.y + box.height - (800 - 20)) <= 2, JSON.stringify(box));
        const fabStyle = await fab.evaluate((el) => { const s = getComputedStyle(el); return [s.fontFamily, s.color, s.letterSpacing, s.display]; });
        assert.doesNotMatch(fabStyle[0], /Comic/);
        assert.notEqual(fabStyle[1], "rgb(192, 0, 0)");
        // our CSS does not reach the page: its own .cw-btn keeps the page's look, no stylesheet added
        const pageEl = await page.locator("#pagina-cw").evaluate((el) => [getComputedStyle(el).backgroundColor, getComputedStyle(el).display]);
        assert.deepEqual(pageEl, ["rgb(0, 128, 0)", "none"]);
        assert.equal(await page.evaluate(() => document.styleSheets.length), 1);
        // one global
        const nuevos = await page.evaluate(() => Object.getOwnPropertyNames(window).filter((k) => !window.__antes.includes(k)));
        assert.deepEqual(nuevos.filter((k) => k !== "verPedido" && k !== "__antes").sort(), ["ChatERP"]);

        // a message from Beto: the unread count on the button
        await send(beto.page, "¿Ya salió el pedido 1001?");
        await fab.locator(".cw-fab-badge", { hasText: "1" }).waitFor();
        assert.match(await fab.getAttribute("aria-label"), /1 sin leer/);
        await shot(page, "widget-01-cerrado-con-aviso");

        // open the panel, read, answer
        await fab.click();
        const panel = page.locator("chat-erp-widget .cw-panel");
        await panel.waitFor();
        const pstyle = await panel.locator(".cw-chat-name").first().evaluate((el) => [getComputedStyle(el).fontFamily, getComputedStyle(el).color, getComputedStyle(el).textTransform]);
        assert.doesNotMatch(pstyle[0], /Comic/);
        assert.notEqual(pstyle[1], "rgb(192, 0, 0)");
        assert.equal(pstyle[2], "none");
        await panel.locator(".cw-chat-item", { hasText: B }).click();
        await msg(page, "Ya salió el pedido").waitFor();
        await fab.locator(".cw-fab-badge").waitFor({ state: "hidden" });
        const ta = panel.locator(".cw-textarea");
        await ta.fill("Sí, sale hoy en la tarde");
        await ta.press("Enter");
        await msg(beto.page, "sale hoy en la tarde").waitFor();
        await msg(page, "Ya salió el pedido").waitFor();
        await msg(beto.page, "Ya salió el pedido").locator('.cw-tick[data-tick="leido"]').waitFor();
        await shot(page, "widget-02-abierto");
        // Escape closes it and gives the focus back to the button
        await ta.press("Escape");
        await panel.waitFor({ state: "hidden" });
        assert.equal(await page.evaluate(() => document.activeElement && document.activeElement.tagName), "CHAT-ERP-WIDGET");
        // the page still works
        await page.locator("a", { hasText: "1002" }).click();
        assert.equal(await page.locator("#detalle").textContent(), "Pedido 1002");
        assert.deepEqual(errors, []);
    } finally {
        await ctx.close();
    }
});

test("the widget takes the token from a page-provided ChatERP.getToken(), and fits 360 px", async () => {
    const html = LEGACY.replace(' data-token="__TOKEN__"', "");
    const tok = anaToken;
    const { ctx, page, errors } = await legacyPage({
        viewport: { width: 360, height: 740 }, html,
        init: `window.ChatERP = { getToken: function () { return Promise.resolve(${JSON.stringify(tok)}); } };`,
    });
    try {
        const fab = page.locator("chat-erp-widget .cw-fab");
        await fab.waitFor();
        await page.waitForFunction(() => window.ChatERP.client && window.ChatERP.client.store.state.me);
        await fab.click();
        const panel = page.locator("chat-erp-widget .cw-panel");
        await panel.locator(".cw-chat-item", { hasText: B }).click();
        await msg(page, "sale hoy en la tarde").waitFor();
        const box = await panel.boundingBox();
        assert.ok(box.x >= 0 && box.x + box.width <= 360 && box.y >= 0 && box.y + box.height <= 740, JSON.stringify(box));
        await shot(page, "widget-03-360");
        assert.equal(typeof (await page.evaluate(() => typeof window.ChatERP.getToken)), "string");
        assert.deepEqual(errors, []);
    } finally {
        await ctx.close();
    }
});

/** the session cookie the stack authenticates with, if configured (CHAT_JWT_COOKIE or jwt_cookie in its config). */
function jwtCookie() {
    if (process.env.CHAT_JWT_COOKIE) return process.env.CHAT_JWT_COOKIE;
    const line = readFileSync(process.env.CHAT_CONFIG, "utf8").split("\n").find((l) => /^\s*jwt_cookie\s*=/.test(l));
    return line ? line.replace(/^[^=]*=\s*/, "").trim() : "";
}

test("with the ERP session cookie alone (jwt_cookie configured), the widget and the page need no token", async (t) => {
    const name = jwtCookie();
    if (!name) {
        t.skip("the stack runs without jwt_cookie (set CHAT_JWT_COOKIE for the test stack to run this)");
        return;
    }
    const html = LEGACY.replace(' data-token="__TOKEN__"', "");
    const ctx = await browser.newContext({ viewport: { width: 1200, height: 800 }, locale: "es-MX" });
    try {
        await ctx.addCookies([{ name, value: anaToken, url: BASE }]);
        const page = await ctx.newPage();
        await page.route(PAGE, (route) => route.fulfill({ status: 200, contentType: "text/html; charset=utf-8", body: html }));
        await page.goto(PAGE);
        await page.waitForFunction(() => window.ChatERP.client && window.ChatERP.client.store.state.conexion.estado === "conectado", null, { timeout: 15000 });
        assert.equal(await page.evaluate(() => window.ChatERP.client.store.state.me.nombre), A);
        const full = await ctx.newPage();
        await full.goto(BASE + "/chat/");
        await full.locator('.cw-conn[data-estado="conectado"]').waitFor({ timeout: 15000 });
        await full.locator(".cw-chat-item", { hasText: B }).click();
        await msg(full, "sale hoy en la tarde").waitFor();
    } finally {
        await ctx.close();
    }
});

test("on a record's page (data-contexto) the widget counts and opens that record's conversation", async () => {
    const svc = serviceToken();
    const clave = "w" + RUN;
    const r = await rest(svc, "PUT", `/interno/contextos/pedido/${clave}`, {
        titulo: `Pedido ${clave}`, url: `/erp/pedidos.html?id=${clave}`, miembros: ["wa" + RUN, "wb" + RUN],
    });
    assert.ok(r.status === 201 || r.status === 200, JSON.stringify(r.body));
    const recordChat = r.body.id;
    // two unread in the record's chat; one more elsewhere (the direct chat), not counted here
    for (const t of ["Revisa el pedido", "Falta la factura"]) {
        assert.equal((await rest(beto.token, "POST", `/chats/${recordChat}/mensajes`, { contenido: t })).status, 201);
    }
    assert.equal((await rest(beto.token, "POST", `/chats/${chatId}/mensajes`, { contenido: "Otro tema " + RUN })).status, 201);

    const html = LEGACY.replace('data-token="__TOKEN__"', `data-token="${anaToken}" data-contexto="pedido:${clave}"`);
    const { ctx, page, errors } = await legacyPage({ html });
    try {
        const fab = page.locator("chat-erp-widget .cw-fab");
        await fab.locator(".cw-fab-badge", { hasText: "2" }).waitFor();
        assert.match(await fab.getAttribute("aria-label"), new RegExp(`Pedido ${clave}, 2 sin leer`));
        await fab.click();
        const panel = page.locator("chat-erp-widget .cw-panel");
        await panel.locator(".cw-conv-title", { hasText: `Pedido ${clave}` }).waitFor();
        await msg(page, "Falta la factura").waitFor();
        const link = panel.locator("a.cw-registro");
        assert.equal(await link.getAttribute("href"), `/erp/pedidos.html?id=${clave}`);
        await fab.locator(".cw-fab-badge").waitFor({ state: "hidden" });
        assert.deepEqual(errors, []);
    } finally {
        await ctx.close();
    }

    // a record without a chat for this user: the general widget, all unread counted
    const other = LEGACY.replace('data-token="__TOKEN__"', `data-token="${anaToken}" data-contexto="pedido:no-existe-${clave}"`);
    const g = await legacyPage({ html: other });
    try {
        const fab = g.page.locator("chat-erp-widget .cw-fab");
        await fab.locator(".cw-fab-badge", { hasText: /^[1-9]/ }).waitFor();
        assert.match(await fab.getAttribute("aria-label"), /^Abrir chat, \d+ sin leer$/);
        assert.deepEqual(g.errors, []);
    } finally {
        await g.ctx.close();
    }
});
