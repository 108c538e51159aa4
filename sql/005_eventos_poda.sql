-- How far the eventos outbox has been pruned: the highest (xid, id) that
-- `chat-cron prune` deleted. A sync cursor below it may have missed events
-- that no longer exist, so /sync refuses it (409) and the client reloads
-- instead of silently losing changes. One row at most.
CREATE TABLE eventos_poda (
    unica       boolean PRIMARY KEY DEFAULT true CHECK (unica),
    xid         xid8 NOT NULL,
    evento_id   bigint NOT NULL,
    podado_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE eventos_poda IS 'The (xid, id) up to which eventos has been pruned; sync cursors below it are stale';
