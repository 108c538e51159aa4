// busqueda.js: message search (GET /buscar): in every chat or only in the
// one that was open, by relevance or by date; each hit shows its chat,
// author, date and excerpt with the matched words marked, and opens its
// conversation on that message. Announcement hits open the announcements.

import { h, clear, fechaHora, debounce } from './dom.js';

/**
 * marcado(extracto, marcas): the excerpt as nodes, the [inicio, fin) code
 * point ranges in <mark>. Text only (textContent), whatever the server sent.
 */
export function marcado(extracto, marcas) {
  const cps = Array.from(String(extracto || ''));
  const out = [];
  let at = 0;
  const rangos = (Array.isArray(marcas) ? marcas : [])
    .filter((r) => Array.isArray(r) && Number.isInteger(r[0]) && Number.isInteger(r[1]) && r[0] < r[1])
    .sort((a, b) => a[0] - b[0]);
  for (const [ini, fin] of rangos) {
    const a = Math.max(ini, at);
    const b = Math.min(fin, cps.length);
    if (a >= b) continue;
    if (a > at) out.push(document.createTextNode(cps.slice(at, a).join('')));
    out.push(h('mark', { class: 'cw-marca' }, cps.slice(a, b).join('')));
    at = b;
  }
  if (at < cps.length) out.push(document.createTextNode(cps.slice(at).join('')));
  return out;
}

export function createBusqueda(client, el, app) {
  const store = client.store;
  const s = store.state;
  const chatPrevio = s.ui.chatActivo && s.chats.has(s.ui.chatActivo) ? s.ui.chatActivo : null;

  const back = h('button', { type: 'button', class: 'cw-btn cw-btn-icon cw-back', 'aria-label': 'Cerrar la búsqueda',
    on: { click: () => store.setUi({ vista: chatPrevio ? 'chat' : 'lista' }) } }, '←');
  const q = h('input', { type: 'search', class: 'cw-input cw-busqueda-q', placeholder: 'Buscar en los mensajes', 'aria-label': 'Buscar en los mensajes', maxlength: '200', autocomplete: 'off' });
  const ambito = h('select', { class: 'cw-input cw-busqueda-ambito', 'aria-label': 'Dónde buscar' },
    h('option', { value: '' }, 'En todos los chats'),
    chatPrevio ? h('option', { value: String(chatPrevio) }, 'Solo en ' + store.nombreChat(s.chats.get(chatPrevio))) : null);
  const orden = h('select', { class: 'cw-input cw-busqueda-orden', 'aria-label': 'Orden' },
    h('option', { value: 'relevancia' }, 'Más relevantes'), h('option', { value: 'fecha' }, 'Más recientes'));
  const estado = h('p', { class: 'cw-muted cw-small cw-busqueda-estado', role: 'status', 'aria-live': 'polite' });
  const lista = h('ul', { class: 'cw-busqueda-resultados', 'aria-label': 'Resultados' });
  const mas = h('button', { type: 'button', class: 'cw-btn cw-busqueda-mas', hidden: true }, 'Más resultados');
  const root = h('section', { class: 'cw-busqueda', 'aria-label': 'Buscar mensajes' },
    h('header', { class: 'cw-conv-head' }, back, h('h2', { class: 'cw-conv-title' }, '🔎 Buscar mensajes')),
    h('div', { class: 'cw-busqueda-form' }, q, h('div', { class: 'cw-row' }, ambito, orden)),
    h('div', { class: 'cw-scroller' }, estado, lista, mas));
  el.appendChild(root);

  let cursor = null;
  let pedido = null;     // AbortController of the request in flight
  let vuelta = 0;        // answers of older searches are dropped

  function consulta() {
    const p = { q: q.value.trim(), orden: orden.value, limite: '20' };
    if (ambito.value) p.chat_id = ambito.value;
    return p;
  }

  function hit(r) {
    const m = r.mensaje;
    const k = r.comunicado;
    const autor = m ? (m.autor && m.autor.nombre) || '' : (k && k.autor && k.autor.nombre) || '';
    const donde = m ? (r.chat && (r.chat.nombre || store.nombreChat(s.chats.get(r.chat.id)))) || 'Chat' : '📢 Comunicado';
    const cuando = (m && m.created_at) || (k && k.created_at) || null;
    const abrir = () => {
      if (m && r.chat) client.irAMensaje(r.chat.id, m.id);
      else store.setUi({ vista: 'comunicados' });
    };
    return h('li', null, h('button', { type: 'button', class: 'cw-busqueda-hit', 'data-mensaje': m ? String(m.id) : '', on: { click: abrir } },
      h('span', { class: 'cw-busqueda-donde cw-strong' }, donde),
      h('span', { class: 'cw-busqueda-meta cw-muted cw-small' }, [autor, cuando ? fechaHora(cuando) : ''].filter(Boolean).join(' · ')),
      h('span', { class: 'cw-busqueda-extracto' }, marcado(r.extracto, r.marcas))));
  }

  async function buscar(seguir) {
    const p = consulta();
    if (!p.q) {
      if (pedido) pedido.abort();
      clear(lista); mas.hidden = true; cursor = null;
      estado.textContent = 'Escribe una o más palabras. Usa "comillas" para una frase y -palabra para excluir.';
      return;
    }
    if (seguir && cursor) p.cursor = cursor;
    if (pedido) pedido.abort();
    pedido = new AbortController();
    const mia = ++vuelta;
    estado.textContent = 'Buscando…';
    mas.disabled = true;
    try {
      const r = await client.api.buscar(p, { signal: pedido.signal });
      if (mia !== vuelta) return;
      if (!seguir) clear(lista);
      for (const x of r.resultados || []) lista.appendChild(hit(x));
      cursor = r.cursor || null;
      mas.hidden = !r.hay_mas;
      const n = lista.children.length;
      estado.textContent = n ? (n === 1 ? '1 resultado' : `${n} resultados`) + (r.hay_mas ? ' (hay más)' : '') : 'Sin resultados';
    } catch (e) {
      if (mia !== vuelta || (e && e.name === 'AbortError')) return;
      estado.textContent = (e && e.mensaje) || 'No se pudo buscar';
    } finally {
      if (mia === vuelta) mas.disabled = false;
    }
  }

  const buscarPronto = debounce(() => buscar(false), 300);
  q.addEventListener('input', buscarPronto);
  q.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); buscar(false); } });
  ambito.addEventListener('change', () => buscar(false));
  orden.addEventListener('change', () => buscar(false));
  mas.addEventListener('click', () => buscar(true));
  buscar(false);
  requestAnimationFrame(() => q.focus());

  return {
    destroy() { if (pedido) pedido.abort(); vuelta++; root.remove(); },
  };
}
