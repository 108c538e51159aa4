// auditoria.js: the audit page (/chat/auditoria.html), for holders of the
// configured audit permission (GET /me says `auditor`): the audit trail
// filtered by date, person, chat and action (GET /auditoria), and from a
// result the conversation as it was around that moment, read-only
// (GET /auditoria/chats/{id}/mensajes), deleted messages shown as deleted
// with who deleted them.

import { createApi, ApiError } from './api.js';
import { tokenSource } from './token.js';
import { h, clear, fechaHora, debounce } from './views/dom.js';

/** What each accion means, in the page's words. */
export const ACCIONES = {
  'chat.creado': 'Grupo creado',
  'chat.actualizado': 'Ajustes del grupo cambiados',
  'chat.eliminado': 'Chat eliminado',
  'miembros.agregados': 'Miembros agregados',
  'miembro.eliminado': 'Miembro quitado',
  'miembro.salio': 'Salió del grupo',
  'miembro.rol': 'Rol cambiado',
  'mensaje.eliminado': 'Mensaje eliminado por otra persona',
  'comunicado.eliminado': 'Comunicado eliminado',
  'usuario.desactivado': 'Usuario desactivado',
  'usuario.reactivado': 'Usuario reactivado',
  'usuario.vacaciones': 'Vacaciones',
  'retencion.chat': 'Retención del chat',
  'retencion.usuario': 'Retención de la persona',
  'retencion.poda': 'Depuración por retención',
  'exportacion.chat': 'Exportación de chat',
  'exportacion.usuario': 'Exportación de persona',
};

function actorTexto(a) {
  if (!a) return '';
  if (a.tipo === 'servicio') return 'ERP (servicio)';
  if (a.tipo === 'sistema') return 'Sistema';
  return a.nombre || `Usuario ${a.id}`;
}

function objetoTexto(o) {
  if (!o) return '';
  const base = `${o.tipo} ${o.id ?? ''}`.trim();
  return o.chat_id && o.tipo !== 'chat' ? `${base} · chat ${o.chat_id}` : base;
}

/** A short "antes → después" of a row's JSON, for the table: only what changed. */
function cambioTexto(antes, despues) {
  const v = (x) => (x !== null && typeof x === 'object' ? JSON.stringify(x) : String(x));
  const lista = (x) => Object.entries(x).map(([k, y]) => `${k}: ${v(y)}`).join(', ');
  const esObj = (x) => x !== null && typeof x === 'object';
  if (esObj(antes) && esObj(despues)) {
    const claves = [...new Set([...Object.keys(antes), ...Object.keys(despues)])];
    if (!Object.keys(antes).some((k) => k in despues)) return `${lista(antes)} → ${lista(despues)}`;
    return claves.filter((k) => v(antes[k]) !== v(despues[k]))
      .map((k) => `${k}: ${k in antes ? v(antes[k]) : '—'} → ${k in despues ? v(despues[k]) : '—'}`).join('; ');
  }
  return esObj(despues) ? lista(despues) : esObj(antes) ? lista(antes) : '';
}

