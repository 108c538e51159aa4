-- seed.sql: the benchmark's data, inserted in bulk (no eventos: seeding is
-- not traffic). Users b1..b30200 (id_erp "b<n>", as the load generator's
-- tokens say; nombre as in the token, so a login rewrites nothing;
-- estatus en_linea and ultima_conexion now, so a connect changes no
-- presence and the orphan sweep leaves them alone for the grace period,
-- which bench.sh sets to an hour: presence stays quiet and the figures
-- measure connections and messages, not a presence storm).
--   team-<k>   10 members: b(10k+1)..b(10k+10)          (3,000 chats)
--   dept-<k>   1,000 members: b(1000k+1)..b(1000k+1000) (30 chats)
--   all        10,000 members: b1..b10000 (fan-out to 10,000)
-- so b1..b10000 (fan-out) are in 3 chats, b10001..b30000 (idle
-- connections) in 2.
--   pair-<k>   b(30000+k) sends, b(30100+k) receives, k = 1..8 (end-to-end,
--              REST send; pair-1 is the pgbench and wrk chat)
--   big        b30001, b30101 and 1,000,000 messages (history; 2% with an
--              image, 5% with reactions)
--   sync-<k>   b30001, b30101, k = 1..50 (delta sync)
\set ON_ERROR_STOP 1
SET synchronous_commit = off;
BEGIN;
INSERT INTO usuarios (id_erp, nombre, estatus, ultima_conexion)
SELECT 'b' || g, 'Bench ' || g, 'en_linea', now() FROM generate_series(1, 30200) g;
CREATE TEMP TABLE bu ON COMMIT DROP AS
SELECT id, substr(id_erp, 2)::int AS n FROM usuarios WHERE id_erp ~ '^b[0-9]+$';
CREATE INDEX ON bu (n);

INSERT INTO chats (tipo, nombre, creado_por)
SELECT 'grupo', 'team-' || k, (SELECT id FROM bu WHERE n = 1) FROM generate_series(0, 2999) k;
INSERT INTO chats (tipo, nombre, creado_por)
SELECT 'grupo', 'dept-' || k, (SELECT id FROM bu WHERE n = 1) FROM generate_series(0, 29) k;
INSERT INTO chats (tipo, nombre, creado_por) VALUES ('grupo', 'all', (SELECT id FROM bu WHERE n = 1));
INSERT INTO chats (tipo, nombre, creado_por)
SELECT 'grupo', 'pair-' || k, (SELECT id FROM bu WHERE n = 30000 + k) FROM generate_series(1, 8) k ORDER BY k;
INSERT INTO chats (tipo, nombre, creado_por) VALUES ('grupo', 'big', (SELECT id FROM bu WHERE n = 30001));
INSERT INTO chats (tipo, nombre, creado_por)
SELECT 'grupo', 'sync-' || k, (SELECT id FROM bu WHERE n = 30101) FROM generate_series(1, 50) k ORDER BY k;

CREATE TEMP TABLE bc ON COMMIT DROP AS SELECT id, nombre FROM chats WHERE nombre IS NOT NULL;
CREATE INDEX ON bc (nombre);

INSERT INTO usuarios_chat (chat_id, usuario_id)
SELECT c.id, u.id FROM bu u JOIN bc c ON c.nombre = 'team-' || ((u.n - 1) / 10) WHERE u.n <= 30000;
INSERT INTO usuarios_chat (chat_id, usuario_id)
SELECT c.id, u.id FROM bu u JOIN bc c ON c.nombre = 'dept-' || ((u.n - 1) / 1000) WHERE u.n <= 30000;
INSERT INTO usuarios_chat (chat_id, usuario_id)
SELECT c.id, u.id FROM bu u JOIN bc c ON c.nombre = 'all' WHERE u.n <= 10000;
INSERT INTO usuarios_chat (chat_id, usuario_id, rol)
SELECT c.id, u.id, CASE WHEN u.n <= 30100 THEN 'admin' ELSE 'miembro' END
  FROM bu u JOIN bc c ON c.nombre = 'pair-' || ((u.n - 30000) % 100)
 WHERE u.n BETWEEN 30001 AND 30008 OR u.n BETWEEN 30101 AND 30108;
INSERT INTO usuarios_chat (chat_id, usuario_id)
SELECT c.id, u.id FROM bu u JOIN bc c ON c.nombre = 'big' OR c.nombre LIKE 'sync-%'
 WHERE u.n IN (30001, 30101);

-- 1,000,000 messages in "big", alternating authors, one a second back
-- from now.
INSERT INTO mensajes (chat_id, autor_id, tipo, contenido, created_at)
SELECT (SELECT id FROM bc WHERE nombre = 'big'),
       CASE WHEN g % 2 = 0 THEN (SELECT id FROM bu WHERE n = 30001) ELSE (SELECT id FROM bu WHERE n = 30101) END,
       'texto', 'Mensaje de prueba número ' || g || ' del historial largo',
       now() - (1000000 - g) * interval '1 second'
  FROM generate_series(1, 1000000) g;

-- As in a real chat, some of those messages carry a file (one in 50, an
-- image) and some have reactions (one in 20: a 👍 from the other member,
-- and one in 60 also a ❤️ from the author), so the history read joins
-- media and aggregates reactions as it does in use.
CREATE TEMP TABLE bm ON COMMIT DROP AS
SELECT id, autor_id, row_number() OVER (ORDER BY id) AS k
  FROM mensajes WHERE chat_id = (SELECT id FROM bc WHERE nombre = 'big');
CREATE TEMP TABLE bmd ON COMMIT DROP AS
WITH ins AS (
    INSERT INTO media (uploader_id, storage_key, nombre, mime, tamano, ancho, alto, sha256)
    SELECT bm.autor_id, 'bench/' || bm.id, 'foto-' || bm.k || '.jpg', 'image/jpeg', 180000, 1600, 1200,
           repeat('0', 64)
      FROM bm WHERE bm.k % 50 = 0
    RETURNING id, storage_key)
SELECT id, substr(storage_key, 7)::bigint AS mensaje_id FROM ins;
UPDATE mensajes m SET media_id = bmd.id, tipo = 'imagen' FROM bmd WHERE m.id = bmd.mensaje_id;
INSERT INTO reacciones_mensajes (mensaje_id, usuario_id, emoji, created_at)
SELECT bm.id, CASE WHEN bm.autor_id = (SELECT id FROM bu WHERE n = 30001)
                   THEN (SELECT id FROM bu WHERE n = 30101) ELSE (SELECT id FROM bu WHERE n = 30001) END,
       '👍', now() - (1000000 - bm.k) * interval '1 second' + interval '5 seconds'
  FROM bm WHERE bm.k % 20 = 0;
INSERT INTO reacciones_mensajes (mensaje_id, usuario_id, emoji, created_at)
SELECT bm.id, bm.autor_id, '❤️', now() - (1000000 - bm.k) * interval '1 second' + interval '9 seconds'
  FROM bm WHERE bm.k % 60 = 0;
COMMIT;
ANALYZE;
CHECKPOINT;
