// browser_auditoria.test.mjs: the audit page. A holder of the audit
// permission (auditoria_permiso, 569 by default) finds the "Auditoría" link
// in the chat page, filters the trail by chat, action and person, and opens
// the conversation around a moderator's delete: read-only, the deleted
// message shown as deleted with who deleted it. Someone without the
// permission sees no link, and the page and its endpoints refuse them.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, user, shot, rest, mint, RUN } from "../browser/lib.mjs";

let browser;
let auditor, plain;
let grupo, borrado;
const A = "Ana Auditada " + RUN;
const M = "Mora Moderadora " + RUN;
const G = "Compras " + RUN;

before(async () => {
    browser = await launch();
    const ta = mint("aa" + RUN, A);
    const tm = mint("am" + RUN, M, [566]);
    const ana = (await rest(ta, "GET", "/me")).body.usuario;
    await rest(tm, "GET", "/me");
    const g = await rest(ta, "POST", "/chats", { nombre: G, miembros: [] });
    assert.equal(g.status, 201, JSON.stringify(g.body));
    grupo = g.body;
    for (const t of ["Cotización del proveedor A", "Este mensaje se va a borrar", "Pedido confirmado"]) {
        const r = await rest(ta, "POST", `/chats/${grupo.id}/mensajes`, { tipo: "texto", contenido: t });
        assert.equal(r.status, 201, JSON.stringify(r.body));
        if (t.startsWith("Este")) borrado = r.body;
    }
    const d = await rest(tm, "DELETE", `/mensajes/${borrado.id}`);
    assert.equal(d.status, 204);
    const p = await rest(ta, "PATCH", `/chats/${grupo.id}`, { nombre: G + " 2026" });
    assert.equal(p.status, 200, JSON.stringify(p.body));
    assert.ok(ana.id > 0);
    auditor = await user(browser, { idErp: "au" + RUN, nombre: "Auditora " + RUN, permisos: [569] });
    plain = await user(browser, { idErp: "pl" + RUN, nombre: "Sin permiso " + RUN });
});

after(async () => {
    if (browser) await browser.close();
});

test("the auditor filters the trail and sees the conversation around a moderator's delete", async () => {
    const p = auditor.page;
    const link = p.locator(".cw-btn-auditoria");
    await link.waitFor();
    await link.click();
    await p.waitForURL(/auditoria\.html/);
    await p.locator(".cw-aud-filtros").waitFor();
    await p.locator('input[name="chat"]').fill(String(grupo.id));
    await p.locator('select[name="accion"]').selectOption("mensaje.eliminado");
    await p.locator(".cw-aud-filtros button[type=submit]").click();
    const filas = p.locator(".cw-aud-fila");
    await p.locator(".cw-aud-estado", { hasText: /^1 registro$/ }).waitFor();
    assert.equal(await filas.count(), 1);
    const fila = filas.first();
    assert.equal(await fila.getAttribute("data-accion"), "mensaje.eliminado");
    assert.match(await fila.textContent(), new RegExp(M));
    assert.match(await fila.textContent(), /Mensaje eliminado por otra persona/);

    await fila.locator(".cw-aud-ver").click();
    const conv = p.locator(".cw-aud-conv");
    await conv.locator(".cw-aud-msg").first().waitFor();
    // read-only: no composer, no actions
    assert.equal(await conv.locator("textarea, input, .cw-composer").count(), 0);
    assert.match(await conv.locator("h2").textContent(), new RegExp(G));
    const centro = conv.locator(".cw-aud-centro");
    assert.equal(await centro.getAttribute("data-id"), String(borrado.id));
    assert.match(await centro.locator(".cw-aud-eliminado").textContent(), new RegExp("Mensaje eliminado por " + M));
    assert.ok(!(await centro.textContent()).includes("Este mensaje se va a borrar"), "the deleted text is not shown");
    await conv.locator(".cw-aud-msg", { hasText: "Cotización del proveedor A" }).waitFor();
    await conv.locator(".cw-aud-msg", { hasText: "Pedido confirmado" }).waitFor();
    await shot(p, "auditoria-conversacion");

    // by person: the moderator's actions only
    await p.locator('select[name="accion"]').selectOption("");
    await p.locator('input[name="chat"]').fill("");
    await p.locator('input[name="persona"]').fill(M);
    await p.locator(`#cw-aud-personas option[value="${M}"]`).waitFor({ state: "attached" });
    await p.locator(".cw-aud-filtros button[type=submit]").click();
    await p.locator(".cw-aud-estado", { hasText: /^1 registro$/ }).waitFor();
    assert.match(await filas.first().textContent(), /Mensaje eliminado por otra persona/);

    // by action across the chat: the settings change, before and after
    await p.locator('input[name="persona"]').fill("");
    await p.locator('input[name="chat"]').fill(String(grupo.id));
    await p.locator('select[name="accion"]').selectOption("chat.actualizado");
    await p.locator(".cw-aud-filtros button[type=submit]").click();
    await p.locator(".cw-aud-estado", { hasText: /^1 registro$/ }).waitFor();
    assert.match(await filas.first().locator(".cw-aud-cambio").textContent(), new RegExp(`^nombre: ${G} → ${G} 2026$`));
    // a date range that excludes everything
    await p.locator('input[name="desde"]').fill("2099-01-01");
    await p.locator(".cw-aud-filtros button[type=submit]").click();
    await p.locator(".cw-aud-estado", { hasText: "Sin registros" }).waitFor();
    assert.deepEqual(auditor.errors, []);
});

test("without the permission: no link, the page and its endpoints refuse", async () => {
    const p = plain.page;
    await p.locator(".cw-top").waitFor();
    assert.equal(await p.locator(".cw-btn-auditoria").isVisible(), false);
    await p.goto(p.url().replace(/\/chat\/.*$/, "/chat/auditoria.html"));
    await p.locator(".cw-aud-estado", { hasText: "No tienes el permiso de auditoría" }).waitFor();
    const r = await rest(plain.token, "GET", "/auditoria");
    assert.equal(r.status, 403);
    assert.equal(r.body.error.codigo, "prohibido");
    const c = await rest(plain.token, "GET", `/auditoria/chats/${grupo.id}/mensajes?alrededor=${borrado.id}`);
    assert.equal(c.status, 403);
    // the auditor's endpoint answers, with who deleted
    const ok = await rest(auditor.token, "GET", `/auditoria/chats/${grupo.id}/mensajes?alrededor=${borrado.id}&limite=5`);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const m = ok.body.mensajes.find((x) => x.id === borrado.id);
    assert.equal(m.eliminado, true);
    assert.equal(m.contenido, null);
    assert.equal(m.eliminado_por.nombre, M);
    assert.equal(ok.body.centro_id, borrado.id);
    const bad = await rest(auditor.token, "GET", `/auditoria/chats/${grupo.id}/mensajes`);
    assert.equal(bad.status, 400);
    const nf = await rest(auditor.token, "GET", `/auditoria/chats/999999999/mensajes?en=2026-01-01`);
    assert.equal(nf.status, 404);
});
