// browser_resilience.test.mjs: chat-rtd taken down and brought back while two
// users keep writing (delta sync fills the gap, nothing lost or doubled), and
// the offline queue (messages written with no network wait with their
// client_id and are sent exactly once when it returns).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, user, shot, rest, until, msg, openChat, send, stopRtd, startRtd, rtdRunning, mint, RUN } from "../browser/lib.mjs";

let browser;
let ana, beto, chatId;
const A = "Ana Resiliencia" + RUN;
const B = "Beto Resiliencia" + RUN;

before(async () => {
    browser = await launch();
    ana = await user(browser, { idErp: "ra" + RUN, nombre: A });
    beto = await user(browser, { idErp: "rb" + RUN, nombre: B });
    const c = await rest(ana.token, "POST", "/chats/directo", { usuario_id: beto.me.id });
    chatId = c.body.id;
    await rest(ana.token, "POST", `/chats/${chatId}/mensajes`, { tipo: "texto", contenido: "inicio", client_id: "r0" + RUN });
    await openChat(ana.page, B);
    await openChat(beto.page, A);
});

after(async () => {
    if (!rtdRunning()) startRtd();
    if (browser) await browser.close();
});

/** how many messages of the chat (server side) hold exactly this text. */
async function serverCount(text) {
    const r = await rest(ana.token, "GET", `/chats/${chatId}/mensajes?limite=200`);
    return r.body.mensajes.filter((m) => m.contenido === text).length;
}

test("chat-rtd down and back up: the connection state shows it and sync brings what was missed, once", async () => {
    await stopRtd();
    for (const u of [ana, beto]) {
        await u.page.locator('.cw-conn[data-estado="desconectado"], .cw-conn[data-estado="conectando"]').waitFor({ timeout: 15000 });
    }
    await shot(ana.page, "resiliencia-01-sin-tiempo-real");
    // REST still works: both keep writing
    for (const t of ["durante la caída 1", "durante la caída 2", "durante la caída 3"]) {
        await send(beto.page, t);
        await msg(beto.page, t).locator('.cw-tick[data-tick="enviado"]').waitFor();
    }
    await send(ana.page, "Ana durante la caída");
    await msg(ana.page, "Ana durante la caída").locator('.cw-tick').waitFor();
    assert.equal(await msg(ana.page, "durante la caída 1").count(), 0, "not live while rtd is down");

    // meanwhile a third user opens a chat with Ana and writes twice
    const C = "Caro Resiliencia" + RUN;
    const caro = mint("rc" + RUN, C);
    const cc = await rest(caro, "POST", "/chats/directo", { usuario_id: ana.me.id });
    for (const t of ["Caro 1", "Caro 2"]) await rest(caro, "POST", `/chats/${cc.body.id}/mensajes`, { tipo: "texto", contenido: t, client_id: t + RUN });

    startRtd();
    for (const u of [ana, beto]) await u.page.locator('.cw-conn[data-estado="conectado"]').waitFor({ timeout: 30000 });
    // the missed chat arrives by sync, its unread count counted once
    const item = ana.page.locator(".cw-chat-item", { hasText: C });
    await item.locator(".cw-badge", { hasText: "2" }).waitFor();
    await ana.page.waitForTimeout(500);
    assert.equal(await item.locator(".cw-badge").textContent(), "2", "counted once");
    for (const t of ["durante la caída 1", "durante la caída 2", "durante la caída 3"]) await msg(ana.page, t).waitFor();
    await msg(beto.page, "Ana durante la caída").waitFor();
    // and live again afterwards
    await send(beto.page, "después de volver");
    await msg(ana.page, "después de volver").waitFor();
    await ana.page.waitForTimeout(500);
    for (const t of ["durante la caída 1", "durante la caída 2", "durante la caída 3", "Ana durante la caída", "después de volver"]) {
        assert.equal(await msg(ana.page, t).count(), 1, "once for Ana: " + t);
        assert.equal(await msg(beto.page, t).count(), 1, "once for Beto: " + t);
        assert.equal(await serverCount(t), 1, "once on the server: " + t);
    }
    const order = (await ana.page.locator(".cw-msg .cw-msg-text").allTextContents()).filter((t) => /caída \d/.test(t));
    assert.deepEqual(order, ["durante la caída 1", "durante la caída 2", "durante la caída 3"]);
    await shot(ana.page, "resiliencia-02-reconectado");
    assert.deepEqual(ana.errors, []);
    assert.deepEqual(beto.errors, []);
});

test("offline: messages wait in the queue and are sent once when the network returns", async () => {
    await ana.ctx.setOffline(true);
    await send(ana.page, "sin red 1");
    await send(ana.page, "sin red 2");
    await msg(ana.page, "sin red 2").locator(".cw-tick-pend").waitFor();
    await until(async () => /2 por enviar/.test(await ana.page.locator(".cw-conn").textContent()), { what: "2 por enviar" });
    await ana.page.waitForTimeout(1500); // a retry or two fail meanwhile
    await shot(ana.page, "resiliencia-03-sin-red");
    assert.equal(await serverCount("sin red 1"), 0);
    const queued = await ana.page.evaluate(() => window.ChatERP.client.store.state.outbox.map((o) => o.client_id));
    assert.equal(queued.length, 2);

    await ana.ctx.setOffline(false);
    await msg(beto.page, "sin red 1").waitFor({ timeout: 20000 });
    await msg(beto.page, "sin red 2").waitFor();
    await msg(ana.page, "sin red 2").locator('.cw-tick[data-tick]').waitFor();
    await ana.page.locator('.cw-conn[data-estado="conectado"]').waitFor({ timeout: 30000 });
    await ana.page.waitForTimeout(1000);
    for (const t of ["sin red 1", "sin red 2"]) {
        assert.equal(await serverCount(t), 1, "once on the server: " + t);
        assert.equal(await msg(beto.page, t).count(), 1, "once for Beto: " + t);
        assert.equal(await msg(ana.page, t).count(), 1, "once for Ana: " + t);
    }
    const r = await rest(ana.token, "GET", `/chats/${chatId}/mensajes?limite=200`);
    const ids = r.body.mensajes.filter((m) => m.contenido && m.contenido.startsWith("sin red")).map((m) => m.client_id).sort();
    assert.deepEqual(ids, [...queued].sort(), "sent with the client_id they were queued with");
    assert.equal(await ana.page.evaluate(() => window.ChatERP.client.store.state.outbox.length), 0);
    assert.deepEqual(ana.errors, []);
});

test("the queue survives closing the tab: written offline, sent once by the next visit", async () => {
    const page = await ana.ctx.newPage();
    await page.goto(`${process.env.CHAT_TEST_BASE}/chat/?token=${encodeURIComponent(ana.token)}`);
    await openChat(page, B);
    await ana.ctx.setOffline(true);
    await send(page, "escrito antes de cerrar");
    await msg(page, "escrito antes de cerrar").locator(".cw-tick-pend").waitFor();
    await page.close();
    await ana.ctx.setOffline(false);
    // the main tab of the same browser shares the queue's storage but did not write it;
    // a new visit sends it
    const again = await ana.ctx.newPage();
    await again.goto(`${process.env.CHAT_TEST_BASE}/chat/?token=${encodeURIComponent(ana.token)}`);
    await msg(beto.page, "escrito antes de cerrar").waitFor({ timeout: 20000 });
    await again.waitForTimeout(1500);
    assert.equal(await serverCount("escrito antes de cerrar"), 1);
    assert.equal(await msg(beto.page, "escrito antes de cerrar").count(), 1);
    await again.close();
});
