-- 008_busqueda.sql: full-text search over messages and announcements
-- (GET /buscar).
--
-- chat_es is Spanish stemming over accent-free words: every word goes
-- through the unaccent dictionary (a filter: it passes the word on without
-- accents) and then the Spanish Snowball stemmer, so "información",
-- "informacion" and "Informaciones" meet on one lexeme. Numbers, e-mail
-- addresses and URLs keep the spanish configuration's simple mappings.
CREATE TEXT SEARCH CONFIGURATION chat_es (COPY = pg_catalog.spanish);
ALTER TEXT SEARCH CONFIGURATION chat_es
    ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part
    WITH unaccent, spanish_stem;

-- The searchable text of a file name: separators become spaces, so
-- "informe_ventas-2026.pdf" is found by "ventas" (the parser would keep it
-- as one file-name token).
CREATE FUNCTION chat_busqueda_archivo(nombre text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN regexp_replace(nombre, '[_.\-/\\]+', ' ', 'g');

-- mensajes.busqueda: the message's text (weight A; a poll's question is its
-- contenido) and its file's name (weight B). NULL for deleted and sistema
-- messages, so they leave the index the moment they are deleted. A trigger
-- rather than a generated column because the file name lives in media.
ALTER TABLE mensajes ADD COLUMN busqueda tsvector;

CREATE FUNCTION chat_mensajes_busqueda() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.deleted_at IS NOT NULL OR NEW.tipo = 'sistema' THEN
        NEW.busqueda := NULL;
    ELSE
        NEW.busqueda :=
            setweight(to_tsvector('public.chat_es'::regconfig, coalesce(NEW.contenido, '')), 'A')
            || setweight(to_tsvector('public.chat_es'::regconfig, coalesce(
                   (SELECT chat_busqueda_archivo(md.nombre) FROM media md WHERE md.id = NEW.media_id),
                   '')), 'B');
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER mensajes_busqueda
    BEFORE INSERT OR UPDATE OF contenido, media_id, deleted_at, tipo ON mensajes
    FOR EACH ROW EXECUTE FUNCTION chat_mensajes_busqueda();

UPDATE mensajes m SET busqueda =
       setweight(to_tsvector('public.chat_es'::regconfig, coalesce(m.contenido, '')), 'A')
       || setweight(to_tsvector('public.chat_es'::regconfig, coalesce(
              (SELECT chat_busqueda_archivo(md.nombre) FROM media md WHERE md.id = m.media_id),
              '')), 'B')
 WHERE m.deleted_at IS NULL AND m.tipo <> 'sistema';

-- (chat_id, busqueda): btree_gin lets one GIN index answer "these words in
-- these chats", so a search within one chat, or by a member of a few small
-- chats, does not walk the matches of every other chat.
CREATE EXTENSION IF NOT EXISTS btree_gin;
CREATE INDEX mensajes_busqueda_idx ON mensajes USING gin (chat_id, busqueda);

-- comunicados.busqueda: title (A) and text (B). Deleted ones are filtered
-- by the query (their author and 568 still reach them by id).
ALTER TABLE comunicados ADD COLUMN busqueda tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('public.chat_es'::regconfig, titulo), 'A')
    || setweight(to_tsvector('public.chat_es'::regconfig, contenido), 'B')) STORED;

CREATE INDEX comunicados_busqueda_idx ON comunicados USING gin (busqueda);
