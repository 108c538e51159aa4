-- 009_cumplimiento.sql: the audit trail, legal holds and per-chat retention.
--
-- auditoria is append-only: a trigger refuses UPDATE, DELETE and TRUNCATE
-- for every role (the table owner can only get round it by disabling the
-- trigger, which is itself a DDL statement a DBA can log). etc/README.md
-- describes the roles: an owner that runs migrations, and the application
-- role that may only INSERT and SELECT here.

CREATE TABLE auditoria (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at            timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor_tipo    text NOT NULL,
    actor_id      bigint,           -- usuarios.id when actor_tipo = 'usuario' (no FK: the trail outlives rows)
    actor_nombre  text,             -- the name at the time
    accion        text NOT NULL,
    objeto_tipo   text NOT NULL,
    objeto_id     bigint,
    chat_id       bigint,           -- the chat concerned, when any (filter)
    antes         jsonb,
    despues       jsonb,
    solicitud     text,             -- the request id (X-Request-Id or the worker's own)
    ip            text,             -- REMOTE_ADDR as the web server saw it
    CONSTRAINT auditoria_actor_chk CHECK (actor_tipo IN ('usuario', 'servicio', 'sistema')
                                          AND (actor_tipo <> 'usuario' OR actor_id IS NOT NULL)),
    CONSTRAINT auditoria_accion_len CHECK (char_length(accion) BETWEEN 1 AND 100),
    CONSTRAINT auditoria_objeto_len CHECK (char_length(objeto_tipo) BETWEEN 1 AND 100),
    CONSTRAINT auditoria_solicitud_len CHECK (solicitud IS NULL OR char_length(solicitud) <= 200),
    CONSTRAINT auditoria_ip_len CHECK (ip IS NULL OR char_length(ip) <= 100)
);
COMMENT ON TABLE auditoria IS 'Append-only audit trail: who (usuario, the ERP servicio, or the sistema: chat-cron), what (accion on objeto), before/after, when, request id and IP; written in the transaction of the change';
CREATE INDEX auditoria_at_idx ON auditoria (at, id);
CREATE INDEX auditoria_chat_idx ON auditoria (chat_id, id) WHERE chat_id IS NOT NULL;
CREATE INDEX auditoria_actor_idx ON auditoria (actor_id, id) WHERE actor_id IS NOT NULL;
CREATE INDEX auditoria_accion_idx ON auditoria (accion, id);

CREATE FUNCTION auditoria_solo_agregar() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'auditoria is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER auditoria_sin_cambios BEFORE UPDATE OR DELETE ON auditoria
    FOR EACH ROW EXECUTE FUNCTION auditoria_solo_agregar();
CREATE TRIGGER auditoria_sin_vaciar BEFORE TRUNCATE ON auditoria
    FOR EACH STATEMENT EXECUTE FUNCTION auditoria_solo_agregar();

-- Legal hold and per-chat retention. A hold (conservar) on a chat or on a
-- user stops every deletion touching it: retention, media purge, and the
-- content wipe of a deleted message (which is then only hidden).
ALTER TABLE chats
    ADD COLUMN conservar boolean NOT NULL DEFAULT false,
    ADD COLUMN conservar_motivo text,
    ADD COLUMN retencion_mensajes_dias int,
    ADD COLUMN retencion_media_dias int,
    ADD CONSTRAINT chats_retencion_chk CHECK (
        (retencion_mensajes_dias IS NULL OR retencion_mensajes_dias BETWEEN 0 AND 36500)
        AND (retencion_media_dias IS NULL OR retencion_media_dias BETWEEN 0 AND 36500)),
    ADD CONSTRAINT chats_conservar_motivo_len CHECK (conservar_motivo IS NULL
                                                     OR char_length(conservar_motivo) <= 2000);
COMMENT ON COLUMN chats.conservar IS 'Legal hold: nothing of this chat is deleted (retention, media purge, content wipe)';
COMMENT ON COLUMN chats.retencion_mensajes_dias IS 'Overrides retencion_mensajes_dias of chat.conf for this chat (0: forever); NULL: the config';
COMMENT ON COLUMN chats.retencion_media_dias IS 'Overrides retencion_media_dias of chat.conf for this chat (0: forever); NULL: the config';
CREATE INDEX chats_conservar_idx ON chats (id) WHERE conservar;

ALTER TABLE usuarios
    ADD COLUMN conservar boolean NOT NULL DEFAULT false,
    ADD COLUMN conservar_motivo text,
    ADD CONSTRAINT usuarios_conservar_motivo_len CHECK (conservar_motivo IS NULL
                                                        OR char_length(conservar_motivo) <= 2000);
COMMENT ON COLUMN usuarios.conservar IS 'Legal hold on a person: what they wrote or received (chats they belong or belonged to, their announcements) is not deleted';
CREATE INDEX usuarios_conservar_idx ON usuarios (id) WHERE conservar;

-- Whether anything of chat c is under a hold: the chat itself, or a user
-- who is or was a member of it.
CREATE FUNCTION chat_retenido(c bigint) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN EXISTS (SELECT 1 FROM chats WHERE id = c AND conservar)
        OR EXISTS (SELECT 1 FROM usuarios_chat_historial h JOIN usuarios u ON u.id = h.usuario_id
                    WHERE h.chat_id = c AND u.conservar);
COMMENT ON FUNCTION chat_retenido(bigint) IS 'True when chat c or one of its present or past members is under legal hold';

-- Retention scans messages by age; the (chat_id, id) index finds a chat's
-- oldest ones, created_at orders them (append-ordered: BRIN is enough).
CREATE INDEX mensajes_created_brin ON mensajes USING brin (created_at);
CREATE INDEX comunicados_created_brin ON comunicados USING brin (created_at);
