// client.js: the controller between the store, the REST API and the realtime
// socket: loading, sending (with the offline queue), server events, delta
// sync after a reconnection, desktop notifications.

import { createApi, ApiError } from './api.js';
import { createRealtime } from './rt.js';
import { createStore } from './store.js';

/** newClientId(): a unique id for retry-safe writes (works without a secure context). */
export function newClientId() {
  if (globalThis.crypto && crypto.randomUUID) return crypto.randomUUID();
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
}

export function tipoDeMime(mime) {
  if (!mime) return 'documento';
  if (mime.startsWith('image/')) return 'imagen';
  if (mime.startsWith('audio/')) return 'audio';
  if (mime.startsWith('video/')) return 'video';
  return 'documento';
}

/**
 * createClient({getToken, base, rtPath, titulo}): the running chat client.
 * getToken() gives the JWT (or null: the ERP cookie is used).
 */
export function createClient({ getToken = () => null, base = '/chat/api/v1', rtPath = '/chat/socket.io',
  notificar = true, esVisible = () => !document.hidden } = {}) {
  const store = createStore();
  // A rate limit is the user going fast, not a failure: say so gently while
  // the request waits its Retry-After and goes again by itself.
  const api = createApi({
    base, getToken,
    onLimite: (seg) => aviso(`Vas muy rápido: se reintentará en ${seg} s`, 'info'),
  });
  const s = store.state;
  let syncing = null;
  let flushing = false;
  let flushTimer = 0;
  let typingSent = 0;
  let typingChat = null;
  let typingStop = 0;

  const rt = createRealtime({
    path: rtPath,
    getToken,
    onEvent,
    onState(estado, info) {
      store.setConexion({ estado, reintentoMs: info.reintentoMs || 0, error: info.error || null, intento: info.intento });
      if (estado === 'conectado') {
        sync().then(flush);
        if (s.ui.visible) rt.emit('presence:status', { estatus: 'en_linea' });
      }
    },
  });

  function aviso(texto, tipo = 'error') {
    store.setUi({ aviso: { texto, tipo, t: Date.now() } });
  }

  function fallo(e) {
    if (e instanceof ApiError && e.status === 429) aviso(`Demasiadas acciones seguidas: intenta de nuevo en ${e.retryAfter || 1} s`, 'info');
    else if (e instanceof ApiError) aviso(e.mensaje);
    else { console.error(e); aviso('Ocurrió un error inesperado'); }
  }

  // ---- start
  async function start() {
    const me = await api.me();
    store.setMe(me);
    store.loadOutbox();
    // The cursor first, then the snapshot: sync then brings whatever changed
    // since, and merging it twice is harmless (ids dedupe, counts below).
    try { s.cursor = (await api.cursor()).cursor; } catch (_) { s.cursor = null; }
    await loadChats();
    loadComunicados().catch(() => {});
    if (rtPath) rt.start();
    document.addEventListener('visibilitychange', onVisibility);
    window.addEventListener('online', () => flush());
    onVisibility();
    if (s.outbox.length) flush(); // left from an earlier visit
    return store;
  }

  function stop() {
    rt.stop();
    document.removeEventListener('visibilitychange', onVisibility);
  }

  async function loadChats() {
    const r = await api.chats();
    store.setChats(r.chats || []);
    const ids = [...s.chats.values()].filter((c) => c.otro_usuario).map((c) => c.otro_usuario.id);
    if (ids.length) {
      try {
        const p = await api.presencia(ids.slice(0, 200));
        for (const x of p.presencia || []) store.setPresencia(x.usuario_id, x.estatus);
      } catch (_) { /* presence is a nicety */ }
    }
  }

  async function loadComunicados() {
    const r = await api.comunicados();
    for (const c of r.comunicados || []) store.upsertComunicado(c);
    s.comunicadosCargados = true;
    store.emit('comunicados');
  }

  // ---- delta sync
  function sync() {
    if (!s.cursor) return Promise.resolve();
    if (syncing) return syncing;
    syncing = (async () => {
      try {
        for (let guard = 0; guard < 50; guard++) {
          const r = await api.sync(s.cursor);
          mergeSync(r);
          if (r.cursor !== undefined) s.cursor = r.cursor;
          if (!r.hay_mas) break;
        }
      } catch (e) {
        if (e instanceof ApiError && (e.status === 400 || e.status === 409)) {
          // a cursor the server no longer knows (400), or one older than
          // what it has pruned (409): start over from a fresh one and reload
          try {
            s.cursor = (await api.cursor()).cursor;
            await loadChats();
            loadComunicados().catch(() => {});
          } catch (_) { /* later */ }
        }
      } finally {
        syncing = null;
      }
    })();
    return syncing;
  }

  function mergeSync(r) {
    for (const c of r.chats || []) store.upsertChat(c);
    for (const id of r.chats_eliminados || []) store.removeChat(typeof id === 'object' ? id.chat_id || id.id : id);
    const frescos = new Set((r.chats || []).map((c) => c.id)); // their no_leidos is already current
    for (const m of r.mensajes || []) {
      const b = s.mensajes.get(m.chat_id);
      const c = s.chats.get(m.chat_id);
      // counted already: a message we hold, or one the chat list's snapshot included
      const conocido = (b && b.byId.has(m.id)) || frescos.has(m.chat_id) ||
        (c && c.ultimo_mensaje && c.ultimo_mensaje.id >= m.id);
      store.upsertMensaje(m);
      if (!conocido) contarNoLeido(m, false);
    }
    for (const l of r.lecturas || []) {
      store.setLectura(l.chat_id, l.usuario_id, l.mensaje_id || l.ultimo_leido_id);
    }
    for (const c of r.comunicados || []) store.upsertComunicado(c);
    const activo = s.ui.chatActivo;
    if (activo) marcarLeido(activo);
  }

  // A new message from someone else: unread count, notification.
  function contarNoLeido(m, avisar = true) {
    if (!s.me || !m.autor || m.autor.id === s.me.id || m.tipo === 'sistema') return;
    const c = s.chats.get(m.chat_id);
    if (!c) return;
    const leyendo = s.ui.chatActivo === m.chat_id && s.ui.visible && s.ui.vista === 'chat';
    const marks = s.lecturas.get(m.chat_id);
    if (marks && (marks.get(s.me.id) || 0) >= m.id) return;
    if (!leyendo) {
      store.upsertChat({ id: c.id, no_leidos: (c.no_leidos || 0) + 1 });
      if (avisar && !c.silenciado) notificar_(c, m);
    } else {
      marcarLeido(m.chat_id);
    }
  }

  function notificar_(c, m) {
    if (!notificar || !document.hidden || typeof Notification === 'undefined') return;
    if (Notification.permission !== 'granted') return;
    try {
      const n = new Notification(store.nombreChat(c), { body: resumen(m), tag: 'chat-' + c.id });
      n.onclick = () => { window.focus(); abrirChat(c.id); n.close(); };
    } catch (_) { /* some browsers allow only service-worker notifications */ }
  }

  // ---- realtime events
  // One handler per server event, keyed by its API.md §5 name (the names of
  // shared/domain/evt.h's EVT_LIST; `make check` compares the two lists).
  const eventHandlers = {
    'mensaje:nuevo'(d) {
      const c0 = s.chats.get(d.chat_id);
      const enLista = c0 && c0.ultimo_mensaje && c0.ultimo_mensaje.id >= d.id;
      const isNew = store.upsertMensaje(d);
      if (!c0) { api.chat(d.chat_id).then(store.upsertChat).catch(() => {}); return; }
      if (isNew && !enLista) contarNoLeido(d);
      if (d.autor) store.setEscribiendo(d.chat_id, d.autor.id, false);
    },
    'mensaje:editado'(d) { store.upsertMensaje(d); },
    'mensaje:eliminado'(d) { store.upsertMensaje(d); },
    'mensaje:reaccion'(d) { store.applyReaccion(d); },
    'mensaje:leido'(d) { store.setLectura(d.chat_id, d.usuario_id, d.mensaje_id); },
    'chat:escribiendo'(d) {
      if (!s.me || d.usuario_id !== s.me.id) store.setEscribiendo(d.chat_id, d.usuario_id, d.escribiendo);
      if (d.escribiendo) setTimeout(() => store.emit('chat:' + d.chat_id, 'chats'), 6100);
    },
    'chat:nuevo'(d) { store.upsertChat(d); },
    'chat:actualizado'(d) {
      // The chat room gets the public view (mi_rol null) for everyone: merge
      // its shared fields and keep my own (no_leidos, mi_rol, silenciado...).
      // My own view (mi_rol set: a mute from another of my devices) is whole.
      if (!s.chats.has(d.id)) { api.chat(d.id).then(store.upsertChat).catch(() => {}); return; }
      if (d.mi_rol) { store.upsertChat(d); return; }
      const comun = {};
      for (const k of ['id', 'tipo', 'nombre', 'descripcion', 'imagen_url', 'restringido', 'updated_at']) if (k in d) comun[k] = d[k];
      store.upsertChat(comun);
    },
    'chat:eliminado'(d) { store.removeChat(d.chat_id || d.id); },
    'chat:miembros'(d) { if (d.miembros) store.setMiembros(d.chat_id, d.miembros); },
    'usuario:estatus'(d) { store.setPresencia(d.usuario_id, d.estatus); },
    'encuesta:voto'(d) { store.applyEncuesta(d.chat_id, d.mensaje_id, d.encuesta); },
    'comunicado:nuevo'(d) {
      store.upsertComunicado(d);
      if (document.hidden && notificar && typeof Notification !== 'undefined' && Notification.permission === 'granted') {
        try { new Notification('📢 ' + d.titulo, { body: (d.contenido || '').slice(0, 180), tag: 'comunicado-' + d.id }); } catch (_) { /* */ }
      }
    },
    'comunicado:reaccion'(d) { store.applyReaccionComunicado(d); },
    'comunicado:leido'(d) {
      const c = s.comunicados.get(d.comunicado_id);
      if (c) store.upsertComunicado({ id: c.id, leidos_total: (c.leidos_total || 0) + 1 });
      store.emit('comunicado:leido:' + d.comunicado_id);
    },
  };

  function onEvent(name, d) {
    if (Object.prototype.hasOwnProperty.call(eventHandlers, name)) eventHandlers[name](d);
  }

  function onVisibility() {
    const visible = esVisible();
    store.setUi({ visible });
    rt.emit('presence:status', { estatus: visible ? 'en_linea' : 'inactivo' });
    if (visible && s.ui.chatActivo && s.ui.vista === 'chat') marcarLeido(s.ui.chatActivo);
  }

  // ---- chats
  async function abrirChat(id) {
    store.setUi({ chatActivo: id, vista: 'chat' });
    const b = store.bucket(id);
    const tareas = [];
    if (!b.cargado) tareas.push(cargarMas(id));
    tareas.push(api.miembros(id).then((r) => store.setMiembros(id, r.miembros || [])).catch(() => {}));
    await Promise.all(tareas);
    marcarLeido(id);
  }

  function cerrarChat() { store.setUi({ vista: 'lista' }); }

  /** irAMensaje(chatId, id): opens the chat on that message (a search hit):
   * from what is loaded, or the page around it (?alrededor=). */
  async function irAMensaje(chatId, id) {
    store.setUi({ chatActivo: chatId, vista: 'chat' });
    const b = store.bucket(chatId);
    if (!b.byId.has(id)) {
      try {
        const r = await api.mensajesAlrededor(chatId, id, 50);
        store.setVentana(chatId, r.mensajes || [], r.hay_mas, r.hay_mas_despues);
      } catch (e) {
        fallo(e);
        return false;
      }
    }
    api.miembros(chatId).then((r) => store.setMiembros(chatId, r.miembros || [])).catch(() => {});
    store.setUi({ irA: { chatId, id, at: Date.now() } });
    return true;
  }

  /** cargarNuevos(chatId): the next newer page of a window opened in older
   * history; false when there is none. */
  async function cargarNuevos(chatId) {
    const b = store.bucket(chatId);
    if (cargando.has(chatId) || !b.hayDespues || !b.ids.length) return false;
    cargando.add(chatId);
    try {
      const r = await api.mensajesDespues(chatId, b.ids[b.ids.length - 1], 50);
      store.addNewer(chatId, r.mensajes || [], r.hay_mas);
      if (!r.hay_mas) marcarLeido(chatId);
      return true;
    } catch (e) {
      fallo(e);
      return false;
    } finally {
      cargando.delete(chatId);
    }
  }

  /** irAlFinal(chatId): back to the newest messages from a window. */
  async function irAlFinal(chatId) {
    store.olvidarMensajes(chatId);
    await cargarMas(chatId);
    marcarLeido(chatId);
  }

  /** cargarMas(chatId): the next older page of history; false when there is none. */
  const cargando = new Set();
  async function cargarMas(chatId) {
    const b = store.bucket(chatId);
    if (cargando.has(chatId) || (b.cargado && !b.hayMas)) return false;
    cargando.add(chatId);
    try {
      const antes = b.cargado && b.ids.length ? b.ids[0] : undefined;
      const r = await api.mensajes(chatId, antes, 50);
      store.addPage(chatId, r.mensajes || [], r.hay_mas);
      return true;
    } catch (e) {
      fallo(e);
      return false;
    } finally {
      cargando.delete(chatId);
    }
  }

  const leidoEnviado = new Map();
  async function marcarLeido(chatId) {
    const b = s.mensajes.get(chatId);
    // a window in older history is not "read up to here": the newest are not shown
    if (!b || !b.ids.length || !s.ui.visible || b.hayDespues) return;
    let ultimo = 0;
    for (let i = b.ids.length - 1; i >= 0; i--) { ultimo = b.ids[i]; break; }
    const c = s.chats.get(chatId);
    if ((leidoEnviado.get(chatId) || 0) >= ultimo && !(c && c.no_leidos)) return;
    leidoEnviado.set(chatId, ultimo);
    if (c && c.no_leidos) store.upsertChat({ id: chatId, no_leidos: 0 });
    store.setLectura(chatId, s.me.id, ultimo);
    try { await api.leido(chatId, ultimo); } catch (_) { leidoEnviado.delete(chatId); }
  }

  async function directo(usuarioId) {
    const c = await api.directo(usuarioId);
    store.upsertChat(c);
    await abrirChat(c.id);
    return c;
  }

  async function crearGrupo(nombre, miembros, descripcion = '') {
    const c = await api.crearGrupo({ nombre, descripcion, miembros, restringido: false });
    store.upsertChat(c);
    await abrirChat(c.id);
    return c;
  }

  /**
   * actualizarGrupo(chatId, cambios): PATCH /chats/{id} (group admins) with
   * any of {nombre, descripcion, imagen_media_id, restringido}; the chat as it
   * now is goes into the store. Throws ApiError.
   */
  async function actualizarGrupo(chatId, cambios) {
    const c = await api.actualizarChat(chatId, cambios);
    if (c && c.id) store.upsertChat(c);
    return c;
  }

  async function silenciar(chatId, silenciado) {
    try {
      const r = await api.silenciar(chatId, silenciado);
      store.upsertChat(r && r.id ? r : { id: chatId, silenciado });
    } catch (e) { fallo(e); }
  }

  // ---- sending, with the offline queue
  function enviar(chatId, body, vista = null) {
    const client_id = newClientId();
    const item = {
      client_id, chat_id: chatId, estado: 'pendiente', error: null, vista,
      created_at: new Date().toISOString(),
      body: Object.assign({ tipo: 'texto' }, body, { client_id }),
    };
    store.addOutbox(item);
    flush();
    return client_id;
  }

  /** flush(): sends the queue in order, once each; stops at the first network failure. */
  async function flush() {
    if (flushing) return;
    flushing = true;
    clearTimeout(flushTimer);
    try {
      for (const o of [...s.outbox]) {
        if (o.estado === 'error') continue;
        store.updateOutbox(o.client_id, { estado: 'enviando' });
        try {
          const m = o.body.encuesta
            ? await api.crearEncuesta(o.chat_id, Object.assign({}, o.body.encuesta, { client_id: o.client_id }))
            : await api.enviar(o.chat_id, o.body);
          store.upsertMensaje(m);
          store.dropOutbox(o.client_id);
          leidoEnviado.set(o.chat_id, Math.max(leidoEnviado.get(o.chat_id) || 0, m.id));
        } catch (e) {
          if (e instanceof ApiError && e.transitoria) {
            store.updateOutbox(o.client_id, { estado: 'pendiente' });
            flushTimer = setTimeout(flush, e.status === 429 ? Math.max(1000, e.retryAfter * 1000)
              : Math.max(3000, e.retryAfter * 1000));
            break;
          }
          store.updateOutbox(o.client_id, { estado: 'error', error: e.mensaje || String(e) });
        }
      }
    } finally {
      flushing = false;
    }
  }

  function reintentar(clientId) { store.updateOutbox(clientId, { estado: 'pendiente', error: null }); flush(); }
  function descartar(clientId) { store.dropOutbox(clientId); }

  async function editar(m, contenido) {
    try { store.upsertMensaje(await api.editar(m.id, contenido)); } catch (e) { fallo(e); }
  }

  async function eliminar(m) {
    try {
      await api.eliminar(m.id);
      store.upsertMensaje(Object.assign({}, m, { eliminado: true, contenido: null, media: null, encuesta: null }));
    } catch (e) { fallo(e); }
  }

  async function reaccionar(m, emoji) {
    const r = (m.reacciones || []).find((x) => x.emoji === emoji);
    try {
      if (r && r.mia) {
        const res = await api.quitarReaccion(m.id, emoji);
        if (res && res.id) store.upsertMensaje(res);
        else store.applyReaccion({ chat_id: m.chat_id, mensaje_id: m.id, usuario_id: s.me.id, emoji, accion: 'quitar' });
      } else {
        const res = await api.reaccionar(m.id, emoji);
        if (res && res.id) store.upsertMensaje(res);
        else store.applyReaccion({ chat_id: m.chat_id, mensaje_id: m.id, usuario_id: s.me.id, emoji, accion: 'agregar' });
      }
    } catch (e) { fallo(e); }
  }

  /** escribiendo(chatId): call on input; sends chat:typing at most every 3 s, and a stop. */
  function escribiendo(chatId, on = true) {
    const now = Date.now();
    clearTimeout(typingStop);
    if (!on) {
      if (typingChat === chatId) rt.emit('chat:typing', { chat_id: chatId, escribiendo: false });
      typingChat = null; typingSent = 0;
      return;
    }
    if (typingChat !== chatId || now - typingSent > 3000) {
      rt.emit('chat:typing', { chat_id: chatId, escribiendo: true });
      typingChat = chatId; typingSent = now;
    }
    typingStop = setTimeout(() => escribiendo(chatId, false), 4000);
  }

  // ---- media
  /** subir(chatId, file, onProgress, extra): uploads then sends the media message. */
  async function subir(chatId, file, onProgress, extra = {}) {
    const media = await api.upload(file, onProgress);
    return enviar(chatId, Object.assign({ tipo: tipoDeMime(media.mime || file.type), media_id: media.id, contenido: extra.contenido || null }, extra.respuesta_a ? { respuesta_a: extra.respuesta_a } : {}));
  }

  const mediaUrls = new Map();
  /** mediaUrl(media): a URL the page can show; with a bearer token, an object URL of the bytes. */
  async function mediaUrl(media) {
    const tok = await getToken();
    if (!tok) return media.url;
    if (mediaUrls.has(media.id)) return mediaUrls.get(media.id);
    const p = api.blob(media.url).then((b) => URL.createObjectURL(b));
    mediaUrls.set(media.id, p);
    p.catch(() => mediaUrls.delete(media.id));
    return p;
  }

  // A group's picture: our own media URL, fetched with the token like any
  // media (object URL), cached per URL (a new picture is a new media id).
  // Others' URLs (a 1:1 partner's ERP picture) are not fetched with our token.
  const imagenes = new Map(); // url -> {src, p}
  /** imagenChat(c): null, the picture's src (known), or a promise of it. */
  function imagenChat(c) {
    const url = c && c.tipo === 'grupo' && c.imagen_url;
    if (!url || !/^\/[^/].*\/media\/\d+$/.test(url)) return null;
    let e = imagenes.get(url);
    if (!e) {
      e = { src: null, p: null };
      e.p = (async () => {
        const tok = await getToken();
        return tok ? URL.createObjectURL(await api.blob(url)) : url;
      })();
      e.p.then((src) => { e.src = src; }, () => imagenes.delete(url));
      imagenes.set(url, e);
    }
    return e.src || e.p;
  }

  // ---- polls
  function crearEncuesta(chatId, encuesta) {
    return enviar(chatId, { tipo: 'encuesta', encuesta });
  }

  async function votar(m, opciones) {
    try {
      const r = await api.votar(m.encuesta.id, opciones);
      if (r && r.id) store.upsertMensaje(r);
    } catch (e) { fallo(e); }
  }

  async function cerrarEncuesta(m) {
    try { const r = await api.cerrarEncuesta(m.encuesta.id); if (r && r.id) store.upsertMensaje(r); } catch (e) { fallo(e); }
  }

  // ---- announcements
  async function confirmarComunicado(c) {
    try {
      const r = await api.confirmarComunicado(c.id);
      store.upsertComunicado(Object.assign({ leido_at: new Date().toISOString() }, r && r.id ? r : {}, r && r.leido_at ? { leido_at: r.leido_at } : {}));
      if (!(r && r.id)) store.upsertComunicado({ id: c.id, leido_at: (r && r.leido_at) || new Date().toISOString() });
    } catch (e) { fallo(e); }
  }

  async function reaccionarComunicado(c, emoji) {
    const r = (c.reacciones || []).find((x) => x.emoji === emoji);
    try {
      const res = r && r.mia ? await api.quitarReaccionComunicado(c.id, emoji) : await api.reaccionarComunicado(c.id, emoji);
      if (res && res.id) store.upsertComunicado(res);
      else store.applyReaccionComunicado({ comunicado_id: c.id, usuario_id: s.me.id, emoji, accion: r && r.mia ? 'quitar' : 'agregar' });
    } catch (e) { fallo(e); }
  }

  async function crearComunicado(body) {
    const c = await api.crearComunicado(body);
    store.upsertComunicado(c);
    return c;
  }

  return {
    store, api, rt, start, stop, sync, flush, aviso, fallo, onVisibility,
    abrirChat, cerrarChat, cargarMas, marcarLeido, irAMensaje, cargarNuevos, irAlFinal, directo, crearGrupo, actualizarGrupo, silenciar,
    enviar, reintentar, descartar, editar, eliminar, reaccionar, escribiendo,
    subir, mediaUrl, imagenChat, crearEncuesta, votar, cerrarEncuesta,
    loadComunicados, confirmarComunicado, reaccionarComunicado, crearComunicado,
  };
}

/** resumen(m): one line for a chat list or a notification. */
export function resumen(m) {
  if (!m) return '';
  if (m.eliminado) return 'Se eliminó este mensaje';
  switch (m.tipo) {
    case 'imagen': return '📷 ' + (m.contenido || 'Imagen');
    case 'audio': return '🎤 ' + (m.contenido || 'Audio');
    case 'video': return '🎬 ' + (m.contenido || 'Video');
    case 'documento': return '📄 ' + (m.contenido || (m.media && m.media.nombre) || 'Documento');
    case 'encuesta': return '📊 Encuesta: ' + ((m.encuesta && m.encuesta.pregunta) || m.contenido || '');
    default: return m.contenido || '';
  }
}
