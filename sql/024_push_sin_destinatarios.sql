-- 024_push_sin_destinatarios.sql: queueing a message's pushes when nobody
-- can receive one.
--
-- push_encolar_mensaje (003_push.sql) runs in every send's transaction. Its
-- one statement joins the message, its chat, the members, their devices and
-- each recipient's unread count (push_no_leidos, inlined into the plan), and
-- PostgreSQL starts that whole plan on every call: 0.12 ms a call inside a
-- send (pg_stat_statements, 1,100 messages/s), of which 0.016 ms was the
-- statement's own work, when no member other than the author had a device
-- registered. A look-up of one such member now comes first; the statement
-- runs only when there is one. What is queued is unchanged.
CREATE OR REPLACE FUNCTION push_encolar_mensaje(p_mensaje_id bigint) RETURNS integer
    LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    n integer;
BEGIN
    -- A cheap necessary condition first: another member of the chat with a
    -- device registered. Without one nothing can be queued, and the
    -- statement below is large: starting its plan alone took 0.1 ms.
    IF NOT EXISTS (
        SELECT 1
          FROM mensajes m
          JOIN usuarios_chat uc ON uc.chat_id = m.chat_id
          JOIN dispositivos_usuario d ON d.usuario_id = uc.usuario_id
         WHERE m.id = p_mensaje_id AND uc.usuario_id IS DISTINCT FROM m.autor_id
    ) THEN
        RETURN 0;
    END IF;
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
