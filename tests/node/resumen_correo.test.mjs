// resumen_correo.test.mjs: the unread e-mail digest (chat-cron digest)
// against the real stack and a local SMTP server (smtp-server, with AUTH)
// that records every message: the right people get one digest each with
// the right counts; nothing twice for the same messages; nothing before
// the delay, to those who opted out, have no address, are on vacation,
// read the messages or came online; a failed SMTP conversation is retried
// later as the same message, once.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { SMTPServer } from "smtp-server";
import { simpleParser } from "mailparser";
import { API, CONFIG, RTD_BIN, RUN, connect, mint, q, sql, userId } from "./lib.mjs";

const CRON = existsSync(join(dirname(RTD_BIN), "chat-cron")) ? join(dirname(RTD_BIN), "chat-cron") : "build/bin/chat-cron";

// the fake SMTP server: AUTH required (chat / secreto), no STARTTLS
const got = [];            // {to, raw, parsed}
let refuse = new Set();    // addresses answered with a temporary failure
const smtp = new SMTPServer({
    disabledCommands: ["STARTTLS"],
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _s, cb) {
        if (auth.username === "chat" && auth.password === "secreto") cb(null, { user: "chat" });
        else cb(new Error("Invalid username or password"));
    },
    onRcptTo(addr, _s, cb) {
        if (refuse.has(addr.address)) {
            const e = new Error("Intente más tarde");
            e.responseCode = 451;
            return cb(e);
        }
        cb();
    },
    onData(stream, session, cb) {
        const chunks = [];
        stream.on("data", (c) => chunks.push(c));
        stream.on("end", async () => {
            const raw = Buffer.concat(chunks);
            got.push({ to: session.envelope.rcptTo.map((r) => r.address), auth: session.user, raw: raw.toString(), parsed: await simpleParser(raw) });
            cb();
        });
    },
});
await new Promise((ok) => smtp.listen(0, "127.0.0.1", ok));
const PORT = smtp.server.address().port;
after(() => new Promise((ok) => smtp.close(ok)));

function digest() {
    return new Promise((ok, fail) => {
        execFile(CRON, ["--config", CONFIG, "digest"], {
            env: { ...process.env, CHAT_SMTP_URL: `smtp://127.0.0.1:${PORT}`, CHAT_SMTP_USUARIO: "chat",
                CHAT_SMTP_CLAVE: "secreto", CHAT_SMTP_REMITENTE: "Chat de la Empresa <chat@empresa.test>",
                CHAT_RESUMEN_RETRASO_MINUTOS: "1", CHAT_URL_PUBLICA: "https://erp.empresa.test" },
        }, (err, stdout, stderr) => (err ? fail(new Error(`chat-cron digest: ${err.message} ${stderr}`)) : ok(stderr)));
    });
}

