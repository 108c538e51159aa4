-- roles.sql: the database roles of the chat module (see etc/README.md).
-- Run as a superuser (or a role with CREATEROLE) in the chat database,
-- once after the first `chat-cron migrate` and again after each upgrade
-- that adds tables:  psql -d chat -f /usr/local/share/chat/etc/roles.sql
--
--   chat_owner    owns the schema; runs the migrations (chat-cron migrate).
--   chat_app      the programs (chat-fcgi, chat-rtd, chat-cron with
--                 migrate_on_start = off): reads and writes the module's
--                 tables, but may only INSERT into auditoria (no UPDATE,
--                 DELETE or TRUNCATE: the trail is append-only, and a
--                 trigger refuses those to every role anyway).
--   chat_lectura  reports, the ERP's read access: SELECT only; in particular
--                 nothing but the module writes eventos.
-- Login users are granted one of these: CREATE ROLE chat_web LOGIN IN ROLE chat_app.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'chat_owner') THEN
        CREATE ROLE chat_owner NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'chat_app') THEN
        CREATE ROLE chat_app NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'chat_lectura') THEN
        CREATE ROLE chat_lectura NOLOGIN;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO chat_app, chat_lectura;

GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO chat_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO chat_app;
REVOKE UPDATE, DELETE, TRUNCATE ON auditoria FROM chat_app;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON schema_migrations FROM chat_app;

GRANT SELECT ON ALL TABLES IN SCHEMA public TO chat_lectura;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public FROM chat_lectura;
