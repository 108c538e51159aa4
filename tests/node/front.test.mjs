// front.test.mjs: what the web server in front answers itself, checked the
// same way behind nginx and behind Apache (CHAT_FRONT), both running the
// shipped etc/<server>/chat.conf: the upload cap with the API's error shape,
// the static client, the internal-only media location, and the API's own
// errors passed through untouched.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect as tcp } from "node:net";
import { API, BASE } from "./lib.mjs";

/** One raw HTTP/1.1 request (headers only); resolves with status, headers
 * and body once the server closes or the answer is complete. */
function raw(head) {
    const url = new URL(BASE);
    return new Promise((resolve, reject) => {
        const s = tcp({ host: url.hostname, port: Number(url.port) });
        const chunks = [];
        s.setTimeout(10000, () => s.destroy(new Error("no answer in 10 s")));
        s.on("error", reject);
        s.on("data", (d) => chunks.push(d));
        s.on("close", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            const sep = text.indexOf("\r\n\r\n");
            if (sep < 0) return reject(new Error(`no complete answer: ${JSON.stringify(text)}`));
            const lines = text.slice(0, sep).split("\r\n");
            const headers = {};
            for (const l of lines.slice(1)) {
                const i = l.indexOf(":");
                headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
            }
            resolve({ status: Number(lines[0].split(" ")[1]), headers, body: text.slice(sep + 4) });
        });
        s.write(head.join("\r\n") + "\r\n\r\n");
    });
}

test("a declared body over the cap gets 413 with the API's error shape, before it is sent", async () => {
    const host = new URL(BASE).host;
    const r = await raw([
        "POST /chat/api/v1/media HTTP/1.1",
        `Host: ${host}`,
        "Content-Type: multipart/form-data; boundary=x",
        `Content-Length: ${200 * 1024 * 1024}`,
        "Connection: close",
    ]);
    assert.equal(r.status, 413);
    assert.match(r.headers["content-type"], /^application\/json/);
    // the server may close without reading a body it refused; what it sent is whole
    const body = JSON.parse(r.body.replace(/^[0-9a-f]+\r\n|\r\n0\r\n\r\n$/g, ""));
    assert.equal(body.error.codigo, "demasiado_grande");
    assert.equal(typeof body.error.mensaje, "string");
});

test("the static client: /chat redirects, /chat/ is the page, revalidated on every load, framed only by its own origin", async () => {
    const r = await fetch(`${BASE}/chat`, { redirect: "manual" });
    assert.equal(r.status, 301);
    assert.match(r.headers.get("location"), /\/chat\/$/);
    const page = await fetch(`${BASE}/chat/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type"), /^text\/html/);
    assert.match(page.headers.get("cache-control") ?? "", /no-cache/);
    // only our own origin may frame it
    assert.match(page.headers.get("content-security-policy") ?? "", /frame-ancestors 'self'/);
    assert.match(await page.text(), /<html/i);
    const js = await fetch(`${BASE}/chat/app.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get("content-type"), /javascript/);
    await js.arrayBuffer();
});

test("media bytes are never reachable directly", async () => {
    const r = await fetch(`${BASE}/chat/_media/anything`);
    assert.equal(r.status, 404);
    await r.arrayBuffer();
});

test("the API's own errors pass through untouched", async () => {
    const r = await fetch(`${API}/no/such/route`);
    assert.equal(r.status, 404);
    assert.match(r.headers.get("content-type"), /^application\/json/);
    const body = await r.json();
    assert.equal(typeof body.error.codigo, "string");
    const me = await fetch(`${API}/me`);
    assert.equal(me.status, 401);
    assert.equal((await me.json()).error.codigo.length > 0, true);
});
