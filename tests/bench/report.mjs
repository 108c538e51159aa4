// report.mjs: the statistics, plots and report of `make bench`.
//
// scripts/bench.sh runs the measurements and appends what it found to
// $OUT/samples.txt, one line each:
//   KEY=VALUE          a single value (machine facts, counts), kept as it is
//   @KEY=V1 V2 ...     the samples of one figure, one per run ("-" where a run
//                      gave nothing, so that runs stay aligned)
//   %KEY=OP ARGS...    a figure derived from others: "ratio A B" (run by run
//                      A / B, then summarised), "e2e_best" (per run, the
//                      highest e2e rate held with p99 < 50 ms)
//   nm_SECTION=REASON  why a section was not measured
// This script turns samples into "median min max", writes results.txt (the
// same KEY=VALUE lines, in the order of samples.txt), the gnuplot plots and
// BENCHMARKS.md. It takes its parameters from the environment (BENCH_R_*),
// set by bench.sh; BENCH_REPORT_ONLY=1 in bench.sh reruns only this.
import { readFileSync, writeFileSync, renameSync, copyFileSync, existsSync, statSync, appendFileSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const env = (k, d) => process.env[`BENCH_R_${k}`] ?? d;
const OUT = env('OUT');
const MD = env('MD');
const RES = env('RES');
if (!OUT || !MD || !RES) {
    console.error('report.mjs: BENCH_R_OUT, BENCH_R_MD and BENCH_R_RES must be set (run it through scripts/bench.sh)');
    process.exit(2);
}
const RUNS = Number(env('RUNS', '3'));
const QUICK = env('QUICK', '0');
const IDLE_SIZES = env('IDLE_SIZES', '').split(/\s+/).filter(Boolean);
const IDLE_MAX = env('IDLE_MAX', '');
const IDLE_TARGET = env('IDLE_TARGET', '');
const FAN_N = env('FAN_N', '');
const FAN_MSGS = env('FAN_MSGS', '');
const SUSTAIN = env('SUSTAIN', '');
const HOLD = env('HOLD', '');
const PING_MS = Number(env('PING_MS', '2000'));
const E2E_RATES = env('E2E_RATES', '').split(/\s+/).filter(Boolean);
const E2E_SECS = env('E2E_SECS', '');
const WRK_SECS = env('WRK_SECS', '');
const WRK_CONNS = env('WRK_CONNS', '');
const NSRC = env('NSRC', '');
const CONNECT_TIMEOUT = env('CONNECT_TIMEOUT', '');
const CAP_PROCS = env('CAP_PROCS', '');

const R = {};   // key -> value ("median min max" for figures)
const NM = {};  // section -> why it was not measured

const NUM = /^-?[0-9]+([.][0-9]+)?$/;
const isNum = (x) => x !== undefined && NUM.test(String(x));

// fmt: integers as they are, otherwise 0, 1 or 2 decimals by magnitude.
function fmt(x) {
    const ax = Math.abs(x);
    if (Number.isInteger(x)) return String(x);
    return ax >= 100 ? x.toFixed(0) : ax >= 10 ? x.toFixed(1) : x.toFixed(2);
}
// stats: "median min max" of the numeric values ("- - -" if none).
function stats(vals) {
    const a = vals.filter(isNum).map(Number).sort((x, y) => x - y);
    if (a.length === 0) return '- - -';
    const n = a.length;
    const m = n % 2 ? a[(n - 1) / 2] : (a[n / 2 - 1] + a[n / 2]) / 2;
    return `${fmt(m)} ${fmt(a[0])} ${fmt(a[n - 1])}`;
}
// div: a / b with two decimals, "-" when either is not a number or b is 0.
function div(a, b) {
    if (!isNum(a) || !isNum(b) || Number(b) === 0) return '-';
    return (Number(a) / Number(b)).toFixed(2);
}
const r = (k) => R[k] ?? '';

// Findings measured by hand (profiles, a statement's cost with pgbench):
// tests/bench/notes/*.md, in name order, each a "## ..." section, copied
// in as they are so that regenerating the report keeps them.
function notas() {
    const dir = new URL('./notes/', import.meta.url);
    if (!existsSync(dir)) return '';
    const files = readdirSync(dir).filter((f) => f.endsWith('.md')).sort();
    return files.map((f) => '\n' + readFileSync(new URL(f, dir), 'utf8').trimEnd() + '\n').join('');
}

// The room of 10 against the sockets held (sec_sweep in bench.sh).
function sweepTop() {
    const ns = (r('sweep_ns') || '').split(/\s+/).filter(Boolean);
    return ns.length ? ns[ns.length - 1] : '?';
}
function sweepTable() {
    const ns = (r('sweep_ns') || '').split(/\s+/).filter(Boolean);
    if (!ns.length) return NM.sweep ? `not measured: ${NM.sweep}` : 'not measured in this run';
    const cell = (srv, n) => {
        const a = r(`sweep_${srv}_${n}_p50`), b = r(`sweep_${srv}_${n}_p99`);
        return a && a !== '-' ? `${a} / ${b}` : 'not connected';
    };
    const ping = (k) => (Number(r(k)) / 1000).toLocaleString('en-US');
    const top = ns[ns.length - 1];
    const stress = r('sweep2s_ping_ms') && r('sweep2s_ping_ms') !== r('sweep_ping_ms')
        ? `\n| ${Number(top).toLocaleString('en-US')}, pinged every ${ping('sweep2s_ping_ms')} s | ` +
          `${cell2('rtd')} | ${cell2('node')} |`
        : '';
    function cell2(srv) {
        const a = r(`sweep2s_${srv}_p50`), b = r(`sweep2s_${srv}_p99`);
        return a && a !== '-' ? `${a} / ${b}` : (a ? 'not connected' : 'not measured');
    }
    return `| sockets connected | rtd p50 / p99 ms | Node p50 / p99 ms |\n|---|---|---|\n` +
        ns.map((n) => `| ${Number(n).toLocaleString('en-US')}${r('sweep_ping_ms') ? `, pinged every ${ping('sweep_ping_ms')} s` : ''} | ${cell('rtd', n)} | ${cell('node', n)} |`).join('\n') +
        stress;
}

// Where a POST's time goes (sec_breakdown in bench.sh): per-request parts
// from chat-fcgi's log_timing line joined to nginx's access log.
function breakdownSection() {
    // the first rate's keys are bd_*, any other rate's bd<rate>_*
    const extra = Object.keys(R).map((k) => /^bd(\d+)_requests$/.exec(k)).filter(Boolean)
        .map((m) => m[1]).sort((a, b) => a - b);
    const rates = ['100', ...extra];
    const pre = (rt) => (rt === '100' ? 'bd_' : `bd${rt}_`);
    const head = `### Where a POST's time goes (chat-fcgi with \`log_timing = on\`, ${rates.join(' and ')} messages/s)`;
    if (NM.breakdown) return `${head}\n\nnot measured: ${NM.breakdown}`;
    if (!r('bd_requests')) return `${head}\n\nnot measured in this run`;
    const row = (what, k) => `| ${what} | ` +
        rates.map((rt) => `${r(`${pre(rt)}${k}_p50`) || '-'} | ${r(`${pre(rt)}${k}_p99`) || '-'}`).join(' | ') + ' |';
    const trips = [];
    for (let i = 1; r(`bd_trip${i}_label`); i++)
        trips.push(`| round trip ${i}: \`${r(`bd_trip${i}_label`)}\` | ` +
            rates.map((rt) => `${r(`${pre(rt)}trip${i}_p50`) || '-'} | ${r(`${pre(rt)}trip${i}_p99`) || '-'}`).join(' | ') + ' |');
    return `${head}

${rates.map((rt) => `${rt}/s: ${r(`${pre(rt)}requests`)} POSTs (${r(`${pre(rt)}joined`)} matched in nginx's log by request id)`).join('; ')}.
chat-fcgi's own parts add up to its time; \`wake\` (the NOTIFY after the response is written) is
outside it. The last row is the same POSTs timed to the other member's socket (the load
generator's figure for this run), for comparison with the COMMIT above it.

| part | ${rates.map((rt) => `${rt}/s p50 ms | ${rt}/s p99 ms`).join(' | ')} |
|---|${rates.map(() => '---|---|').join('')}
${row('nginx: the whole request', 'nginx')}
${row('nginx: waiting for chat-fcgi', 'upstream')}
${row('chat-fcgi: the whole request', 'fcgi')}
${row('token check and user look-up', 'auth')}
${row('database round trips (all)', 'db')}
${row('of which the COMMIT', 'commit')}
${row('chat-fcgi itself (parse, JSON, write)', 'app')}
${row('wake-up NOTIFY after the response', 'wake')}
${row('round trips per request', 'rt')}
${trips.join('\n')}
${row('POST → the other member\'s socket', 'e2e')}`;
}
const get = (k) => (R[k] === undefined || R[k] === '' ? '-' : R[k]);
// mmm: "median (min–max)" of a figure.
function mmm(k) {
    const v = r(k).split(' ').filter(Boolean);
    if (v.length === 0 || v[0] === '-') return 'not measured';
    if (v.length >= 3 && v[1] !== v[2]) return `${v[0]} (${v[1]}–${v[2]})`;
    return v[0];
}
const med = (k) => r(k).split(' ').filter(Boolean)[0] ?? '-';
// The rtd-at-scale targets: every row from figures of this run.
function rtdTargets() {
    const top = sweepTop();
    const p99 = (srv, n) => Number(r(`sweep_${srv}_${n}_p99`)) || NaN;
    const tenK = (r('sweep_ns') || '').split(/\s+/).includes('10000') ? '10000' : '';
    const big = med('fan_rtd_big_p99'), bigNode = med('fan_node_big_p99');
    const bigRatio = div(big, bigNode);
    const rates = IDLE_SIZES.map((n) => [n, med(`idle_rtd_${n}_rate`)]).filter(([, v]) => isNum(v));
    const minRate = rates.length ? Math.min(...rates.map(([, v]) => Number(v))) : NaN;
    const memRatio = div(med(`idle_rtd_${IDLE_TARGET}_bpc`), med(`idle_echo_${IDLE_TARGET}_bpc`));
    const memTop = div(med(`idle_rtd_${IDLE_MAX}_bpc`), med(`idle_echo_${IDLE_MAX}_bpc`));
    const both = (a, b) => (a === '**met**' && b === '**met**' ? a
        : a === 'not measured' || b === 'not measured' ? 'not measured' : '**not met**');
    const rows = [
        ['room of 10: p99 ≤ 10 ms with 10,000 sockets connected',
            tenK ? `rtd ${p99('rtd', tenK)} ms (Node ${p99('node', tenK)} ms)` : 'not measured',
            tenK ? verdict(p99('rtd', tenK), '<=', 10) : 'not measured'],
        [`room of 10: p99 ≤ 10 ms with the most sockets held (${top})`,
            top ? `rtd ${p99('rtd', top)} ms (Node ${p99('node', top)} ms)` : 'not measured',
            top ? verdict(p99('rtd', top), '<=', 10) : 'not measured'],
        ['room of 1,000: p99 ≤ 30 ms', `rtd ${mmm('fan_rtd_1000_p99')} ms (Node ${mmm('fan_node_1000_p99')} ms)`,
            verdict(med('fan_rtd_1000_p99'), '<=', 30)],
        [`room of ${FAN_N}: p99 ≤ 100 ms and ≤ 0.7× Node's p99`,
            `rtd ${mmm('fan_rtd_big_p99')} ms, ${bigRatio}× Node's ${mmm('fan_node_big_p99')} ms; the bare lws echo ${mmm('fan_echo_big_p99')} ms`,
            both(verdict(big, '<=', 100), verdict(bigRatio, '<=', 0.7))],
        [`sustained deliveries/s to a ${FAN_N} room ≥ 2× Node and ≥ 0.7× the bare lws echo`,
            `${mmm('fan_dps_ratio')}× Node, ${mmm('fan_dps_frac_echo')}× the echo`,
            both(verdict(med('fan_dps_ratio'), '>=', 2), verdict(med('fan_dps_frac_echo'), '>=', 0.7))],
        ['connects/s (JWT checked, rooms joined) ≥ 5,000 at every size',
            rates.length ? rates.map(([n, v]) => `${v} at ${n}`).join(', ') : 'not measured',
            verdict(minRate, '>=', 5000)],
        [`reconnect storm of the most sockets held (${r('storm_max_n') || FAN_N}): all back and receiving within 10 s`,
            `rtd ${mmm(r('storm_max_n') ? 'stormmax_rtd_recv_s' : 'storm_rtd_recv_s')} s`,
            verdict(med(r('storm_max_n') ? 'stormmax_rtd_recv_s' : 'storm_rtd_recv_s'), '<=', 10)],
        ['idle memory per connection ≤ 1.3× the bare lws echo',
            `${memRatio}× at ${IDLE_TARGET}${memTop !== '-' && IDLE_MAX !== IDLE_TARGET ? `, ${memTop}× at ${IDLE_MAX}` : ''} (private anonymous memory)`,
            verdict(memRatio, '<=', 1.3)],
    ];
    return '| target | measured | verdict |\n|---|---|---|\n' +
        rows.map((x) => `| ${x.join(' | ')} |`).join('\n');
}