/** mountAuditoria(root, api): the filters, the results and the conversation pane. */
function mountAuditoria(root, api) {
  const desde = h('input', { type: 'date', name: 'desde', 'aria-label': 'Desde' });
  const hasta = h('input', { type: 'date', name: 'hasta', 'aria-label': 'Hasta' });
  const persona = h('input', { type: 'search', name: 'persona', placeholder: 'Nombre de la persona', 'aria-label': 'Persona', list: 'cw-aud-personas', autocomplete: 'off' });
  const personas = h('datalist', { id: 'cw-aud-personas' });
  const chat = h('input', { type: 'number', name: 'chat', min: '1', placeholder: 'Id del chat', 'aria-label': 'Chat' });
  const accion = h('select', { name: 'accion', 'aria-label': 'Acción' },
    h('option', { value: '' }, 'Todas las acciones'),
    Object.entries(ACCIONES).map(([k, v]) => h('option', { value: k }, v)));
  const buscar = h('button', { type: 'submit', class: 'cw-btn cw-btn-primary' }, 'Buscar');
  const form = h('form', { class: 'cw-aud-filtros', role: 'search' },
    h('label', null, 'Desde ', desde), h('label', null, 'Hasta ', hasta),
    h('label', null, 'Persona ', persona, personas), h('label', null, 'Chat ', chat),
    h('label', null, 'Acción ', accion), buscar);
  const estado = h('p', { class: 'cw-aud-estado', role: 'status', 'aria-live': 'polite' });
  const tbody = h('tbody');
  const tabla = h('table', { class: 'cw-aud-tabla' },
    h('thead', null, h('tr', null, ['Fecha', 'Quién', 'Acción', 'Objeto', 'Cambio', ''].map((t) => h('th', { scope: 'col' }, t)))),
    tbody);
  const mas = h('button', { type: 'button', class: 'cw-btn cw-aud-mas', hidden: true }, 'Más resultados');
  const conv = h('section', { class: 'cw-aud-conv', 'aria-label': 'Conversación', hidden: true });
  clear(root).appendChild(h('div', { class: 'cw-app cw-aud' },
    h('header', { class: 'cw-top' }, h('h1', { class: 'cw-title' }, 'Auditoría'), h('span', { class: 'cw-grow' }),
      h('a', { class: 'cw-btn cw-btn-top', href: './' }, 'Volver al chat')),
    h('div', { class: 'cw-aud-cuerpo' }, form, estado, tabla, mas, conv)));

  // the person filter: names from GET /usuarios, the chosen one's id kept
  const idsPorNombre = new Map();
  persona.addEventListener('input', debounce(async () => {
    const q = persona.value.trim();
    if (q.length < 2) return;
    try {
      const r = await api.usuarios(q, 10);
      clear(personas);
      for (const u of r.usuarios) {
        idsPorNombre.set(u.nombre, u.id);
        personas.appendChild(h('option', { value: u.nombre }));
      }
    } catch (_) { /* suggestions only */ }
  }, 250));

  let cursor = null;
  let consulta = '';

  function filtros() {
    const p = new URLSearchParams();
    if (desde.value) p.set('desde', desde.value);
    if (hasta.value) p.set('hasta', hasta.value);
    const nombre = persona.value.trim();
    if (nombre) {
      const id = idsPorNombre.get(nombre) || (/^\d+$/.test(nombre) ? Number(nombre) : null);
      if (!id) throw new Error('Elige a la persona de la lista');
      p.set('actor', String(id));
    }
    if (chat.value) p.set('chat_id', chat.value);
    if (accion.value) p.set('accion', accion.value);
    return p;
  }

  function fila(r) {
    const ver = r.objeto && r.objeto.chat_id
      ? h('button', { type: 'button', class: 'cw-btn cw-aud-ver', on: { click: () => verConversacion(r) } }, 'Ver conversación')
      : null;
    return h('tr', { class: 'cw-aud-fila', dataset: { id: String(r.id), accion: r.accion } },
      h('td', null, h('time', { datetime: r.at }, fechaHora(r.at))),
      h('td', null, actorTexto(r.actor)),
      h('td', { title: r.accion }, ACCIONES[r.accion] || r.accion),
      h('td', null, objetoTexto(r.objeto)),
      h('td', { class: 'cw-aud-cambio' }, cambioTexto(r.antes, r.despues)),
      h('td', null, ver));
  }

  async function cargar(nueva) {
    let p;
    try { p = filtros(); } catch (e) { estado.textContent = e.message; return; }
    if (nueva) { consulta = p.toString(); cursor = null; clear(tbody); conv.hidden = true; }
    const q = new URLSearchParams(consulta);
    q.set('limite', '50');
    if (cursor) q.set('cursor', cursor);
    estado.textContent = 'Buscando…';
    try {
      const r = await api.get('/auditoria?' + q.toString());
      for (const reg of r.registros) tbody.appendChild(fila(reg));
      cursor = r.cursor;
      mas.hidden = !r.hay_mas;
      const n = tbody.children.length;
      estado.textContent = n === 1 ? '1 registro' : n ? `${n} registros` : 'Sin registros con esos filtros';
    } catch (e) {
      estado.textContent = e instanceof ApiError ? e.mensaje : 'No se pudo consultar';
    }
  }

  async function verConversacion(r) {
    const q = new URLSearchParams({ limite: '25' });
    if (r.objeto.tipo === 'mensaje' && r.objeto.id) q.set('alrededor', String(r.objeto.id));
    else q.set('en', r.at);
    conv.hidden = false;
    clear(conv).appendChild(h('p', { class: 'cw-muted' }, 'Cargando conversación…'));
    try {
      const c = await api.get(`/auditoria/chats/${r.objeto.chat_id}/mensajes?` + q.toString());
      const titulo = (c.chat.nombre || (c.chat.tipo === 'directo' ? 'Chat directo' : 'Chat')) + ` #${c.chat.id}` +
        (c.chat.eliminado ? ' (eliminado)' : '');
      clear(conv).append(
        h('h2', null, titulo),
        h('p', { class: 'cw-muted' }, `Alrededor de ${fechaHora(r.at)} · solo lectura`),
        h('ol', { class: 'cw-aud-msgs' }, c.mensajes.map((m) => mensaje(m, m.id === c.centro_id))));
      const centro = conv.querySelector('.cw-aud-centro');
      if (centro) centro.scrollIntoView({ block: 'center' });
    } catch (e) {
      clear(conv).appendChild(h('p', { role: 'alert' }, e instanceof ApiError ? e.mensaje : 'No se pudo cargar'));
    }
  }

  function mensaje(m, centro) {
    const quien = m.autor ? m.autor.nombre : 'Sistema';
    let cuerpo;
    if (m.eliminado) {
      const por = m.eliminado_por ? m.eliminado_por.nombre : 'alguien';
      cuerpo = [h('p', { class: 'cw-aud-eliminado' }, `Mensaje eliminado por ${por}`,
        m.eliminado_at ? ` el ${fechaHora(m.eliminado_at)}` : ''),
      m.contenido_conservado ? h('p', { class: 'cw-aud-conservado' }, 'Conservado por retención legal: ', m.contenido_conservado) : null];
    } else {
      cuerpo = [m.contenido ? h('p', null, m.contenido) : null,
        m.media ? h('p', { class: 'cw-muted' }, `📎 ${m.media.nombre || m.media.mime}`) : null];
    }
    return h('li', { class: 'cw-aud-msg' + (m.eliminado ? ' cw-aud-msg-eliminado' : '') + (centro ? ' cw-aud-centro' : ''), dataset: { id: String(m.id) } },
      h('div', { class: 'cw-aud-msg-cab' }, h('strong', null, quien), ' ', h('time', { datetime: m.created_at }, fechaHora(m.created_at)),
        m.editado_at ? h('span', { class: 'cw-muted' }, ' (editado)') : null),
      cuerpo);
  }

  form.addEventListener('submit', (ev) => { ev.preventDefault(); cargar(true); });
  mas.addEventListener('click', () => cargar(false));
  cargar(true);
}

async function main() {
  const root = document.getElementById('chat-auditoria');
  const api = createApi({ getToken: tokenSource({ el: document.documentElement, url: true }) });
  let me;
  try {
    me = await api.me();
  } catch (e) {
    clear(root).appendChild(h('p', { class: 'cw-aud-estado', role: 'alert' },
      e instanceof ApiError && e.status === 401 ? 'Tu sesión no es válida o venció' : 'No se pudo abrir la auditoría'));
    return;
  }
  if (!me.auditor) {
    clear(root).appendChild(h('p', { class: 'cw-aud-estado', role: 'alert' }, 'No tienes el permiso de auditoría'));
    return;
  }
  mountAuditoria(root, api);
}

main();
