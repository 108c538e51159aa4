// sio.mjs: the reference realtime server: Socket.IO 4 on Node doing rtd's
// work for the benchmarks: the JWT checked at connect, the user looked up
// (or created), the socket joined to user:<id> and chat:<id> for each of
// its chats, and the eventos feed read by the same (xid, id) cursor on every
// NOTIFY chat_eventos (and on a 1 s timer), each row emitted to its room.
// It does not do presence (rtd does: that is work rtd has and this lacks).
//
// env: BENCH_PORT, BENCH_PING_MS, BENCH_PG_HOST/PORT/DB/USER,
// BENCH_SECRET_FILE. Prints "ready" once listening and LISTENing.
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { client, env, login, pool, verify } from './common.mjs';

const db = pool(Number(env('BENCH_POOL', '4')));
const http = createServer();
const io = new Server(http, {
    path: '/chat/socket.io/',
    transports: ['websocket'],
    pingInterval: Number(env('BENCH_PING_MS', '25000')),
    pingTimeout: 20000,
    serveClient: false,
    perMessageDeflate: false,
});

const sqlChats = 'SELECT chat_id FROM usuarios_chat WHERE usuario_id = $1';

io.use(async (socket, next) => {
    const claims = verify(socket.handshake.auth?.token);
    if (!claims) return next(Object.assign(new Error('token_invalido'), { data: { message: 'token_invalido' } }));
    try {
        const u = await login(db, claims);
        if (!u.activo) return next(new Error('usuario_desactivado'));
        const r = await db.query({ name: 'chats', text: sqlChats, values: [u.id] });
        socket.join([`user:${u.id}`, ...r.rows.map((x) => `chat:${x.chat_id}`)]);
        socket.data.uid = u.id;
        next();
    } catch (e) {
        next(new Error('error_interno'));
    }
});
io.on('connection', () => {});

// The feed: the same statement rtd runs.
const feedSql = 'SELECT e.id, e.xid::text AS xid, e.tipo, e.sala, e.payload FROM eventos_despues($1::bigint, $2::bigint, 500) e';
const listen = client();
let curXid = '0', curId = '0', busy = false, again = false;

async function feedRead() {
    if (busy) { again = true; return; }
    busy = true;
    try {
        do {
            again = false;
            const r = await listen.query(feedSql, [curXid, curId]);
            for (const row of r.rows) {
                io.to(row.sala).emit(row.tipo, row.payload);
                curXid = row.xid;
                curId = row.id;
            }
            if (r.rows.length >= 500) again = true;
        } while (again);
    } finally {
        busy = false;
    }
}

await listen.connect();
curXid = String((await listen.query('SELECT eventos_horizonte() AS h')).rows[0].h);
listen.on('notification', () => { feedRead().catch((e) => console.error(e)); });
await listen.query('LISTEN chat_eventos');
setInterval(() => { feedRead().catch((e) => console.error(e)); }, 1000);

http.listen(Number(env('BENCH_PORT', '9081')), '127.0.0.1', () => console.log('ready'));
process.on('SIGTERM', () => process.exit(0));