async function call(method, path, token, body) {
    const r = await fetch(API + path, { method, headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null };
}

const mail = (tag) => `${tag}.${RUN}@empresa.test`;
const to = (addr) => got.filter((m) => m.to.includes(addr));

test("digest: right people, one each, right counts; never twice; failures retried once", async () => {
    const ids = {};
    const toks = {};
    for (const t of ["autor", "bea", "cero", "sinmail", "vaca", "lee", "online"]) {
        const idErp = `res_${t}_${RUN}`;
        toks[t] = mint(idErp, `Usuario ${t}`);
        const me = await call("GET", "/me", toks[t]);
        assert.equal(me.status, 200);
        ids[t] = me.body.usuario.id;
    }
    const everyone = Object.values(ids);
    const g = await call("POST", "/chats", toks.autor, { nombre: `Ventas ${RUN}`, miembros: everyone.filter((x) => x !== ids.autor) });
    assert.equal(g.status, 201);
    const g2 = await call("POST", "/chats", toks.autor, { nombre: `Compras <b>${RUN}</b>`, miembros: [ids.bea] });
    assert.equal(g2.status, 201);
    const sent = [];
    for (const text of ["Primer aviso", "Segundo aviso con acentos: información", "Tercer aviso"]) {
        const r = await call("POST", `/chats/${g.body.id}/mensajes`, toks.autor, { contenido: text });
        assert.equal(r.status, 201);
        sent.push(r.body.id);
    }
    const r2 = await call("POST", `/chats/${g2.body.id}/mensajes`, toks.autor, { contenido: "¿Revisaste <la orden>?" });
    assert.equal(r2.status, 201);
    // cero opts out; lee reads everything; online connects
    assert.deepEqual((await call("PUT", "/me/preferencias", toks.cero, { resumen_correo: false })).body, { resumen_correo: false });
    assert.deepEqual((await call("GET", "/me/preferencias", toks.cero)).body, { resumen_correo: false });
    assert.equal((await call("PUT", "/me/preferencias", toks.cero, { resumen_correo: "no" })).status, 400);
    assert.equal((await call("POST", `/chats/${g.body.id}/leido`, toks.lee, { mensaje_id: sent[2] })).status, 200);
    const sock = await connect(toks.online);
    try {
        // addresses (the tokens carry none), vacation, and the messages made old enough
        for (const t of ["autor", "bea", "cero", "vaca", "lee", "online"]) sql(`UPDATE usuarios SET email = ${q(mail(t))} WHERE id = ${ids[t]}`);
        sql(`UPDATE usuarios SET vacaciones = true WHERE id = ${ids.vaca}`);
        sql(`UPDATE mensajes SET created_at = now() - interval '2 hours' WHERE chat_id IN (${g.body.id}, ${g2.body.id})`);
        for (let i = 0; i < 50 && sql(`SELECT estatus FROM usuarios WHERE id = ${ids.online}`)[0][0] !== "en_linea"; i++) {
            await new Promise((ok) => setTimeout(ok, 100));
        }
        assert.equal(sql(`SELECT estatus FROM usuarios WHERE id = ${ids.online}`)[0][0], "en_linea");

        await digest();
        const b = to(mail("bea"));
        assert.equal(b.length, 1, "bea gets exactly one digest");
        for (const t of ["autor", "cero", "vaca", "lee", "online"]) assert.equal(to(mail(t)).length, 0, `${t} gets none`);
        const p = b[0].parsed;
        assert.equal(b[0].auth, "chat");
        assert.equal(p.subject, "Tienes 4 mensajes sin leer en el chat");
        assert.match(p.text, new RegExp(`Ventas ${RUN}: 3 mensajes sin leer`));
        assert.match(p.text, new RegExp(`Compras <b>${RUN}</b>: 1 mensaje sin leer`));
        assert.match(p.text, /Usuario autor: Segundo aviso con acentos: información/);
        assert.match(p.text, new RegExp(`https://erp\\.empresa\\.test/chat/\\?chat=${g.body.id}`));
        // the HTML part escapes what users wrote
        assert.ok(p.html.includes(`Compras &lt;b&gt;${RUN}&lt;/b&gt;`));
        assert.ok(p.html.includes("¿Revisaste &lt;la orden&gt;?"));
        assert.ok(!p.html.includes("<la orden>"));
        assert.match(b[0].raw, /^Content-Type: multipart\/alternative/m);
        assert.ok(p.date instanceof Date && Math.abs(p.date - Date.now()) < 600000);
        assert.match(p.messageId, /^<resumen\.\d+\.\d+@empresa\.test>$/);
        assert.match(b[0].raw, /^List-Unsubscribe: <https:\/\/erp\.empresa\.test\/chat\/\?preferencias=1>\r$/m);
        assert.equal(p.headers.get("list")?.unsubscribe?.url, "https://erp.empresa.test/chat/?preferencias=1");
        assert.equal(p.from.value[0].address, "chat@empresa.test");
        assert.equal(p.from.value[0].name, "Chat de la Empresa");

        // again: the same unread messages are never listed twice
        sql(`UPDATE resumen_envios SET created_at = now() - interval '2 hours' WHERE usuario_id = ${ids.bea}`);
        await digest();
        assert.equal(to(mail("bea")).length, 1);
        // a fresh message is not due before the delay
        assert.equal((await call("POST", `/chats/${g.body.id}/mensajes`, toks.autor, { contenido: "Recién escrito" })).status, 201);
        await digest();
        assert.equal(to(mail("bea")).length, 1);

        // the server refuses for a while: kept, retried later as the same message, sent once
        sql(`UPDATE mensajes SET created_at = now() - interval '1 hour' WHERE chat_id = ${g.body.id} AND created_at > now() - interval '5 minutes'`);
        refuse = new Set([mail("bea")]);
        await digest();
        assert.equal(to(mail("bea")).length, 1);
        const row = sql(`SELECT estado, intentos, error IS NOT NULL FROM resumen_envios WHERE usuario_id = ${ids.bea} ORDER BY id DESC LIMIT 1`)[0];
        assert.deepEqual(row, ["pendiente", "1", "t"]);
        await digest();   // not due yet (backoff): nothing
        assert.equal(to(mail("bea")).length, 1);
        refuse = new Set();
        sql(`UPDATE resumen_envios SET next_attempt_at = now() WHERE usuario_id = ${ids.bea} AND estado = 'pendiente'`);
        await digest();
        await digest();
        const all = to(mail("bea"));
        assert.equal(all.length, 2, "the retried digest arrives once");
        assert.equal(all[1].parsed.subject, "Tienes 4 mensajes sin leer en el chat");
        assert.match(all[1].parsed.text, new RegExp(`Ventas ${RUN}: 4 mensajes sin leer`));
        assert.match(all[1].parsed.text, /Recién escrito/);
        assert.equal(sql(`SELECT count(*) FROM resumen_envios WHERE usuario_id = ${ids.bea}`)[0][0], "2");
        assert.equal(sql(`SELECT estado FROM resumen_envios WHERE usuario_id = ${ids.bea} ORDER BY id DESC LIMIT 1`)[0][0], "enviado");
    } finally {
        sock.close();
    }
});
