// server.mjs: a local fake of Expo's push API for the tests, faithful to
// its documented limits and response shapes
// (https://docs.expo.dev/push-notifications/sending-notifications/).
//
//   node tests/fake_expo/server.mjs [--port N] [--exit-on-eof]
//
// Listens on 127.0.0.1:N (0 or none: a free port) and prints
// "listening <port>" once ready. Exits on SIGTERM/SIGINT, and with
// --exit-on-eof also when its stdin closes (a test gives it a pipe, so a
// test that dies does not leave it behind).
//
// POST /--/api/v2/push/send  a message object or an array of them; more
//     than 100 notifications -> 400 PUSH_TOO_MANY_NOTIFICATIONS; a message
//     without a string "to" -> 400 VALIDATION_ERROR. Otherwise 200
//     {"data": [ticket, ...]} in the order sent. A ticket is
//     {"status":"ok","id":"<uuid>"}, or an error by the token's text:
//       not an Expo push token  -> DeviceNotRegistered ("not a valid ...")
//       contains "unregistered" -> DeviceNotRegistered
//       contains "toobig"       -> MessageTooBig (also any message > 4096 bytes)
//       contains "ratelimit"    -> MessageRateExceeded
//       contains "badcreds"     -> InvalidCredentials
// POST /--/api/v2/push/getReceipts  {"ids": [...]}; more than 1000 -> 400
//     PUSH_TOO_MANY_RECEIPTS. 200 {"data": {"<id>": receipt}} for the ids it
//     issued; unknown ids are left out, as Expo does. A receipt is
//     {"status":"ok"}, or by the token of its ticket:
//       contains "rcptgone" -> error DeviceNotRegistered
//       contains "rcptrate" -> error MessageRateExceeded
//       contains "rcptbig"  -> error MessageTooBig
//       contains "rcptnone" -> no receipt (left out)
// POST /control  {"reset": true} forgets counts, tickets and behaviours;
//     {"fail_next": N, "fail_status": 429 | 500 | ..., "retry_after": S,
//      "fail_path": "send" | "receipts"} answers the next N such requests
//     with that status (and Retry-After: S when given);
//     {"delay_ms": M} delays every send response by M ms;
//     {"access_token": "T"} requires "Authorization: Bearer T" (401
//     UNAUTHORIZED otherwise; "" or null: none required).
// GET /stats  what it received: per token {ok, error, seen, last}, where
//     ok counts ok tickets in responses that reached the client (a
//     response whose client went away is counted in "aborted" instead),
//     and the request sizes and statuses per endpoint.
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { gzipSync, gunzipSync, inflateSync } from 'node:zlib';

const SEND_MAX = 100;
const RECEIPTS_MAX = 1000;
const MESSAGE_MAX_BYTES = 4096;
const TOKEN_RE = /^(ExponentPushToken|ExpoPushToken)\[[^\[\]\s]+\]$/;

let state;
function reset() {
    state = {
        tickets: new Map(),          // id -> token
        tokens: {},                  // token -> {ok, error, seen, last}
        send: { requests: 0, sizes: [], statuses: [] },
        receipts: { requests: 0, sizes: [], statuses: [], ids: 0 },
        aborted: 0,
        headers: {},                 // the last send request's relevant headers
        fail: null,                  // {count, status, retryAfter, path}
        delayMs: 0,
        accessToken: process.env.FAKE_EXPO_ACCESS_TOKEN || '',
    };
}
reset();

function tokenStats(t) {
    return (state.tokens[t] ??= { ok: 0, error: 0, seen: 0, last: null });
}

function reply(req, res, status, obj, headers = {}) {
    let body = Buffer.from(JSON.stringify(obj));
    const h = { 'Content-Type': 'application/json; charset=utf-8', ...headers };
    if (/\bgzip\b/.test(req.headers['accept-encoding'] || '')) {
        body = gzipSync(body);
        h['Content-Encoding'] = 'gzip';
    }
    h['Content-Length'] = body.length;
    res.writeHead(status, h);
    res.end(body);
}

function errors(code, message) {
    return { errors: [{ code, message }] };
}

function readBody(req) {
    return new Promise((resolve, reject) => {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
            let b = Buffer.concat(chunks);
            const enc = req.headers['content-encoding'] || '';
            try {
                if (enc === 'gzip') b = gunzipSync(b);
                else if (enc === 'deflate') b = inflateSync(b);
                resolve(b.toString('utf8'));
            } catch (e) {
                reject(e);
            }
        });
        req.on('error', reject);
    });
}

