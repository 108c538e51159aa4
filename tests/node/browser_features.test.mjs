// browser_features.test.mjs: polls (create, vote, change the vote, seen live
// by the other user), announcements (composer for permission 567, read
// confirmation, reactions, the author's readers report) and media (image by
// the picker and by drag and drop shown inline, audio and video players, a
// PDF as a download card).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { deflateSync, crc32 } from "node:zlib";
import { launch, user, shot, rest, until, msg, openChat, RUN } from "../browser/lib.mjs";

let browser;
let ana, beto;
const A = "Ana Funciones" + RUN;
const B = "Beto Funciones" + RUN;

before(async () => {
    browser = await launch();
    ana = await user(browser, { idErp: "fa" + RUN, nombre: A, permisos: [567] });
    beto = await user(browser, { idErp: "fb" + RUN, nombre: B });
    const c = await rest(ana.token, "POST", "/chats/directo", { usuario_id: beto.me.id });
    assert.ok(c.status === 201 || c.status === 200, JSON.stringify(c.body));
    await rest(ana.token, "POST", `/chats/${c.body.id}/mensajes`, { tipo: "texto", contenido: "Hola", client_id: "f" + RUN });
    await openChat(ana.page, B);
    await openChat(beto.page, A);
});

after(async () => {
    if (browser) await browser.close();
});

/** png(w, h): a small solid PNG. */
function png(w, h) {
    const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(w * 3, 0x3c)]);
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

/**
 * mp4(w, h): a tiny MP4 the server's sniffer takes for video/mp4: an ftyp box
 * (brand isom), a moov with mvhd (2.5 s) and one trak whose tkhd carries the
 * size and whose hdlr says 'vide', then an mdat (tests/integ/test_media.c
 * gen_mp4). Browsers cannot decode it (no sample tables): it is about the
 * upload and the player, not playback.
 */
function mp4(w, h) {
    const u32 = (n) => { const b = Buffer.alloc(4); b.writeUInt32BE(n >>> 0); return b; };
    const u16 = (n) => { const b = Buffer.alloc(2); b.writeUInt16BE(n); return b; };
    const box = (type, ...parts) => {
        const body = Buffer.concat(parts);
        return Buffer.concat([u32(8 + body.length), Buffer.from(type, "latin1"), body]);
    };
    const ftyp = box("ftyp", Buffer.from("isom"), u32(0x200), Buffer.from("isom"), Buffer.from("isom"));
    const mvhd = box("mvhd", u32(0), u32(0), u32(0), u32(1000), u32(2500), u32(0x00010000), u16(0x0100),
        Buffer.alloc(10 + 36 + 24), u32(2));
    const tkhd = box("tkhd", u32(3), u32(0), u32(0), u32(1), u32(0), u32(2500), Buffer.alloc(8 + 2 + 2 + 2 + 2 + 36),
        u32(w << 16), u32(h << 16));
    const hdlr = box("hdlr", u32(0), u32(0), Buffer.from("vide"), Buffer.alloc(12), Buffer.from("handler\0", "latin1"));
    const moov = box("moov", mvhd, box("trak", tkhd, box("mdia", hdlr)));
    return Buffer.concat([ftyp, moov, box("mdat", Buffer.alloc(600))]);
}

