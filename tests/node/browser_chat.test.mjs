// browser_chat.test.mjs: the full page in headless chromium, two (or three)
// users in their own browser contexts against the real stack: 1:1 chat from
// the user search, send and receive, reply, react, edit, delete, read ticks,
// typing, groups with "who read", infinite scroll, 360 px wide.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, user, shot, rest, until, msg, openChat, send, mint, serviceToken, RUN } from "../browser/lib.mjs";

let browser;
let ana, beto;
const A = "Ana Prueba" + RUN;
const B = "Beto Prueba" + RUN;

before(async () => {
    browser = await launch();
    ana = await user(browser, { idErp: "ba" + RUN, nombre: A });
    beto = await user(browser, { idErp: "bb" + RUN, nombre: B });
});

after(async () => {
    if (browser) await browser.close();
});

test("a 1:1 chat from the user search: send, receive, unread badge, read ticks", async () => {
    const p = ana.page;
    await p.getByRole("button", { name: /Nuevo chat/ }).click();
    await p.getByLabel("Buscar personas").fill(B);
    await p.locator(".cw-user-item", { hasText: B }).click();
    await p.locator(".cw-conv-title", { hasText: B }).waitFor();
    await send(p, "Hola Beto, ¿revisaste la factura?");
    const mine = msg(p, "revisaste la factura");
    await mine.locator('.cw-tick[data-tick="enviado"]').waitFor();

    // Beto: the chat shows up with one unread message
    const item = beto.page.locator(".cw-chat-item", { hasText: A });
    await item.locator(".cw-badge", { hasText: "1" }).waitFor();
    assert.match(await item.textContent(), /revisaste la factura/);
    await shot(beto.page, "chat-01-lista-no-leidos");
    await openChat(beto.page, A);
    await msg(beto.page, "revisaste la factura").waitFor();
    await item.locator(".cw-badge").waitFor({ state: "detached" });

    // Ana: read by all (the other member)
    await mine.locator('.cw-tick[data-tick="leido"]').waitFor();
    assert.deepEqual(ana.errors, []);
    assert.deepEqual(beto.errors, []);
});

test("typing indicator, reply with quote, Shift+Enter keeps a new line", async () => {
    const ta = beto.page.locator(".cw-textarea");
    await ta.click();
    await ta.pressSequentially("Sí, ya", { delay: 20 });
    await ana.page.locator(".cw-typing", { hasText: "escribiendo" }).waitFor();
    await ta.fill("");

    // reply to Ana's message
    const original = msg(beto.page, "revisaste la factura");
    await original.hover();
    await original.getByRole("button", { name: "Responder" }).click();
    await beto.page.locator(".cw-banner", { hasText: "Respondiendo a" }).waitFor();
    await ta.fill("Sí, ya la revisé");
    await ta.press("Shift+Enter");
    await ta.pressSequentially("Todo en orden");
    await ta.press("Enter");
    const reply = msg(ana.page, "Todo en orden");
    await reply.waitFor();
    assert.match(await reply.locator(".cw-quote").textContent(), /revisaste la factura/);
    assert.equal(await reply.locator(".cw-msg-text").textContent(), "Sí, ya la revisé\nTodo en orden");
    // the typing line is gone once the message arrived
    await until(async () => !/escribiendo/.test(await ana.page.locator(".cw-typing").textContent()), { what: "typing cleared" });
    await shot(ana.page, "chat-02-respuesta");
    // links become links, the text stays text
    await send(ana.page, "Detalle en https://erp.example.com/pedidos?id=1001. <b>gracias</b>");
    const link = msg(beto.page, "Detalle en").locator("a.cw-link");
    await link.waitFor();
    assert.equal(await link.getAttribute("href"), "https://erp.example.com/pedidos?id=1001");
    assert.equal(await link.getAttribute("rel"), "noopener noreferrer");
    assert.equal(await msg(beto.page, "Detalle en").locator("b").count(), 0);
    assert.match(await msg(beto.page, "Detalle en").locator(".cw-msg-text").textContent(), /<b>gracias<\/b>$/);
});

