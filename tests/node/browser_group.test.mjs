// browser_group.test.mjs: a group's settings and the "mensajes nuevos" line,
// two users in their own browser contexts against the real stack. The admin
// renames the group, edits its description, sets its picture (POST /media,
// then PATCH imagen_media_id) and restricts it to admins; the other member
// sees all of it live (chat:actualizado), with the composer disabled, and
// the settings read-only. Opening a chat with unread messages shows the line
// at the first unread one.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { deflateSync, crc32 } from "node:zlib";
import { launch, user, shot, rest, until, msg, openChat, send, RUN } from "../browser/lib.mjs";

let browser;
let ana, beto;
let grupo;
const A = "Ana Grupo" + RUN;
const B = "Beto Grupo" + RUN;
const G = "Ventas " + RUN;
const G2 = "Ventas Norte " + RUN;

before(async () => {
    browser = await launch();
    ana = await user(browser, { idErp: "ga" + RUN, nombre: A });
    beto = await user(browser, { idErp: "gb" + RUN, nombre: B });
    const g = await rest(ana.token, "POST", "/chats", { nombre: G, descripcion: "Equipo de ventas", miembros: [beto.me.id], restringido: false });
    assert.equal(g.status, 201, JSON.stringify(g.body));
    grupo = g.body;
});

after(async () => {
    if (browser) await browser.close();
});

/** png(w, h, [r, g, b]): a small solid PNG. */
function png(w, h, rgb = [0xe8, 0x6a, 0x1c]) {
    const px = Buffer.from(rgb);
    const row = Buffer.concat([Buffer.from([0]), ...Array(w).fill(px)]);
    const raw = Buffer.concat(Array.from({ length: h }, () => row));
    const chunk = (t, d) => {
        const len = Buffer.alloc(4); len.writeUInt32BE(d.length);
        const td = Buffer.concat([Buffer.from(t), d]);
        const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(td) >>> 0);
        return Buffer.concat([len, td, crc]);
    };
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 2;
    return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
        chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}

async function post(token, contenido) {
    const r = await rest(token, "POST", `/chats/${grupo.id}/mensajes`, { tipo: "texto", contenido, client_id: "g" + RUN + contenido });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body;
}

test("opening a chat with unread messages: a 'Mensajes nuevos' line at the first unread one, in view", async () => {
    // 20 messages Beto has read, then 12 he has not: more than the pane shows
    let ultimo;
    for (let i = 1; i <= 20; i++) ultimo = await post(ana.token, `Leído ${i}`);
    const l = await rest(beto.token, "POST", `/chats/${grupo.id}/leido`, { mensaje_id: ultimo.id });
    assert.equal(l.status, 200, JSON.stringify(l.body));
    for (let i = 1; i <= 12; i++) await post(ana.token, `Nuevo ${i}`);

    const p = beto.page;
    const item = p.locator(".cw-chat-item", { hasText: G });
    await item.locator(".cw-badge", { hasText: "12" }).waitFor();
    await openChat(p, G);
    const linea = p.locator(".cw-msgs .cw-nuevos");
    await linea.waitFor();
    assert.equal(await p.locator(".cw-msgs .cw-nuevos").count(), 1);
    assert.match(await linea.textContent(), /Mensajes nuevos/);
    assert.equal(await linea.getAttribute("aria-label"), "12 mensajes nuevos");
    assert.equal(await linea.getAttribute("role"), "separator");
    // the line sits right between the last read message and the first unread one
    const vecinos = await linea.evaluate((el) => {
        let prev = el.previousElementSibling;
        while (prev && !prev.classList.contains("cw-msg")) prev = prev.previousElementSibling;
        let next = el.nextElementSibling;
        while (next && !next.classList.contains("cw-msg")) next = next.nextElementSibling;
        const texto = (x) => x && x.querySelector(".cw-msg-text").textContent;
        return [texto(prev), texto(next)];
    });
    assert.deepEqual(vecinos, ["Leído 20", "Nuevo 1"]);
    // the reader starts where the unread part starts: the line near the top of the pane
    const pos = await linea.evaluate((el) => {
        const sc = el.closest(".cw-scroller").getBoundingClientRect();
        const r = el.getBoundingClientRect();
        return { top: r.top - sc.top, bottom: sc.bottom - r.bottom };
    });
    assert.ok(pos.top >= -1 && pos.top < 80 && pos.bottom > 0, "the 'Mensajes nuevos' line near the top: " + JSON.stringify(pos));
    await shot(p, "group-01-mensajes-nuevos");
    // the chat is read now: the badge is gone, and the line stays while the chat is open
    await item.locator(".cw-badge").waitFor({ state: "detached" });
    await post(ana.token, "Último aviso");
    await msg(p, "Último aviso").waitFor();
    assert.equal(await p.locator(".cw-msgs .cw-nuevos").count(), 1);
    // Beto reads down to the newest
    await p.locator(".cw-scroller").evaluate((sc) => { sc.scrollTop = sc.scrollHeight; });

    // Ana, who wrote them all, gets no line
    await openChat(ana.page, G);
    await msg(ana.page, "Último aviso").waitFor();
    assert.equal(await ana.page.locator(".cw-msgs .cw-nuevos").count(), 0);
    assert.deepEqual(ana.errors, []);
    assert.deepEqual(beto.errors, []);
});