test("a poll: created from the dialog, a vote and a changed vote seen live", async () => {
    const p = ana.page;
    await p.getByRole("button", { name: "Crear encuesta" }).click();
    const dlg = p.locator("dialog.cw-dialog");
    await dlg.locator("input").first().fill("¿Dónde comemos el viernes?");
    await dlg.getByLabel("Opción 1").fill("Tacos");
    await dlg.getByLabel("Opción 2").fill("Pizza");
    await dlg.getByRole("button", { name: "Agregar opción" }).click();
    await dlg.getByLabel("Opción 3").fill("Sushi");
    await shot(p, "features-00-encuesta-dialogo");
    await dlg.getByRole("button", { name: "Crear encuesta" }).click();

    const pollA = p.locator(".cw-encuesta", { hasText: "Dónde comemos" });
    const pollB = beto.page.locator(".cw-encuesta", { hasText: "Dónde comemos" });
    await pollA.waitFor();
    await pollB.waitFor();
    const votos = (poll, op) => poll.locator(".cw-opcion-btn", { hasText: op }).locator(".cw-opcion-votos").getAttribute("data-votos");

    await pollB.locator(".cw-opcion-btn", { hasText: "Tacos" }).click();
    await until(async () => (await votos(pollA, "Tacos")) === "1", { what: "Ana sees the vote for Tacos" });
    await shot(p, "features-01-encuesta-voto");
    // change the vote
    await pollB.locator(".cw-opcion-btn", { hasText: "Pizza" }).click();
    await until(async () => (await votos(pollA, "Pizza")) === "1" && (await votos(pollA, "Tacos")) === "0",
        { what: "Ana sees the vote move to Pizza" });
    await pollB.locator('.cw-opcion-btn[aria-checked="true"]', { hasText: "Pizza" }).waitFor();
    await pollB.locator('.cw-opcion-btn[aria-checked="false"]', { hasText: "Tacos" }).waitFor();
    // Ana votes too: two voters
    await pollA.locator(".cw-opcion-btn", { hasText: "Sushi" }).click();
    await until(async () => /2 personas/.test(await pollB.locator(".cw-votantes").textContent()), { what: "two voters" });
    await shot(beto.page, "features-02-encuesta-cambio");
    // the author closes it: nobody can vote any more
    await pollA.getByRole("button", { name: "Cerrar encuesta" }).click();
    await until(() => pollB.locator(".cw-opcion-btn").first().isDisabled(), { what: "Beto sees the poll closed" });
    assert.match(await pollB.textContent(), /cerrada/);
    assert.deepEqual(ana.errors, []);
    assert.deepEqual(beto.errors, []);
});

test("an announcement: composed with permission 567, confirmed by the recipient, seen in the report", async () => {
    const p = ana.page;
    const titulo = "Inventario anual " + RUN;
    await p.getByRole("button", { name: /^Comunicados/ }).click();
    await p.getByRole("button", { name: "+ Nuevo comunicado" }).click();
    const dlg = p.locator("dialog.cw-dialog");
    await dlg.getByLabel("Título").fill(titulo);
    await dlg.getByLabel("Contenido").fill("El inventario será el 30 de noviembre. Favor de confirmar.");
    await dlg.getByLabel("Buscar destinatarios").fill(B);
    await dlg.locator(".cw-chip-add", { hasText: B }).click();
    await dlg.locator(".cw-chip", { hasText: B + " ✕" }).waitFor();
    await dlg.getByLabel("Adjuntar archivo al comunicado").setInputFiles({ name: "calendario.png", mimeType: "image/png", buffer: png(90, 60) });
    await dlg.getByRole("button", { name: "Publicar" }).click();
    const cardA = p.locator(".cw-com", { hasText: titulo });
    await cardA.waitFor();
    assert.match(await cardA.locator(".cw-reporte").textContent(), /0 de 1/);

    // Beto: the unread count, then the confirmation
    const btn = beto.page.locator(".cw-btn-comunicados");
    await btn.locator(".cw-badge", { hasText: "1" }).waitFor();
    await btn.click();
    const cardB = beto.page.locator(".cw-com", { hasText: titulo });
    await cardB.waitFor();
    await until(() => cardB.locator("img.cw-img").evaluate((i) => i.complete && i.naturalWidth === 90), { what: "the announcement's image" });
    await shot(beto.page, "features-03-comunicado-recibido");
    await cardB.getByRole("button", { name: "Reaccionar con 👍" }).click();
    await cardB.getByRole("button", { name: "Confirmar lectura" }).click();
    await cardB.locator(".cw-leido").waitFor();
    await btn.locator(".cw-badge").waitFor({ state: "hidden" });

    // Ana: live count, reaction and the report
    await until(async () => /1 de 1/.test(await cardA.locator(".cw-reporte").textContent()), { what: "report count 1 de 1" });
    await cardA.locator(".cw-reaccion", { hasText: "👍" }).waitFor();
    await cardA.locator(".cw-reporte").click();
    const rep = p.locator("dialog.cw-dialog");
    const row = rep.locator("tr", { hasText: B });
    await row.waitFor();
    assert.doesNotMatch(await row.textContent(), /Pendiente/);
    assert.match(await rep.locator(".cw-resumen").textContent(), /1 de 1/);
    await shot(p, "features-04-comunicado-reporte");
    await rep.getByRole("button", { name: "Cerrar" }).click();
    await p.getByRole("button", { name: /^Comunicados/ }).click();
    await beto.page.getByRole("button", { name: /^Comunicados/ }).click();
    await openChat(beto.page, A);
    await openChat(p, B);
});

