-- 008b_contextos.sql: group chats tied to an ERP record (a purchase order,
-- a client file...): PUT /interno/contextos/{tipo}/{clave}. One live chat
-- per record; a deleted chat releases its record (the row goes with it),
-- so the next PUT makes a new chat.
CREATE TABLE chat_contextos (
    chat_id     bigint PRIMARY KEY REFERENCES chats (id) ON DELETE CASCADE,
    tipo        text NOT NULL,
    clave       text NOT NULL,
    titulo      text NOT NULL,
    url         text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT chat_contextos_key UNIQUE (tipo, clave),
    CONSTRAINT chat_contextos_tipo_chk CHECK (tipo ~ '^[a-z0-9_]{1,50}$'),
    CONSTRAINT chat_contextos_clave_len CHECK (char_length(clave) BETWEEN 1 AND 100),
    CONSTRAINT chat_contextos_titulo_len CHECK (char_length(titulo) BETWEEN 1 AND 200),
    CONSTRAINT chat_contextos_url_len CHECK (url IS NULL OR char_length(url) <= 2000)
);
