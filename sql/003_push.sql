-- 003_push.sql: who gets a push notification and what it says, as SQL
-- functions that fill queue_mensajes (API.md §7).
--
-- Every push goes through queue_mensajes, one row per (device, item). The
-- code that makes a change (a message, a poll, a reaction, an announcement)
-- calls one of the push_encolar_* functions below INSIDE ITS OWN
-- TRANSACTION, right after writing the change, so the push rows commit or
-- roll back with it. Each is one INSERT ... SELECT ... ON CONFLICT DO
-- NOTHING: calling it twice for the same item (a retried request) adds
-- nothing. From C, call the wrappers in shared/push.h.
--
-- Who gets a push (API.md §7):
--   * chat messages, polls and reactions: every device of the recipients,
--     except the author (the reactor), members who muted the chat
--     (usuarios_chat.silenciado), users on vacation (usuarios.vacaciones
--     with vacaciones_hasta null or not past), users who are en_linea
--     (usuarios.estatus, maintained by chat-rtd) and deactivated users;
--   * announcements: every device of every recipient except the author,
--     en_linea users and deactivated users; vacation does NOT stop them.
--
-- What a push says (the payload column is the Expo message as sent):
--   {"to": token, "title": ..., "body": ..., "data": {...}, "badge": n,
--    "sound": "default"}
--   * message / poll: title = the chat's name (the sender's name for a 1:1
--     chat, or for a group without a name); body = the text cut to 180
--     characters, or a label: "📷 Imagen", "🎤 Audio", "🎬 Video",
--     "📄 Documento" (the label's emoji followed by the caption instead,
--     when the media message has one), "📊 Encuesta: <pregunta>";
--     data = {"tipo": "mensaje" | "encuesta", "chat_id", "mensaje_id"}.
--   * reaction: title as for a message; body = "<name> reaccionó <emoji> a
--     tu mensaje: <the message's body>"; data = {"tipo": "reaccion",
--     "chat_id", "mensaje_id"}.
--   * announcement: title = titulo; body = contenido, or the media's label
--     when there is no text; data = {"tipo": "comunicado", "comunicado_id"}.
--   * badge = push_no_leidos(recipient): unread chat messages plus unread
--     announcements, computed when the row is queued.
--   Titles are cut to 200 characters and bodies to 180 (Expo refuses a
--   payload over 4 KiB).
--
-- The queue's life (queue_mensajes.estado), driven by chat-cron:
--   pendiente --push claims (lease)--> enviando
--   enviando  --Expo ticket ok--> enviado (ticket_id, sent_at)
--             --429/5xx/network/MessageRateExceeded--> pendiente at
--               next_attempt_at (exponential backoff with jitter, at least
--               Retry-After), or muerto after push_max_attempts
--             --ticket error MessageTooBig/InvalidCredentials/...--> muerto
--             --ticket error DeviceNotRegistered--> the device is deleted
--               (and its rows with it, ON DELETE CASCADE)
--             --sender killed--> taken back by the next claim once
--               lease_until has passed
--   enviado   --receipt ok--> entregado
--             --receipt MessageRateExceeded--> pendiente (sent again)
--             --receipt DeviceNotRegistered--> the device is deleted
--             --other receipt error--> fallido (error holds the reason)
--             --no receipt 24 h after sent_at--> desconocido
-- entregado, fallido, desconocido and muerto are final.

COMMENT ON COLUMN queue_mensajes.estado IS
    'pendiente -> enviando (leased) -> enviado (ticket ok) -> entregado (receipt ok); retries go back to pendiente with a later next_attempt_at; fallido = Expo accepted it but its receipt reports an error; desconocido = no receipt 24 h after sending; muerto = given up before Expo accepted it (see 003_push.sql)';