test("group settings: the admin renames, describes, sets the picture and restricts; the member sees it live", async () => {
    const p = ana.page;
    await p.getByRole("button", { name: "Ajustes del grupo" }).click();
    const dlg = p.locator("dialog.cw-dialog");
    await dlg.getByRole("heading", { name: "Ajustes del grupo" }).waitFor();
    const nombre = dlg.getByLabel("Nombre del grupo");
    assert.equal(await nombre.inputValue(), G);
    await nombre.fill(G2);
    await dlg.getByLabel("Descripción").fill("Ventas de la zona norte: cotizaciones y pedidos");
    await dlg.locator('input[type="file"]').setInputFiles({ name: "logo.png", mimeType: "image/png", buffer: png(64, 64) });
    await dlg.locator(".cw-ajustes-foto-acciones", { hasText: "Imagen lista" }).waitFor();
    await until(() => dlg.locator(".cw-ajustes-foto img.cw-avatar-img").evaluate((i) => i.complete && i.naturalWidth === 64),
        { what: "the chosen picture previewed" });
    const solo = dlg.getByLabel("Solo los administradores publican");
    assert.equal(await solo.isChecked(), false);
    await solo.check();
    await shot(p, "group-02-ajustes-admin");
    await dlg.getByRole("button", { name: "Guardar" }).click();
    await dlg.waitFor({ state: "detached" });

    // Ana: her header and list follow, and she still writes
    await p.locator(".cw-conv-title", { hasText: G2 }).waitFor();
    await until(() => p.locator(".cw-conv-head img.cw-avatar-img").evaluate((i) => i.complete && i.naturalWidth === 64),
        { what: "Ana's header picture" });
    assert.equal(await p.locator(".cw-textarea").isDisabled(), false);
    assert.equal(await p.locator(".cw-conv .cw-readonly").isVisible(), false);

    // Beto, live: new name in the header and the list, the picture, the composer disabled and why
    const q = beto.page;
    await q.locator(".cw-conv-title", { hasText: G2 }).waitFor();
    await q.locator(".cw-chat-item", { hasText: G2 }).waitFor();
    await until(() => q.locator(".cw-conv-head img.cw-avatar-img").evaluate((i) => i.complete && i.naturalWidth === 64),
        { what: "Beto's header picture" });
    await until(() => q.locator(".cw-chat-item", { hasText: G2 }).locator("img.cw-avatar-img").evaluate((i) => i.complete && i.naturalWidth === 64),
        { what: "Beto's chat list picture" });
    await q.locator(".cw-conv .cw-readonly", { hasText: "Solo los administradores pueden publicar en este grupo" }).waitFor();
    await until(() => q.locator(".cw-textarea").isDisabled(), { what: "Beto's composer disabled" });
    assert.equal(await q.getByRole("button", { name: "Enviar" }).isDisabled(), true);
    assert.equal(await q.getByRole("button", { name: "Adjuntar archivo" }).isDisabled(), true);
    assert.equal(await q.locator(".cw-textarea").getAttribute("aria-describedby"), await q.locator(".cw-conv .cw-readonly").getAttribute("id"));
    // Ana got the same chat:actualizado (public view, mi_rol null) by now: merged, she is still admin
    assert.equal(await p.locator(".cw-textarea").isDisabled(), false);
    assert.equal(await p.getByRole("button", { name: "Adjuntar archivo" }).isDisabled(), false);
    // the notice took room from the history: Beto, at the bottom, still sees the newest message
    assert.ok(await msg(q, "Último aviso").evaluate((el) => {
        const sc = el.closest(".cw-scroller").getBoundingClientRect();
        return el.getBoundingClientRect().bottom <= sc.bottom + 1;
    }), "the newest message is in view");
    await shot(q, "group-03-miembro-restringido");

    // the server agrees: Beto may not post, the chat is as the admin left it
    const intento = await rest(beto.token, "POST", `/chats/${grupo.id}/mensajes`, { tipo: "texto", contenido: "No debería", client_id: "gx" + RUN });
    assert.equal(intento.status, 403, JSON.stringify(intento.body));
    const c = await rest(beto.token, "GET", `/chats/${grupo.id}`);
    assert.equal(c.body.nombre, G2);
    assert.equal(c.body.restringido, true);
    assert.equal(c.body.mi_rol, "miembro");
    assert.match(c.body.imagen_url || "", /\/media\/\d+$/);

    // Beto opens the settings from the members dialog: read-only
    await q.getByRole("button", { name: "Información del chat y miembros" }).click();
    const info = q.locator("dialog.cw-dialog");
    await info.locator(".cw-grupo-resumen", { hasText: "zona norte" }).waitFor();
    await info.locator(".cw-miembros-total", { hasText: "Miembros (2)" }).waitFor();
    assert.doesNotMatch(await info.textContent(), /null/);
    await shot(q, "group-04-miembros-resumen");
    await info.getByRole("button", { name: "Ajustes del grupo" }).click();
    const ro = q.locator("dialog.cw-dialog-ajustes");
    await ro.locator(".cw-quien-publica", { hasText: "Solo los administradores" }).waitFor();
    assert.match(await ro.locator(".cw-descripcion").textContent(), /zona norte/);
    assert.equal(await ro.getByRole("button", { name: "Guardar" }).count(), 0);
    assert.equal(await ro.locator("input, textarea").count(), 0);
    await until(() => ro.locator("img.cw-avatar-img").evaluate((i) => i.complete && i.naturalWidth === 64), { what: "the picture in the read-only settings" });
    await shot(q, "group-05-ajustes-solo-lectura");

    // the admin lifts the restriction: Beto's open dialog and composer follow live
    await p.getByRole("button", { name: "Ajustes del grupo" }).click();
    await dlg.getByLabel("Solo los administradores publican").uncheck();
    await dlg.getByRole("button", { name: "Guardar" }).click();
    await dlg.waitFor({ state: "detached" });
    await ro.locator(".cw-quien-publica", { hasText: "Todos los miembros" }).waitFor();
    await q.keyboard.press("Escape");
    await ro.waitFor({ state: "detached" });
    await until(async () => !(await q.locator(".cw-textarea").isDisabled()), { what: "Beto's composer enabled again" });
    assert.equal(await q.locator(".cw-conv .cw-readonly").isVisible(), false);
    await send(q, "Ya puedo escribir");
    await msg(p, "Ya puedo escribir").waitFor();
    assert.deepEqual(ana.errors, []);
    assert.deepEqual(beto.errors, []);
});

