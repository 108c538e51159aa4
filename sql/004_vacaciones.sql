-- Vacations that end by themselves: the realtime daemon's heartbeat looks
-- for ended ones every few seconds, so that look-up must not scan usuarios.
CREATE INDEX usuarios_vacaciones_idx ON usuarios (vacaciones_hasta) WHERE vacaciones;
