// store.js: the one state store of the client (full page and widget alike).
// Every change goes through a method here; views subscribe and re-render from
// `state`. Notifications are batched per microtask and carry topic names:
// "me", "conexion", "chats", "chat:<id>" (its messages, members, typing),
// "presencia", "comunicados", "ui", "outbox".

export function createStore() {
  const state = {
    me: null,
    permisos: [],
    conexion: { estado: 'desconectado', reintentoMs: 0, error: null, intento: 0 },
    chats: new Map(),        // id -> Chat (API.md)
    mensajes: new Map(),     // chat id -> {byId: Map, ids: [] ascending, hayMas, cargado, hayDespues}
    miembros: new Map(),     // chat id -> [Miembro]
    lecturas: new Map(),     // chat id -> Map(usuario id -> ultimo_leido_id)
    escribiendo: new Map(),  // chat id -> Map(usuario id -> expires ms)
    presencia: new Map(),    // usuario id -> estatus
    usuarios: new Map(),     // usuario id -> Usuario (cache for names)
    comunicados: new Map(),  // id -> Comunicado
    comunicadosCargados: false,
    outbox: [],              // messages waiting to be sent: {client_id, chat_id, body, estado, error, created_at}
    cursor: null,
    ui: { chatActivo: null, vista: 'lista', filtro: '', visible: true, aviso: null },
  };
  const listeners = new Set();
  let pending = null;
  const enviados = new Set(); // client_ids this tab saw answered by the server

  function emit(...topics) {
    if (!pending) {
      pending = new Set();
      queueMicrotask(() => {
        const t = pending;
        pending = null;
        for (const fn of [...listeners]) {
          try { fn(t, state); } catch (e) { console.error('chat: vista', e); }
        }
      });
    }
    for (const t of topics) pending.add(t);
  }

  function bucket(chatId) {
    let b = state.mensajes.get(chatId);
    if (!b) {
      // hayDespues: the loaded run ends before the chat's newest message
      // (opened on a search hit); live messages wait until it reaches them
      b = { byId: new Map(), ids: [], hayMas: true, cargado: false, hayDespues: false };
      state.mensajes.set(chatId, b);
    }
    return b;
  }

  // A page of messages into a chat's bucket (any order), their authors into
  // the name cache.
  function merge(b, list) {
    for (const m of list) {
      if (!b.byId.has(m.id)) insertId(b.ids, m.id);
      b.byId.set(m.id, newer(b.byId.get(m.id), m));
      if (m.autor) state.usuarios.set(m.autor.id, Object.assign({}, state.usuarios.get(m.autor.id) || {}, m.autor));
    }
  }

  // Which of two states of one message to keep: deletion and later edits win.
  function newer(a, b) {
    if (!a) return b;
    if (a.eliminado && !b.eliminado) return a;
    if (a.editado_at && (!b.editado_at || a.editado_at > b.editado_at) && !b.eliminado) {
      return Object.assign({}, b, { contenido: a.contenido, editado_at: a.editado_at });
    }
    return b;
  }

  function insertId(ids, id) {
    // ids ascending; new ids almost always go at the end
    let i = ids.length;
    while (i > 0 && ids[i - 1] > id) i--;
    if (ids[i - 1] === id) return;
    ids.splice(i, 0, id);
  }

  const api = {
    state,
    emit,
    /** subscribe(fn(topics:Set, state)): returns the unsubscribe function. */
    subscribe(fn) { listeners.add(fn); return () => listeners.delete(fn); },

    setMe(me) {
      state.me = me.usuario;
      state.permisos = me.permisos || [];
      state.auditor = !!me.auditor;
      // record mentions (#pedido-1001) that become links: [{tipo, url with {clave}}]
      state.enlacesRegistros = Array.isArray(me.enlaces_registros) ? me.enlaces_registros : [];
      state.usuarios.set(me.usuario.id, me.usuario);
      emit('me');
    },
    puede(codigo) { return state.permisos.includes(codigo); },

    setConexion(c) { state.conexion = Object.assign({}, state.conexion, c); emit('conexion'); },

    setUi(patch) { Object.assign(state.ui, patch); emit('ui'); },

    // ---- chats
    upsertChat(c) {
      const old = state.chats.get(c.id);
      const merged = Object.assign({}, old || {}, c);
      state.chats.set(c.id, merged);
      if (c.otro_usuario) {
        state.usuarios.set(c.otro_usuario.id, c.otro_usuario);
        if (c.otro_usuario.estatus && !state.presencia.has(c.otro_usuario.id)) {
          state.presencia.set(c.otro_usuario.id, c.otro_usuario.estatus);
        }
      }
      emit('chats', 'chat:' + c.id);
      return merged;
    },
    setChats(list) {
      state.chats.clear();
      for (const c of list) api.upsertChat(c);
      emit('chats');
    },
    removeChat(id) {
      state.chats.delete(id);
      state.mensajes.delete(id);
      if (state.ui.chatActivo === id) state.ui.chatActivo = null;
      emit('chats', 'ui', 'chat:' + id);
    },
    /** chatsOrdenados(): newest activity first. */
    chatsOrdenados() {
      const key = (c) => (c.ultimo_mensaje && c.ultimo_mensaje.created_at) || c.updated_at || c.created_at || '';
      return [...state.chats.values()].sort((a, b) => (key(b) > key(a) ? 1 : key(b) < key(a) ? -1 : b.id - a.id));
    },
    nombreChat(c) {
      if (!c) return '';
      if (c.tipo === 'directo' && c.otro_usuario) return c.otro_usuario.nombre;
      return c.nombre || 'Chat';
    },
    totalNoLeidos() {
      let n = 0;
      for (const c of state.chats.values()) if (!c.silenciado) n += c.no_leidos || 0;
      return n;
    },

    // ---- messages
    bucket,
    /** upsertMensaje(m): adds or updates; drops the outbox entry it answers. */
    upsertMensaje(m) {
      const b = bucket(m.chat_id);
      const old = b.byId.get(m.id);
      const isNew = !old;
      // past the end of a window opened in older history: kept out of it
      // (paging forward brings it), so the run of ids never has a hole
      const fuera = isNew && b.hayDespues && b.ids.length && m.id > b.ids[b.ids.length - 1];
      if (!fuera) b.byId.set(m.id, newer(old, m));
      if (isNew && !fuera) insertId(b.ids, m.id);
      if (m.client_id && state.me && m.autor && m.autor.id === state.me.id) api.dropOutbox(m.client_id);
      const c = state.chats.get(m.chat_id);
      if (c && (!c.ultimo_mensaje || c.ultimo_mensaje.id <= m.id)) {
        state.chats.set(c.id, Object.assign({}, c, { ultimo_mensaje: b.byId.get(m.id) || m }));
        emit('chats');
      }
      if (m.autor) state.usuarios.set(m.autor.id, Object.assign({}, state.usuarios.get(m.autor.id) || {}, m.autor));
      emit('chat:' + m.chat_id);
      return isNew;
    },
    /** addPage(chatId, mensajes newest first, hayMas): older history. */
    addPage(chatId, list, hayMas) {
      const b = bucket(chatId);
      merge(b, list);
      b.hayMas = !!hayMas;
      b.cargado = true;
      emit('chat:' + chatId);
    },
    /** setVentana(chatId, mensajes, hayMas, hayDespues): the chat's history
     * replaced by one window (the page around a message). */
    setVentana(chatId, list, hayMas, hayDespues) {
      const b = bucket(chatId);
      b.byId = new Map();
      b.ids = [];
      merge(b, list);
      b.hayMas = !!hayMas;
      b.hayDespues = !!hayDespues;
      b.cargado = true;
      emit('chat:' + chatId);
    },
    /** addNewer(chatId, mensajes, hayDespues): the next newer page of a window. */
    addNewer(chatId, list, hayDespues) {
      const b = bucket(chatId);
      merge(b, list);
      b.hayDespues = !!hayDespues;
      emit('chat:' + chatId);
    },
    /** olvidarMensajes(chatId): the history dropped, to load the newest again. */
    olvidarMensajes(chatId) {
      state.mensajes.delete(chatId);
      emit('chat:' + chatId);
    },
    mensaje(chatId, id) {
      const b = state.mensajes.get(chatId);
      return b ? b.byId.get(id) : undefined;
    },
    findMensaje(id) {
      for (const b of state.mensajes.values()) if (b.byId.has(id)) return b.byId.get(id);
      return undefined;
    },
    /** applyReaccion({chat_id, mensaje_id, usuario_id, emoji, accion}): idempotent. */
    applyReaccion(ev) {
      const m = ev.chat_id ? api.mensaje(ev.chat_id, ev.mensaje_id) : api.findMensaje(ev.mensaje_id);
      if (!m) return;
      const reacciones = (m.reacciones || []).map((r) => Object.assign({}, r, { usuarios: [...(r.usuarios || [])] }));
      let r = reacciones.find((x) => x.emoji === ev.emoji);
      const mine = state.me && ev.usuario_id === state.me.id;
      if (ev.accion === 'agregar') {
        if (!r) { r = { emoji: ev.emoji, total: 0, usuarios: [], mia: false }; reacciones.push(r); }
        if (!r.usuarios.includes(ev.usuario_id)) { r.usuarios.push(ev.usuario_id); r.total = r.usuarios.length; }
        if (mine) r.mia = true;
      } else if (r) {
        r.usuarios = r.usuarios.filter((u) => u !== ev.usuario_id);
        r.total = r.usuarios.length;
        if (mine) r.mia = false;
      }
      const next = Object.assign({}, m, { reacciones: reacciones.filter((x) => x.total > 0) });
      bucket(m.chat_id).byId.set(m.id, next);
      emit('chat:' + m.chat_id);
    },
    applyEncuesta(chatId, mensajeId, encuesta) {
      const m = api.mensaje(chatId, mensajeId);
      if (!m) return;
      const mis = m.encuesta ? m.encuesta.mis_votos : [];
      const e = Object.assign({}, encuesta, { mis_votos: encuesta.mis_votos || mis || [] });
      bucket(chatId).byId.set(m.id, Object.assign({}, m, { encuesta: e }));
      emit('chat:' + chatId);
    },

    // ---- members and read marks
    setMiembros(chatId, miembros) {
      state.miembros.set(chatId, miembros);
      const marks = new Map();
      for (const mb of miembros) {
        state.usuarios.set(mb.usuario.id, mb.usuario);
        marks.set(mb.usuario.id, mb.ultimo_leido_id || 0);
        if (mb.usuario.estatus && !state.presencia.has(mb.usuario.id)) state.presencia.set(mb.usuario.id, mb.usuario.estatus);
      }
      const old = state.lecturas.get(chatId);
      if (old) for (const [u, id] of old) if ((marks.get(u) || 0) < id) marks.set(u, id);
      state.lecturas.set(chatId, marks);
      // my role follows the member list (made or unmade admin while the chat is open)
      const c = state.chats.get(chatId);
      const yo = state.me && miembros.find((mb) => mb.usuario.id === state.me.id);
      if (c && yo && yo.rol && c.mi_rol !== yo.rol) {
        state.chats.set(chatId, Object.assign({}, c, { mi_rol: yo.rol }));
        emit('chats');
      }
      emit('chat:' + chatId);
    },
    /** setLectura(chatId, usuarioId, mensajeId): read marks only move forward. */
    setLectura(chatId, usuarioId, mensajeId) {
      let marks = state.lecturas.get(chatId);
      if (!marks) { marks = new Map(); state.lecturas.set(chatId, marks); }
      if ((marks.get(usuarioId) || 0) >= mensajeId) return;
      marks.set(usuarioId, mensajeId);
      if (state.me && usuarioId === state.me.id) {
        const c = state.chats.get(chatId);
        if (c && c.ultimo_mensaje && mensajeId >= c.ultimo_mensaje.id && c.no_leidos) {
          state.chats.set(chatId, Object.assign({}, c, { no_leidos: 0 }));
          emit('chats');
        }
      }
      emit('chat:' + chatId);
    },
    /** leidoPorTodos(m): the server's flag, or every other member's mark past it. */
    leidoPorTodos(m) {
      if (m.leido_por_todos) return true;
      const marks = state.lecturas.get(m.chat_id);
      const miembros = state.miembros.get(m.chat_id);
      const c = state.chats.get(m.chat_id);
      if (!marks || !m.autor) return false;
      let otros;
      if (miembros) otros = miembros.map((x) => x.usuario.id).filter((id) => id !== m.autor.id);
      else if (c && c.otro_usuario) otros = [c.otro_usuario.id].filter((id) => id !== m.autor.id);
      else return false;
      if (otros.length === 0) return false;
      return otros.every((id) => (marks.get(id) || 0) >= m.id);
    },

    // ---- typing and presence
    setEscribiendo(chatId, usuarioId, on) {
      let t = state.escribiendo.get(chatId);
      if (!t) { t = new Map(); state.escribiendo.set(chatId, t); }
      if (on) t.set(usuarioId, Date.now() + 6000); else t.delete(usuarioId);
      emit('chat:' + chatId, 'chats');
    },
    escribiendo(chatId) {
      const t = state.escribiendo.get(chatId);
      if (!t) return [];
      const now = Date.now();
      const out = [];
      for (const [u, exp] of t) if (exp > now) out.push(u); else t.delete(u);
      return out;
    },
    setPresencia(usuarioId, estatus) {
      if (state.presencia.get(usuarioId) === estatus) return;
      state.presencia.set(usuarioId, estatus);
      emit('presencia', 'chats');
    },

    // ---- announcements
    upsertComunicado(c) {
      const old = state.comunicados.get(c.id);
      state.comunicados.set(c.id, Object.assign({}, old || {}, c));
      emit('comunicados');
    },
    comunicadosOrdenados() {
      return [...state.comunicados.values()].filter((c) => !c.eliminado).sort((a, b) => b.id - a.id);
    },
    comunicadosNoLeidos() {
      let n = 0;
      for (const c of state.comunicados.values()) {
        if (!c.eliminado && !c.leido_at && !(state.me && c.autor && c.autor.id === state.me.id)) n++;
      }
      return n;
    },
    applyReaccionComunicado(ev) {
      const c = state.comunicados.get(ev.comunicado_id);
      if (!c) return;
      const reacciones = (c.reacciones || []).map((r) => Object.assign({}, r, { usuarios: [...(r.usuarios || [])] }));
      let r = reacciones.find((x) => x.emoji === ev.emoji);
      const mine = state.me && ev.usuario_id === state.me.id;
      if (ev.accion === 'agregar') {
        if (!r) { r = { emoji: ev.emoji, total: 0, usuarios: [], mia: false }; reacciones.push(r); }
        if (!r.usuarios.includes(ev.usuario_id)) { r.usuarios.push(ev.usuario_id); r.total = r.usuarios.length; }
        if (mine) r.mia = true;
      } else if (r) {
        r.usuarios = r.usuarios.filter((u) => u !== ev.usuario_id);
        r.total = r.usuarios.length;
        if (mine) r.mia = false;
      }
      state.comunicados.set(c.id, Object.assign({}, c, { reacciones: reacciones.filter((x) => x.total > 0) }));
      emit('comunicados');
    },

    // ---- outbox (persisted per user, so a reload keeps what was not sent)
    outboxKey() { return state.me ? 'chat-erp.outbox.' + state.me.id : null; },
    loadOutbox() {
      const k = api.outboxKey();
      try { state.outbox = k ? JSON.parse(localStorage.getItem(k) || '[]') : []; } catch (_) { state.outbox = []; }
      for (const o of state.outbox) if (o.estado === 'enviando') o.estado = 'pendiente';
      emit('outbox');
    },
    /**
     * saveOutbox(): writes the queue, keeping what other tabs of the same
     * user queued (their entries stay until they, or the next visit, send
     * them; a message sent twice is answered once thanks to its client_id).
     */
    saveOutbox() {
      const k = api.outboxKey();
      if (!k) return;
      try {
        const mine = new Set(state.outbox.map((o) => o.client_id));
        const otros = JSON.parse(localStorage.getItem(k) || '[]')
          .filter((o) => !mine.has(o.client_id) && !enviados.has(o.client_id));
        localStorage.setItem(k, JSON.stringify(otros.concat(state.outbox)));
      } catch (_) { /* private mode */ }
    },
    addOutbox(item) {
      state.outbox.push(item);
      api.saveOutbox();
      emit('outbox', 'chat:' + item.chat_id);
    },
    updateOutbox(clientId, patch) {
      const o = state.outbox.find((x) => x.client_id === clientId);
      if (!o) return;
      Object.assign(o, patch);
      api.saveOutbox();
      emit('outbox', 'chat:' + o.chat_id);
    },
    dropOutbox(clientId) {
      enviados.add(clientId);
      const i = state.outbox.findIndex((x) => x.client_id === clientId);
      if (i < 0) { api.saveOutbox(); return; }
      const [o] = state.outbox.splice(i, 1);
      api.saveOutbox();
      emit('outbox', 'chat:' + o.chat_id);
    },
    outboxDe(chatId) { return state.outbox.filter((o) => o.chat_id === chatId); },
  };
  return api;
}
