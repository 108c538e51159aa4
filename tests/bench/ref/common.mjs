// common.mjs: what both Node reference servers share: the HS256 check (by
// hand with node:crypto, as rtd and chat-fcgi check it), the database
// settings, the user login (the same two statements as shared/domain/usr.c).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';

export const env = (k, d) => process.env[k] ?? d;

export function dbConfig() {
    return {
        host: env('BENCH_PG_HOST', '/tmp'),
        port: Number(env('BENCH_PG_PORT', '5432')),
        database: env('BENCH_PG_DB', 'chat'),
        user: env('BENCH_PG_USER', 'chat'),
    };
}

export function pool(max) {
    return new pg.Pool({ ...dbConfig(), max });
}

export function client() {
    return new pg.Client(dbConfig());
}

const secret = readFileSync(env('BENCH_SECRET_FILE', 'jwt_secret'), 'utf8').trim();

function b64url(buf) {
    return buf.toString('base64').replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
}

// The claims of a valid HS256 token, or null.
export function verify(token) {
    if (typeof token !== 'string') return null;
    const parts = token.split('.');
    if (parts.length !== 3) return null;
    let head, claims;
    try {
        head = JSON.parse(Buffer.from(parts[0], 'base64url').toString());
        claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString());
    } catch {
        return null;
    }
    if (head.alg !== 'HS256') return null;
    const want = Buffer.from(b64url(createHmac('sha256', secret).update(`${parts[0]}.${parts[1]}`).digest()));
    const got = Buffer.from(parts[2]);
    if (want.length !== got.length || !timingSafeEqual(want, got)) return null;
    if (typeof claims.exp !== 'number' || claims.exp < Date.now() / 1000) return null;
    if (claims.idErp === undefined || claims.idErp === null) return null;
    return claims;
}

const sqlByErp =
    'SELECT id, activo, nombre, email, imagen_url, puesto, departamento, permisos::text' +
    ' FROM usuarios WHERE id_erp = $1';
const sqlUpsert =
    'INSERT INTO usuarios (id_erp, nombre, email, imagen_url, puesto, departamento, permisos)' +
    " VALUES ($1, COALESCE($2, ''), $3, $4, $5, $6, $7::int[])" +
    ' ON CONFLICT (id_erp) DO UPDATE SET' +
    '  nombre = COALESCE($2, usuarios.nombre), email = COALESCE($3, usuarios.email),' +
    '  imagen_url = COALESCE($4, usuarios.imagen_url), puesto = COALESCE($5, usuarios.puesto),' +
    '  departamento = COALESCE($6, usuarios.departamento), permisos = $7::int[],' +
    '  updated_at = now()' +
    ' RETURNING id, activo, nombre';

// The user of the claims (created or refreshed as usr_login does): {id, activo}.
export async function login(db, c) {
    const idErp = String(c.idErp);
    const perms = `{${(c.permisos || []).join(',')}}`;
    let r = await db.query({ name: 'by_erp', text: sqlByErp, values: [idErp] });
    const row = r.rows[0];
    const same = (claim, stored) => claim === undefined || claim === null || claim === stored;
    if (!row || !same(c.nombre, row.nombre) || !same(c.email, row.email) ||
        (row.permisos ?? '{}') !== perms) {
        r = await db.query({
            name: 'upsert', text: sqlUpsert,
            values: [idErp, c.nombre ?? null, c.email ?? null, c.imagen ?? null, c.puesto ?? null,
                     c.departamento ?? null, perms],
        });
    }
    return { id: Number(r.rows[0].id), activo: r.rows[0].activo };
}
