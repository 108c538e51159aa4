-- 020b_mensajes_chat_distintos.sql: tell the planner that messages are
-- spread over many chats.
--
-- Prepared statements run on generic plans, and a generic plan (or any join
-- on chat_id) estimates "chat_id = X" from the number of distinct chats in
-- mensajes. When most messages sit in a few chats (a new installation, an
-- imported legacy channel of a million messages), that estimate says a third
-- of the table per chat, and the planner walks the primary key backwards
-- filtering by chat instead of using (chat_id, id): the chat list of a member
-- of such a chat took 26 s instead of 20 ms, and the unread counts scanned
-- the whole table for every chat. A fixed ratio (1 distinct chat per 100
-- messages) keeps the per-chat estimate small at any size; the most common
-- chats ANALYZE finds are still estimated from their real counts.
ALTER TABLE mensajes ALTER COLUMN chat_id SET (n_distinct = -0.01);
ANALYZE mensajes (chat_id);