// verdict: met / not met / not measured for VALUE OP LIMIT.
function verdict(x, op, lim) {
    if (!isNum(x)) return 'not measured';
    const v = Number(x);
    return (op === '<=' && v <= lim) || (op === '>=' && v >= lim) ? '**met**' : '**not met**';
}
const nm_or = (sec, text) => (NM[sec] ? `not measured: ${NM[sec]}` : text);

// ---- samples -> results ---------------------------------------------------------

function load() {
    const lines = readFileSync(`${OUT}/samples.txt`, 'utf8').split('\n');
    const samples = {};
    const order = [];
    const derived = [];
    for (const line of lines) {
        const eq = line.indexOf('=');
        if (eq < 0) continue;
        let k = line.slice(0, eq);
        const v = line.slice(eq + 1);
        if (k.startsWith('@')) {
            k = k.slice(1);
            samples[k] = v.split(' ').filter(Boolean);
            R[k] = stats(samples[k]);
        } else if (k.startsWith('%')) {
            k = k.slice(1);
            derived.push([k, v.split(' ').filter(Boolean)]);
        } else if (k.startsWith('nm_')) {
            NM[k.slice(3)] = v;
        } else {
            R[k] = v;
        }
        order.push(k.startsWith('nm_') ? line : k);
    }
    for (const [k, [op, ...args]] of derived) {
        if (op === 'ratio') {
            const a = samples[args[0]] ?? [];
            const b = samples[args[1]] ?? [];
            const n = Math.max(a.length, b.length);
            const v = [];
            for (let i = 0; i < n; i++) v.push(div(a[i], b[i]));
            R[k] = stats(v);
        } else if (op === 'e2e_best') {
            const best = [];
            for (let run = 0; run < RUNS; run++) {
                let top = 0;
                for (const rate of E2E_RATES) {
                    const p99 = (samples[`e2e_${rate}_p99`] ?? [])[run];
                    const ach = (samples[`e2e_${rate}_ach`] ?? [])[run];
                    const lost = (samples[`e2e_${rate}_lost`] ?? [])[run];
                    if (isNum(p99) && Number(p99) >= 0 && Number(p99) < 50 &&
                        isNum(ach) && Number(ach) >= 0.9 * Number(rate) && isNum(lost) && Number(lost) === 0) {
                        top = Number(rate);
                    }
                }
                best.push(String(top));
            }
            R[k] = stats(best);
        } else {
            console.error(`report.mjs: unknown derivation "${op}" for ${k}`);
            R[k] = '- - -';
        }
    }
    const res = order.map((k) => (k.startsWith('nm_') ? k : `${k}=${R[k]}`));
    writeFileSync(`${OUT}/results.txt`, res.join('\n') + '\n');
}

