-- 002_eventos.sql: reading the eventos outbox without ever skipping a row.
--
-- The problem. eventos.id comes from a sequence when the row is inserted,
-- but rows become visible when their transaction commits, and commits land
-- out of id order: T1 inserts id 50, T2 inserts id 51 and commits, a reader
-- sees 51 and moves its cursor to 51; T1 commits, and 50 is never read.
--
-- Why no "largest safe id" exists. A reader cannot see the ids held by
-- transactions still in progress, and nothing visible bounds them: T2 can
-- have taken its xid before T1 and its id after T1's, so even "rows whose
-- xid < pg_snapshot_xmin(...), max id among them" hands out 51 while 50 is
-- pending (T2.xid < xmin <= T1.xid). Any id-only cursor needs either a
-- lock that serialises all event writers or a guess (a timeout on gaps).
--
-- The approach: order the feed by (xid, id), not by id.
--   * Each row stores xid = pg_current_xact_id() of its writer (top-level
--     xid8, 64-bit, never wraps).
--   * H = pg_snapshot_xmin(pg_current_snapshot()) is the oldest transaction
--     still running (cluster-wide) when the reader's snapshot was taken.
--     Every transaction with xid < H has ended, so its rows are either
--     visible to that snapshot (committed) or never will be (aborted).
--     Every transaction that can still commit eventos rows has xid >= H:
--     it is running now, or it has not taken its xid yet and will take a
--     larger one.
--   * So reading rows with (xid, id) > cursor AND xid < H, in (xid, id)
--     order, is complete and final: no row can later appear at or below
--     the last (xid, id) returned. The cursor is the pair (xid, id) of the
--     last row consumed; a fresh cursor is (eventos_horizonte(), 0).
--   * Order across transactions is xid order (when each writer took its
--     xid), not commit order; inside one transaction it is id order. Events
--     carry whole state (a Mensaje, a Chat), so consumers apply them as
--     "latest state" and dedupe by id.
--
-- Costs the lead must know:
--   * Latency: rows wait until every transaction older than theirs has
--     ended, cluster-wide (any database in the same PostgreSQL, including
--     an idle-in-transaction session that has written something). Keep
--     transactions short, set idle_in_transaction_session_timeout, and
--     prefer a dedicated cluster. rtd can stay instant anyway: on a NOTIFY
--     it may fetch that row by id at once and deliver it, remembering the
--     ids delivered ahead of its (xid, id) cursor; the cursor read below
--     then skips those ids and fills any gap. The cursor read is the truth.
--   * xid values belong to the cluster: after a logical dump/restore into a
--     new cluster (pg_upgrade keeps them) the counter restarts lower, so
--     TRUNCATE eventos after such a restore and treat any client cursor
--     whose xid is above eventos_horizonte() as stale (full resync).
--
-- Reader queries (all index-backed on eventos_xid_idx / eventos_sala_idx):
--
--   all events after cursor ($1 xid as bigint or text, $2 id):
--     SELECT id, xid, tipo, sala, payload FROM eventos
--      WHERE (xid, id) > ($1::text::xid8, $2)
--        AND xid < pg_snapshot_xmin(pg_current_snapshot())
--      ORDER BY xid, id LIMIT $3;
--   or simply: SELECT * FROM eventos_despues($1, $2, $3);
--
--   only some rooms (a user's sync: 'user:5', 'chat:12', ...):
--     SELECT * FROM eventos_despues_salas($salas::text[], $1, $2, $3);
--
-- Both must run in ONE statement (the horizon and the rows come from the
-- same snapshot). If you compute H = eventos_horizonte() separately, later
-- statements must bound with xid < H using that same value (they will see
-- every committed row below it).

-- The horizon H as a bigint: every eventos row with xid < H is committed
-- (and visible to the caller's current snapshot) or aborted; every row that
-- commits from now on has xid >= H. A fresh cursor is (H, 0).
CREATE FUNCTION eventos_horizonte() RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN pg_snapshot_xmin(pg_current_snapshot())::text::bigint;
COMMENT ON FUNCTION eventos_horizonte() IS
    'xid horizon: rows with xid below it are final; start cursor is (eventos_horizonte(), 0); read with eventos_despues()';

-- Events after cursor (p_xid, p_id), in (xid, id) order, up to the horizon.
-- The caller's next cursor is (xid, id) of the last row returned; when fewer
-- than p_limite rows come back, the feed is caught up.
CREATE FUNCTION eventos_despues(p_xid bigint, p_id bigint, p_limite int)
    RETURNS SETOF eventos
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT *
      FROM eventos e
     WHERE (e.xid, e.id) > (p_xid::text::xid8, p_id)
       AND e.xid < pg_snapshot_xmin(pg_current_snapshot())
     ORDER BY e.xid, e.id
     LIMIT p_limite
$$;
COMMENT ON FUNCTION eventos_despues(bigint, bigint, int) IS
    'Events after cursor (xid, id) below the horizon, in (xid, id) order; never skips a late commit';

-- The same, restricted to rooms (sala = ANY(p_salas)).
CREATE FUNCTION eventos_despues_salas(p_salas text[], p_xid bigint, p_id bigint, p_limite int)
    RETURNS SETOF eventos
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT *
      FROM eventos e
     WHERE e.sala = ANY (p_salas)
       AND (e.xid, e.id) > (p_xid::text::xid8, p_id)
       AND e.xid < pg_snapshot_xmin(pg_current_snapshot())
     ORDER BY e.xid, e.id
     LIMIT p_limite
$$;
COMMENT ON FUNCTION eventos_despues_salas(text[], bigint, bigint, int) IS
    'eventos_despues() restricted to the given rooms (e.g. a user''s user:<id> and chat:<id> rooms)';