test("media: an image by the picker and by drag and drop shows inline, audio gets a player, a PDF is a download card", async () => {
    const p = ana.page;
    await p.locator(".cw-conv input[type=file]").setInputFiles({ name: "grafica.png", mimeType: "image/png", buffer: png(120, 80) });
    const imgB = beto.page.locator(".cw-msg img.cw-img").last();
    await imgB.waitFor();
    await until(() => imgB.evaluate((i) => i.complete && i.naturalWidth === 120), { what: "the image decoded for Beto" });
    await beto.page.getByRole("button", { name: "Ver imagen grafica.png en grande" }).click();
    const visor = beto.page.locator("dialog.cw-dialog img.cw-img-grande");
    await visor.waitFor();
    await beto.page.keyboard.press("Escape");
    await visor.waitFor({ state: "detached" });

    // drag and drop a second image onto the conversation
    const b64 = png(60, 40).toString("base64");
    await beto.page.evaluate(async (data) => {
        const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], "soltada.png", { type: "image/png" }));
        const target = document.querySelector(".cw-conv");
        target.dispatchEvent(new DragEvent("dragenter", { dataTransfer: dt, bubbles: true, cancelable: true }));
        target.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, b64);
    await until(() => p.locator(".cw-msg img.cw-img").evaluateAll((imgs) => imgs.some((i) => i.complete && i.naturalWidth === 60)),
        { what: "the dropped image for Ana" });

    // an audio file gets a player (a few silent MPEG frames)
    const frame = Buffer.concat([Buffer.from([0xff, 0xfb, 0x90, 0x00]), Buffer.alloc(413)]);
    await p.locator(".cw-conv input[type=file]").setInputFiles({ name: "nota.mp3", mimeType: "audio/mpeg", buffer: Buffer.concat(Array(20).fill(frame)) });
    const audio = beto.page.locator(".cw-msg audio[controls]").last();
    await audio.waitFor();
    await until(async () => ((await audio.getAttribute("src")) || "").startsWith("blob:"), { what: "the audio's bytes" });

    const pdf = Buffer.from("%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n");
    await p.locator(".cw-conv input[type=file]").setInputFiles({ name: "contrato.pdf", mimeType: "application/pdf", buffer: pdf });
    const card = beto.page.locator("a.cw-doc", { hasText: "contrato.pdf" });
    await card.waitFor();
    await until(async () => (await card.getAttribute("href")).startsWith("blob:"), { what: "the document's bytes" });
    await shot(beto.page, "features-05-media");
    assert.deepEqual(ana.errors, []);
    assert.deepEqual(beto.errors, []);
});

test("media: a video is uploaded and shown with a player to the other user", async () => {
    const p = ana.page;
    await p.locator(".cw-conv input[type=file]").setInputFiles({ name: "recorrido.mp4", mimeType: "video/mp4", buffer: mp4(320, 180) });
    const video = beto.page.locator(".cw-msg video[controls]").last();
    await video.waitFor();
    assert.equal(await video.getAttribute("aria-label"), "Video: recorrido.mp4");
    await until(async () => ((await video.getAttribute("src")) || "").startsWith("blob:"), { what: "the video's bytes for Beto" });
    // the server took it as a video: a message of tipo video with the sniffed size
    const chats = await rest(beto.token, "GET", "/chats");
    const c = chats.body.chats.find((x) => x.otro_usuario && x.otro_usuario.id === ana.me.id);
    const r = await rest(beto.token, "GET", `/chats/${c.id}/mensajes?limite=1`);
    const m = r.body.mensajes[0];
    assert.equal(m.tipo, "video");
    assert.equal(m.media.mime, "video/mp4");
    assert.equal(m.media.ancho, 320);
    assert.equal(m.media.alto, 180);
    // the sender sees her own player too, and the list's preview says so
    await p.locator(".cw-msg.cw-mio video[controls]").last().waitFor();
    assert.match(await beto.page.locator(".cw-chat-item", { hasText: A }).textContent(), /🎬/);
    await shot(beto.page, "features-06-video");
    assert.deepEqual(ana.errors, []);
    assert.deepEqual(beto.errors, []);
});