function parseJson(text) {
    try {
        return { ok: true, value: JSON.parse(text) };
    } catch {
        return { ok: false };
    }
}

// A scripted failure for this path, if one is armed.
function takeFailure(path) {
    const f = state.fail;
    if (!f || f.count <= 0 || f.path !== path) return null;
    f.count--;
    return f;
}

function failureBody(status) {
    if (status === 429)
        return errors('TOO_MANY_REQUESTS', 'You are sending too many requests. Please slow down.');
    if (status === 401) return errors('UNAUTHORIZED', 'Unauthorized');
    if (status >= 500) return errors('INTERNAL_SERVER_ERROR', 'An unknown error occurred.');
    return errors('BAD_REQUEST', 'Bad request.');
}

function authorized(req) {
    return !state.accessToken || req.headers.authorization === `Bearer ${state.accessToken}`;
}

function ticketFor(to, message) {
    if (typeof to !== 'string' || !TOKEN_RE.test(to))
        return {
            status: 'error',
            message: `${JSON.stringify(to)} is not a valid Expo push token`,
            details: { error: 'DeviceNotRegistered', expoPushToken: to },
        };
    const err = (code, text) => ({
        status: 'error',
        message: text,
        details: { error: code, expoPushToken: to },
    });
    if (to.includes('unregistered'))
        return err('DeviceNotRegistered', `${JSON.stringify(to)} is not a registered push notification recipient`);
    if (to.includes('toobig') || Buffer.byteLength(JSON.stringify(message)) > MESSAGE_MAX_BYTES)
        return err('MessageTooBig', 'Message was too big. The total payload must be at most 4096 bytes.');
    if (to.includes('ratelimit'))
        return err('MessageRateExceeded', 'Message rate exceeded for this device.');
    if (to.includes('badcreds'))
        return err('InvalidCredentials', 'Invalid push credentials.');
    return { status: 'ok', id: randomUUID() };
}

async function handleSend(req, res) {
    state.headers = {
        accept: req.headers.accept || null,
        'content-type': req.headers['content-type'] || null,
        'accept-encoding': req.headers['accept-encoding'] || null,
        authorization: req.headers.authorization || null,
    };
    const text = await readBody(req);
    const p = parseJson(text);
    const finish = (status, obj, headers, apply) => {
        state.send.requests++;
        state.send.statuses.push(status);
        const run = () => {
            if (res.destroyed) {
                state.aborted++;
                return;
            }
            let done = false;
            res.on('finish', () => {
                done = true;
                if (apply) apply();
            });
            res.on('close', () => {
                if (!done) state.aborted++;
            });
            reply(req, res, status, obj, headers);
        };
        if (state.delayMs > 0) setTimeout(run, state.delayMs);
        else run();
    };
    if (!p.ok || (typeof p.value !== 'object') || p.value === null) {
        state.send.sizes.push(0);
        return finish(400, errors('VALIDATION_ERROR', 'The request body must be a JSON object or array.'));
    }
    const single = !Array.isArray(p.value);
    const messages = single ? [p.value] : p.value;
    // every recipient is one notification
    const notes = [];
    for (let i = 0; i < messages.length; i++) {
        const m = messages[i];
        if (typeof m !== 'object' || m === null || m.to === undefined) {
            state.send.sizes.push(messages.length);
            return finish(400, errors('VALIDATION_ERROR', `"[${i}].to" is required`));
        }
        const tos = Array.isArray(m.to) ? m.to : [m.to];
        for (const to of tos) {
            if (typeof to !== 'string') {
                state.send.sizes.push(messages.length);
                return finish(400, errors('VALIDATION_ERROR', `"[${i}].to" must be a string or an array of strings`));
            }
            notes.push({ to, message: m });
        }
    }
    state.send.sizes.push(notes.length);
    for (const n of notes) tokenStats(n.to).seen++;
    if (!authorized(req))
        return finish(401, errors('UNAUTHORIZED', 'The access token is missing or invalid.'));
    const f = takeFailure('send');
    if (f) {
        const h = f.retryAfter != null ? { 'Retry-After': String(f.retryAfter) } : {};
        return finish(f.status, failureBody(f.status), h);
    }
    if (notes.length > SEND_MAX)
        return finish(400, errors('PUSH_TOO_MANY_NOTIFICATIONS',
            `You are trying to send more than ${SEND_MAX} push notifications in one request.`));
    const tickets = notes.map((n) => ticketFor(n.to, n.message));
    const data = single && notes.length === 1 ? tickets[0] : tickets;
    finish(200, { data }, {}, () => {
        notes.forEach((n, i) => {
            const s = tokenStats(n.to);
            s.last = n.message;
            if (tickets[i].status === 'ok') {
                s.ok++;
                state.tickets.set(tickets[i].id, n.to);
            } else {
                s.error++;
            }
        });
    });
}