test("react, edit and delete my own message; the other side sees each", async () => {
    // Ana reacts to Beto's reply
    const r = msg(ana.page, "Todo en orden");
    await r.hover();
    await r.getByRole("button", { name: "Reaccionar", exact: true }).click();
    await r.getByRole("button", { name: "Reaccionar con 👍" }).click();
    await r.locator(".cw-reaccion.cw-mia", { hasText: "👍" }).waitFor();
    await msg(beto.page, "Todo en orden").locator(".cw-reaccion", { hasText: "👍 1" }).waitFor();

    // Ana sends, edits, then deletes
    await send(ana.page, "Nos vemos a las 5");
    const m = msg(ana.page, "Nos vemos a las 5");
    await m.waitFor();
    await msg(beto.page, "Nos vemos a las 5").waitFor();
    await m.hover();
    await m.getByRole("button", { name: "Editar" }).click();
    await ana.page.locator(".cw-banner", { hasText: "Editando" }).waitFor();
    const ta = ana.page.locator(".cw-textarea");
    await ta.fill("Nos vemos a las 6");
    await ta.press("Enter");
    const edited = msg(beto.page, "Nos vemos a las 6");
    await edited.locator(".cw-editado").waitFor();
    await shot(beto.page, "chat-03-reaccion-editado");

    const m6 = msg(ana.page, "Nos vemos a las 6");
    await m6.hover();
    ana.page.once("dialog", (d) => d.accept());
    await m6.getByRole("button", { name: "Eliminar" }).click();
    await beto.page.locator(".cw-eliminado", { hasText: "Se eliminó este mensaje" }).waitFor();
    assert.equal(await msg(beto.page, "Nos vemos a las 6").count(), 0);
    // reactions toggle off
    await r.hover();
    await r.locator(".cw-reaccion.cw-mia", { hasText: "👍" }).click();
    await msg(beto.page, "Todo en orden").locator(".cw-reaccion").waitFor({ state: "detached" });
});

test("a group: created from the UI, who read it, read by all once everyone did", async () => {
    const C = "Caro Prueba" + RUN;
    const caro = await user(browser, { idErp: "bc" + RUN, nombre: C });
    try {
        const p = ana.page;
        await p.getByRole("button", { name: /Nuevo grupo/ }).click();
        await p.getByLabel("Nombre del grupo").fill("Cierre mensual " + RUN);
        const q = p.getByLabel("Buscar personas");
        await q.fill(B);
        await p.locator(".cw-user-item", { hasText: B }).click();
        await p.locator(".cw-chip", { hasText: B }).waitFor();
        await q.fill(C);
        await p.locator(".cw-user-item", { hasText: C }).click();
        await p.locator(".cw-chip", { hasText: C }).waitFor();
        await p.getByRole("button", { name: "Crear grupo" }).click();
        await p.locator(".cw-conv-title", { hasText: "Cierre mensual" }).waitFor();
        await send(p, "Reunión del cierre mañana");
        const mine = msg(p, "Reunión del cierre");
        await mine.locator('.cw-tick[data-tick="enviado"]').waitFor();

        await openChat(beto.page, "Cierre mensual");
        await msg(beto.page, "Reunión del cierre").waitFor();
        // Beto read it, Caro not yet: still one tick; the dialog says who
        await until(async () => {
            const r = await rest(ana.token, "GET", `/mensajes/${await mine.getAttribute("data-id")}/lecturas`);
            return r.body && r.body.leido_por && r.body.leido_por.length === 1;
        }, { what: "Beto's read mark" });
        await mine.locator(".cw-tick-btn").click();
        const dlg = p.locator("dialog.cw-dialog");
        await dlg.locator(".cw-userlist").first().locator(".cw-user-row", { hasText: B }).waitFor();
        assert.match(await dlg.locator(".cw-userlist").nth(1).textContent(), new RegExp(C));
        await shot(p, "chat-04-grupo-lecturas");
        await dlg.getByRole("button", { name: "Cerrar" }).click();
        assert.equal(await mine.locator('.cw-tick[data-tick="enviado"]').count(), 1);

        await openChat(caro.page, "Cierre mensual");
        await msg(caro.page, "Reunión del cierre").waitFor();
        await mine.locator('.cw-tick[data-tick="leido"]').waitFor();
        assert.deepEqual(caro.errors, []);
    } finally {
        await caro.ctx.close();
    }
});

