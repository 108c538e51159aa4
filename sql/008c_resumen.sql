-- 008c_resumen.sql: user preferences and the unread e-mail digest
-- (chat-cron digest).
--
-- usuarios.resumen_correo: the user's choice (PUT /me/preferencias).
-- usuarios_chat.resumen_hasta_id: the newest message of that chat already
-- listed in a digest to that member, so no message is announced twice.
-- resumen_envios: one row per digest, composed once (subject, text and HTML
-- kept) and then sent, retried with backoff on SMTP failure: a retry sends
-- the same message, never a second digest.
ALTER TABLE usuarios ADD COLUMN resumen_correo boolean NOT NULL DEFAULT true;
ALTER TABLE usuarios_chat ADD COLUMN resumen_hasta_id bigint NOT NULL DEFAULT 0;

CREATE TABLE resumen_envios (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    usuario_id       bigint NOT NULL REFERENCES usuarios (id),
    destinatario     text NOT NULL,
    asunto           text NOT NULL,
    texto            text NOT NULL,
    html             text NOT NULL,
    chats            int NOT NULL,
    mensajes         int NOT NULL,
    estado           text NOT NULL DEFAULT 'pendiente',
    intentos         int NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    lease_until      timestamptz,
    error            text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz,
    CONSTRAINT resumen_envios_estado_chk CHECK (estado IN ('pendiente', 'enviando', 'enviado', 'fallido'))
);
CREATE INDEX resumen_envios_usuario_idx ON resumen_envios (usuario_id, created_at DESC);
CREATE INDEX resumen_envios_pendiente_idx ON resumen_envios (next_attempt_at) WHERE estado = 'pendiente';
CREATE INDEX resumen_envios_lease_idx ON resumen_envios (lease_until) WHERE estado = 'enviando';
