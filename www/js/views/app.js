// app.js (views): mounts the whole chat UI into an element — the full page's
// body or the widget's shadow root panel — and keeps it in step with the store.

import { h, clear } from './dom.js';
import { createChatList } from './chatlist.js';
import { createConversation } from './conversation.js';
import { createComunicados } from './comunicados.js';
import { dialogoPreferencias } from './dialogs.js';
import { createBusqueda } from './busqueda.js';

const ESTADOS = {
  conectado: 'Conectado',
  conectando: 'Conectando…',
  desconectado: 'Sin conexión',
  error_auth: 'Sesión no válida',
};

/**
 * mountApp(root, client, {modo: "pagina" | "widget", onCerrar}): builds the
 * UI inside root and returns {destroy}. The store lives in the client.
 */
export function mountApp(root, client, { modo = 'pagina', onCerrar = null } = {}) {
  const store = client.store;
  const s = store.state;

  const conn = h('span', { class: 'cw-conn', role: 'status', 'aria-live': 'polite' });
  const btnCom = h('button', { type: 'button', class: 'cw-btn cw-btn-top cw-btn-comunicados', 'aria-label': 'Comunicados' },
    h('span', { 'aria-hidden': 'true' }, '📢'), h('span', { class: 'cw-hide-narrow' }, ' Comunicados'),
    h('span', { class: 'cw-badge', hidden: true }));
  const btnNotif = h('button', { type: 'button', class: 'cw-btn cw-btn-top', 'aria-label': 'Activar notificaciones de escritorio', title: 'Activar notificaciones de escritorio' },
    h('span', { 'aria-hidden': 'true' }, '🔔'), h('span', { class: 'cw-hide-narrow' }, ' Avisos'));
  const btnBuscar = h('button', { type: 'button', class: 'cw-btn cw-btn-top cw-btn-buscar', 'aria-label': 'Buscar mensajes', title: 'Buscar mensajes' },
    h('span', { 'aria-hidden': 'true' }, '🔎'), h('span', { class: 'cw-hide-narrow' }, ' Buscar'));
  const btnPrefs = h('button', { type: 'button', class: 'cw-btn cw-btn-top cw-btn-preferencias', 'aria-label': 'Preferencias', title: 'Preferencias' },
    h('span', { 'aria-hidden': 'true' }, '⚙'));
  const btnCerrar = onCerrar ? h('button', { type: 'button', class: 'cw-btn cw-btn-top', 'aria-label': 'Cerrar chat', on: { click: onCerrar } }, '✕') : null;
  const yo = h('span', { class: 'cw-yo cw-hide-narrow' });
  // the audit page, for holders of the audit permission (GET /me auditor)
  const lnkAud = modo === 'pagina' ? h('a', { class: 'cw-btn cw-btn-top cw-btn-auditoria', href: 'auditoria.html', hidden: true }, 'Auditoría') : null;
  const header = h('header', { class: 'cw-top' },
    h('h1', { class: 'cw-title' }, 'Chat'), conn, h('span', { class: 'cw-grow' }), yo, lnkAud, btnBuscar, btnCom,
    modo === 'pagina' ? btnNotif : null, btnPrefs, btnCerrar);

  const side = h('nav', { class: 'cw-side', 'aria-label': 'Conversaciones' });
  const main = h('main', { class: 'cw-main' });
  const toast = h('div', { class: 'cw-toast', role: 'alert', hidden: true });
  const app = h('div', { class: 'cw-app cw-modo-' + modo }, header, h('div', { class: 'cw-body' }, side, main), toast);
  clear(root).appendChild(app);

  const lista = createChatList(client, side, app);
  let conv = null;
  let com = null;
  let busq = null;
  let toastTimer = 0;

  btnPrefs.addEventListener('click', () => dialogoPreferencias(client, app));
  btnBuscar.addEventListener('click', () => {
    store.setUi({ vista: s.ui.vista === 'busqueda' ? (s.ui.chatActivo ? 'chat' : 'lista') : 'busqueda' });
  });
  btnCom.addEventListener('click', () => {
    if (s.ui.vista === 'comunicados') store.setUi({ vista: s.ui.chatActivo ? 'chat' : 'lista' });
    else store.setUi({ vista: 'comunicados' });
  });
  btnNotif.addEventListener('click', async () => {
    if (typeof Notification === 'undefined') { client.aviso('Este navegador no permite notificaciones', 'info'); return; }
    const p = await Notification.requestPermission();
    client.aviso(p === 'granted' ? 'Notificaciones activadas' : 'Notificaciones no permitidas', 'info');
    renderTop();
  });

  // narrow layout (phones, the widget): one pane at a time
  const ro = new ResizeObserver(() => {
    app.classList.toggle('cw-narrow', app.clientWidth < 720);
  });
  ro.observe(app);

  function renderTop() {
    const c = s.conexion;
    let texto = ESTADOS[c.estado] || c.estado;
    if (c.estado === 'desconectado' && c.reintentoMs) texto += ' · reintentando…';
    const pend = s.outbox.filter((o) => o.estado !== 'error').length;
    if (pend) texto += ` · ${pend} por enviar`;
    conn.textContent = texto;
    conn.className = 'cw-conn cw-conn-' + c.estado;
    conn.dataset.estado = c.estado;
    const n = store.comunicadosNoLeidos();
    const badge = btnCom.querySelector('.cw-badge');
    badge.hidden = !n;
    badge.textContent = String(n);
    btnCom.setAttribute('aria-label', n ? `Comunicados, ${n} sin leer` : 'Comunicados');
    btnCom.setAttribute('aria-pressed', String(s.ui.vista === 'comunicados'));
    btnNotif.hidden = typeof Notification === 'undefined' || Notification.permission === 'granted';
    yo.textContent = s.me ? s.me.nombre : '';
    if (lnkAud) lnkAud.hidden = !s.auditor;
    if (modo === 'pagina') {
      const total = store.totalNoLeidos() + n;
      document.title = (total ? `(${total}) ` : '') + 'Chat';
    }
  }

  function renderMain() {
    app.classList.toggle('cw-en-main', s.ui.vista !== 'lista');
    if (s.ui.vista === 'busqueda') {
      if (conv) { conv.destroy(); conv = null; }
      if (com) { com.destroy(); com = null; }
      if (!busq) { clear(main); busq = createBusqueda(client, main, app); }
      return;
    }
    if (busq) { busq.destroy(); busq = null; clear(main); }
    if (s.ui.vista === 'comunicados') {
      if (conv) { conv.destroy(); conv = null; }
      if (!com) { clear(main); com = createComunicados(client, main, app); }
      return;
    }
    if (com) { com.destroy(); com = null; clear(main); }
    const id = s.ui.chatActivo;
    if (id && s.chats.has(id)) {
      if (!conv || conv.chatId !== id) {
        if (conv) conv.destroy();
        clear(main);
        conv = createConversation(client, main, id, app);
      }
    } else {
      if (conv) { conv.destroy(); conv = null; }
      clear(main).appendChild(h('div', { class: 'cw-empty' },
        h('p', null, s.chats.size ? 'Elige una conversación' : 'Aún no tienes conversaciones'),
        h('p', { class: 'cw-muted' }, 'Usa «Nuevo chat» para escribirle a un compañero.')));
    }
  }

  function renderToast() {
    const a = s.ui.aviso;
    if (!a) { toast.hidden = true; return; }
    toast.hidden = false;
    toast.textContent = a.texto;
    toast.className = 'cw-toast cw-toast-' + a.tipo;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { store.setUi({ aviso: null }); }, 5000);
  }

  const unsub = store.subscribe((t) => {
    if (t.has('conexion') || t.has('outbox') || t.has('comunicados') || t.has('chats') || t.has('ui') || t.has('me')) renderTop();
    if (t.has('ui') || t.has('chats')) renderMain();
    if (t.has('ui')) renderToast();
  });
  renderTop();
  renderMain();

  return {
    app,
    abrirPreferencias: () => dialogoPreferencias(client, app),
    destroy() {
      unsub(); ro.disconnect(); lista.destroy();
      if (conv) conv.destroy();
      if (com) com.destroy();
      if (busq) busq.destroy();
      clear(root);
    },
  };
}

/** mountError(root, texto): the whole UI replaced by a message (bad token, no server). */
export function mountError(root, titulo, texto) {
  clear(root).appendChild(h('div', { class: 'cw-app' },
    h('div', { class: 'cw-empty', role: 'alert' }, h('p', { class: 'cw-strong' }, titulo), h('p', { class: 'cw-muted' }, texto))));
}
