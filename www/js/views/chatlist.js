// chatlist.js: the list of conversations — search, unread badges, last
// message preview, presence dots — and the buttons for a new 1:1 or group.

import { h, clear, avatar, corta, ESTATUS } from './dom.js';
import { resumen } from '../client.js';
import { dialogoNuevoChat } from './dialogs.js';

export function createChatList(client, el, app) {
  const store = client.store;
  const s = store.state;
  const buscar = h('input', {
    type: 'search', class: 'cw-input cw-buscar', placeholder: 'Buscar conversación', 'aria-label': 'Buscar conversación',
    on: { input: () => store.setUi({ filtro: buscar.value }) },
  });
  const nuevo = h('button', { type: 'button', class: 'cw-btn cw-btn-primary', on: { click: () => dialogoNuevoChat(client, app, false) } }, '+ Nuevo chat');
  const grupo = h('button', { type: 'button', class: 'cw-btn', on: { click: () => dialogoNuevoChat(client, app, true) } }, '👥 Nuevo grupo');
  const ul = h('ul', { class: 'cw-chatlist', role: 'list' });
  el.append(h('div', { class: 'cw-side-tools' }, buscar, h('div', { class: 'cw-row' }, nuevo, grupo)), ul);

  function item(c) {
    const nombre = store.nombreChat(c);
    const directo = c.tipo === 'directo';
    const estatus = directo && c.otro_usuario ? (s.presencia.get(c.otro_usuario.id) || c.otro_usuario.estatus || 'desconectado') : null;
    const typing = store.escribiendo(c.id).filter((u) => !s.me || u !== s.me.id);
    const um = c.ultimo_mensaje;
    let preview = um ? resumen(um) : (c.descripcion || '');
    if (um && !directo && um.autor && um.tipo !== 'sistema') preview = (s.me && um.autor.id === s.me.id ? 'Tú' : um.autor.nombre.split(' ')[0]) + ': ' + preview;
    else if (um && directo && s.me && um.autor && um.autor.id === s.me.id) preview = 'Tú: ' + preview;
    const n = c.no_leidos || 0;
    let label = nombre;
    if (estatus) label += ', ' + ESTATUS[estatus];
    if (n) label += `, ${n} ${n === 1 ? 'mensaje sin leer' : 'mensajes sin leer'}`;
    const inactivo = directo && c.otro_usuario && c.otro_usuario.activo === false;
    return h('li', null, h('button', {
      type: 'button', class: 'cw-chat-item' + (n ? ' cw-unread' : '') + (inactivo ? ' cw-inactivo' : ''),
      dataset: { id: String(c.id) }, 'aria-label': label,
      'aria-current': s.ui.chatActivo === c.id && s.ui.vista === 'chat' ? 'true' : false,
      on: { click: () => client.abrirChat(c.id) },
    },
    avatar(nombre, estatus, !directo, client.imagenChat(c)),
    h('span', { class: 'cw-chat-text' },
      h('span', { class: 'cw-chat-line' }, h('span', { class: 'cw-chat-name' }, nombre, c.silenciado ? h('span', { class: 'cw-muted', title: 'Silenciado' }, ' 🔕') : null),
        h('span', { class: 'cw-chat-time' }, corta(um ? um.created_at : c.updated_at))),
      h('span', { class: 'cw-chat-line' },
        typing.length ? h('span', { class: 'cw-chat-preview cw-typing-text' }, 'escribiendo…')
          : h('span', { class: 'cw-chat-preview' }, preview),
        n ? h('span', { class: 'cw-badge', 'aria-hidden': 'true' }, n > 99 ? '99+' : String(n)) : null))));
  }

  function render() {
    const f = (s.ui.filtro || '').trim().toLowerCase();
    const chats = store.chatsOrdenados().filter((c) => !f || store.nombreChat(c).toLowerCase().includes(f));
    const focused = ul.contains(document.activeElement) || (el.getRootNode().activeElement && ul.contains(el.getRootNode().activeElement))
      ? (el.getRootNode().activeElement || document.activeElement).dataset.id : null;
    clear(ul);
    for (const c of chats) ul.appendChild(item(c));
    if (!chats.length) ul.appendChild(h('li', { class: 'cw-muted cw-pad' }, f ? 'Sin resultados' : 'Sin conversaciones'));
    if (focused) {
      const b = ul.querySelector(`[data-id="${focused}"]`);
      if (b) b.focus();
    }
  }

  const unsub = store.subscribe((t) => {
    if (t.has('chats') || t.has('presencia') || t.has('ui') || t.has('me')) render();
  });
  render();
  return { destroy: unsub };
}