test("history loads older pages when scrolling up, with date separators and no duplicates", async () => {
    const D = "Dani Historia" + RUN;
    const dani = await user(browser, { idErp: "bd" + RUN, nombre: D, connect: false });
    try {
        const c = await rest(dani.token, "POST", "/chats/directo", { usuario_id: ana.me.id });
        assert.ok(c.status === 201 || c.status === 200, JSON.stringify(c.body));
        for (let i = 1; i <= 120; i++) {
            const r = await rest(dani.token, "POST", `/chats/${c.body.id}/mensajes`,
                { tipo: "texto", contenido: `historia ${String(i).padStart(3, "0")}`, client_id: `h${RUN}-${i}` });
            assert.equal(r.status, 201);
        }
        // a fresh context (no live events, no stored sync cursor): history comes only by pages
        const ctx2 = await browser.newContext({ viewport: { width: 1100, height: 720 }, locale: "es-MX" });
        const page = await ctx2.newPage();
        await page.goto(`${process.env.CHAT_TEST_BASE}/chat/?token=${encodeURIComponent(ana.token)}`);
        await openChat(page, D);
        await msg(page, "historia 120").waitFor();
        const count = () => page.locator(".cw-msg").filter({ hasText: "historia" }).count();
        assert.ok(await count() <= 100, "first page only");
        const scroller = page.locator(".cw-conv .cw-scroller");
        await until(async () => {
            await scroller.evaluate((el) => { el.scrollTop = 0; el.dispatchEvent(new Event("scroll")); });
            return (await count()) === 120;
        }, { what: "all 120 messages", timeout: 20000 });
        await msg(page, "historia 001").waitFor();
        const texts = await page.locator(".cw-msg .cw-msg-text").allTextContents();
        const hist = texts.filter((t) => t.startsWith("historia"));
        assert.equal(new Set(hist).size, hist.length, "no duplicates");
        assert.deepEqual(hist, [...hist].sort(), "oldest first");
        assert.ok(await page.locator(".cw-sep", { hasText: "Hoy" }).count() >= 1);
        await page.locator(".cw-cargando", { hasText: "Inicio de la conversación" }).waitFor();
        await shot(page, "chat-05-historia");
        await ctx2.close();
    } finally {
        await dani.ctx.close();
    }
});

test("usable at 360 px: one pane at a time, back button, no horizontal scroll", async () => {
    const ctx = await browser.newContext({ viewport: { width: 360, height: 740 }, locale: "es-MX", isMobile: true, hasTouch: true });
    try {
        const p = await ctx.newPage();
        const errors = [];
        p.on("pageerror", (e) => errors.push(String(e)));
        await p.goto(`${process.env.CHAT_TEST_BASE}/chat/?token=${encodeURIComponent(beto.token)}`);
        await p.locator(".cw-app.cw-narrow").waitFor();
        await p.locator(".cw-chat-item", { hasText: A }).waitFor();
        await shot(p, "chat-06-360-lista");
        await p.locator(".cw-chat-item", { hasText: A }).click();
        await p.locator(".cw-conv-title", { hasText: A }).waitFor();
        assert.equal(await p.locator(".cw-side").isVisible(), false);
        await msg(p, "Todo en orden").waitFor();
        await shot(p, "chat-07-360-conversacion");
        const overflow = await p.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        assert.ok(overflow <= 0, "no horizontal scroll: " + overflow);
        await p.getByRole("button", { name: "Volver a la lista" }).click();
        await p.locator(".cw-side").waitFor();
        assert.deepEqual(errors, []);
    } finally {
        await ctx.close();
    }
});

