-- Rate limits: one token bucket per (user, kind) shared by every FastCGI
-- worker and rtd instance. UNLOGGED: a crash empties it, which only forgives
-- recent use, and updating it writes no WAL. `fichas` is what was left at
-- `at`; it refills at the configured rate up to the burst size.
CREATE UNLOGGED TABLE limites_uso (
    usuario_id  bigint NOT NULL,
    clase       text NOT NULL,
    fichas      double precision NOT NULL,
    at          timestamptz NOT NULL,
    ok          boolean NOT NULL,       -- whether the last attempt got a unit
    PRIMARY KEY (usuario_id, clase)
);
COMMENT ON TABLE limites_uso IS 'Rate-limit token buckets per (usuario_id, clase); unlogged, rebuilt empty after a crash';