function receiptFor(token) {
    const err = (code, text) => ({ status: 'error', message: text, details: { error: code } });
    if (token.includes('rcptnone')) return null;
    if (token.includes('rcptgone'))
        return err('DeviceNotRegistered', 'The device cannot receive push notifications anymore.');
    if (token.includes('rcptrate')) return err('MessageRateExceeded', 'Message rate exceeded.');
    if (token.includes('rcptbig')) return err('MessageTooBig', 'Message was too big.');
    return { status: 'ok' };
}

async function handleReceipts(req, res) {
    const text = await readBody(req);
    const p = parseJson(text);
    state.receipts.requests++;
    const done = (status, obj, headers) => {
        state.receipts.statuses.push(status);
        reply(req, res, status, obj, headers);
    };
    const ids = p.ok && p.value && Array.isArray(p.value.ids) ? p.value.ids : null;
    state.receipts.sizes.push(ids ? ids.length : 0);
    if (!ids || ids.some((x) => typeof x !== 'string'))
        return done(400, errors('VALIDATION_ERROR', '"ids" must be an array of strings'));
    if (!authorized(req))
        return done(401, errors('UNAUTHORIZED', 'The access token is missing or invalid.'));
    const f = takeFailure('receipts');
    if (f) {
        const h = f.retryAfter != null ? { 'Retry-After': String(f.retryAfter) } : {};
        return done(f.status, failureBody(f.status), h);
    }
    if (ids.length > RECEIPTS_MAX)
        return done(400, errors('PUSH_TOO_MANY_RECEIPTS',
            `You are trying to get more than ${RECEIPTS_MAX} push receipts in one request.`));
    state.receipts.ids += ids.length;
    const data = {};
    for (const id of ids) {
        const token = state.tickets.get(id);
        if (token === undefined) continue;
        const r = receiptFor(token);
        if (r) data[id] = r;
    }
    done(200, { data });
}

async function handleControl(req, res) {
    const p = parseJson(await readBody(req));
    if (!p.ok || typeof p.value !== 'object' || p.value === null)
        return reply(req, res, 400, errors('VALIDATION_ERROR', 'a JSON object is required'));
    const c = p.value;
    if (c.reset) reset();
    if (c.fail_next !== undefined)
        state.fail = {
            count: Number(c.fail_next),
            status: Number(c.fail_status ?? 500),
            retryAfter: c.retry_after ?? null,
            path: c.fail_path ?? 'send',
        };
    if (c.delay_ms !== undefined) state.delayMs = Number(c.delay_ms);
    if (c.access_token !== undefined) state.accessToken = c.access_token || '';
    reply(req, res, 200, { ok: true });
}

function stats() {
    return {
        tokens: state.tokens,
        send: state.send,
        receipts: state.receipts,
        aborted: state.aborted,
        headers: state.headers,
        tickets: state.tickets.size,
    };
}

const server = createServer((req, res) => {
    const url = (req.url || '').split('?')[0];
    const route = `${req.method} ${url}`;
    let p;
    if (route === 'POST /--/api/v2/push/send') p = handleSend(req, res);
    else if (route === 'POST /--/api/v2/push/getReceipts') p = handleReceipts(req, res);
    else if (route === 'POST /control') p = handleControl(req, res);
    else if (route === 'GET /stats') return reply(req, res, 200, stats());
    else return reply(req, res, 404, errors('NOT_FOUND', `${route} is not a route`));
    p.catch((e) => {
        if (!res.headersSent) reply(req, res, 400, errors('BAD_REQUEST', String(e && e.message)));
    });
});
server.keepAliveTimeout = 30000;

const arg = process.argv.indexOf('--port');
const port = Number(arg > 0 ? process.argv[arg + 1] : process.env.FAKE_EXPO_PORT || 0);
server.listen(port, '127.0.0.1', () => {
    process.stdout.write(`listening ${server.address().port}\n`);
});

const stop = () => {
    server.close();
    server.closeAllConnections?.();
    process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (process.argv.includes('--exit-on-eof')) {
    process.stdin.on('end', stop);
    process.stdin.on('error', stop);
    process.stdin.resume();
}
