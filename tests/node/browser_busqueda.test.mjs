// browser_busqueda.test.mjs: message search in the web client and chats tied
// to ERP records. A word typed without its accent finds the message with
// the match marked; what the message says stays text (no markup runs); a
// click opens the conversation on that message although it lies pages back
// in the history (?alrededor=), and the way back to the newest works; the
// search can be limited to the open chat. A record-linked chat shows the
// record's title with a link back to the ERP, and a message mentioning a
// record (#pedido-1001) links to its ERP page (enlaces_registros).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, user, shot, rest, until, msg, openChat, mint, serviceToken, RUN } from "../browser/lib.mjs";
import { sql } from "./lib.mjs";

let browser;
let ana;
const A = "Ana Busca" + RUN;
const B = "Beto Escribe" + RUN;
const GRUPO = "Proyecto búsqueda " + RUN;
const AGUJA = `La información del pedido especial <img src=x onerror="window.__xss=1"> lista ${RUN}`;
let chatId;

before(async () => {
    browser = await launch();
    const tb = mint("bb" + RUN, B);
    const beto = (await rest(tb, "GET", "/me")).body.usuario;
    const ta = mint("ba" + RUN, A);
    const anaMe = (await rest(ta, "GET", "/me")).body.usuario;
    const c = await rest(tb, "POST", "/chats", { nombre: GRUPO, miembros: [anaMe.id] });
    assert.equal(c.status, 201, JSON.stringify(c.body));
    chatId = c.body.id;
    // 150 messages, the one to find 140 from the newest (three pages back)
    sql(`INSERT INTO mensajes (chat_id, autor_id, tipo, contenido)
         SELECT ${chatId}, ${beto.id}, 'texto',
                CASE WHEN g = 10 THEN '${AGUJA.replace(/'/g, "''")}' ELSE 'relleno ' || g END
           FROM generate_series(1, 150) g ORDER BY g`);
    ana = await user(browser, { idErp: "ba" + RUN, nombre: A });
});

after(async () => {
    if (browser) await browser.close();
});

test("search finds a message by a word without its accent, marks it safely, and opens the conversation on it", async () => {
    const page = ana.page;
    await page.locator(".cw-btn-buscar").click();
    const q = page.locator(".cw-busqueda-q");
    await q.fill("informacion " + RUN);
    const hit = page.locator(".cw-busqueda-hit", { hasText: GRUPO });
    await hit.first().waitFor();
    assert.equal(await hit.count(), 1);
    const marcas = await hit.locator("mark.cw-marca").allTextContents();
    assert.ok(marcas.some((m) => m.toLowerCase() === "información"), `marked: ${JSON.stringify(marcas)}`);
    // the markup in the message never runs (the excerpt leaves tags out)
    assert.match(await hit.locator(".cw-busqueda-extracto").textContent(), /pedido especial/);
    assert.equal(await hit.locator("img").count(), 0);
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    await shot(page, "busqueda");

    await hit.click();
    await page.locator(".cw-conv-title", { hasText: GRUPO }).waitFor();
    const target = msg(page, "La información del pedido especial");
    await target.waitFor();
    await until(async () => target.isVisible(), { what: "the hit in view" });
    const box = await target.boundingBox();
    const pane = await page.locator(".cw-conv .cw-scroller").boundingBox();
    assert.ok(box.y >= pane.y - 1 && box.y + box.height <= pane.y + pane.height + 1, "the hit is inside the pane");
    // in the conversation the message shows its markup as text
    assert.match(await target.locator(".cw-msg-text").textContent(), /<img src=x onerror="window.__xss=1">/);
    assert.equal(await target.locator(".cw-msg-text img").count(), 0);
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    // only the page around it is loaded: the newest are not, and the way back is offered
    assert.equal(await msg(page, "relleno 150").count(), 0);
    const recientes = page.locator(".cw-recientes");
    await recientes.waitFor();
    await shot(page, "busqueda-salto");
    await recientes.click();
    await msg(page, "relleno 150").waitFor();
    await until(async () => recientes.isHidden(), { what: "the button gone at the newest" });

    // within the open chat only
    await page.locator(".cw-btn-buscar").click();
    const ambito = page.locator(".cw-busqueda-ambito");
    await ambito.selectOption(String(chatId));
    await page.locator(".cw-busqueda-q").fill("relleno");
    await page.locator(".cw-busqueda-hit").first().waitFor();
    const donde = await page.locator(".cw-busqueda-donde").allTextContents();
    assert.ok(donde.length > 0 && donde.every((d) => d === GRUPO), JSON.stringify(donde));
    assert.ok(await page.locator(".cw-busqueda-mas").isVisible(), "150 fillers: more than one page");
    await page.locator(".cw-busqueda-mas").click();
    await until(async () => (await page.locator(".cw-busqueda-hit").count()) > 20, { what: "the next page appended" });
    assert.deepEqual(ana.errors, []);
});

test("a chat tied to an ERP record shows the record's title with a link back to it", async () => {
    const page = ana.page;
    const svc = serviceToken();
    const r = await rest(svc, "PUT", `/interno/contextos/pedido/${RUN}`, {
        titulo: `Pedido ${RUN}`, url: `https://erp.example.com/pedidos/${RUN}`, miembros: ["ba" + RUN],
    });
    assert.ok(r.status === 201 || r.status === 200, JSON.stringify(r.body));
    await page.reload();
    await page.locator('.cw-conn[data-estado="conectado"]').waitFor({ timeout: 15000 });
    await openChat(page, `Pedido ${RUN}`);
    const link = page.locator(".cw-conv-head a.cw-registro");
    await link.waitFor();
    assert.equal(await link.textContent(), `🔗 Pedido ${RUN}`);
    assert.equal(await link.getAttribute("href"), `https://erp.example.com/pedidos/${RUN}`);
    assert.deepEqual(ana.errors, []);
});

test("a mention of an ERP record in a message links to the record's page", async () => {
    const page = ana.page;
    const tb = mint("bb" + RUN, B);
    const texto = `Revisa #pedido-A1001 y #cliente-77, no #otro-5 ni correo#pedido-9; ${RUN}`;
    assert.equal((await rest(tb, "POST", `/chats/${chatId}/mensajes`, { contenido: texto })).status, 201);
    await openChat(page, GRUPO);
    const m = msg(page, "Revisa #pedido-A1001");
    await m.waitFor();
    const links = m.locator("a.cw-link-registro");
    assert.equal(await links.count(), 2);
    assert.equal(await links.nth(0).textContent(), "#pedido-A1001");
    assert.equal(await links.nth(0).getAttribute("href"), "/erp/pedidos.html?id=A1001");
    assert.equal(await links.nth(1).textContent(), "#cliente-77");
    assert.equal(await links.nth(1).getAttribute("href"), "/erp/clientes.html?id=77");
    // the whole text is still there, as text
    assert.equal(await m.locator(".cw-msg-text").textContent(), texto);
    assert.deepEqual(ana.errors, []);
});
