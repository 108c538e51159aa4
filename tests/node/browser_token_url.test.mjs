// browser_token_url.test.mjs: `?token=` in the page URL is a development
// switch (token_en_url): honoured when the server says it is on (the test
// stack, like `make run`), ignored when it says off, and removed from the
// address bar either way.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, mint, rest, until, BASE, RUN } from "../browser/lib.mjs";

let browser;

before(async () => { browser = await launch(); });
after(async () => { if (browser) await browser.close(); });

/** Opens /chat/?token=<token> in a new context; returns {ctx, page, auths}
 * where auths lists the Authorization headers the page sent to the API. */
async function open(token, { salud } = {}) {
    const ctx = await browser.newContext();
    const auths = [];
    if (salud) {
        await ctx.route("**/chat/api/v1/salud", (route) =>
            route.fulfill({ status: 200, contentType: "application/json", body: JSON.stringify(salud) }));
    }
    const page = await ctx.newPage();
    page.on("request", (req) => {
        if (req.url().includes("/chat/api/v1/") && !req.url().endsWith("/salud")) {
            auths.push(req.headers()["authorization"] || "");
        }
    });
    await page.goto(`${BASE}/chat/?token=${encodeURIComponent(token)}`);
    return { ctx, page, auths };
}

test("the switch on (the local stack): the page logs in with ?token= and drops it from the address bar", async () => {
    const s = await rest(mint("tu1" + RUN, "Tomás Url"), "GET", "/salud");
    assert.equal(s.body.token_en_url, true);
    const token = mint("tu1" + RUN, "Tomás Url");
    const { ctx, page, auths } = await open(token);
    await page.locator(".cw-top").waitFor();
    await until(() => auths.some((a) => a === "Bearer " + token), { what: "a request with the URL's token" });
    assert.ok(!page.url().includes("token="), page.url());
    await ctx.close();
});

test("the switch off: ?token= is ignored (no request carries it) and removed from the URL and the tab's storage", async () => {
    const token = mint("tu2" + RUN, "Teresa Url");
    const { ctx, page, auths } = await open(token, {
        salud: { estado: "ok", db: "ok", migracion: "x", version: "x", token_en_url: false },
    });
    // the client asks who it is; without a token and without the cookie that is a 401
    const me = await page.waitForResponse((r) => r.url().includes("/chat/api/v1/me"), { timeout: 15000 });
    assert.equal(me.status(), 401);
    assert.ok(auths.length > 0);
    assert.ok(auths.every((a) => !a.includes(token)), JSON.stringify(auths));
    assert.ok(!page.url().includes("token="), page.url());
    assert.equal(await page.evaluate(() => sessionStorage.getItem("chat-erp.token")), null);
    await ctx.close();
});