// ---- plots ----------------------------------------------------------------------

const nan = (v) => (v === '-' ? 'NaN' : v);
function plots() {
    const d = OUT;
    writeFileSync(`${d}/idle.dat`, IDLE_SIZES.map((n) =>
        `${n} ${nan(med(`idle_rtd_${n}_bpc`))} ${nan(med(`idle_node_${n}_bpc`))} ${nan(med(`idle_echo_${n}_bpc`))}\n`).join(''));
    writeFileSync(`${d}/fanout.dat`,
        `10 ${nan(med('fan_rtd_10_p99'))} ${nan(med('fan_node_10_p99'))} NaN\n` +
        `1000 ${nan(med('fan_rtd_1000_p99'))} ${nan(med('fan_node_1000_p99'))} NaN\n` +
        `${FAN_N} ${nan(med('fan_rtd_big_p99'))} ${nan(med('fan_node_big_p99'))} ${nan(med('fan_echo_big_p99'))}\n`);
    writeFileSync(`${d}/e2e.dat`, E2E_RATES.filter((rt) => r(`e2e_${rt}_p99`) !== '')
        .map((rt) => `${rt} ${med(`e2e_${rt}_p50`)} ${med(`e2e_${rt}_p99`)}\n`).join(''));
    writeFileSync(`${d}/rest.dat`,
        `"send (POST)" ${nan(med('rest_send_ours'))} ${nan(med('rest_send_node'))} ${nan(med('pgb_c16'))}\n` +
        `"history (GET)" ${nan(med('rest_hist_ours'))} ${nan(med('rest_hist_node'))} NaN\n`);
    const script = `set terminal pngcairo size 720,420 font ",10" noenhanced
set grid
set key top left
set output '${d}/idle.png'
set title 'Memory per idle connection (authenticated, in its rooms, pinged)'
set xlabel 'connections'; set ylabel 'bytes per connection (RSS delta / n)'
set logscale x
set yrange [0:*]
plot '${d}/idle.dat' using 1:2 with linespoints lw 2 title 'chat-rtd', \\
     '' using 1:3 with linespoints lw 2 title 'Node Socket.IO ${r('v_sio')}', \\
     '' using 1:4 with linespoints lw 2 title 'bare lws echo (ceiling)'
set output '${d}/fanout.png'
set title 'Fan-out: NOTIFY to the last member, p99'
set xlabel 'room members'; set ylabel 'ms'
plot '${d}/fanout.dat' using 1:2 with linespoints lw 2 title 'chat-rtd', \\
     '' using 1:3 with linespoints lw 2 title 'Node Socket.IO', \\
     '' using 1:4 with points pt 7 ps 1.5 title 'bare lws echo (client-triggered)'
unset logscale x
set output '${d}/e2e.png'
set title 'End to end: POST via nginx + FastCGI to the other member socket'
set xlabel 'messages per second (target)'; set ylabel 'ms'
set logscale y
set yrange [*:*]
plot '${d}/e2e.dat' using 1:2 with linespoints lw 2 title 'p50', '' using 1:3 with linespoints lw 2 title 'p99', 50 with lines dt 2 title '50 ms'
unset logscale y
set output '${d}/rest.png'
set title 'REST throughput (requests per second)'
set style data histogram; set style histogram cluster gap 1; set style fill solid 0.8 border -1
set xlabel ''; set ylabel 'requests/s'; set yrange [0:*]
set key top right
plot '${d}/rest.dat' using 2:xtic(1) title 'ours: nginx + chat-fcgi', '' using 3 title 'Node http + pg', '' using 4 title 'pgbench ceiling (16 clients)'
`;
    const g = spawnSync('gnuplot', [], { input: script, encoding: 'utf8' });
    if (g.error) return; // no gnuplot: the report goes without plots
    appendFileSync(`${OUT}/bench.log`, (g.stdout ?? '') + (g.stderr ?? ''));
    for (const p of ['idle', 'fanout', 'e2e', 'rest']) {
        const f = `${d}/${p}.png`;
        if (existsSync(f) && statSync(f).size > 0) copyFileSync(f, `${RES}/${p}.png`);
    }
    copyFileSync(`${OUT}/results.txt`, `${RES}/results.txt`);
}