test("group settings: a non-admin finds no way to edit, an admin's empty name is refused", async () => {
    const q = beto.page;
    await q.getByRole("button", { name: "Ajustes del grupo" }).click();
    const ro = q.locator("dialog.cw-dialog-ajustes");
    await ro.locator(".cw-ajustes-nombre", { hasText: G2 }).waitFor();
    assert.equal(await ro.locator("input, textarea").count(), 0);
    await q.keyboard.press("Escape");
    await ro.waitFor({ state: "detached" });
    // the server refuses a member's PATCH anyway
    const r = await rest(beto.token, "PATCH", `/chats/${grupo.id}`, { nombre: "Mío" });
    assert.equal(r.status, 403, JSON.stringify(r.body));

    const p = ana.page;
    await p.getByRole("button", { name: "Ajustes del grupo" }).click();
    const dlg = p.locator("dialog.cw-dialog-ajustes");
    await dlg.getByLabel("Nombre del grupo").fill("   ");
    await dlg.getByRole("button", { name: "Guardar" }).click();
    await p.locator(".cw-toast", { hasText: "Escribe el nombre del grupo" }).waitFor();
    assert.equal(await dlg.isVisible(), true);
    await dlg.getByRole("button", { name: "Cancelar" }).click();
    await dlg.waitFor({ state: "detached" });
    assert.equal((await rest(ana.token, "GET", `/chats/${grupo.id}`)).body.nombre, G2);
    assert.deepEqual(ana.errors, []);
    assert.deepEqual(beto.errors, []);
});
