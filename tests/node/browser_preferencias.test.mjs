// browser_preferencias.test.mjs: the preferences dialog in the web client:
// the unread e-mail digest switch shows the stored choice, saves a change at
// once (GET/PUT /me/preferencias), survives a reload, and the digest's
// List-Unsubscribe link (/chat/?preferencias=1) opens the dialog directly.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, user, shot, rest, until, BASE, RUN } from "../browser/lib.mjs";

let browser;
let eva;

before(async () => {
    browser = await launch();
    eva = await user(browser, { idErp: "pref" + RUN, nombre: "Eva Preferencias" + RUN });
});

after(async () => {
    if (browser) await browser.close();
});

test("the digest switch shows, saves and keeps the user's choice; the unsubscribe link opens it", async () => {
    const page = eva.page;
    assert.deepEqual((await rest(eva.token, "GET", "/me/preferencias")).body, { resumen_correo: true });

    await page.locator(".cw-btn-preferencias").click();
    const dlg = page.locator("dialog.cw-dialog");
    const sw = dlg.locator("input.cw-pref-resumen");
    await until(async () => !(await sw.isDisabled()), { what: "the preference loaded" });
    assert.equal(await sw.isChecked(), true);
    await sw.uncheck();
    await dlg.getByText("No recibirás el resumen por correo").waitFor();
    assert.deepEqual((await rest(eva.token, "GET", "/me/preferencias")).body, { resumen_correo: false });
    await shot(page, "preferencias");
    await dlg.getByRole("button", { name: "Cerrar" }).first().click();
    await until(async () => (await page.locator("dialog.cw-dialog").count()) === 0, { what: "the dialog closed" });

    // the List-Unsubscribe link: the dialog opens by itself, showing "off"
    await page.goto(`${BASE}/chat/?token=${encodeURIComponent(eva.token)}&preferencias=1`);
    const again = page.locator("dialog.cw-dialog input.cw-pref-resumen");
    await again.waitFor();
    await until(async () => !(await again.isDisabled()), { what: "the preference loaded again" });
    assert.equal(await again.isChecked(), false);
    await again.check();
    await page.locator("dialog.cw-dialog").getByText("Recibirás el resumen por correo").waitFor();
    assert.deepEqual((await rest(eva.token, "GET", "/me/preferencias")).body, { resumen_correo: true });
    assert.deepEqual(eva.errors, []);
});
