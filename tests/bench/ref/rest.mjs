// rest.mjs: the reference REST server: plain node:http + pg doing what
// chat-fcgi does for the two benchmarked endpoints, with the same SQL
// (copied from shared/domain/msg.c, shared/domain/chat_access.c, shared/domain/usr.c, shared/domain/evt.c):
//   POST /chat/api/v1/chats/{id}/mensajes  login; BEGIN; insert the message
//     (access check in the same statement); INSERT eventos; COMMIT; then the
//     NOTIFY in its own synchronous_commit=off transaction
//   GET  /chat/api/v1/chats/{id}/mensajes?antes=&limite=  login; access;
//     the page of ids; the full Mensajes of those ids
// One process (Node's usual deployment unit), a pool of BENCH_POOL
// connections (chat-fcgi has one per worker). Prints "ready".
import { createServer } from 'node:http';
import { env, login, pool, verify } from './common.mjs';

const db = pool(Number(env('BENCH_POOL', '4')));

const FROM =
    ' LEFT JOIN usuarios au ON au.id = m.autor_id' +
    ' LEFT JOIN mensajes r ON r.id = m.respuesta_a' +
    ' LEFT JOIN usuarios ru ON ru.id = r.autor_id' +
    ' LEFT JOIN media md ON md.id = m.media_id AND md.deleted_at IS NULL';
const COLS = (reac) =>
    'm.id, m.chat_id, m.autor_id, au.nombre, au.imagen_url, COALESCE(au.activo, true),' +
    ' m.tipo, m.contenido,' +
    ' r.id, ru.nombre, COALESCE(ru.activo, true), left(r.contenido, 100), r.tipo,' +
    ' r.deleted_at IS NOT NULL,' +
    ' md.id, md.mime, md.nombre, md.tamano, md.ancho, md.alto, md.duracion,' +
    ' m.created_at, m.editado_at, m.deleted_at IS NOT NULL, m.client_id,' +
    ' NOT EXISTS (SELECT 1 FROM usuarios_chat lc WHERE lc.chat_id = m.chat_id' +
    '   AND lc.usuario_id IS DISTINCT FROM m.autor_id AND lc.ultimo_leido_id < m.id' +
    '   AND lc.joined_at <= m.created_at), ' + reac;

const sqlSend =
    'WITH acc AS (' +
    '  SELECT c.id FROM chats c' +
    '  JOIN usuarios_chat uc ON uc.chat_id = c.id AND uc.usuario_id = $2::bigint' +
    "  WHERE c.id = $1::bigint AND c.deleted_at IS NULL AND (NOT c.restringido OR uc.rol = 'admin')" +
    '   AND ($4::bigint IS NULL OR EXISTS (SELECT 1 FROM mensajes q' +
    '        WHERE q.chat_id = $1::bigint AND q.id = $4::bigint AND q.deleted_at IS NULL))),' +
    ' m AS (' +
    '  INSERT INTO mensajes (chat_id, autor_id, tipo, contenido, respuesta_a, media_id, client_id)' +
    '  SELECT acc.id, $2::bigint, $3::text, $5::text, $4::bigint, $6::bigint, $7::text FROM acc' +
    '  ON CONFLICT (autor_id, client_id) WHERE client_id IS NOT NULL DO NOTHING' +
    '  RETURNING *)' +
    " SELECT " + COLS("'[]'") + ' FROM m' + FROM;
// the page's reactions read and grouped once for all its ids, as
// msg_history_write's statement does
const sqlLoad =
    'SELECT ' + COLS('CASE WHEN m.deleted_at IS NULL THEN rx.reac END') +
    ' FROM unnest($1::bigint[]) WITH ORDINALITY q(id, ord)' +
    ' JOIN mensajes m ON m.id = q.id' + FROM +
    " LEFT JOIN (SELECT x.mensaje_id, json_agg(json_build_object('emoji', x.emoji," +
    "   'total', x.n, 'usuarios', x.ids, 'mia', x.mia) ORDER BY x.f, x.emoji)::text AS reac" +
    '  FROM (SELECT rm.mensaje_id, rm.emoji, count(*) AS n,' +
    '   array_agg(rm.usuario_id ORDER BY rm.created_at, rm.usuario_id) AS ids,' +
    '   bool_or(rm.usuario_id = $2::bigint) AS mia, min(rm.created_at) AS f' +
    '   FROM reacciones_mensajes rm WHERE rm.mensaje_id = ANY($1::bigint[])' +
    '   GROUP BY rm.mensaje_id, rm.emoji) x GROUP BY x.mensaje_id) rx' +
    '  ON rx.mensaje_id = m.id ORDER BY q.ord';
const sqlBefore = 'SELECT id FROM mensajes WHERE chat_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3';
const sqlAccess =
    "SELECT c.tipo = 'directo', c.restringido, uc.usuario_id IS NOT NULL," +
    "  COALESCE(uc.rol = 'admin', false), COALESCE(uc.silenciado, false)" +
    ' FROM chats c LEFT JOIN usuarios_chat uc ON uc.chat_id = c.id AND uc.usuario_id = $2' +
    ' WHERE c.id = $1 AND c.deleted_at IS NULL';
const sqlEvent =
    'INSERT INTO eventos (tipo, sala, payload, chat_id, usuario_id)' +
    " VALUES ($1, $2, $3::jsonb, NULLIF($4, '0')::bigint, NULLIF($5, '0')::bigint)" +
    ' RETURNING id';

const num = (v) => (v === null ? null : Number(v));

