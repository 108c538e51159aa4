// rt.js: a small Socket.IO v4 client over the browser's WebSocket (Engine.IO 4
// framing, default namespace, JSON payloads only) with reconnect and backoff.
//
// Engine.IO packets: "0" open {sid, pingInterval, pingTimeout}, "1" close,
// "2" ping (answered "3"), "4" message. Socket.IO packets ride in "4":
// "0" CONNECT (+auth JSON), "1" DISCONNECT, "2" EVENT, "3" ACK, "4" CONNECT_ERROR;
// an EVENT or ACK may carry an id between the type and the JSON array.

const AUTH_ERRORS = new Set(['token_invalido', 'usuario_desactivado']);

/**
 * createRealtime({path, getToken, onEvent, onState}): path is the Socket.IO
 * path ("/chat/socket.io"); getToken() the JWT or null (then the ERP cookie
 * authenticates the upgrade). onEvent(name, data) gets every server event;
 * onState(state, info) gets "conectando" | "conectado" | "desconectado" |
 * "error_auth", info {intento, reintentoMs, error, reconexion}.
 */
export function createRealtime({ path = '/chat/socket.io', getToken = () => null,
  onEvent = () => {}, onState = () => {}, url } = {}) {
  let ws = null;
  let state = 'desconectado';
  let attempt = 0;
  let retryTimer = 0;
  let pingTimer = 0;
  let pingWindow = 45000;
  let nextAck = 1;
  const acks = new Map(); // id -> {resolve, timer}
  let stopped = true;
  let everConnected = false;

  function wsUrl() {
    if (url) return url;
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${proto}//${location.host}${path.replace(/\/$/, '')}/?EIO=4&transport=websocket`;
  }

  function setState(s, info = {}) {
    state = s;
    onState(s, Object.assign({ intento: attempt }, info));
  }

  function armPingWatch() {
    clearTimeout(pingTimer);
    // The server pings every pingInterval; silence past interval+timeout = dead link.
    pingTimer = setTimeout(() => { if (ws) ws.close(); }, pingWindow);
  }

  function send(s) {
    if (ws && ws.readyState === WebSocket.OPEN) { ws.send(s); return true; }
    return false;
  }

  async function open() {
    clearTimeout(retryTimer);
    if (stopped) return;
    setState('conectando');
    let sock;
    try {
      sock = new WebSocket(wsUrl());
    } catch (e) {
      scheduleRetry(String(e));
      return;
    }
    ws = sock;
    sock.onmessage = async (ev) => {
      if (sock !== ws || typeof ev.data !== 'string') return;
      const d = ev.data;
      switch (d[0]) {
        case '0': { // Engine.IO open
          let hs = {};
          try { hs = JSON.parse(d.slice(1)); } catch (_) { /* defaults */ }
          pingWindow = (hs.pingInterval || 25000) + (hs.pingTimeout || 20000);
          armPingWatch();
          let token = null;
          try { token = await getToken(); } catch (_) { token = null; }
          send('40' + (token ? JSON.stringify({ token }) : ''));
          break;
        }
        case '2': // ping
          armPingWatch();
          send('3' + d.slice(1));
          break;
        case '1':
          sock.close();
          break;
        case '4':
          onSocketPacket(d.slice(1));
          break;
        default:
          break;
      }
    };
    sock.onclose = () => {
      if (sock !== ws) return;
      ws = null;
      clearTimeout(pingTimer);
      failAcks();
      if (state === 'error_auth') return;
      scheduleRetry();
    };
    sock.onerror = () => { /* onclose follows */ };
  }

  function onSocketPacket(p) {
    const type = p[0];
    let i = 1;
    if (p[i] === '/') { // a namespace other than "/" ends at ","; ours is "/"
      const comma = p.indexOf(',', i);
      i = comma < 0 ? p.length : comma + 1;
    }
    let id = '';
    while (i < p.length && p[i] >= '0' && p[i] <= '9') id += p[i++];
    let data = null;
    if (i < p.length) {
      try { data = JSON.parse(p.slice(i)); } catch (_) { return; }
    }
    switch (type) {
      case '0': { // CONNECT ok
        const reconexion = everConnected;
        everConnected = true;
        attempt = 0;
        setState('conectado', { reconexion, sid: data && data.sid });
        break;
      }
      case '4': { // CONNECT_ERROR
        const codigo = (data && data.message) || 'error';
        if (AUTH_ERRORS.has(codigo)) {
          setState('error_auth', { error: codigo });
          // a page-provided getToken may refresh the token: try again, slowly
          attempt = Math.max(attempt, 5);
          const s = ws; ws = null;
          if (s) s.close();
          scheduleRetry(codigo, true);
        } else if (ws) {
          ws.close();
        }
        break;
      }
      case '1': // server disconnected us: come back
        if (ws) ws.close();
        break;
      case '2': { // EVENT
        if (!Array.isArray(data) || typeof data[0] !== 'string') return;
        const [name, ...args] = data;
        if (id) {
          // we answer server acks with an empty ack (no server event asks today)
          send('43' + id + '[]');
        }
        if (name === 'sesion:expirada') {
          // the token that opened this socket expired: reconnect at once with
          // a fresh one from getToken() (page function or cookie); the
          // reconnection runs the delta sync, so nothing is missed
          const s = ws; ws = null;
          if (s) s.close();
          clearTimeout(pingTimer);
          failAcks();
          attempt = 0;
          setState('conectando', { error: name });
          clearTimeout(retryTimer);
          retryTimer = setTimeout(open, 100);
          return;
        }
        try { onEvent(name, args[0], args); } catch (e) { console.error('chat: evento', name, e); }
        break;
      }
      case '3': { // ACK
        const a = acks.get(id);
        if (a) {
          acks.delete(id);
          clearTimeout(a.timer);
          a.resolve(Array.isArray(data) ? data[0] : data);
        }
        break;
      }
      default:
        break;
    }
  }

  function failAcks() {
    for (const [, a] of acks) {
      clearTimeout(a.timer);
      a.resolve({ ok: false, error: 'desconectado' });
    }
    acks.clear();
  }

  function scheduleRetry(error, keepState) {
    if (stopped) return;
    clearTimeout(retryTimer);
    const base = Math.min(10000, 500 * 2 ** Math.min(attempt, 5));
    const ms = Math.round(base / 2 + Math.random() * base / 2);
    attempt++;
    if (!keepState) setState('desconectado', { reintentoMs: ms, error });
    retryTimer = setTimeout(open, ms);
  }

  function onOnline() {
    if (!stopped && state !== 'conectado' && state !== 'conectando') { attempt = 0; open(); }
  }

  return {
    /** start(): connects, and keeps reconnecting until stop(). */
    start() {
      if (!stopped) return;
      stopped = false;
      window.addEventListener('online', onOnline);
      open();
    },
    /** stop(): closes the socket and stops reconnecting. */
    stop() {
      stopped = true;
      clearTimeout(retryTimer);
      clearTimeout(pingTimer);
      window.removeEventListener('online', onOnline);
      const s = ws; ws = null;
      if (s) { try { s.send('41'); } catch (_) { /* closing anyway */ } s.close(); }
      failAcks();
      setState('desconectado');
    },
    /** reconnectNow(): skip the backoff wait (e.g. the user asked). */
    reconnectNow() { attempt = 0; if (!ws) open(); },
    /**
     * emit(event, data, {ack, timeout}): sends an event; with ack a promise of
     * the server's answer ({ok, ...}), {ok:false,error} on timeout or when
     * not connected. Without ack, returns whether it was sent.
     */
    emit(event, data, { ack = false, timeout = 8000 } = {}) {
      if (state !== 'conectado') return ack ? Promise.resolve({ ok: false, error: 'desconectado' }) : false;
      if (!ack) return send('42' + JSON.stringify([event, data]));
      const id = String(nextAck++);
      return new Promise((resolve) => {
        const timer = setTimeout(() => { acks.delete(id); resolve({ ok: false, error: 'tiempo_agotado' }); }, timeout);
        acks.set(id, { resolve, timer });
        if (!send('42' + id + JSON.stringify([event, data]))) {
          acks.delete(id); clearTimeout(timer); resolve({ ok: false, error: 'desconectado' });
        }
      });
    },
    get state() { return state; },
  };
}