// ---- report ---------------------------------------------------------------------

function report() {
    const s_frac4 = div(med('rest_send_ours'), med('pgb_c4'));
    const s_frac16 = div(med('rest_send_ours'), med('pgb_c16'));
    const a4 = isNum(med('pgb_c4')) ? Number(med('pgb_c4')) : 0;
    const a16 = isNum(med('pgb_c16')) ? Number(med('pgb_c16')) : 0;
    const ceil_best = String(a4 > a16 ? a4 : a16);
    const s_frac_best = div(med('rest_send_ours'), ceil_best);
    const idle_top = IDLE_MAX;
    const bpc10k = med(`idle_rtd_${IDLE_TARGET}_bpc`);
    const bpc_ratio = div(bpc10k, med(`idle_node_${IDLE_TARGET}_bpc`));
    // round by round (pgbench run right after ours); older samples: the
    // pgbench section's median
    const h_frac_prep = isNum(med('rest_hist_frac_pgb')) ? med('rest_hist_frac_pgb')
        : div(med('rest_hist_ours'), med('pgbh_prepared'));
    const e2e_frac = div(med('e2e_best'), ceil_best);
    let o = '';
    o += `# Benchmarks

Written by \`make bench\` (scripts/bench.sh) on ${r('m_date')} at commit \`${r('v_commit')}\`;
do not edit by hand. Raw outputs: \`build/bench/raw/\`; plots: \`tests/bench/results/\`
(copied from \`build/bench/\`, small PNGs, committed with this file).
Each figure is the **median of ${RUNS} runs (min–max)** unless it says otherwise; each
ratio is computed inside one run (ours and the reference measured back to back) and
then summarised the same way.${QUICK === '1' ? '\n\n**QUICK run (BENCH_QUICK=1): small counts and short runs, not the real figures.**' : ''}

## Machine

| | |
|---|---|
| CPU | ${r('m_cpu')} × ${r('m_cores')} cores, shared with other work while this ran (load average ${r('m_load')} at the start, ${r('m_load_end') || '?'} at the end) |
| RAM | ${r('m_ram')} |
| OS, kernel | ${r('m_os')}, ${r('m_kernel')} |
| PostgreSQL | ${r('v_pg')} (private cluster, durable commits: fsync on, synchronous_commit on; default settings otherwise) |
| nginx | ${r('v_nginx')} |
| Node | ${r('v_node')}, socket.io ${r('v_sio')}, pg ${r('v_pgjs')} |
| libwebsockets | ${r('v_lws')} |
| wrk | ${r('v_wrk')} |
| open files per process | ${r('m_nofile')} (hard limit of this machine; it caps any one server, and each load generator process, at about that many sockets) |

${NM.node ? `**Node reference not measured:** ${NM.node}.

` : ''}Everything — PostgreSQL, nginx, chat-fcgi (${r('m_fcgi_workers') || 4} workers), chat-rtd, the Node servers, the load
generator, wrk — shares the same ${r('m_cores')} cores, so every throughput figure is also a
measure of the client's own CPU use; the ratios are the meaningful part.

## Targets

| target | measured | verdict |
|---|---|---|
| idle connection ≤ 8 KB | rtd ${mmm(`idle_rtd_${IDLE_TARGET}_bpc`)} B at ${IDLE_TARGET} connections | ${verdict(bpc10k, '<=', 8192)} |
| idle connection ≤ 1/10 of the reference | rtd / Node = ${bpc_ratio} at ${IDLE_TARGET} | ${verdict(bpc_ratio, '<=', 0.1)} |
| fan-out to ${FAN_N} members p99 ≤ 100 ms | rtd ${mmm('fan_rtd_big_p99')} ms | ${verdict(med('fan_rtd_big_p99'), '<=', 100)} |
| room of 10: p99 ≤ 10 ms with ${sweepTop()} sockets connected | rtd ${r(`sweep_rtd_${sweepTop()}_p99`) || '-'} ms (Node ${r(`sweep_node_${sweepTop()}_p99`) || '-'} ms)${r('sweep2s_rtd_p99') ? `; pinged every ${Number(r('sweep2s_ping_ms')) / 1000} s instead of ${Number(r('sweep_ping_ms')) / 1000}: rtd ${r('sweep2s_rtd_p99')} ms (Node ${r('sweep2s_node_p99') || '-'} ms)` : ''} | ${verdict(Number(r(`sweep_rtd_${sweepTop()}_p99`)) || NaN, '<=', 10)} |
| reconnect storm of ${FAN_N} sockets: all back and receiving within 10 s | rtd ${mmm('storm_rtd_recv_s')} s (Node ${mmm('storm_node_recv_s')} s) | ${verdict(med('storm_rtd_recv_s'), '<=', 10)} |
${r('storm_max_n') ? `| reconnect storm of ${r('storm_max_n')} sockets (the most held): all back and receiving within 10 s | rtd ${mmm('stormmax_rtd_recv_s')} s (Node ${mmm('stormmax_node_recv_s')} s) | ${verdict(med('stormmax_rtd_recv_s'), '<=', 10)} |
` : ''}| fan-out deliveries/s ≥ 5× the reference | ${mmm('fan_dps_ratio')} | ${verdict(med('fan_dps_ratio'), '>=', 5)} |
| end-to-end p99 ≤ 10 ms at 500 messages/s | ${mmm('e2e_500_p99')} ms | ${verdict(med('e2e_500_p99'), '<=', 10)} |
| send-message throughput ≥ 70% of the pgbench ceiling | ${s_frac_best} of the best pgbench figure (${ceil_best} TPS) | ${verdict(s_frac_best, '>=', 0.7)} |
| send-message throughput ≥ 3× the Node reference | ${mmm('rest_send_ratio')} | ${verdict(med('rest_send_ratio'), '>=', 3)} |
| history read ≥ 3× the Node reference | ${mmm('rest_hist_ratio')} | ${verdict(med('rest_hist_ratio'), '>=', 3)} |

REST path targets:

| target | measured | verdict |
|---|---|---|
| send ≥ 0.9× the pgbench send ceiling (same run) | ${s_frac_best} of ${ceil_best} TPS | ${verdict(s_frac_best, '>=', 0.9)} |
| send ≥ 1.5× the Node reference | ${mmm('rest_send_ratio')} (Node behind nginx: ${mmm('rest_send_ratio_ng')}) | ${verdict(med('rest_send_ratio'), '>=', 1.5)} |
| history ≥ 2× the Node reference | ${mmm('rest_hist_ratio')} (Node behind nginx: ${mmm('rest_hist_ratio_ng')}) | ${verdict(med('rest_hist_ratio'), '>=', 2)} |
| history ≥ 0.7× the prepared pgbench figure | ${isNum(med('rest_hist_frac_pgb')) ? `${mmm('rest_hist_frac_pgb')} (round by round, pgbench run right after ours: ${mmm('rest_hist_pgb')} TPS)` : `${h_frac_prep} of ${med('pgbh_prepared')} TPS`} | ${verdict(h_frac_prep, '>=', 0.7)} |
| a POST answered in p50 ≤ 5 ms at 100 messages/s | ${med('e2e_100_http50')} ms | ${verdict(med('e2e_100_http50'), '<=', 5)} |
| a POST answered in p99 ≤ 15 ms at 100 messages/s | ${med('e2e_100_http99')} ms | ${verdict(med('e2e_100_http99'), '<=', 15)} |
| POST → other member's socket p99 ≤ 10 ms at 500 messages/s | ${mmm('e2e_500_p99')} ms | ${verdict(med('e2e_500_p99'), '<=', 10)} |
| highest rate held with p99 < 50 ms ≥ 0.8× the pgbench ceiling | ${med('e2e_best')} of ${ceil_best} TPS = ${e2e_frac} | ${verdict(e2e_frac, '>=', 0.8)} |

rtd at scale targets:

${rtdTargets()}

## 1. Connections: memory per idle connection

Each connection is a stock Socket.IO v4 client session (our C load generator): WebSocket
handshake, Engine.IO open, CONNECT with a JWT minted for a seeded user, joined to
\`user:<id>\` and the user's 2 chat rooms (users b10001…; a team chat of 10 and a
department chat of 1,000). Each run starts the server afresh and ramps through the
sizes; at each size it holds ${HOLD} s so that every socket answers at least one ping
(ping interval ${PING_MS} ms for both servers, shortened from the default 25 s so that a
ping round fits in the hold), then reads the server's private anonymous memory
(\`RssAnon\` in /proc/PID/status: heap, thread arenas, buffers). Bytes per
connection = (RssAnon at that size − RssAnon before the first connection) / connections
held. VmRSS would also count shared library code paged in on first use (for rtd,
libcrypto's ~2 MB at the first token check: ~200 B per connection at 10,000 that no
connection costs); the VmRSS figures stay in the raw outputs (\`stepN_bpc_vmrss\`).
The largest size is ramped to in the first run only (its ramp is the slowest),
so its row is one run. Connections go straight to the server's port (not through
nginx), from ${NSRC} source addresses 127.0.0.2…

${NM.idle ? `**Not measured:** ${NM.idle}.
` : ''}${NM.rtd ? `**chat-rtd not measured:** ${NM.rtd}.
` : ''}Runs: ${r('idle_runs') || '0'} for the smaller sizes.

| connections | chat-rtd B/conn | Node Socket.IO B/conn | bare lws echo B/conn | rtd held (pinged) | Node held (pinged) | rtd connects/s | Node connects/s |
|---|---|---|---|---|---|---|---|
`;
    for (const n of IDLE_SIZES) {
        o += `| ${n} | ${mmm(`idle_rtd_${n}_bpc`)} | ${mmm(`idle_node_${n}_bpc`)} | ${mmm(`idle_echo_${n}_bpc`)} | ` +
            `${med(`idle_rtd_${n}_held`)} (${med(`idle_rtd_${n}_pinged`)}) | ${med(`idle_node_${n}_held`)} (${med(`idle_node_${n}_pinged`)}) | ` +
            `${mmm(`idle_rtd_${n}_rate`)} | ${mmm(`idle_node_${n}_rate`)} |\n`;
    }
    o += `| 50,000 | not measured: one process may hold at most ${r('m_nofile')} open files on this machine (hard limit; raising it needs CAP_SYS_RESOURCE, which this machine does not grant), so neither server can hold 50,000 sockets here | | | | | | |

The largest size tried (${idle_top}) is about the most connections one process can hold here
(the open-file limit). Held at that size within the ${CONNECT_TIMEOUT} s connect timeout: rtd
${med(`idle_rtd_${idle_top}_held`)}, Node ${med(`idle_node_${idle_top}_held`)}, echo
${med(`idle_echo_${idle_top}_held`)}; where rtd holds fewer, its connect rate past 10,000 sockets
(column above) is the limit, not the file limit — see the finding in §2. The client side
is not the limit: ${CAP_PROCS} load generator processes held ${get('cap_held')} of ${get('cap_total')}
connections at once (${get('cap_pinged')} answering pings), against ${CAP_PROCS} echo servers, from
${NSRC} source addresses.

![idle](tests/bench/results/idle.png)

**What limits it.** Memory: for rtd, what lws keeps per connection (the bare echo row is
that floor: the same library with no rooms, users or token) plus ours (\`struct rt_conn\`,
its room slots, the user record, malloc overhead); the small sizes carry the process's
fixed growth (worker arenas, hash tables) spread over few sockets. For Node, a Socket.IO
socket, an Engine.IO socket and a \`ws\` socket with their buffers and room sets, all JS
objects. Connect rate: rtd writes the user's presence row in a durable transaction on
every connect (4 worker threads), so its ramp is bounded by commits; Node's reference
does no presence, only the two lookups. Count: the open-file limit above. **What would
move it:** several rtd processes behind nginx (they share PostgreSQL as the bus) for
more than ~20k sockets per machine here; for memory, smaller lws buffers.

## 2. Fan-out

${FAN_N} clients connected once per server (users b1…b${FAN_N}, each in a team chat of 10, a
department chat of 1,000 and the chat \`all\` of ${FAN_N}), then ${RUNS} rounds of measures on
those connections (the medians below are over rounds; ratios are round by round, the
servers measured one after the other). In each round, one message at a time (${FAN_MSGS} per room size): the load
generator inserts the \`eventos\` row (durable commit), then sends the NOTIFY in its own
\`synchronous_commit = off\` transaction, exactly as the application does, and times from
just before that NOTIFY to each member's receipt of the \`42["mensaje:nuevo",…]\` frame
(a Mensaje-sized payload, ~500 bytes). "Last" is the time to the last member, per message.
Then ${SUSTAIN} s of back-to-back messages to the ${FAN_N} room, 4 in flight: deliveries per second.
The echo ceiling has no database: connection 0 sends the event and the bare lws server
broadcasts it to everyone.

${NM.fanout ? `**Not measured:** ${NM.fanout}.
` : ''}${NM.rtd ? `**chat-rtd not measured:** ${NM.rtd}.
` : ''}
| room size | rtd last p50 ms | rtd last p99 ms | Node last p50 ms | Node last p99 ms | bare lws echo last p50 / p99 ms |
|---|---|---|---|---|---|
| 10 | ${mmm('fan_rtd_10_p50')} | ${mmm('fan_rtd_10_p99')} | ${mmm('fan_node_10_p50')} | ${mmm('fan_node_10_p99')} | |
| 1,000 | ${mmm('fan_rtd_1000_p50')} | ${mmm('fan_rtd_1000_p99')} | ${mmm('fan_node_1000_p50')} | ${mmm('fan_node_1000_p99')} | |
| ${FAN_N} | ${mmm('fan_rtd_big_p50')} | ${mmm('fan_rtd_big_p99')} | ${mmm('fan_node_big_p50')} | ${mmm('fan_node_big_p99')} | ${mmm('fan_echo_big_p50')} / ${mmm('fan_echo_big_p99')} |

| sustained, room of ${FAN_N} | deliveries/s |
|---|---|
| chat-rtd | ${mmm('fan_rtd_dps')} |
| Node Socket.IO | ${mmm('fan_node_dps')} |
| bare lws echo (ceiling) | ${mmm('fan_echo_dps')} |
| rtd / Node (same run) | ${mmm('fan_dps_ratio')} |
| rtd / echo ceiling (same run) | ${mmm('fan_dps_frac_echo')} |

**Finding for rtd (profiled with \`perf\`, see "rtd profile" below).** In the figures above
(measured before the timer rework), rtd's delivery time grew with the number of sockets
*connected*, not with the room. \`perf record -g -p <chat-rtd>\` during this fan-out
phase confirmed the cause: 93.6% of chat-rtd's samples in libwebsockets'
\`lws_dll2_add_sorted\`, the insertion into lws 4.1's one sorted timer list, which every
per-socket \`lws_sul\` (Engine.IO ping) reschedule walks: O(sockets) per reschedule. rtd's
per-socket and per-user timers are now fixed-delay queues of its own driven by one
\`lws_sul\` (rtd/timer.h), and lws runs on a libev (epoll) loop instead of its \`poll()\`
over every descriptor, which was the next item of the profile. Re-run \`make bench\`
for the figures of the current code.

Incomplete messages (some member did not get it within 5 s), per run: rtd
${mmm('fan_rtd_big_inc')} for ${FAN_N}, Node ${mmm('fan_node_big_inc')}.

![fanout](tests/bench/results/fanout.png)

**What limits it.** The two cores: the server writes ${FAN_N} frames per message while the load
generator reads them on the same machine (and other work ran beside it), so a large
share of the CPU is the client's and all three servers are measured through the same
bottleneck. rtd formats a frame once and queues it by reference on every socket;
Node's \`io.to(room).emit\` encodes once too but pays per-socket JS and \`ws\` work. The
echo row is the library's floor for the same writes without the database read or the
rooms. **What would move it:** the client on another machine (the figures here are a
lower bound for every server); for rtd, the gap to the echo row.

## rtd profile (perf), before and after the timer rework

Measured by hand with the bench's load generator (\`fanout\`, 10,000 sockets, rooms
of 10, 1,000 and 10,000, ping interval 2 s; seed without the 1M-message chat) and
\`perf record -g -p <chat-rtd> -- sleep 15\` started once every socket was connected.
The machine was shared: load average 9–18 on 2 cores during both runs, so absolute
figures are pessimistic for all; the two runs differ only in chat-rtd.

Before (main at b0d1b88), top of chat-rtd's profile:

| share | where |
|---|---|
| 93.6% | \`lws_dll2_add_sorted\` (libwebsockets: inserting a \`lws_sul\` into its sorted list) |
| 3.2% | libwebsockets (other) |
| 2.2% | kernel (\`pvm_irq_enable\`) |

After the timers (one \`lws_sul\` for all sockets), still on lws's \`poll()\` loop:
\`sock_poll\` 17.5%, \`fdget\` 5.4%, \`tcp_poll\` 3.2%, \`__poll\` 2.7% (about 29%: lws
polls every descriptor on every loop turn), then sending (\`__send\`, \`ws_callback\`).

After the timers and the libev (epoll) loop (commit of this section), top of the
profile (99.97% of the samples on the loop thread):

| share | where |
|---|---|
| 15.0% | kernel \`pvm_irq_enable\` (virtualisation overhead of syscalls) |
| 7.8% + 4.6% + 4.6% + 3.5% | \`sock_poll\`, \`do_epoll_ctl\`, \`fdget\`, \`epoll_ctl\`: lws turning each socket's write interest on and off around every frame |
| 4.2% | \`ws_callback\` (rtd) |
| 3.9% + 1.6% | libev \`ev_run\`, \`ev_invoke_pending\` |
| 3.6% + 2.9% + 1.4% | TCP send path (\`__inet_lookup_established\`, \`__send\`, \`__sys_sendto\`) |

| same harness, 10,000 sockets | before | after |
|---|---|---|
| connects/s (JWT checked, rooms joined) | 33 (7,823 of 10,000 in the 240 s limit) | 509 |
| sockets closed by ping timeout | 6,040 | 0 |
| room of 10: last p50 / p99 ms | no message complete within 5 s | 25 / 182 |
| room of 1,000: last p50 / p99 ms | no message complete within 5 s | 145 / 471 |
| room of 10,000: last p50 / p99 ms | no message complete within 5 s | 915 / 2,156 |
| sustained deliveries/s to the 10,000 room | 2,718 | 24,630 |

What the profile shows next: the per-frame write-interest toggling (\`epoll_ctl\`) of
lws's writeable callbacks, and the TCP send path; the issue's targets (room of 10
p99 ≤ 10 ms at 10,000 sockets, ≥ 5,000 connects/s) are **not met** in this run, which
had 5–9 runnable processes per core beside it; a \`make bench\` on a quiet machine is
needed to tell how far the remaining gap is rtd's.

## 2b. Reconnect storm

${FAN_N} stock-protocol sockets (the load generator, one user each, all in the chat of
${FAN_N}) connected; then the server is restarted under them (chat-rtd: SIGTERM, which
closes every socket with "going away", and a new start; Node: the same), and each socket
reconnects on socket.io-client's default backoff (1 s, doubling to 5 s, ±50% at random).
Timed from the first drop: until every socket is connected again (JWT checked, rooms
joined), and until one message to the chat of ${FAN_N} has reached all of them.

| | all back, s | all back and receiving, s | the message's last delivery, ms | connects/s over the storm |
|---|---|---|---|---|
| rtd | ${nm_or('storm', mmm('storm_rtd_back_s'))} | ${mmm('storm_rtd_recv_s')} | ${mmm('storm_rtd_msg_ms')} | ${mmm('storm_rtd_rate')} |
| Node (Socket.IO 4) | ${mmm('storm_node_back_s')} | ${mmm('storm_node_recv_s')} | ${mmm('storm_node_msg_ms')} | ${mmm('storm_node_rate')} |
${r('storm_max_n') ? `| rtd, ${r('storm_max_n')} sockets | ${mmm('stormmax_rtd_back_s')} | ${mmm('stormmax_rtd_recv_s')} | ${mmm('stormmax_rtd_msg_ms')} | ${mmm('stormmax_rtd_rate')} |
| Node, ${r('storm_max_n')} sockets | ${mmm('stormmax_node_back_s')} | ${mmm('stormmax_node_recv_s')} | ${mmm('stormmax_node_msg_ms')} | ${mmm('stormmax_node_rate')} |

At ${r('storm_max_n')} sockets (about the most one process may hold here: the open-file
limit), the sockets are users 1…${r('storm_max_n')}, and "receiving" is timed on the
message to the chat \`all\`, to its ${r('storm_all_n')} members among them; "all back" counts every socket.
` : ''}
The clients' own backoff sets the floor: the first attempts come 0.5–1.5 s after the drop,
and a socket that finds the server not yet listening waits 1–3 s more, so "all back" is
mostly the restart time plus that wait; what the server adds shows in the connects/s.

