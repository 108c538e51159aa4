// breakdown.mjs: where a POST's time goes, from chat-fcgi's request log
// lines (log_timing = on) joined to nginx's access log by request id.
// Usage: node breakdown.mjs FCGI_LOG NGINX_ACCESS_LOG [PATH_REGEX]
// Prints KEY=VALUE lines (milliseconds; p50 and p99 of each part) for the
// requests whose method and path match (default: POST /chats/N/mensajes).
import { readFileSync } from "node:fs";

const [fcgiLog, ngxLog, pathRe = "^/chats/[0-9]+/mensajes$"] = process.argv.slice(2);
if (!fcgiLog || !ngxLog) {
    console.error("usage: node breakdown.mjs FCGI_LOG NGINX_ACCESS_LOG [PATH_REGEX]");
    process.exit(2);
}
const want = new RegExp(pathRe);

function fields(line) {
    const o = {};
    for (const m of line.matchAll(/(\w+)=("[^"]*"|\S+)/g)) o[m[1]] = m[2];
    return o;
}

const reqs = new Map();
for (const line of readFileSync(fcgiLog, "utf8").split("\n")) {
    if (!line.includes(" auth_ms=")) continue;
    const f = fields(line);
    if (f.method !== "POST" || !want.test(f.path) || f.status !== "201") continue;
    // db=label:ms,label:ms...: the round trips in order
    const trips = (f.db || "").split(",").filter((t) => t.includes(":"))
        .map((t) => { const i = t.lastIndexOf(":"); return [t.slice(0, i), Number(t.slice(i + 1))]; });
    reqs.set(f.req, {
        fcgi: Number(f.ms), auth: Number(f.auth_ms), db: Number(f.db_ms), commit: Number(f.commit_ms),
        app: Number(f.app_ms), wake: Number(f.wake_ms), rt: Number(f.rt), trips,
    });
}
for (const line of readFileSync(ngxLog, "utf8").split("\n")) {
    const f = fields(line);
    const r = f.req && reqs.get(f.req);
    if (!r) continue;
    r.nginx = Number(f.rt) * 1000;
    r.upstream = Number(f.urt) * 1000;
}

const all = [...reqs.values()];
const pct = (v, p) => {
    const s = v.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
    if (!s.length) return "-";
    return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))].toFixed(2);
};
console.log(`requests=${all.length}`);
console.log(`joined=${all.filter((r) => Number.isFinite(r.nginx)).length}`);
for (const k of ["nginx", "upstream", "fcgi", "auth", "db", "commit", "app", "wake", "rt"]) {
    const v = all.map((r) => r[k]);
    console.log(`${k}_p50=${pct(v, 50)}`);
    console.log(`${k}_p99=${pct(v, 99)}`);
}
// nginx's own share: its whole time less the upstream's
const own = all.filter((r) => Number.isFinite(r.nginx)).map((r) => r.nginx - r.upstream);
console.log(`proxy_p50=${pct(own, 50)}`);
// the round trips by position, with the most frequent label at each
const maxTrips = Math.max(0, ...all.map((r) => r.trips.length));
for (let i = 0; i < maxTrips; i++) {
    const at = all.filter((r) => r.trips[i]);
    const labels = new Map();
    for (const r of at) labels.set(r.trips[i][0], (labels.get(r.trips[i][0]) || 0) + 1);
    const label = [...labels.entries()].sort((a, b) => b[1] - a[1])[0][0];
    console.log(`trip${i + 1}_label=${label}`);
    console.log(`trip${i + 1}_p50=${pct(at.map((r) => r.trips[i][1]), 50)}`);
    console.log(`trip${i + 1}_p99=${pct(at.map((r) => r.trips[i][1]), 99)}`);
}
