-- send.lua: wrk script for POST /chats/{id}/mensajes (env BENCH_TOKEN).
wrk.method = "POST"
wrk.body = '{"contenido":"hola desde wrk, un mensaje de prueba de tamaño normal"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