// The Mensaje of one row (as msg_row_json builds it).
function mensaje(row) {
    const v = row; // rowMode 'array'
    const elim = v[23];
    const autor = v[2] === null ? null : {
        id: num(v[2]),
        nombre: v[5] ? v[3] : 'Usuario desactivado',
        imagen_url: v[5] ? v[4] : null,
    };
    const resp = v[8] === null ? null : {
        id: num(v[8]),
        autor_nombre: v[9] === null ? null : v[10] ? v[9] : 'Usuario desactivado',
        extracto: v[13] ? null : v[11],
        tipo: v[12],
        eliminado: v[13],
    };
    const media = elim || v[14] === null ? null : {
        id: num(v[14]), url: `/chat/api/v1/media/${v[14]}`, mime: v[15], nombre: v[16],
        tamano: num(v[17]), ancho: num(v[18]), alto: num(v[19]), duracion: num(v[20]),
    };
    let reacciones = [];
    try { reacciones = JSON.parse(v[26] ?? '[]') ?? []; } catch { /* keep [] */ }
    return {
        id: num(v[0]), chat_id: num(v[1]), autor, tipo: v[6], contenido: elim ? null : v[7],
        respuesta_a: resp, media, encuesta: null, reacciones, created_at: v[21],
        editado_at: v[22], eliminado: elim, client_id: v[24], leido_por_todos: v[25],
    };
}

function send(res, status, obj) {
    const body = JSON.stringify(obj);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
}
const fail = (res, status, codigo) => send(res, status, { error: { codigo, mensaje: codigo } });

async function auth(req) {
    const h = req.headers.authorization || '';
    const claims = verify(h.startsWith('Bearer ') ? h.slice(7) : null);
    if (!claims) return null;
    const u = await login(db, claims);
    return u.activo ? u : null;
}

async function postMessage(req, res, chatId, body) {
    const u = await auth(req);
    if (!u) return fail(res, 401, 'token_invalido');
    let inp;
    try { inp = JSON.parse(body); } catch { return fail(res, 400, 'solicitud_invalida'); }
    if (typeof inp.contenido !== 'string' || !inp.contenido.trim()) return fail(res, 400, 'solicitud_invalida');
    const c = await db.connect();
    let m, evId;
    try {
        await c.query('BEGIN');
        const r = await c.query({
            name: 'send', text: sqlSend, rowMode: 'array',
            values: [chatId, u.id, inp.tipo ?? 'texto', inp.respuesta_a ?? null, inp.contenido,
                     inp.media_id ?? null, inp.client_id ?? null],
        });
        if (r.rows.length === 0) {
            await c.query('ROLLBACK');
            return fail(res, 404, 'no_encontrado');
        }
        m = mensaje(r.rows[0]);
        const e = await c.query({
            name: 'event', text: sqlEvent,
            values: ['mensaje:nuevo', `chat:${chatId}`, JSON.stringify(m), String(chatId), String(u.id)],
        });
        evId = e.rows[0].id;
        await c.query('COMMIT');
        // the wake-up, after the commit, in its own asynchronous transaction
        await c.query('BEGIN; SET LOCAL synchronous_commit = off');
        await c.query({ name: 'notify', text: 'SELECT pg_notify(\'chat_eventos\', $1)',
                        values: [JSON.stringify({ id: Number(evId), tipo: 'mensaje:nuevo', sala: `chat:${chatId}` })] });
        await c.query('COMMIT');
    } catch (err) {
        await c.query('ROLLBACK').catch(() => {});
        c.release();
        return fail(res, 500, 'error_interno');
    }
    c.release();
    send(res, 201, m);
}

async function getHistory(req, res, chatId, q) {
    const u = await auth(req);
    if (!u) return fail(res, 401, 'token_invalido');
    const acc = await db.query({ name: 'access', text: sqlAccess, values: [chatId, u.id], rowMode: 'array' });
    if (!acc.rows.length || !acc.rows[0][2]) return fail(res, 404, 'no_encontrado');
    const limite = Math.min(Math.max(Number(q.get('limite') ?? 50) || 50, 1), 200);
    const antes = q.get('antes') ?? '9223372036854775807';
    const ids = await db.query({ name: 'before', text: sqlBefore, values: [chatId, antes, limite + 1], rowMode: 'array' });
    const hayMas = ids.rows.length > limite;
    const page = ids.rows.slice(0, limite).map((x) => x[0]);
    const r = await db.query({ name: 'load', text: sqlLoad, values: [`{${page.join(',')}}`, u.id], rowMode: 'array' });
    send(res, 200, { mensajes: r.rows.map(mensaje), hay_mas: hayMas });
}

const route = /^\/chat\/api\/v1\/chats\/(\d+)\/mensajes$/;
const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const m = route.exec(url.pathname);
    if (!m) return fail(res, 404, 'no_encontrado');
    const chatId = Number(m[1]);
    if (req.method === 'GET') {
        getHistory(req, res, chatId, url.searchParams).catch(() => fail(res, 500, 'error_interno'));
        return;
    }
    if (req.method !== 'POST') return fail(res, 405, 'solicitud_invalida');
    const chunks = [];
    req.on('data', (d) => chunks.push(d));
    req.on('end', () => {
        postMessage(req, res, chatId, Buffer.concat(chunks).toString()).catch(() => fail(res, 500, 'error_interno'));
    });
});
server.keepAliveTimeout = 75000;
server.listen(Number(env('BENCH_PORT', '9082')), '127.0.0.1', () => console.log('ready'));
process.on('SIGTERM', () => process.exit(0));