test("mute a chat from its header", async () => {
    const p = beto.page;
    const btn = p.locator(".cw-conv-head .cw-mute");
    assert.equal(await btn.getAttribute("aria-pressed"), "false");
    await btn.click();
    await p.locator('.cw-conv-head .cw-mute[aria-pressed="true"]').waitFor();
    await p.locator(".cw-chat-item", { hasText: A }).locator('[title="Silenciado"]').waitFor();
    const r = await rest(beto.token, "GET", "/chats");
    assert.equal(r.body.chats.find((c) => c.otro_usuario && c.otro_usuario.id === ana.me.id).silenciado, true);
    await btn.click();
    await p.locator('.cw-conv-head .cw-mute[aria-pressed="false"]').waitFor();
    assert.deepEqual(beto.errors, []);
});

test("group members: the admin adds and removes people, a member leaves", async () => {
    const C = "Caro Funciones" + RUN;
    const caro = await user(browser, { idErp: "fc" + RUN, nombre: C });
    try {
        const g = await rest(ana.token, "POST", "/chats", { nombre: "Compras " + RUN, descripcion: "Equipo de compras", miembros: [beto.me.id], restringido: false });
        assert.equal(g.status, 201, JSON.stringify(g.body));
        const p = ana.page;
        await openChat(p, "Compras " + RUN);
        await p.getByRole("button", { name: "Información del chat y miembros" }).click();
        const dlg = p.locator("dialog.cw-dialog");
        await dlg.locator(".cw-miembros-total", { hasText: "Miembros (2)" }).waitFor();
        await dlg.getByLabel("Agregar personas").fill(C);
        await dlg.locator(".cw-chip-add", { hasText: C }).click();
        await dlg.locator(".cw-miembros-total", { hasText: "Miembros (3)" }).waitFor();
        await caro.page.locator(".cw-chat-item", { hasText: "Compras " + RUN }).waitFor();
        await shot(p, "features-07-miembros");
        // remove Caro: the group leaves her list
        await dlg.getByRole("button", { name: `Quitar a ${C} del grupo` }).click();
        await dlg.locator(".cw-miembros-total", { hasText: "Miembros (2)" }).waitFor();
        await caro.page.locator(".cw-chat-item", { hasText: "Compras " + RUN }).waitFor({ state: "detached" });
        await dlg.getByRole("button", { name: "Cerrar" }).click();

        // Beto leaves by himself
        await openChat(beto.page, "Compras " + RUN);
        await beto.page.getByRole("button", { name: "Información del chat y miembros" }).click();
        beto.page.once("dialog", (d) => d.accept());
        await beto.page.locator("dialog.cw-dialog").getByRole("button", { name: "Salir del grupo" }).click();
        await beto.page.locator(".cw-chat-item", { hasText: "Compras " + RUN }).waitFor({ state: "detached" });
        await until(async () => /1 miembros|1 miembro/.test(await p.locator(".cw-conv-sub").textContent()), { what: "Ana's header: one member" });
        assert.deepEqual(caro.errors, []);
        assert.deepEqual(beto.errors, []);
        assert.deepEqual(ana.errors, []);
    } finally {
        await caro.ctx.close();
    }
});

test("permission 568 deletes an announcement from the panel", async () => {
    const D = "Dora Comunicados" + RUN;
    const dora = await user(browser, { idErp: "fd" + RUN, nombre: D, permisos: [568] });
    try {
        const titulo = "Aviso equivocado " + RUN;
        const c = await rest(ana.token, "POST", "/comunicados", { titulo, contenido: "Ignorar", destinatarios: { usuario_ids: [beto.me.id, dora.me.id] } });
        assert.equal(c.status, 201, JSON.stringify(c.body));
        const p = dora.page;
        await p.locator(".cw-btn-comunicados .cw-badge", { hasText: "1" }).waitFor();
        await p.getByRole("button", { name: /^Comunicados/ }).click();
        const card = p.locator(".cw-com", { hasText: titulo });
        p.once("dialog", (d) => d.accept());
        await card.getByRole("button", { name: "Eliminar" }).click();
        await card.waitFor({ state: "detached" });
        await p.locator(".cw-btn-comunicados .cw-badge").waitFor({ state: "hidden" });
        assert.equal((await rest(beto.token, "GET", `/comunicados/${c.body.id}`)).status, 404);
        assert.deepEqual(dora.errors, []);
    } finally {
        await dora.ctx.close();
    }
});