test("keyboard only: Tab reaches the chat list, Enter opens it, the composer sends", async () => {
    const p = beto.page;
    await openChat(ana.page, B);
    await p.getByLabel("Buscar conversación").focus();
    await p.keyboard.type("Ana Prueba");
    // the search filters the list
    await p.locator(".cw-chat-item", { hasText: "Cierre mensual" }).waitFor({ state: "detached" });
    let guard = 0;
    while (guard++ < 10) {
        await p.keyboard.press("Tab");
        const cls = await p.evaluate(() => document.activeElement && document.activeElement.className);
        if (/cw-chat-item/.test(cls)) break;
    }
    const focused = await p.evaluate(() => document.activeElement.getAttribute("aria-label"));
    assert.match(focused, /Ana Prueba/);
    const outline = await p.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.equal(outline, "solid", "visible focus");
    await p.keyboard.press("Enter");
    await p.locator(".cw-conv-title", { hasText: A }).waitFor();
    await until(() => p.evaluate(() => document.activeElement && document.activeElement.classList.contains("cw-textarea")), { what: "composer focused" });
    await p.keyboard.type("Enviado solo con teclado");
    await p.keyboard.press("Enter");
    await msg(ana.page, "Enviado solo con teclado").waitFor();
    // Shift+Tab from the composer reaches the newest message (one tab stop for the history),
    // the arrows walk the history
    await msg(p, "Enviado solo con teclado").locator('.cw-tick[data-tick]').waitFor();
    const activo = () => p.evaluate(() => {
        const a = document.activeElement;
        return a && a.classList.contains("cw-bubble") ? a.textContent : null;
    });
    for (let i = 0; i < 12 && !(await activo()); i++) await p.keyboard.press("Shift+Tab");
    assert.match(await activo(), /Enviado solo con teclado/);
    await p.keyboard.press("ArrowUp");
    assert.doesNotMatch(await activo(), /Enviado solo con teclado/);
    assert.equal(await p.locator(".cw-bubble[tabindex='0']").count(), 1);
    await p.keyboard.press("End");
    assert.match(await activo(), /Enviado solo con teclado/);
    await p.keyboard.press("Escape");
    assert.equal(await p.evaluate(() => document.activeElement.classList.contains("cw-textarea")), true);
    await p.getByLabel("Buscar conversación").fill("");
});

test("hidden tab: a desktop notification and the unread count in the title", async () => {
    await rest(ana.token, "POST", "/chats/directo", { usuario_id: beto.me.id });
    const ctx = await browser.newContext({ viewport: { width: 1000, height: 700 }, locale: "es-MX" });
    try {
        // the tab is made "hidden" and Notification recorded: headless has neither for real
        await ctx.addInitScript(() => {
            window.__oculta = false;
            window.__avisos = [];
            Object.defineProperty(Document.prototype, "hidden", { get: () => window.__oculta, configurable: true });
            window.Notification = class {
                static permission = "granted";
                static requestPermission() { return Promise.resolve("granted"); }
                constructor(title, opts) { window.__avisos.push({ title, body: opts && opts.body }); }
                close() {}
            };
        });
        const p = await ctx.newPage();
        await p.goto(`${process.env.CHAT_TEST_BASE}/chat/?token=${encodeURIComponent(ana.token)}`);
        await p.locator('.cw-conn[data-estado="conectado"]').waitFor({ timeout: 15000 });
        await p.evaluate(() => { window.__oculta = true; document.dispatchEvent(new Event("visibilitychange")); });
        // Ana's other tab must not be reading that chat (its read mark would clear the count here too)
        await ana.page.getByRole("button", { name: /^Comunicados/ }).click();
        await ana.page.locator(".cw-comunicados").waitFor();
        await openChat(beto.page, A);
        await send(beto.page, "¿Me confirmas la entrega?");
        await until(() => p.evaluate(() => window.__avisos.length > 0), { what: "a notification" });
        const avisos = await p.evaluate(() => window.__avisos);
        assert.equal(avisos[0].title, B);
        assert.match(avisos[0].body, /confirmas la entrega/);
        await until(async () => /^\(\d+\) Chat$/.test(await p.title()), { what: "title badge" }).catch(async (e) => { throw new Error(e.message + " title=" + await p.title() + " " + await p.evaluate(() => JSON.stringify([...window.ChatERP.client.store.state.chats.values()].map((c) => [c.id, c.no_leidos, c.silenciado])))); });
    } finally {
        await ctx.close();
    }
});

