-- history.lua: wrk script for GET /chats/{id}/mensajes?antes=&limite=50,
-- antes drawn at random deep in the chat (env BENCH_TOKEN, BENCH_LO,
-- BENCH_HI: the id range to draw from).
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
local lo = tonumber(os.getenv("BENCH_LO"))
local hi = tonumber(os.getenv("BENCH_HI"))
local base = wrk.path
math.randomseed(os.time())
request = function()
   return wrk.format("GET", base .. "?limite=50&antes=" .. math.random(lo, hi))
end
