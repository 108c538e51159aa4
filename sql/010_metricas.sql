-- 010_metricas.sql: counters of chat-cron's work, kept in the database so
-- they survive restarts, add up across hosts that run chat-cron, and follow
-- a failover. `chat-cron metrics` reads them (with gauges computed from the
-- queue and eventos) and writes Prometheus text for node_exporter's
-- textfile collector (etc/README.md, Metrics).
--
-- Writers add to a counter with one statement, after the work it counts
-- has committed:
--   INSERT INTO metricas_contadores (nombre, valor)
--   SELECT * FROM unnest($1::text[], $2::bigint[])
--   ON CONFLICT (nombre) DO UPDATE
--     SET valor = metricas_contadores.valor + EXCLUDED.valor, updated_at = now();
CREATE TABLE metricas_contadores (
    nombre      text PRIMARY KEY,
    valor       bigint NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT metricas_contadores_nombre_chk CHECK (nombre ~ '^[a-z][a-z0-9_]{0,99}$'),
    CONSTRAINT metricas_contadores_valor_chk CHECK (valor >= 0)
);
COMMENT ON TABLE metricas_contadores IS 'Monotonic counters of chat-cron (pushes sent/retried/given up, receipts, prune); exported as chat_cron_<nombre>_total';
