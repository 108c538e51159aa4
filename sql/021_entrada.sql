-- 021_entrada.sql: refusals raised from inside a statement.
--
-- chat-fcgi sends a known user's login check and rate-limit check in the
-- same round trip as the request's first statement (shared/core/db.h,
-- db_gate). For that the checks must stop what follows them on their own,
-- without the client reading their answer first: an error does that, since
-- PostgreSQL skips the rest of a pipeline after one. These raise the
-- refusal with its own SQLSTATE (class CH), which chat-fcgi turns into the
-- API's error (domain/usr.c, usr_gate_error).

-- The user's activo flag as read by the login check: NULL when no row has
-- that id and id_erp any more (CH003: look the user up again), false when
-- deactivated (CH001).
CREATE OR REPLACE FUNCTION chat_exigir_activo(activo boolean) RETURNS boolean
    LANGUAGE plpgsql AS $$
BEGIN
    IF activo IS NULL THEN
        RAISE EXCEPTION 'usuario desconocido' USING ERRCODE = 'CH003';
    ELSIF NOT activo THEN
        RAISE EXCEPTION 'usuario desactivado' USING ERRCODE = 'CH001';
    END IF;
    RETURN true;
END $$;
COMMENT ON FUNCTION chat_exigir_activo(boolean) IS
    'Raises CH003 (no such user) for NULL, CH001 (deactivated) for false';

-- A token bucket's answer (limite.c): ok false raises CH002 with what was
-- left of the bucket as DETAIL, from which the wait follows.
CREATE OR REPLACE FUNCTION chat_exigir_ficha(ok boolean, fichas double precision) RETURNS boolean
    LANGUAGE plpgsql AS $$
BEGIN
    IF NOT ok THEN
        RAISE EXCEPTION 'limite excedido' USING ERRCODE = 'CH002', DETAIL = fichas::text;
    END IF;
    RETURN true;
END $$;
COMMENT ON FUNCTION chat_exigir_ficha(boolean, double precision) IS
    'Raises CH002 (rate limit) when the bucket had no unit; DETAIL = units left';