-- True while a vacation is in force: set, and its last day (if any) not
-- past (same rule as the Usuario object's estatus).
CREATE FUNCTION push_de_vacaciones(p_vacaciones boolean, p_hasta date) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN p_vacaciones AND (p_hasta IS NULL OR p_hasta >= current_date);
COMMENT ON FUNCTION push_de_vacaciones(boolean, date) IS
    'usuarios.vacaciones in force today (vacaciones_hasta null or not past)';

-- Cuts t to at most n characters, ending in an ellipsis when cut.
CREATE FUNCTION push_cortar(t text, n integer) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN CASE WHEN char_length(t) <= n THEN t ELSE left(t, n - 1) || '…' END;
COMMENT ON FUNCTION push_cortar(text, integer) IS
    'Text cut to n characters (the last one an ellipsis when cut)';

-- A recipient's badge: the messages after their read mark in each of their
-- chats (not their own, not deleted, not sistema, chat not deleted) plus
-- the announcements addressed to them not yet confirmed as read. Each
-- part stops counting at 9999 so a huge backlog costs nothing extra.
CREATE FUNCTION push_no_leidos(p_usuario bigint) RETURNS integer
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT (SELECT count(*) FROM (
                SELECT 1
                  FROM usuarios_chat uc
                  JOIN chats c ON c.id = uc.chat_id AND c.deleted_at IS NULL
                  JOIN mensajes m ON m.chat_id = uc.chat_id AND m.id > uc.ultimo_leido_id
                 WHERE uc.usuario_id = p_usuario
                   AND m.deleted_at IS NULL
                   AND m.tipo <> 'sistema'
                   AND m.autor_id IS DISTINCT FROM p_usuario
                 LIMIT 9999) s)::integer
         + (SELECT count(*) FROM (
                SELECT 1
                  FROM comunicado_destinatarios cd
                  JOIN comunicados k ON k.id = cd.comunicado_id AND k.deleted_at IS NULL
                 WHERE cd.usuario_id = p_usuario AND cd.leido_at IS NULL
                 LIMIT 9999) s)::integer
$$;
COMMENT ON FUNCTION push_no_leidos(bigint) IS
    'Badge of a push: unread messages across the user''s chats (not own, not deleted, not sistema) plus unread announcements';

-- The body of a message's push: its text, or a label for media and polls.
-- Not cut (callers cut the whole body).
CREATE FUNCTION push_texto_mensaje(p_tipo text, p_contenido text, p_pregunta text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE p_tipo
        WHEN 'imagen' THEN '📷 ' || coalesce(nullif(btrim(p_contenido), ''), 'Imagen')
        WHEN 'audio' THEN '🎤 ' || coalesce(nullif(btrim(p_contenido), ''), 'Audio')
        WHEN 'video' THEN '🎬 ' || coalesce(nullif(btrim(p_contenido), ''), 'Video')
        WHEN 'documento' THEN '📄 ' || coalesce(nullif(btrim(p_contenido), ''), 'Documento')
        WHEN 'encuesta' THEN '📊 Encuesta: ' || coalesce(p_pregunta, p_contenido, '')
        ELSE coalesce(p_contenido, '')
    END;
COMMENT ON FUNCTION push_texto_mensaje(text, text, text) IS
    'Push body of a message: the text, or 📷 Imagen / 🎤 Audio / 🎬 Video / 📄 Documento (or the emoji and the caption) / 📊 Encuesta: <pregunta>';

-- The label of an announcement's media by MIME type.
CREATE FUNCTION push_texto_media(p_mime text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE
        WHEN p_mime LIKE 'image/%' THEN '📷 Imagen'
        WHEN p_mime LIKE 'audio/%' THEN '🎤 Audio'
        WHEN p_mime LIKE 'video/%' THEN '🎬 Video'
        WHEN p_mime IS NULL THEN ''
        ELSE '📄 Documento'
    END;
COMMENT ON FUNCTION push_texto_media(text) IS
    'Push label of a media file by MIME type (📷 Imagen, 🎤 Audio, 🎬 Video, 📄 Documento)';

-- Queues the push of a new message or poll (mensajes.id) to every device of
-- the chat's members who should get it (see the top of this file). Call it
-- in the transaction that inserted the message, after the encuestas row
-- for a poll. Deleted messages, deleted chats and sistema messages queue
-- nothing. Returns the number of rows queued (0 on a repeated call).
CREATE FUNCTION push_encolar_mensaje(p_mensaje_id bigint) RETURNS integer
    LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    n integer;
BEGIN
    WITH x AS (
        SELECT m.id AS mensaje_id, m.chat_id, m.autor_id,
               CASE WHEN m.tipo = 'encuesta' THEN 'encuesta' ELSE 'mensaje' END AS item_tipo,
               push_cortar(CASE WHEN c.tipo = 'directo' THEN coalesce(a.nombre, '')
                                ELSE coalesce(nullif(c.nombre, ''), a.nombre, '') END, 200) AS titulo,
               push_cortar(push_texto_mensaje(m.tipo, m.contenido, e.pregunta), 180) AS cuerpo
          FROM mensajes m
          JOIN chats c ON c.id = m.chat_id AND c.deleted_at IS NULL
          LEFT JOIN usuarios a ON a.id = m.autor_id
          LEFT JOIN encuestas e ON e.mensaje_id = m.id
         WHERE m.id = p_mensaje_id AND m.deleted_at IS NULL AND m.tipo <> 'sistema'
    ), destinatarios AS MATERIALIZED (
        -- one row per recipient, so the badge is counted once per user
        SELECT x.*, u.id AS usuario_id, push_no_leidos(u.id) AS badge
          FROM x
          JOIN usuarios_chat uc ON uc.chat_id = x.chat_id
          JOIN usuarios u ON u.id = uc.usuario_id
         WHERE u.id IS DISTINCT FROM x.autor_id
           AND NOT uc.silenciado
           AND u.activo
           AND u.estatus <> 'en_linea'
           AND NOT push_de_vacaciones(u.vacaciones, u.vacaciones_hasta)
           AND EXISTS (SELECT 1 FROM dispositivos_usuario d WHERE d.usuario_id = u.id)
    )
    INSERT INTO queue_mensajes (dispositivo_id, usuario_id, token, item_tipo, item_id, payload)
    SELECT d.id, d.usuario_id, d.token, r.item_tipo, r.mensaje_id,
           jsonb_build_object('to', d.token, 'title', r.titulo, 'body', r.cuerpo,
                              'data', jsonb_build_object('tipo', r.item_tipo, 'chat_id', r.chat_id,
                                                         'mensaje_id', r.mensaje_id),
                              'badge', r.badge, 'sound', 'default')
      FROM destinatarios r
      JOIN dispositivos_usuario d ON d.usuario_id = r.usuario_id
     ORDER BY d.id
    ON CONFLICT (dispositivo_id, item_tipo, item_id) DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION push_encolar_mensaje(bigint) IS
    'Queues the push of a new message or poll for its recipients'' devices, in the caller''s transaction; returns rows queued (see 003_push.sql)';

-- Queues the push of a reaction to the reacted message's author: p_evento_id
-- is the eventos id of the mensaje:reaccion event (the item: one push per
-- reaction added), p_usuario_id who reacted. Nothing when the author
-- reacted, left the chat, muted it, is on vacation, en_linea or
-- deactivated, or when the message or chat is deleted. Returns the rows
-- queued.
CREATE FUNCTION push_encolar_reaccion(p_evento_id bigint, p_mensaje_id bigint,
                                      p_usuario_id bigint, p_emoji text) RETURNS integer
    LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    n integer;
BEGIN
    WITH r AS MATERIALIZED (
        SELECT m.id AS mensaje_id, m.chat_id, u.id AS usuario_id, push_no_leidos(u.id) AS badge,
               push_cortar(CASE WHEN c.tipo = 'directo' THEN coalesce(q.nombre, '')
                                ELSE coalesce(nullif(c.nombre, ''), q.nombre, '') END, 200) AS titulo,
               push_cortar(coalesce(q.nombre, '') || ' reaccionó ' || p_emoji || ' a tu mensaje: '
                           || push_texto_mensaje(m.tipo, m.contenido, e.pregunta), 180) AS cuerpo
          FROM mensajes m
          JOIN chats c ON c.id = m.chat_id AND c.deleted_at IS NULL
          JOIN usuarios u ON u.id = m.autor_id
          JOIN usuarios_chat uc ON uc.chat_id = m.chat_id AND uc.usuario_id = u.id
          LEFT JOIN usuarios q ON q.id = p_usuario_id
          LEFT JOIN encuestas e ON e.mensaje_id = m.id
         WHERE m.id = p_mensaje_id
           AND m.deleted_at IS NULL
           AND u.id IS DISTINCT FROM p_usuario_id
           AND NOT uc.silenciado
           AND u.activo
           AND u.estatus <> 'en_linea'
           AND NOT push_de_vacaciones(u.vacaciones, u.vacaciones_hasta)
    )
    INSERT INTO queue_mensajes (dispositivo_id, usuario_id, token, item_tipo, item_id, payload)
    SELECT d.id, d.usuario_id, d.token, 'reaccion', p_evento_id,
           jsonb_build_object('to', d.token, 'title', r.titulo, 'body', r.cuerpo,
                              'data', jsonb_build_object('tipo', 'reaccion', 'chat_id', r.chat_id,
                                                         'mensaje_id', r.mensaje_id),
                              'badge', r.badge, 'sound', 'default')
      FROM r
      JOIN dispositivos_usuario d ON d.usuario_id = r.usuario_id
     ORDER BY d.id
    ON CONFLICT (dispositivo_id, item_tipo, item_id) DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION push_encolar_reaccion(bigint, bigint, bigint, text) IS
    'Queues the push of a reaction (item = eventos id) to the message author''s devices, in the caller''s transaction; returns rows queued';

-- Queues the push of a new announcement to every device of its recipients
-- (comunicado_destinatarios, so call it after inserting them), vacation or
-- not, except en_linea and deactivated users and the author. A deleted
-- announcement queues nothing. Returns the rows queued.
CREATE FUNCTION push_encolar_comunicado(p_comunicado_id bigint) RETURNS integer
    LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    n integer;
BEGIN
    WITH r AS MATERIALIZED (
        SELECT k.id AS comunicado_id, u.id AS usuario_id, push_no_leidos(u.id) AS badge,
               push_cortar(k.titulo, 200) AS titulo,
               push_cortar(coalesce(nullif(btrim(k.contenido), ''), push_texto_media(md.mime)), 180) AS cuerpo
          FROM comunicados k
          JOIN comunicado_destinatarios cd ON cd.comunicado_id = k.id
          JOIN usuarios u ON u.id = cd.usuario_id
          LEFT JOIN media md ON md.id = k.media_id
         WHERE k.id = p_comunicado_id
           AND k.deleted_at IS NULL
           AND u.id <> k.autor_id
           AND u.activo
           AND u.estatus <> 'en_linea'
           AND EXISTS (SELECT 1 FROM dispositivos_usuario d WHERE d.usuario_id = u.id)
    )
    INSERT INTO queue_mensajes (dispositivo_id, usuario_id, token, item_tipo, item_id, payload)
    SELECT d.id, d.usuario_id, d.token, 'comunicado', r.comunicado_id,
           jsonb_build_object('to', d.token, 'title', r.titulo, 'body', r.cuerpo,
                              'data', jsonb_build_object('tipo', 'comunicado',
                                                         'comunicado_id', r.comunicado_id),
                              'badge', r.badge, 'sound', 'default')
      FROM r
      JOIN dispositivos_usuario d ON d.usuario_id = r.usuario_id
     ORDER BY d.id
    ON CONFLICT (dispositivo_id, item_tipo, item_id) DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION push_encolar_comunicado(bigint) IS
    'Queues the push of a new announcement for its recipients'' devices (vacation included), in the caller''s transaction; returns rows queued';
