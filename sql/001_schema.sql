-- 001_schema.sql: the whole data model of chat (chats, messages, polls,
-- announcements, media, push queue, outbox events, presence).
--
-- Run by the migrator inside one transaction (it adds BEGIN/COMMIT and
-- records the name in schema_migrations). Table and column names are the
-- ERP's Spanish vocabulary (API.md); comments are English.
--
-- Conventions:
--   * Primary keys: bigint GENERATED ALWAYS AS IDENTITY (never supply ids).
--   * Timestamps: timestamptz DEFAULT now(). No triggers for updated_at: the
--     application sets updated_at = now() in every UPDATE that changes a row.
--   * Enumerations: text + CHECK (adding a value = one ALTER of the CHECK).
--   * Soft delete: deleted_at (+ eliminado_por where a user deletes for
--     others). Users are never deleted: they are deactivated (activo=false).
--   * Length CHECKs here are generous backstops; the real limits are config
--     values enforced by the application (400 solicitud_invalida).
--   * The one trigger in the schema keeps usuarios_chat_historial (membership
--     history); see usuarios_chat below.

CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS unaccent;

-- Search normalisation: lower case, accents removed ("José" -> "jose"), so a
-- Spanish name is found whatever the user types. unaccent() is only STABLE
-- (its dictionary could change), so this wrapper declares IMMUTABLE to be
-- usable in the generated column below; the SQL-standard body is parsed now
-- and binds the dictionary by OID, so search_path does not matter later.
CREATE FUNCTION chat_normalizar(t text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN lower(unaccent('unaccent'::regdictionary, t));
COMMENT ON FUNCTION chat_normalizar(text) IS
    'Lower case without accents; use on the search term: busqueda LIKE ''%'' || chat_like_escapar(chat_normalizar($1)) || ''%''';

-- Escapes LIKE wildcards in user input (default escape character is \).
CREATE FUNCTION chat_like_escapar(t text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN replace(replace(replace(t, '\', '\\'), '%', '\%'), '_', '\_');
COMMENT ON FUNCTION chat_like_escapar(text) IS
    'Escapes \, % and _ so user text is matched literally inside a LIKE pattern';

-- ---------------------------------------------------------------------------
-- usuarios
-- ---------------------------------------------------------------------------
CREATE TABLE usuarios (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id_erp           text NOT NULL,
    nombre           text NOT NULL DEFAULT '',
    email            text,
    imagen_url       text,
    puesto           text,
    departamento     text,
    permisos         int[] NOT NULL DEFAULT '{}',
    activo           boolean NOT NULL DEFAULT true,
    desactivado_at   timestamptz,
    vacaciones       boolean NOT NULL DEFAULT false,
    vacaciones_hasta date,
    estatus          text NOT NULL DEFAULT 'desconectado',
    ultima_conexion  timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    -- What the user search matches against (maintained by PostgreSQL).
    busqueda         text GENERATED ALWAYS AS (
                         chat_normalizar(nombre || ' ' || coalesce(email, '') || ' '
                                         || coalesce(puesto, '') || ' '
                                         || coalesce(departamento, ''))) STORED,
    CONSTRAINT usuarios_id_erp_key UNIQUE (id_erp),
    CONSTRAINT usuarios_id_erp_len CHECK (char_length(id_erp) BETWEEN 1 AND 200),
    CONSTRAINT usuarios_estatus_chk CHECK (estatus IN ('en_linea', 'inactivo', 'desconectado'))
);
COMMENT ON TABLE usuarios IS 'Chat users, created lazily from ERP tokens (id_erp) or provisioned by the ERP; deactivated, never deleted';
COMMENT ON COLUMN usuarios.permisos IS 'Permission codes last seen in a token (565..568); the token is the authority';
COMMENT ON COLUMN usuarios.estatus IS 'Aggregated socket presence; vacaciones is reported instead while vacaciones is true (and vacaciones_hasta is null or not past)';
COMMENT ON COLUMN usuarios.busqueda IS 'chat_normalizar(nombre email puesto departamento), trigram-indexed for GET /usuarios?q=';
-- GET /usuarios?q=: WHERE activo AND busqueda LIKE '%' || chat_like_escapar(chat_normalizar($1)) || '%'
CREATE INDEX usuarios_busqueda_trgm ON usuarios USING gin (busqueda gin_trgm_ops);
-- Announcements to departments: WHERE activo AND departamento = ANY($1)
CREATE INDEX usuarios_departamento_idx ON usuarios (departamento) WHERE departamento IS NOT NULL;

-- ---------------------------------------------------------------------------
-- media (before chats/mensajes/comunicados, which reference it)
-- ---------------------------------------------------------------------------
CREATE TABLE media (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uploader_id  bigint NOT NULL REFERENCES usuarios (id),
    storage_key  text NOT NULL,
    nombre       text NOT NULL DEFAULT '',
    mime         text NOT NULL,
    tamano       bigint NOT NULL,
    ancho        int,
    alto         int,
    duracion     numeric,
    sha256       text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    deleted_at   timestamptz,
    purged_at    timestamptz,
    CONSTRAINT media_storage_key_key UNIQUE (storage_key),
    CONSTRAINT media_storage_key_len CHECK (char_length(storage_key) BETWEEN 1 AND 500),
    CONSTRAINT media_nombre_len CHECK (char_length(nombre) <= 500),
    CONSTRAINT media_mime_len CHECK (char_length(mime) BETWEEN 1 AND 255),
    CONSTRAINT media_tamano_chk CHECK (tamano >= 0),
    CONSTRAINT media_dims_chk CHECK ((ancho IS NULL OR ancho > 0) AND (alto IS NULL OR alto > 0)),
    CONSTRAINT media_duracion_chk CHECK (duracion IS NULL OR duracion >= 0),
    CONSTRAINT media_sha256_chk CHECK (sha256 IS NULL OR sha256 ~ '^[0-9a-f]{64}$')
);
COMMENT ON TABLE media IS 'Uploaded files: metadata here, bytes in storage under storage_key; deleted_at hides, purged_at = file removed by prune';
COMMENT ON COLUMN media.storage_key IS 'Unguessable stored name (random), never derived from the original name';
COMMENT ON COLUMN media.nombre IS 'Sanitised original file name, for display and Content-Disposition';
CREATE INDEX media_uploader_idx ON media (uploader_id, id DESC);
-- prune: unattached uploads older than N hours, and hidden files not yet purged
CREATE INDEX media_sin_purgar_idx ON media (created_at) WHERE purged_at IS NULL;
CREATE INDEX media_sha256_idx ON media (sha256) WHERE sha256 IS NOT NULL;

-- ---------------------------------------------------------------------------
-- chats
-- ---------------------------------------------------------------------------
CREATE TABLE chats (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tipo              text NOT NULL,
    nombre            text,
    descripcion       text,
    imagen_media_id   bigint REFERENCES media (id),
    restringido       boolean NOT NULL DEFAULT false,
    creado_por        bigint NOT NULL REFERENCES usuarios (id),
    directo_a         bigint REFERENCES usuarios (id),
    directo_b         bigint REFERENCES usuarios (id),
    ultimo_mensaje_id bigint,   -- FK added after mensajes exists
    ultima_actividad  timestamptz NOT NULL DEFAULT now(),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    deleted_at        timestamptz,
    eliminado_por     bigint REFERENCES usuarios (id),
    CONSTRAINT chats_tipo_chk CHECK (tipo IN ('directo', 'grupo')),
    -- A 1:1 chat holds its ordered pair (a < b). A soft-deleted 1:1 chat may
    -- release its pair (both set to NULL) so get-or-create makes a new one;
    -- a group never has a pair.
    CONSTRAINT chats_directo_chk CHECK (
        (tipo = 'grupo' AND directo_a IS NULL AND directo_b IS NULL)
        OR (tipo = 'directo' AND directo_a IS NOT NULL AND directo_b IS NOT NULL
            AND directo_a < directo_b)
        OR (tipo = 'directo' AND deleted_at IS NOT NULL
            AND directo_a IS NULL AND directo_b IS NULL)),
    CONSTRAINT chats_directo_key UNIQUE (directo_a, directo_b),
    CONSTRAINT chats_nombre_len CHECK (nombre IS NULL OR char_length(nombre) <= 500),
    CONSTRAINT chats_descripcion_len CHECK (descripcion IS NULL OR char_length(descripcion) <= 20000),
    CONSTRAINT chats_restringido_chk CHECK (tipo = 'grupo' OR NOT restringido)
);
COMMENT ON TABLE chats IS 'Conversations: directo (1:1, unique per ordered user pair) or grupo; soft-deleted';
COMMENT ON COLUMN chats.directo_a IS 'For directo: the smaller user id of the pair (directo_a < directo_b); NULL for grupo';
COMMENT ON COLUMN chats.ultima_actividad IS 'When the chat was created; GET /chats orders by the later of this and the newest message (read from the mensajes (chat_id, id DESC) index), so a send updates no chats row';
-- get-or-create 1:1 (race-safe):
--   INSERT INTO chats (tipo, creado_por, directo_a, directo_b) VALUES ('directo', $me, least($me,$o), greatest($me,$o))
--   ON CONFLICT (directo_a, directo_b) DO NOTHING RETURNING id;  -- no row: SELECT it (200)
CREATE INDEX chats_imagen_media_idx ON chats (imagen_media_id) WHERE imagen_media_id IS NOT NULL;
CREATE INDEX chats_directo_b_idx ON chats (directo_b) WHERE directo_b IS NOT NULL;

-- ---------------------------------------------------------------------------
-- usuarios_chat (membership) and its history
--
-- Decision: usuarios_chat holds CURRENT members only. Leaving or being
-- removed DELETEs the row, so every "is X a member" / "my chats" query is a
-- plain lookup with no extra filter to forget (a forgotten filter would leak
-- a chat to a former member). Re-joining INSERTs a fresh row.
--
-- History lives in usuarios_chat_historial: one row per membership period,
-- written by the trigger below (never by the application): INSERT into
-- usuarios_chat opens a period (joined_at copied), DELETE closes it
-- (left_at = now(), and the final read mark is kept, so "who read M" still
-- counts someone who read it and then left).
--
-- Members at send time of message M:
--   SELECT h.usuario_id FROM usuarios_chat_historial h
--    WHERE h.chat_id = M.chat_id AND h.joined_at <= M.created_at
--      AND (h.left_at IS NULL OR h.left_at > M.created_at)
-- (a sistema message "X left" written in the leaving transaction has
-- created_at = left_at, so X is not a member at its send time; "X joined"
-- has created_at = joined_at, so X is.)
-- leido_por_todos(M) = no current member (usuarios_chat), other than the
-- author, who was a member at send time and has ultimo_leido_id < M.id.
-- ---------------------------------------------------------------------------
CREATE TABLE usuarios_chat (
    chat_id          bigint NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    usuario_id       bigint NOT NULL REFERENCES usuarios (id),
    rol              text NOT NULL DEFAULT 'miembro',
    joined_at        timestamptz NOT NULL DEFAULT now(),
    ultimo_leido_id  bigint NOT NULL DEFAULT 0,
    leido_at         timestamptz,
    silenciado       boolean NOT NULL DEFAULT false,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chat_id, usuario_id),
    CONSTRAINT usuarios_chat_rol_chk CHECK (rol IN ('admin', 'miembro')),
    CONSTRAINT usuarios_chat_leido_chk CHECK (ultimo_leido_id >= 0)
);
COMMENT ON TABLE usuarios_chat IS 'Current chat members: role, read mark (ultimo_leido_id, leido_at = when it last moved), mute; row deleted on leave/removal';
COMMENT ON COLUMN usuarios_chat.ultimo_leido_id IS 'Highest mensajes.id read; only moves forward: SET ultimo_leido_id = greatest(ultimo_leido_id, $m)';
CREATE INDEX usuarios_chat_usuario_idx ON usuarios_chat (usuario_id);

CREATE TABLE usuarios_chat_historial (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    chat_id          bigint NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    usuario_id       bigint NOT NULL REFERENCES usuarios (id),
    joined_at        timestamptz NOT NULL,
    left_at          timestamptz,
    ultimo_leido_id  bigint,        -- read mark when the period closed
    leido_at         timestamptz,   -- when that mark last moved
    CONSTRAINT usuarios_chat_historial_periodo_chk CHECK (left_at IS NULL OR left_at >= joined_at)
);
COMMENT ON TABLE usuarios_chat_historial IS 'Membership periods (joined_at..left_at), kept by trigger from usuarios_chat; answers "members at send time" for read receipts';
CREATE UNIQUE INDEX usuarios_chat_historial_abierto_key
    ON usuarios_chat_historial (chat_id, usuario_id) WHERE left_at IS NULL;
CREATE INDEX usuarios_chat_historial_chat_idx ON usuarios_chat_historial (chat_id, joined_at);
CREATE INDEX usuarios_chat_historial_usuario_idx ON usuarios_chat_historial (usuario_id);

CREATE FUNCTION usuarios_chat_historial_tg() RETURNS trigger
    LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO usuarios_chat_historial (chat_id, usuario_id, joined_at)
        VALUES (NEW.chat_id, NEW.usuario_id, NEW.joined_at);
    ELSE
        UPDATE usuarios_chat_historial
           SET left_at = greatest(now(), joined_at),
               ultimo_leido_id = OLD.ultimo_leido_id,
               leido_at = OLD.leido_at
         WHERE chat_id = OLD.chat_id AND usuario_id = OLD.usuario_id
           AND left_at IS NULL;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER usuarios_chat_historial_ins AFTER INSERT ON usuarios_chat
    FOR EACH ROW EXECUTE FUNCTION usuarios_chat_historial_tg();
CREATE TRIGGER usuarios_chat_historial_del AFTER DELETE ON usuarios_chat
    FOR EACH ROW EXECUTE FUNCTION usuarios_chat_historial_tg();

-- ---------------------------------------------------------------------------
-- mensajes
-- ---------------------------------------------------------------------------
CREATE TABLE mensajes (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    chat_id        bigint NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    autor_id       bigint REFERENCES usuarios (id),
    tipo           text NOT NULL,
    contenido      text,
    respuesta_a    bigint,
    media_id       bigint REFERENCES media (id),
    client_id      text,
    datos          jsonb,
    created_at     timestamptz NOT NULL DEFAULT now(),
    editado_at     timestamptz,
    deleted_at     timestamptz,
    eliminado_por  bigint REFERENCES usuarios (id),
    CONSTRAINT mensajes_tipo_chk CHECK (tipo IN ('texto', 'imagen', 'audio', 'video',
                                                 'documento', 'encuesta', 'sistema')),
    CONSTRAINT mensajes_autor_chk CHECK (autor_id IS NOT NULL OR tipo = 'sistema'),
    CONSTRAINT mensajes_client_id_len CHECK (client_id IS NULL OR char_length(client_id) BETWEEN 1 AND 200),
    CONSTRAINT mensajes_texto_chk CHECK (deleted_at IS NOT NULL OR tipo <> 'texto' OR contenido IS NOT NULL),
    CONSTRAINT mensajes_media_chk CHECK (deleted_at IS NOT NULL
                                         OR tipo NOT IN ('imagen', 'audio', 'video', 'documento')
                                         OR media_id IS NOT NULL),
    CONSTRAINT mensajes_respuesta_chk CHECK (respuesta_a IS NULL OR respuesta_a <> id)
);
COMMENT ON TABLE mensajes IS 'Chat messages (texto, media, encuesta, sistema); soft-deleted messages keep their place';
COMMENT ON COLUMN mensajes.autor_id IS 'NULL only for sistema messages not attributed to a user';
COMMENT ON COLUMN mensajes.client_id IS 'Client retry key, unique per author: a retry returns the first message (200)';
COMMENT ON COLUMN mensajes.datos IS 'Optional structured data, e.g. for sistema messages {accion, usuario_ids}';
-- History, newest first, at any depth:
--   WHERE chat_id = $1 AND id < $antes ORDER BY id DESC LIMIT $n
-- Unique so that (chat_id, respuesta_a) and chats (id, ultimo_mensaje_id) can
-- reference it: the database itself guarantees a reply or a chat's last
-- message belongs to the same chat.
CREATE UNIQUE INDEX mensajes_chat_id_idx ON mensajes (chat_id, id DESC);
CREATE UNIQUE INDEX mensajes_client_id_key ON mensajes (autor_id, client_id) WHERE client_id IS NOT NULL;
CREATE INDEX mensajes_media_idx ON mensajes (media_id) WHERE media_id IS NOT NULL;
CREATE INDEX mensajes_respuesta_idx ON mensajes (respuesta_a) WHERE respuesta_a IS NOT NULL;
ALTER TABLE mensajes ADD CONSTRAINT mensajes_respuesta_fk
    FOREIGN KEY (chat_id, respuesta_a) REFERENCES mensajes (chat_id, id)
    ON DELETE SET NULL (respuesta_a);
ALTER TABLE chats ADD CONSTRAINT chats_ultimo_mensaje_fk
    FOREIGN KEY (id, ultimo_mensaje_id) REFERENCES mensajes (chat_id, id)
    ON DELETE SET NULL (ultimo_mensaje_id);

CREATE TABLE reacciones_mensajes (
    mensaje_id  bigint NOT NULL REFERENCES mensajes (id) ON DELETE CASCADE,
    usuario_id  bigint NOT NULL REFERENCES usuarios (id),
    emoji       text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (mensaje_id, usuario_id, emoji),
    CONSTRAINT reacciones_mensajes_emoji_len CHECK (char_length(emoji) BETWEEN 1 AND 64)
);
COMMENT ON TABLE reacciones_mensajes IS 'Emoji reactions to messages, one row per (message, user, emoji)';

-- ---------------------------------------------------------------------------
-- encuestas (a poll is a mensaje of tipo encuesta)
-- ---------------------------------------------------------------------------
CREATE TABLE encuestas (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    mensaje_id   bigint NOT NULL REFERENCES mensajes (id) ON DELETE CASCADE,
    pregunta     text NOT NULL,
    multiple     boolean NOT NULL DEFAULT false,
    anonima      boolean NOT NULL DEFAULT false,
    cierra_at    timestamptz,
    cerrada_at   timestamptz,
    cerrada_por  bigint REFERENCES usuarios (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT encuestas_mensaje_key UNIQUE (mensaje_id),
    CONSTRAINT encuestas_pregunta_len CHECK (char_length(pregunta) BETWEEN 1 AND 2000)
);
COMMENT ON TABLE encuestas IS 'Polls; closed when cerrada_at is set or cierra_at has passed (votes then get 409)';

CREATE TABLE encuestas_opciones (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    encuesta_id  bigint NOT NULL REFERENCES encuestas (id) ON DELETE CASCADE,
    posicion     smallint NOT NULL,
    texto        text NOT NULL,
    CONSTRAINT encuestas_opciones_posicion_key UNIQUE (encuesta_id, posicion),
    CONSTRAINT encuestas_opciones_encuesta_id_key UNIQUE (encuesta_id, id),
    CONSTRAINT encuestas_opciones_posicion_chk CHECK (posicion BETWEEN 0 AND 12),
    CONSTRAINT encuestas_opciones_texto_len CHECK (char_length(texto) BETWEEN 1 AND 1000)
);
COMMENT ON TABLE encuestas_opciones IS 'Poll options in display order (posicion, 0- or 1-based, at most 12 options)';

CREATE TABLE encuestas_votos (
    encuesta_id  bigint NOT NULL,
    opcion_id    bigint NOT NULL,
    usuario_id   bigint NOT NULL REFERENCES usuarios (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (opcion_id, usuario_id),
    -- the option must belong to the poll named in the row
    CONSTRAINT encuestas_votos_opcion_fk FOREIGN KEY (encuesta_id, opcion_id)
        REFERENCES encuestas_opciones (encuesta_id, id) ON DELETE CASCADE
);
COMMENT ON TABLE encuestas_votos IS 'Poll votes; a vote is reconciled as a set per (encuesta, usuario) under a row lock on encuestas';
CREATE INDEX encuestas_votos_usuario_idx ON encuestas_votos (encuesta_id, usuario_id);

-- ---------------------------------------------------------------------------
-- comunicados (announcements; not messages)
-- ---------------------------------------------------------------------------
CREATE TABLE comunicados (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    autor_id             bigint NOT NULL REFERENCES usuarios (id),
    titulo               text NOT NULL,
    contenido            text NOT NULL DEFAULT '',
    media_id             bigint REFERENCES media (id),
    para_todos           boolean NOT NULL DEFAULT false,
    destinatarios_json   jsonb NOT NULL DEFAULT '{}',
    destinatarios_total  int NOT NULL DEFAULT 0,
    client_id            text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    deleted_at           timestamptz,
    eliminado_por        bigint REFERENCES usuarios (id),
    CONSTRAINT comunicados_titulo_len CHECK (char_length(titulo) BETWEEN 1 AND 500),
    CONSTRAINT comunicados_destinatarios_json_chk CHECK (jsonb_typeof(destinatarios_json) = 'object'),
    CONSTRAINT comunicados_destinatarios_total_chk CHECK (destinatarios_total >= 0),
    CONSTRAINT comunicados_client_id_len CHECK (client_id IS NULL OR char_length(client_id) BETWEEN 1 AND 200)
);
COMMENT ON TABLE comunicados IS 'Announcements from holders of 567 to everyone, users or departments; recipients materialised in comunicado_destinatarios';
COMMENT ON COLUMN comunicados.destinatarios_json IS 'The targeting exactly as given: {"todos":true} | {"usuario_ids":[...]} | {"departamentos":[...]}';
COMMENT ON COLUMN comunicados.destinatarios_total IS 'Number of comunicado_destinatarios rows, set when the announcement is created';
CREATE INDEX comunicados_autor_idx ON comunicados (autor_id, id DESC);
CREATE INDEX comunicados_media_idx ON comunicados (media_id) WHERE media_id IS NOT NULL;
CREATE UNIQUE INDEX comunicados_client_id_key ON comunicados (autor_id, client_id) WHERE client_id IS NOT NULL;

CREATE TABLE comunicado_destinatarios (
    comunicado_id  bigint NOT NULL REFERENCES comunicados (id) ON DELETE CASCADE,
    usuario_id     bigint NOT NULL REFERENCES usuarios (id),
    leido_at       timestamptz,
    PRIMARY KEY (comunicado_id, usuario_id)
);
COMMENT ON TABLE comunicado_destinatarios IS 'One row per announcement recipient (resolved at send time); leido_at = first read confirmation';
-- "addressed to me", newest first: WHERE usuario_id = $1 AND comunicado_id < $antes ORDER BY comunicado_id DESC
CREATE INDEX comunicado_destinatarios_usuario_idx ON comunicado_destinatarios (usuario_id, comunicado_id DESC);
-- my unread announcements (badge)
CREATE INDEX comunicado_destinatarios_no_leidos_idx ON comunicado_destinatarios (usuario_id) WHERE leido_at IS NULL;

CREATE TABLE reacciones_comunicados (
    comunicado_id  bigint NOT NULL REFERENCES comunicados (id) ON DELETE CASCADE,
    usuario_id     bigint NOT NULL REFERENCES usuarios (id),
    emoji          text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (comunicado_id, usuario_id, emoji),
    CONSTRAINT reacciones_comunicados_emoji_len CHECK (char_length(emoji) BETWEEN 1 AND 64)
);
COMMENT ON TABLE reacciones_comunicados IS 'Emoji reactions of recipients to announcements';

-- ---------------------------------------------------------------------------
-- Push: devices and the persistent queue
-- ---------------------------------------------------------------------------
CREATE TABLE dispositivos_usuario (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    usuario_id  bigint NOT NULL REFERENCES usuarios (id) ON DELETE CASCADE,
    token       text NOT NULL,
    plataforma  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    last_error  text,
    CONSTRAINT dispositivos_usuario_token_key UNIQUE (token),
    CONSTRAINT dispositivos_usuario_token_len CHECK (char_length(token) BETWEEN 1 AND 4096),
    CONSTRAINT dispositivos_usuario_plataforma_chk CHECK (plataforma IN ('ios', 'android', 'web'))
);
COMMENT ON TABLE dispositivos_usuario IS 'Expo push tokens; a token belongs to one user (upsert moves it to its latest user)';
-- register: INSERT ... ON CONFLICT (token) DO UPDATE SET usuario_id = EXCLUDED.usuario_id, plataforma = ..., updated_at = now(), last_error = NULL
-- (when the owner changes, also DELETE the device's pendiente rows in queue_mensajes)
CREATE INDEX dispositivos_usuario_usuario_idx ON dispositivos_usuario (usuario_id);

CREATE TABLE queue_mensajes (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dispositivo_id   bigint NOT NULL REFERENCES dispositivos_usuario (id) ON DELETE CASCADE,
    usuario_id       bigint NOT NULL REFERENCES usuarios (id),
    token            text NOT NULL,
    item_tipo        text NOT NULL,
    item_id          bigint NOT NULL,
    payload          jsonb NOT NULL,
    estado           text NOT NULL DEFAULT 'pendiente',
    intentos         int NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    lease_until      timestamptz,
    ticket_id        text,
    error            text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT queue_mensajes_item_key UNIQUE (dispositivo_id, item_tipo, item_id),
    CONSTRAINT queue_mensajes_item_tipo_chk CHECK (item_tipo IN ('mensaje', 'comunicado', 'reaccion', 'encuesta')),
    CONSTRAINT queue_mensajes_estado_chk CHECK (estado IN ('pendiente', 'enviando', 'enviado', 'entregado',
                                                           'fallido', 'desconocido', 'muerto')),
    CONSTRAINT queue_mensajes_intentos_chk CHECK (intentos >= 0),
    CONSTRAINT queue_mensajes_lease_chk CHECK (estado <> 'enviando' OR lease_until IS NOT NULL)
);
COMMENT ON TABLE queue_mensajes IS 'Push queue: one row per (device, item); claimed with FOR UPDATE SKIP LOCKED and a lease; receipts confirm';
COMMENT ON COLUMN queue_mensajes.item_id IS 'mensaje: mensajes.id; encuesta: mensajes.id of the poll; comunicado: comunicados.id; reaccion: eventos.id of the reaction (one push per reaction added)';
COMMENT ON COLUMN queue_mensajes.estado IS 'pendiente -> enviando (leased) -> enviado (ticket ok) -> entregado (receipt ok); fallido = will retry at next_attempt_at; desconocido = receipt never came; muerto = gave up';
COMMENT ON COLUMN queue_mensajes.payload IS 'The Expo message as sent (to, title, body, data, badge, sound)';
-- claim due rows:
--   SELECT id FROM queue_mensajes WHERE estado = 'pendiente' AND next_attempt_at <= now()
--    ORDER BY next_attempt_at LIMIT 100 FOR UPDATE SKIP LOCKED
-- (put retries back as 'pendiente' with a later next_attempt_at)
CREATE INDEX queue_mensajes_pendiente_idx ON queue_mensajes (next_attempt_at) WHERE estado = 'pendiente';
-- take back rows of a killed sender: WHERE estado = 'enviando' AND lease_until < now()
CREATE INDEX queue_mensajes_lease_idx ON queue_mensajes (lease_until) WHERE estado = 'enviando';
-- receipts: rows waiting for a receipt, oldest first, and lookup by ticket
CREATE INDEX queue_mensajes_enviado_idx ON queue_mensajes (sent_at) WHERE estado = 'enviado';
CREATE INDEX queue_mensajes_ticket_idx ON queue_mensajes (ticket_id) WHERE estado = 'enviado';
CREATE INDEX queue_mensajes_usuario_idx ON queue_mensajes (usuario_id);
-- prune finished rows by age (BRIN: append-ordered, nearly free to maintain)
CREATE INDEX queue_mensajes_created_brin ON queue_mensajes USING brin (created_at);

-- ---------------------------------------------------------------------------
-- eventos: the outbox (see 002_eventos.sql for the reader functions)
--
-- Every change writes its eventos rows in the same transaction; after the
-- commit, NOTIFY chat_eventos '{"id":N,"tipo":...,"sala":...}' wakes the
-- listeners. xid is the writing transaction's top-level id: readers order
-- by (xid, id) and stop below pg_snapshot_xmin(pg_current_snapshot()), so a
-- row committed after a higher id is never skipped.
-- ---------------------------------------------------------------------------
CREATE TABLE eventos (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    xid         xid8 NOT NULL DEFAULT pg_current_xact_id(),
    tipo        text NOT NULL,
    sala        text NOT NULL,
    payload     jsonb NOT NULL,
    chat_id     bigint,
    usuario_id  bigint,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT eventos_tipo_len CHECK (char_length(tipo) BETWEEN 1 AND 100),
    CONSTRAINT eventos_sala_len CHECK (char_length(sala) BETWEEN 1 AND 200)
);
COMMENT ON TABLE eventos IS 'Outbox of realtime events (Socket.IO event name, room, payload), written with each change; read by (xid, id) cursor; pruned by age';
COMMENT ON COLUMN eventos.xid IS 'Writing transaction (pg_current_xact_id()); never set it yourself';
COMMENT ON COLUMN eventos.sala IS 'Socket.IO room: chat:<id> or user:<id>';
COMMENT ON COLUMN eventos.chat_id IS 'Chat concerned, if any (no FK: events outlive what they describe)';
COMMENT ON COLUMN eventos.usuario_id IS 'User concerned (target of a user:<id> event, or the actor), if any';
-- the feed, in (xid, id) order
CREATE INDEX eventos_xid_idx ON eventos (xid, id);
-- one room / several rooms (a user's sync)
CREATE INDEX eventos_sala_idx ON eventos (sala, xid, id);
-- one chat's events
CREATE INDEX eventos_chat_idx ON eventos (chat_id, xid, id) WHERE chat_id IS NOT NULL;
-- prune: DELETE FROM eventos WHERE created_at < now() - interval (BRIN: append-only table)
CREATE INDEX eventos_created_brin ON eventos USING brin (created_at);

-- ---------------------------------------------------------------------------
-- Presence across several rtd instances
--
-- Each rtd instance upserts its own rows: its heartbeat in rtd_instancias
-- (every few seconds) and, per user with sockets on it, the socket counts
-- in presencia_conexiones (deleting the row when the user's last socket on
-- it closes). A user's presence is the sum over live instances:
--   SELECT sum(p.sockets), sum(p.inactivos) FROM presencia_conexiones p
--     JOIN rtd_instancias i ON i.id = p.instancia
--    WHERE p.usuario_id = $1 AND i.heartbeat_at > now() - interval '30 seconds'
-- en_linea when sockets > inactivos, inactivo when sockets > 0 and all idle,
-- desconectado (after the grace period) when 0. The result is written to
-- usuarios.estatus / ultima_conexion by the instance that saw the change.
-- A dead instance (stale heartbeat) is deleted by any live one; its rows go
-- with it (ON DELETE CASCADE).
--
-- Both tables are UNLOGGED: they describe live sockets only, are rewritten
-- constantly, and need no WAL. After a PostgreSQL crash they come back
-- empty, so an instance rewrites all its rows whenever it (re)connects to
-- the database.
-- ---------------------------------------------------------------------------
CREATE UNLOGGED TABLE rtd_instancias (
    id            text PRIMARY KEY,
    heartbeat_at  timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz NOT NULL DEFAULT now(),
    host          text,
    pid           int,
    CONSTRAINT rtd_instancias_id_len CHECK (char_length(id) BETWEEN 1 AND 200)
);
COMMENT ON TABLE rtd_instancias IS 'Live realtime daemon instances and their heartbeats (unlogged, ephemeral)';

CREATE UNLOGGED TABLE presencia_conexiones (
    instancia   text NOT NULL REFERENCES rtd_instancias (id) ON DELETE CASCADE,
    usuario_id  bigint NOT NULL REFERENCES usuarios (id),
    sockets     int NOT NULL DEFAULT 0,
    inactivos   int NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (instancia, usuario_id),
    CONSTRAINT presencia_conexiones_sockets_chk CHECK (sockets >= 0 AND inactivos >= 0 AND inactivos <= sockets)
);
COMMENT ON TABLE presencia_conexiones IS 'Per rtd instance and user: open sockets and how many report idle (unlogged, ephemeral)';
CREATE INDEX presencia_conexiones_usuario_idx ON presencia_conexiones (usuario_id);
