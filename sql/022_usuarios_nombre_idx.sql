-- 022_usuarios_nombre_idx.sql: the people directory in name order.
--
-- GET /usuarios (usr.c, usr_search) lists active users by (lower(nombre),
-- id), a page at a time, with or without words to match. Without an index in
-- that order every page read and sorted the whole table: 18-26 ms a page
-- with 30,000 users, whatever the words. Walking this index, a page stops
-- after its rows: ~1 ms for the list and for words that many people match.
-- Words that match nobody still read every active user (the words are
-- checked against busqueda row by row), as before.
CREATE INDEX IF NOT EXISTS usuarios_nombre_idx ON usuarios (lower(nombre), id) WHERE activo;