test("a deactivated user: masked name in the list and the header, no composer, history kept", async () => {
    const E = "Eva Baja" + RUN;
    const eva = mint("be" + RUN, E);
    const c = await rest(eva, "POST", "/chats/directo", { usuario_id: beto.me.id });
    await rest(eva, "POST", `/chats/${c.body.id}/mensajes`, { tipo: "texto", contenido: "Me voy de la empresa", client_id: "e" + RUN });
    const r = await rest(serviceToken(), "POST", `/interno/usuarios/be${RUN}/desactivar`);
    assert.ok(r.status === 200 || r.status === 204, JSON.stringify(r.body));
    const p = beto.page;
    await p.reload();
    const item = p.locator(".cw-chat-item", { hasText: "Me voy de la empresa" });
    await item.waitFor();
    assert.match(await item.locator(".cw-chat-name").textContent(), /Usuario desactivado/);
    assert.doesNotMatch(await item.textContent(), new RegExp(E));
    await item.click();
    await p.locator(".cw-readonly", { hasText: "desactivado" }).waitFor();
    assert.equal(await p.locator(".cw-composer").isVisible(), false);
    await msg(p, "Me voy de la empresa").waitFor();
    await shot(p, "chat-08-usuario-desactivado");
});

test("the realtime client's acks: the daemon answers presence:status and chat:typing", async () => {
    const r = await ana.page.evaluate(async () => {
        const rt = window.ChatERP.client.rt;
        const a = await rt.emit("presence:status", { estatus: "en_linea" }, { ack: true });
        const b = await rt.emit("chat:typing", { chat_id: 999999999, escribiendo: true }, { ack: true });
        return [a, b, rt.state];
    });
    assert.deepEqual(r[0], { ok: true });
    assert.equal(r[1].ok, false, "typing in a chat that is not mine is refused: " + JSON.stringify(r[1]));
    assert.equal(r[2], "conectado");
});

test("presence: a hidden tab reports inactivo, the other user's dot follows live", async () => {
    await rest(ana.token, "POST", "/chats/directo", { usuario_id: beto.me.id });
    await openChat(ana.page, B);
    const dot = ana.page.locator(".cw-chat-item", { hasText: B }).locator(".cw-dot");
    await ana.page.locator(".cw-chat-item", { hasText: B }).locator(".cw-dot-en_linea").waitFor();
    await beto.page.evaluate(() => {
        Object.defineProperty(document, "hidden", { get: () => true, configurable: true });
        document.dispatchEvent(new Event("visibilitychange"));
    });
    await until(async () => /cw-dot-inactivo/.test(await dot.getAttribute("class")), { what: "Beto inactivo" });
    assert.match(await ana.page.locator(".cw-conv-sub").textContent(), /Inactivo/);
    await beto.page.evaluate(() => {
        delete document.hidden;
        document.dispatchEvent(new Event("visibilitychange"));
    });
    await until(async () => /cw-dot-en_linea/.test(await dot.getAttribute("class")), { what: "Beto en línea again" });
});

test("no token and no ERP cookie: the page says the session is not valid", async () => {
    const ctx = await browser.newContext({ locale: "es-MX" });
    try {
        const p = await ctx.newPage();
        await p.goto(`${process.env.CHAT_TEST_BASE}/chat/`);
        await p.getByRole("alert").filter({ hasText: "Tu sesión no es válida" }).waitFor();
    } finally {
        await ctx.close();
    }
});
