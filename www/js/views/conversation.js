// conversation.js: one open chat — header, history with date separators and
// infinite scroll upward, typing line, composer (Enter sends, Shift+Enter a
// new line, reply and edit), attachments by picker or drag and drop. Opened
// on a search hit, it shows the page around that message and pages both ways.

import { h, clear, avatar, separador, diaKey, ESTATUS } from './dom.js';
import { renderMensaje } from './message.js';
import { dialogoEncuesta, dialogoLecturas, dialogoInfoChat, dialogoAjustesGrupo } from './dialogs.js';

const SOLO_ADMINS = 'Solo los administradores pueden publicar en este grupo';

export function createConversation(client, el, chatId, app) {
  const store = client.store;
  const s = store.state;
  let chat = s.chats.get(chatId);
  let modo = null; // {tipo: 'responder'|'editar', m}
  const nodos = new Map(); // key -> {el, sig}
  // "Mensajes nuevos": the unread count when the chat was opened marks the
  // first unread message once the history is here; the line stays while
  // the conversation is open.
  const noLeidosAlAbrir = (chat && chat.no_leidos) || 0;
  let anclaNuevos = noLeidosAlAbrir ? undefined : null; // undefined: not known yet
  let irANuevos = false;

  const back = h('button', { type: 'button', class: 'cw-btn cw-btn-icon cw-back', 'aria-label': 'Volver a la lista', on: { click: () => client.cerrarChat() } }, '←');
  const titulo = h('h2', { class: 'cw-conv-title' });
  const sub = h('div', { class: 'cw-conv-sub', 'aria-live': 'polite' });
  let av = h('span');
  const mute = h('button', { type: 'button', class: 'cw-btn cw-btn-icon cw-mute', on: { click: () => client.silenciar(chatId, !chat.silenciado) } });
  const info = h('button', { type: 'button', class: 'cw-btn cw-btn-icon cw-info', 'aria-label': 'Información del chat y miembros', title: 'Información', on: { click: () => dialogoInfoChat(client, app, chatId) } }, 'ℹ️');
  const ajustes = h('button', { type: 'button', class: 'cw-btn cw-btn-icon cw-ajustes', 'aria-label': 'Ajustes del grupo', title: 'Ajustes del grupo', hidden: true, on: { click: () => dialogoAjustesGrupo(client, app, chatId) } }, '⚙️');
  let avKey = null;
  // a chat tied to an ERP record: its title, and a link back to its page
  const registro = h('a', { class: 'cw-registro', hidden: true, target: '_top' });
  const head = h('header', { class: 'cw-conv-head' }, back, av, h('div', { class: 'cw-chat-text' }, titulo, sub, registro), mute, ajustes, info);

  const lista = h('div', { class: 'cw-msgs', role: 'log', 'aria-label': 'Mensajes', tabindex: '-1' });
  const cargando = h('div', { class: 'cw-muted cw-center cw-cargando', hidden: true }, 'Cargando mensajes…');
  const cargandoNuevos = h('div', { class: 'cw-muted cw-center cw-cargando', hidden: true }, 'Cargando mensajes más recientes…');
  const scroller = h('div', { class: 'cw-scroller' }, cargando, lista, cargandoNuevos);
  // shown while a window in older history is open: back to the newest
  const recientes = h('button', { type: 'button', class: 'cw-btn cw-btn-small cw-recientes', hidden: true,
    on: { click: () => { anclaNuevos = null; primeraVez = true; client.irAlFinal(chatId); } } }, '↓ Ir a los mensajes más recientes');
  const typing = h('div', { class: 'cw-typing', 'aria-live': 'polite' });

  const banner = h('div', { class: 'cw-banner', hidden: true });
  const subidas = h('div', { class: 'cw-subidas', 'aria-live': 'polite' });
  const file = h('input', { type: 'file', multiple: true, class: 'cw-file', id: 'cw-file-' + chatId, tabindex: '-1', 'aria-hidden': 'true' });
  const adjuntar = h('button', { type: 'button', class: 'cw-btn cw-btn-icon', 'aria-label': 'Adjuntar archivo', title: 'Adjuntar archivo', on: { click: () => file.click() } }, '📎');
  const encuesta = h('button', { type: 'button', class: 'cw-btn cw-btn-icon', 'aria-label': 'Crear encuesta', title: 'Crear encuesta', on: { click: () => dialogoEncuesta(client, app, chatId) } }, '📊');
  const texto = h('textarea', { class: 'cw-textarea', rows: '1', placeholder: 'Escribe un mensaje', 'aria-label': 'Escribe un mensaje', maxlength: '10000' });
  const enviarBtn = h('button', { type: 'button', class: 'cw-btn cw-btn-primary cw-send', 'aria-label': 'Enviar' }, '➤');
  const composer = h('div', { class: 'cw-composer' }, adjuntar, file, encuesta, texto, enviarBtn);
  const soloLectura = h('div', { class: 'cw-readonly cw-muted', id: 'cw-readonly-' + chatId, role: 'note', hidden: true });
  const drop = h('div', { class: 'cw-drop', hidden: true }, 'Suelta los archivos para enviarlos');
  const root = h('section', { class: 'cw-conv', 'aria-label': 'Conversación' }, head, scroller, recientes, typing, banner, subidas, soloLectura, composer, drop);
  el.appendChild(root);

  const ctx = {
    client, store, app, get chat() { return chat; },
    acciones: {
      responder(m) {
        if (restringido()) { client.aviso(SOLO_ADMINS, 'info'); return; }
        modo = { tipo: 'responder', m }; renderBanner(); texto.focus();
      },
      editar(m) { modo = { tipo: 'editar', m }; texto.value = m.contenido || ''; renderBanner(); autosize(); texto.focus(); },
      eliminar(m) { if (window.confirm('¿Eliminar este mensaje para todos?')) client.eliminar(m); },
      lecturas(m) { dialogoLecturas(client, app, m); },
      irA(id) {
        const n = lista.querySelector(`[data-id="${id}"] .cw-bubble`);
        if (n) { n.scrollIntoView({ block: 'center' }); n.focus(); n.classList.add('cw-flash'); setTimeout(() => n.classList.remove('cw-flash'), 1500); }
      },
    },
  };

  // ---- header
  function renderHead() {
    chat = s.chats.get(chatId) || chat;
    const nombre = store.nombreChat(chat);
    titulo.textContent = nombre;
    const directo = chat.tipo === 'directo';
    const estatus = directo && chat.otro_usuario ? (s.presencia.get(chat.otro_usuario.id) || chat.otro_usuario.estatus) : null;
    const key = [nombre, estatus, chat.imagen_url].join('\u0000');
    if (key !== avKey) { avKey = key; av.replaceWith(av = avatar(nombre, estatus || null, !directo, client.imagenChat(chat))); }
    ajustes.hidden = directo;
    const quienes = store.escribiendo(chatId).filter((u) => !s.me || u !== s.me.id);
    let t;
    if (directo) {
      t = chat.otro_usuario && chat.otro_usuario.activo === false ? 'Usuario desactivado' : (ESTATUS[estatus] || '');
      const pu = chat.otro_usuario && [chat.otro_usuario.puesto, chat.otro_usuario.departamento].filter(Boolean).join(' · ');
      if (pu) t += ' · ' + pu;
    } else {
      const mb = s.miembros.get(chatId);
      t = mb ? (mb.length === 1 ? '1 miembro' : `${mb.length} miembros`) : (chat.descripcion || 'Grupo');
    }
    sub.textContent = t;
    const ctxr = chat.contexto;
    registro.hidden = !(ctxr && ctxr.titulo);
    if (ctxr && ctxr.titulo) {
      registro.textContent = '🔗 ' + ctxr.titulo;
      // only web addresses (or a path on this site) become a link
      const url = typeof ctxr.url === 'string' ? ctxr.url : '';
      if (/^https?:\/\//i.test(url) || (url.startsWith('/') && !url.startsWith('//'))) registro.href = url;
      else registro.removeAttribute('href');
      registro.title = 'Abrir ' + ctxr.titulo + ' en el ERP';
    }
    mute.textContent = chat.silenciado ? '🔕' : '🔔';
    mute.setAttribute('aria-pressed', String(!!chat.silenciado));
    mute.setAttribute('aria-label', 'Silenciar notificaciones de este chat');
    mute.title = chat.silenciado ? 'Silenciado: sin avisos' : 'Silenciar';
    if (quienes.length) {
      const nombres = quienes.map((u) => ((s.usuarios.get(u) || {}).nombre || 'Alguien').split(' ')[0]);
      typing.textContent = directo ? 'escribiendo…' : `${nombres.join(', ')} ${nombres.length > 1 ? 'están' : 'está'} escribiendo…`;
      typing.classList.add('cw-on');
    } else {
      typing.textContent = '';
      typing.classList.remove('cw-on');
    }
    // who may write: restricted groups only admins; a deactivated peer cannot read
    const inactivo = directo && chat.otro_usuario && chat.otro_usuario.activo === false;
    soloLectura.hidden = !(inactivo || restringido());
    soloLectura.textContent = inactivo ? 'Este usuario está desactivado; no puedes enviarle mensajes.' : '🔒 ' + SOLO_ADMINS + '.';
    composer.hidden = inactivo;
    // a restricted group: non-admins see the composer, disabled, and why
    const bloqueado = restringido();
    if (composer.classList.contains('cw-bloqueado') !== bloqueado) {
      composer.classList.toggle('cw-bloqueado', bloqueado);
      for (const el of [adjuntar, encuesta, texto, enviarBtn]) el.disabled = bloqueado;
      texto.placeholder = bloqueado ? 'Solo lectura' : 'Escribe un mensaje';
      if (bloqueado) {
        texto.setAttribute('aria-describedby', soloLectura.id);
        if (modo) { modo = null; renderBanner(); }
      } else texto.removeAttribute('aria-describedby');
    }
  }
  function restringido() { return !!(chat && chat.tipo === 'grupo' && chat.restringido && chat.mi_rol !== 'admin'); }

  // ---- messages (keyed, so focus and scroll survive updates)
  function renderMensajes() {
    const b = store.bucket(chatId);
    const pend = store.outboxDe(chatId);
    const abajo = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
    const desdeAbajo = scroller.scrollHeight - scroller.scrollTop;
    const primerAntes = lista.firstElementChild;
    const items = [];
    let dia = null;
    const pushDia = (iso) => {
      const k = diaKey(iso);
      if (k !== dia) { dia = k; items.push({ key: 'd' + k, sig: separador(iso), el: () => h('div', { class: 'cw-sep', role: 'separator' }, h('span', null, separador(iso))) }); }
    };
    const salto = s.ui.irA && s.ui.irA.chatId === chatId ? s.ui.irA : null;
    if (salto) { anclaNuevos = null; irANuevos = false; }
    if (anclaNuevos === undefined && b.cargado) { anclaNuevos = primerNoLeido(b); irANuevos = !!anclaNuevos; }
    for (const id of b.ids) {
      const m = b.byId.get(id);
      pushDia(m.created_at);
      if (id === anclaNuevos) {
        items.push({ key: 'nuevos', sig: 'nuevos', el: () => h('div', { class: 'cw-nuevos', role: 'separator', 'aria-label': noLeidosAlAbrir === 1 ? '1 mensaje nuevo' : `${noLeidosAlAbrir} mensajes nuevos` }, h('span', null, 'Mensajes nuevos')) });
      }
      const leido = s.me && m.autor && m.autor.id === s.me.id ? store.leidoPorTodos(m) : false;
      items.push({ key: 'm' + id, sig: [m, leido], el: () => renderMensaje(ctx, m, null) });
    }
    for (const o of pend) {
      const fake = {
        id: 0, chat_id: chatId, autor: s.me, tipo: o.body.tipo, contenido: o.body.encuesta ? '📊 ' + o.body.encuesta.pregunta : o.body.contenido,
        respuesta_a: (o.vista && o.vista.respuesta_a) || null, media: null, encuesta: null, reacciones: [], created_at: o.created_at, client_id: o.client_id,
      };
      pushDia(o.created_at);
      items.push({ key: 'p' + o.client_id, sig: [o.estado, o.error], el: () => renderMensaje(ctx, fake, o) });
    }
    const vistos = new Set();
    let prev = null;
    for (const it of items) {
      vistos.add(it.key);
      let n = nodos.get(it.key);
      if (!n || !same(n.sig, it.sig)) {
        const fresh = it.el();
        if (n) {
          const tenia = n.el.contains(root.getRootNode().activeElement);
          n.el.replaceWith(fresh);
          if (tenia) { const f = fresh.querySelector('.cw-bubble'); if (f) f.focus({ preventScroll: true }); }
        }
        n = { el: fresh, sig: it.sig };
        nodos.set(it.key, n);
      }
      const want = prev ? prev.nextSibling : lista.firstChild;
      if (want !== n.el) lista.insertBefore(n.el, want);
      prev = n.el;
    }
    for (const [k, n] of nodos) if (!vistos.has(k)) { n.el.remove(); nodos.delete(k); }
    rovingTabindex();
    cargando.hidden = !(b.hayMas && b.cargado) && b.cargado;
    cargando.textContent = b.cargado ? (b.hayMas ? 'Desliza hacia arriba para ver más' : '') : 'Cargando mensajes…';
    if (b.cargado && !b.hayMas && b.ids.length) { cargando.hidden = false; cargando.textContent = 'Inicio de la conversación'; }
    // keep the reader where they were: at the bottom, or on the same message when older ones came in
    if (irANuevos && b.cargado) {
      // opened with unread messages: the line near the top, unless all fits
      irANuevos = false;
      primeraVez = false;
      const n = nodos.get('nuevos');
      scroller.scrollTop = scroller.scrollHeight;
      if (n) {
        const y = n.el.getBoundingClientRect().top - scroller.getBoundingClientRect().top + scroller.scrollTop;
        if (scroller.scrollHeight - y > scroller.clientHeight) scroller.scrollTop = Math.max(0, y - 8);
      }
    } else if (abajo || primeraVez) { scroller.scrollTop = scroller.scrollHeight; primeraVez = !b.cargado; }
    else if (primerAntes && lista.firstElementChild !== primerAntes) scroller.scrollTop = scroller.scrollHeight - desdeAbajo;
    recientes.hidden = !b.hayDespues;
    cargandoNuevos.hidden = !b.hayDespues;
    if (salto && nodos.has('m' + salto.id)) {
      // opened on a search hit: that message in the middle, marked a moment
      store.setUi({ irA: null });
      primeraVez = false;
      ctx.acciones.irA(salto.id);
    } else if (b.cargado && b.hayMas && scroller.scrollHeight <= scroller.clientHeight + 10) masAntiguos();
  }
  let primeraVez = true;

  // The first unread message: counting back from the newest the others'
  // live, non-sistema messages, as the server counts no_leidos.
  function primerNoLeido(b) {
    let n = noLeidosAlAbrir;
    let ancla = null;
    for (let i = b.ids.length - 1; i >= 0 && n > 0; i--) {
      const m = b.byId.get(b.ids[i]);
      if (m.tipo === 'sistema' || m.eliminado || (s.me && m.autor && m.autor.id === s.me.id)) continue;
      ancla = m.id;
      n--;
    }
    return ancla;
  }

  function same(a, b) {
    if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => x === b[i]);
    return a === b;
  }

  // One message bubble is in the Tab order (the last one, or the one the
  // reader moved to); arrows move between bubbles, Home/End jump.
  let focoKey = null;
  function burbujas() { return [...lista.querySelectorAll('.cw-bubble')]; }
  function rovingTabindex() {
    const bs = burbujas();
    let actual = focoKey ? lista.querySelector(`[data-id="${focoKey}"] > .cw-bubble`) : null;
    if (!actual) actual = bs[bs.length - 1];
    for (const b of bs) b.tabIndex = b === actual ? 0 : -1;
  }
  lista.addEventListener('focusin', (e) => {
    const b = e.target.closest && e.target.closest('.cw-bubble');
    if (!b) return;
    focoKey = b.parentElement.dataset.id || null;
    for (const x of burbujas()) x.tabIndex = x === b ? 0 : -1;
  });
  lista.addEventListener('keydown', (e) => {
    if (!e.target.classList || !e.target.classList.contains('cw-bubble')) return;
    const bs = burbujas();
    const i = bs.indexOf(e.target);
    let j = -1;
    if (e.key === 'ArrowUp') j = Math.max(0, i - 1);
    else if (e.key === 'ArrowDown') j = Math.min(bs.length - 1, i + 1);
    else if (e.key === 'Home') j = 0;
    else if (e.key === 'End') j = bs.length - 1;
    else if (e.key === 'Escape') { e.preventDefault(); texto.focus(); return; }
    if (j < 0) return;
    e.preventDefault();
    bs[j].focus();
    if (j === 0) masAntiguos();
  });

  async function masAntiguos() {
    const b = store.bucket(chatId);
    if (!b.hayMas || !b.cargado) return;
    await client.cargarMas(chatId);
  }
  // a reader at the bottom stays there when the pane shrinks (a notice above
  // the composer, a taller composer, the on-screen keyboard)
  let pegadoAbajo = true;
  scroller.addEventListener('scroll', () => {
    pegadoAbajo = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
    if (scroller.scrollTop < 150) masAntiguos();
    if (!pegadoAbajo) return;
    if (store.bucket(chatId).hayDespues) client.cargarNuevos(chatId);
  }, { passive: true });
  const roScroller = new ResizeObserver(() => { if (pegadoAbajo) scroller.scrollTop = scroller.scrollHeight; });
  roScroller.observe(scroller);

  // ---- composer
  function renderBanner() {
    if (!modo) { banner.hidden = true; clear(banner); return; }
    const m = modo.m;
    banner.hidden = false;
    clear(banner).append(
      h('div', { class: 'cw-banner-text' }, h('strong', null, modo.tipo === 'editar' ? 'Editando mensaje' : 'Respondiendo a ' + (m.autor ? m.autor.nombre : '')),
        h('span', { class: 'cw-muted' }, (m.contenido || '').slice(0, 120))),
      h('button', { type: 'button', class: 'cw-btn cw-btn-icon', 'aria-label': modo.tipo === 'editar' ? 'Cancelar edición' : 'Cancelar respuesta', on: { click: cancelar } }, '✕'));
  }
  function cancelar() {
    if (modo && modo.tipo === 'editar') texto.value = '';
    modo = null; renderBanner(); autosize(); texto.focus();
  }
  function autosize() {
    texto.style.height = 'auto';
    texto.style.height = Math.min(texto.scrollHeight, 160) + 'px';
  }

  function enviar() {
    if (restringido()) return;
    const t = texto.value.replace(/\s+$/, '');
    if (!t.trim()) return;
    if (modo && modo.tipo === 'editar') {
      if (t !== modo.m.contenido) client.editar(modo.m, t);
    } else {
      const body = { tipo: 'texto', contenido: t };
      let vista = null;
      if (modo && modo.tipo === 'responder') {
        body.respuesta_a = modo.m.id;
        vista = { respuesta_a: { id: modo.m.id, autor_nombre: modo.m.autor ? modo.m.autor.nombre : '', extracto: (modo.m.contenido || '').slice(0, 100), tipo: modo.m.tipo } };
      }
      client.enviar(chatId, body, vista);
      scroller.scrollTop = scroller.scrollHeight;
    }
    client.escribiendo(chatId, false);
    texto.value = '';
    modo = null;
    renderBanner();
    autosize();
  }

  texto.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); enviar(); return; }
    if (e.key === 'Escape' && modo) { e.preventDefault(); cancelar(); return; }
    if (e.key === 'ArrowUp' && !texto.value) {
      // edit my last message, as in Slack
      const b = store.bucket(chatId);
      for (let i = b.ids.length - 1; i >= 0; i--) {
        const m = b.byId.get(b.ids[i]);
        if (s.me && m.autor && m.autor.id === s.me.id && !m.eliminado && m.tipo === 'texto') { e.preventDefault(); ctx.acciones.editar(m); break; }
      }
    }
  });
  texto.addEventListener('input', () => { autosize(); if (texto.value.trim()) client.escribiendo(chatId, true); });
  enviarBtn.addEventListener('click', () => { enviar(); texto.focus(); });

  // ---- attachments
  function subirArchivos(files) {
    if (restringido()) { client.aviso(SOLO_ADMINS); return; }
    for (const f of files) {
      const bar = h('progress', { max: '1', value: '0', 'aria-label': 'Subiendo ' + f.name });
      const pct = h('span', { class: 'cw-muted' }, '0 %');
      const row = h('div', { class: 'cw-subida' }, h('span', { class: 'cw-doc-name' }, f.name), bar, pct);
      subidas.appendChild(row);
      const extra = modo && modo.tipo === 'responder' ? { respuesta_a: modo.m.id } : {};
      client.subir(chatId, f, (p) => { bar.value = p; pct.textContent = Math.round(p * 100) + ' %'; }, extra)
        .then(() => row.remove())
        .catch((e) => {
          row.classList.add('cw-subida-error');
          pct.textContent = e.mensaje || 'Error';
          row.appendChild(h('button', { type: 'button', class: 'cw-btn cw-btn-small', on: { click: () => row.remove() } }, 'Cerrar'));
        });
    }
  }
  file.addEventListener('change', () => { subirArchivos([...file.files]); file.value = ''; });
  let dragDepth = 0;
  root.addEventListener('dragenter', (e) => { if (hasFiles(e)) { dragDepth++; drop.hidden = false; e.preventDefault(); } });
  root.addEventListener('dragover', (e) => { if (hasFiles(e)) e.preventDefault(); });
  root.addEventListener('dragleave', () => { dragDepth = Math.max(0, dragDepth - 1); if (!dragDepth) drop.hidden = true; });
  root.addEventListener('drop', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault(); dragDepth = 0; drop.hidden = true;
    subirArchivos([...e.dataTransfer.files]);
  });
  function hasFiles(e) { return e.dataTransfer && [...(e.dataTransfer.types || [])].includes('Files'); }

  // ---- wiring
  const unsub = store.subscribe((t) => {
    if (t.has('chat:' + chatId) || t.has('outbox') || t.has('me') || (t.has('ui') && s.ui.irA && s.ui.irA.chatId === chatId)) renderMensajes();
    if (t.has('chat:' + chatId) || t.has('chats') || t.has('presencia')) renderHead();
    if (t.has('chat:' + chatId) && s.ui.visible && !document.hidden) client.marcarLeido(chatId);
  });
  const typingTimer = setInterval(() => { if (typing.classList.contains('cw-on')) renderHead(); }, 2000);
  renderHead();
  renderMensajes();
  requestAnimationFrame(() => texto.focus({ preventScroll: true }));

  return {
    chatId,
    destroy() { unsub(); roScroller.disconnect(); clearInterval(typingTimer); client.escribiendo(chatId, false); root.remove(); },
  };
}