## 2c. A room of 10 while N sockets are connected

The same room of 10 (${r('sweep_msgs') || 20} messages, one at a time; time from the NOTIFY to each member's
socket) while N sockets in all are connected to the server: what a delivery costs should
be the room's business, not the number of sockets held. ${r('sweep_ping_ms') ? `Both servers ping every
${(Number(r('sweep_ping_ms')) / 1000).toLocaleString('en-US')} s here, the Engine.IO default that rtd ships with (\`rtd_ping_interval_ms\`); the
other sections ping every ${(Number(r('sweep2s_ping_ms') || 2000) / 1000).toLocaleString('en-US')} s (§1: a ping round within the hold), which at
${Number(sweepTop()).toLocaleString('en-US')} sockets is ${Math.round(Number(sweepTop()) * 1000 / Number(r('sweep2s_ping_ms') || 2000)).toLocaleString('en-US')} pings and as many pongs a second on the same 2 cores;
the last row is the largest N again under that load.` : ''}

${sweepTable()}

## 3. End to end: POST through nginx + FastCGI to the other member's socket

32 sender threads, each with a keep-alive connection to nginx, 4 per chat of two
(\`pair-1\`…\`pair-8\`, sent by the chat's first member), POST \`{"contenido":…}\` on a fixed schedule for ${E2E_SECS} s per rate; the
other member of each chat is connected to rtd through nginx (\`/chat/socket.io/\`).
Latency = from just before the POST is written to the receipt of the
\`mensaje:nuevo\` frame on the other member's socket. Rates step up until p99 passes 200 ms
or the senders fall behind.

| target msg/s | achieved msg/s | p50 ms | p99 ms | lost | POST answered p50 / p99 ms |
|---|---|---|---|---|---|
`;
    let any = false;
    for (const rt of E2E_RATES) {
        if (r(`e2e_${rt}_p99`) === '') continue;
        any = true;
        o += `| ${rt} | ${mmm(`e2e_${rt}_ach`)} | ${mmm(`e2e_${rt}_p50`)} | ${mmm(`e2e_${rt}_p99`)} | ${mmm(`e2e_${rt}_lost`)} | ` +
            `${med(`e2e_${rt}_http50`)} / ${med(`e2e_${rt}_http99`)} |\n`;
    }
    if (!any) o += `| ${nm_or('e2e', 'not measured')} | | | | | |\n`;
    o += `
Highest rate held with p99 < 50 ms (and nothing lost, ≥ 90% of the target achieved):
**${mmm('e2e_best')} messages/s** (0: none of the rates).

![e2e](tests/bench/results/e2e.png)

**What limits it.** Each message is a durable commit (the WAL flush on this disk), the
NOTIFY transaction after it, rtd's cursor read of \`eventos\`, and two proxy hops through
nginx; at the top rates the 4 FastCGI workers and the CPU the load generator shares.
**What would move it:** more FastCGI workers (they wait on the commit, not the CPU),
a faster WAL disk, coalesced NOTIFYs.

${breakdownSection()}

## 4. REST throughput

wrk, 2 threads, ${WRK_CONNS} connections, ${WRK_SECS} s per run; ours through nginx + chat-fcgi
(${r('m_fcgi_workers') || 4} workers), the reference \`tests/bench/ref/rest.mjs\` (node:http + pg, one
process, a pool of as many connections, the same SQL) measured twice: on its own port, and
behind an nginx like ours (2 workers, access log, kept-alive upstream connections), so both
pay the same proxy hop. Send: \`POST /chats/{id}/mensajes\` from
one user to one chat. History: \`GET /chats/{id}/mensajes?limite=50&antes=<random id>\`
in the chat \`big\` of 1,000,000 messages, \`antes\` drawn uniformly over its ids.

| | ours req/s | Node req/s | ours / Node (same run) | Node behind nginx req/s | ours / that |
|---|---|---|---|---|---|
| send message | ${nm_or('rest_send', `${mmm('rest_send_ours')}`)} | ${mmm('rest_send_node')} | ${mmm('rest_send_ratio')} | ${nm_or('rest_node_nginx', `${mmm('rest_send_nodeng')}`)} | ${mmm('rest_send_ratio_ng')} |
| read history (50, deep) | ${nm_or('rest_hist', `${mmm('rest_hist_ours')}`)} | ${mmm('rest_hist_node')} | ${mmm('rest_hist_ratio')} | ${nm_or('rest_node_nginx', `${mmm('rest_hist_nodeng')}`)} | ${mmm('rest_hist_ratio_ng')} |

The same database work without HTTP (pgbench, 4 clients, \`tests/bench/history.pgbench\`):

| history read, database only | TPS |
|---|---|
| unnamed statements, parsed and planned every time | ${mmm('pgbh_extended')} |
| prepared statements (what chat-fcgi's registered statements and the Node reference's named queries do) | ${mmm('pgbh_prepared')} |
| prepared, run right after ours in each round above (the ratio's denominator) | ${mmm('rest_hist_pgb')} |

![rest](tests/bench/results/rest.png)

**What limits it.** Send: the durable commit (one WAL flush per message; the workers'
commits share flushes) — chat-fcgi sends a message in two round trips (BEGIN, the login
check of a user the worker knows, and the insert with its access check; the \`eventos\` row,
the push queue and COMMIT together) and the wake-up NOTIFY after the response, every
statement prepared once per connection. History: one round trip (the login check, the
access check and the page with its Mensaje columns), so what is left is PostgreSQL's work on
the 50-message statement and the CPU the load generator shares. \`log_timing = on\` shows each request's round trips in
chat-fcgi's log. **What would move it:** a faster WAL disk (send); the Mensaje projection's
per-row subqueries (history).

## 5. Ceilings

| ceiling | figure | ours as a fraction |
|---|---|---|
| pgbench, send-message transaction, 4 clients (= FastCGI workers) | ${mmm('pgb_c4')} TPS | send ${s_frac4} |
| pgbench, send-message transaction, 16 clients | ${mmm('pgb_c16')} TPS | send ${s_frac16} |
| pgbench, history read, 4 clients, unprepared | ${mmm('pgbh_extended')} TPS | history ${div(med('rest_hist_ours'), med('pgbh_extended'))} |
| pgbench, history read, 4 clients, prepared | ${mmm('pgbh_prepared')} TPS | history ${div(med('rest_hist_ours'), med('pgbh_prepared'))} |
| bare lws echo, fan-out to ${FAN_N}, deliveries/s | ${mmm('fan_echo_dps')} | rtd ${mmm('fan_dps_frac_echo')} |
| bare lws echo, idle connection at ${IDLE_TARGET} | ${mmm(`idle_echo_${IDLE_TARGET}_bpc`)} B | rtd ${div(bpc10k, med(`idle_echo_${IDLE_TARGET}_bpc`))}× |

The pgbench script (\`tests/bench/send.pgbench\`) holds the user lookup, the durable
transaction (the message insert with its access check, the \`eventos\` row) and then the
NOTIFY in its own \`synchronous_commit = off\` transaction — the database work of one send,
with no HTTP, JSON or JWT. **What limits it:** the WAL flush per commit and the global
lock a notifying commit takes (DESIGN.md); more clients buy group commit.

## 6. Delta sync after an hour away

User b30001 takes a cursor (\`GET /sync/cursor\`), then 20 messages are posted in each of 50
chats (${r('sync_posted') || '0'} posted); one \`POST /sync {cursor}\` is timed with curl, 5 times.

| | |
|---|---|
| one sync call | ${nm_or('sync', `${mmm('sync_ms')} ms`)} |
| answer | ${nm_or('sync', `${r('sync_bytes') || '?'} bytes, ${r('sync_msgs') || '?'} chat_id fields, hay_mas ${r('sync_hay_mas') || '?'} (the call timed is the first page)`)} |

## 7. Search over 1,000,000 messages

User b30001 (a member of the 1,000,000-message chat and 51 small ones) calls
\`GET /buscar\` through nginx, one request at a time with curl on one kept-alive
connection, ${r('search_common_n') || '?'} calls per row; a "rare" call looks up a random
message number (one hit), so no two calls repeat. Latency is curl's total time.
Load average before / after: ${r('search_load_before') || '?'} / ${r('search_load_after') || '?'} (2 cores, shared).

| query | matches | p50 ms | p99 ms |
|---|---|---|---|
| \`prueba\` (in every message), relevance | 1,000,000 | ${nm_or('search', get('search_common_p50'))} | ${nm_or('search', get('search_common_p99'))} |
| \`prueba\`, \`orden=fecha\` | 1,000,000 | ${nm_or('search', get('search_common_date_p50'))} | ${nm_or('search', get('search_common_date_p99'))} |
| a message number (rare word), relevance | 1 | ${nm_or('search', get('search_rare_p50'))} | ${nm_or('search', get('search_rare_p99'))} |
| \`"historial largo"\` + a number (phrase of common words and a rare one) | 1 | ${nm_or('search', get('search_phrase_p50'))} | ${nm_or('search', get('search_phrase_p99'))} |
| \`zanahoria\` (no match) | 0 | ${nm_or('search', get('search_none_p50'))} | ${nm_or('search', get('search_none_p99'))} |

Each answer holds up to 20 full Mensaje objects with excerpts. **What limits it:** a common
word ranks only the newest 2,000 matches (\`BUSQ_CANDIDATES\`), read backwards along the
primary key; a rare word is a GIN index lookup on \`(chat_id, busqueda)\`; the rest is
loading the page (Mensaje objects, \`ts_headline\` on 20 texts).
${notas()}
## How to reproduce

\`make bench\` (about 30 minutes; it needs nothing running; ports are picked at random).
\`BENCH_QUICK=1 BENCH_RUNS=1 make bench\` is a smoke run of a few minutes with small counts.
Sources: \`scripts/bench.sh\`, \`tests/bench/\` (\`loadgen.c\` the Socket.IO load generator,
\`echo.c\` the bare lws ceiling, \`ref/\` the Node servers, \`seed.sql\`, \`*.pgbench\`,
\`*.lua\` for wrk).
`;
    writeFileSync(`${MD}.tmp`, o);
    renameSync(`${MD}.tmp`, MD);
}

load();
plots();
report();
