// message.js: one message of a conversation — text, reply quote, media,
// poll, reactions, ticks and the actions a member may take on it.

import { h, hora, tamano, EMOJIS, fechaHora } from './dom.js';
import { modal } from './dialogs.js';

/**
 * renderMensaje(ctx, m, {pendiente}): the element of one message.
 * ctx: {client, store, chat, acciones: {responder, editar, eliminar, lecturas, irA}}.
 */
export function renderMensaje(ctx, m, pend) {
  const { store } = ctx;
  const s = store.state;
  if (m.tipo === 'sistema') {
    return h('div', { class: 'cw-msg-sistema', dataset: { id: String(m.id) }, role: 'note' }, m.contenido || '');
  }
  const mio = s.me && m.autor && m.autor.id === s.me.id;
  const grupo = ctx.chat.tipo === 'grupo';
  const autorInactivo = m.autor && (m.autor.activo === false || m.autor.nombre === 'Usuario desactivado');
  const cls = ['cw-msg', mio ? 'cw-mio' : 'cw-otro'];
  if (m.eliminado) cls.push('cw-eliminado');
  if (pend) cls.push('cw-pendiente');

  const partes = [];
  if (grupo && !mio) {
    partes.push(h('div', { class: 'cw-msg-autor' + (autorInactivo ? ' cw-inactivo' : '') }, m.autor ? m.autor.nombre : ''));
  }
  if (m.respuesta_a && !m.eliminado) {
    const r = m.respuesta_a;
    partes.push(h('button', {
      type: 'button', class: 'cw-quote', 'aria-label': `Respuesta a ${r.autor_nombre}: ${r.extracto || ''}`,
      on: { click: () => ctx.acciones.irA(r.id) },
    }, h('span', { class: 'cw-quote-autor' }, r.autor_nombre || ''), h('span', { class: 'cw-quote-text' }, r.extracto || etiquetaTipo(r.tipo))));
  }
  if (m.eliminado) {
    partes.push(h('div', { class: 'cw-msg-text cw-muted' }, '🚫 Se eliminó este mensaje'));
  } else {
    if (m.media) partes.push(renderMedia(ctx, m));
    if (m.tipo === 'encuesta' && m.encuesta) partes.push(renderEncuesta(ctx, m));
    else if (m.contenido) partes.push(h('div', { class: 'cw-msg-text' }, enlaces(m.contenido, ctx.store.state.enlacesRegistros)));
  }

  // meta: edited, time, ticks
  let tick = null;
  if (mio && !m.eliminado) {
    if (pend) {
      tick = pend.estado === 'error'
        ? h('span', { class: 'cw-tick cw-tick-error', title: pend.error || 'No enviado' }, '⚠ No enviado')
        : h('span', { class: 'cw-tick cw-tick-pend', title: 'Pendiente de enviar', 'aria-label': 'Pendiente de enviar' }, '🕓');
    } else {
      const leido = store.leidoPorTodos(m);
      const attrs = { class: 'cw-tick' + (leido ? ' cw-tick-leido' : ''), dataset: { tick: leido ? 'leido' : 'enviado' },
        title: leido ? 'Leído por todos' : 'Enviado', 'aria-label': leido ? 'Leído por todos' : 'Enviado' };
      tick = grupo
        ? h('button', Object.assign({ type: 'button', on: { click: () => ctx.acciones.lecturas(m) } }, attrs, { class: attrs.class + ' cw-tick-btn', 'aria-label': attrs['aria-label'] + '. Ver quién lo leyó' }), leido ? '✓✓' : '✓')
        : h('span', attrs, leido ? '✓✓' : '✓');
    }
  }
  partes.push(h('div', { class: 'cw-msg-meta' },
    m.editado_at && !m.eliminado ? h('span', { class: 'cw-editado', title: 'Editado ' + fechaHora(m.editado_at) }, 'editado') : null,
    h('time', { datetime: m.created_at, title: fechaHora(m.created_at) }, hora(m.created_at)), tick));

  if (pend && pend.estado === 'error') {
    partes.push(h('div', { class: 'cw-row cw-msg-retry' },
      h('button', { type: 'button', class: 'cw-btn cw-btn-small', on: { click: () => ctx.client.reintentar(pend.client_id) } }, 'Reintentar'),
      h('button', { type: 'button', class: 'cw-btn cw-btn-small', on: { click: () => ctx.client.descartar(pend.client_id) } }, 'Descartar')));
  }

  // reactions
  if (!m.eliminado && m.reacciones && m.reacciones.length) {
    partes.push(h('div', { class: 'cw-reacciones' }, m.reacciones.map((r) => h('button', {
      type: 'button', class: 'cw-reaccion' + (r.mia ? ' cw-mia' : ''), 'aria-pressed': String(!!r.mia),
      'aria-label': `${r.emoji} ${r.total}${r.mia ? ', incluida la tuya' : ''}`,
      title: (r.usuarios || []).map((u) => (s.usuarios.get(u) || {}).nombre || '').filter(Boolean).join(', '),
      dataset: { emoji: r.emoji },
      on: { click: () => ctx.client.reaccionar(m, r.emoji) },
    }, r.emoji, ' ', h('span', null, String(r.total))))));
  }

  // actions (shown on hover / focus; always reachable by keyboard)
  let acciones = null;
  if (!pend && !m.eliminado) {
    const picker = h('div', { class: 'cw-picker', hidden: true, role: 'group', 'aria-label': 'Elegir reacción' },
      EMOJIS.map((e) => h('button', { type: 'button', class: 'cw-btn cw-btn-icon', 'aria-label': 'Reaccionar con ' + e, dataset: { emoji: e },
        on: { click: () => { picker.hidden = true; ctx.client.reaccionar(m, e); } } }, e)));
    picker.addEventListener('keydown', (e) => { if (e.key === 'Escape') { e.stopPropagation(); picker.hidden = true; btnR.focus(); } });
    const btnR = h('button', { type: 'button', class: 'cw-act', 'aria-label': 'Reaccionar', title: 'Reaccionar',
      on: { click: () => { picker.hidden = !picker.hidden; if (!picker.hidden) picker.querySelector('button').focus(); } } }, '😊');
    const puedeBorrar = mio || store.puede(566);
    acciones = h('div', { class: 'cw-acciones', role: 'group', 'aria-label': 'Acciones del mensaje' },
      h('button', { type: 'button', class: 'cw-act', 'aria-label': 'Responder', title: 'Responder', on: { click: () => ctx.acciones.responder(m) } }, '↩'),
      btnR,
      mio && (m.tipo === 'texto' || m.contenido) && m.tipo !== 'encuesta'
        ? h('button', { type: 'button', class: 'cw-act', 'aria-label': 'Editar', title: 'Editar', on: { click: () => ctx.acciones.editar(m) } }, '✏️') : null,
      mio ? h('button', { type: 'button', class: 'cw-act', 'aria-label': 'Ver quién lo leyó', title: 'Lecturas', on: { click: () => ctx.acciones.lecturas(m) } }, 'ℹ️') : null,
      puedeBorrar ? h('button', { type: 'button', class: 'cw-act', 'aria-label': 'Eliminar', title: 'Eliminar', on: { click: () => ctx.acciones.eliminar(m) } }, '🗑') : null,
      picker);
  }

  const quien = mio ? 'Tú' : (m.autor ? m.autor.nombre : '');
  return h('div', { class: cls.join(' '), dataset: { id: String(m.id || ''), clientId: m.client_id || '' } },
    h('div', { class: 'cw-bubble', tabindex: '-1', 'aria-label': `${quien}, ${hora(m.created_at)}` }, partes), acciones);
}

const URL_RE = /\bhttps?:\/\/[^\s<>"]+[^\s<>".,;:!?)\]]/g;

/** enlaces(texto, registros): text nodes and <a> for the http(s) URLs in it
 * and for mentions of ERP records (#pedido-1001, the kinds and URL
 * templates of enlaces_registros); never HTML from the text. */
export function enlaces(texto, registros = []) {
  const out = [];
  let i = 0;
  for (const mm of texto.matchAll(URL_RE)) {
    if (mm.index > i) out.push(...menciones(texto.slice(i, mm.index), registros));
    out.push(h('a', { href: mm[0], target: '_blank', rel: 'noopener noreferrer', class: 'cw-link' }, mm[0]));
    i = mm.index + mm[0].length;
  }
  if (i < texto.length) out.push(...menciones(texto.slice(i), registros));
  return out;
}

// #tipo-clave, the key letters, digits and inner . _ - (a final dot or dash
// is punctuation); not inside a word (a#b) nor after another #
const recCache = new WeakMap();
function recRegex(registros) {
  let re = recCache.get(registros);
  if (re === undefined) {
    const tipos = registros.map((r) => r && r.tipo).filter((t) => typeof t === 'string' && /^[a-z0-9_]+$/.test(t));
    re = tipos.length ? new RegExp(`(^|[^\\p{L}\\p{N}_#])#(${tipos.join('|')})-([\\p{L}\\p{N}](?:[\\p{L}\\p{N}_.-]*[\\p{L}\\p{N}])?)`, 'gu') : null;
    recCache.set(registros, re);
  }
  return re;
}

function menciones(texto, registros) {
  const re = Array.isArray(registros) && registros.length ? recRegex(registros) : null;
  if (!re) return [texto];
  const out = [];
  let i = 0;
  for (const mm of texto.matchAll(re)) {
    const ini = mm.index + mm[1].length;
    const r = registros.find((x) => x.tipo === mm[2]);
    const url = r && typeof r.url === 'string' ? r.url.replace('{clave}', encodeURIComponent(mm[3])) : '';
    if (!/^https?:\/\//i.test(url) && !(url.startsWith('/') && !url.startsWith('//'))) continue;
    if (ini > i) out.push(texto.slice(i, ini));
    const visto = texto.slice(ini, mm.index + mm[0].length);
    out.push(h('a', { href: url, target: '_blank', rel: 'noopener noreferrer', class: 'cw-link cw-link-registro', title: `Abrir ${mm[2]} ${mm[3]} en el ERP` }, visto));
    i = mm.index + mm[0].length;
  }
  if (i < texto.length) out.push(texto.slice(i));
  return out;
}

/** verImagen(ctx, img): the picture at full size in a dialog. */
function verImagen(ctx, img, titulo) {
  const grande = h('img', { class: 'cw-img-grande', src: img.src, alt: img.alt });
  modal(ctx.app, titulo || 'Imagen', grande);
}

function etiquetaTipo(t) {
  return { imagen: '📷 Imagen', audio: '🎤 Audio', video: '🎬 Video', documento: '📄 Documento', encuesta: '📊 Encuesta' }[t] || '';
}

function renderMedia(ctx, m) {
  const md = m.media;
  const nombre = md.nombre || 'archivo';
  const setUrl = (el, attr) => {
    ctx.client.mediaUrl(md).then((u) => { el[attr] = u; }).catch(() => { el.classList.add('cw-media-error'); });
    return el;
  };
  switch (m.tipo) {
    case 'imagen': {
      const img = h('img', { class: 'cw-img', alt: m.contenido || nombre, loading: 'lazy', width: md.ancho || null, height: md.alto || null });
      const abrir = h('button', { type: 'button', class: 'cw-img-btn', 'aria-label': 'Ver imagen ' + nombre + ' en grande',
        on: { click: () => { if (img.src) verImagen(ctx, img, nombre); } } }, setUrl(img, 'src'));
      return h('div', { class: 'cw-media' }, abrir);
    }
    case 'audio':
      return h('div', { class: 'cw-media' }, setUrl(h('audio', { controls: true, preload: 'metadata', 'aria-label': 'Audio: ' + nombre }), 'src'));
    case 'video':
      return h('div', { class: 'cw-media' }, setUrl(h('video', { controls: true, preload: 'metadata', class: 'cw-video', 'aria-label': 'Video: ' + nombre }), 'src'));
    default: {
      const a = h('a', { class: 'cw-doc', href: md.url, download: nombre, 'aria-label': `Descargar ${nombre}, ${tamano(md.tamano)}` },
        h('span', { class: 'cw-doc-icon', 'aria-hidden': 'true' }, iconoDoc(md.mime, nombre)),
        h('span', { class: 'cw-chat-text' }, h('span', { class: 'cw-doc-name' }, nombre), h('span', { class: 'cw-muted' }, tamano(md.tamano) + ' · Descargar')));
      setUrl(a, 'href');
      return a;
    }
  }
}

function iconoDoc(mime, nombre) {
  const n = (nombre || '').toLowerCase();
  if ((mime || '').includes('pdf') || n.endsWith('.pdf')) return 'PDF';
  if (/sheet|excel|\.xlsx?$/.test(mime + n)) return 'XLS';
  if (/presentation|powerpoint|\.pptx?$/.test(mime + n)) return 'PPT';
  if (/word|\.docx?$/.test(mime + n)) return 'DOC';
  return 'ARCH';
}

function renderEncuesta(ctx, m) {
  const e = m.encuesta;
  const s = ctx.store.state;
  const mis = new Set(e.mis_votos || []);
  const total = e.total_votantes || 0;
  const cerrada = e.cerrada || (e.cierra_at && new Date(e.cierra_at) < new Date());
  const mio = s.me && m.autor && m.autor.id === s.me.id;
  const sub = [e.multiple ? 'Varias respuestas' : 'Una respuesta', e.anonima ? 'anónima' : null,
    cerrada ? 'cerrada' : (e.cierra_at ? 'cierra ' + fechaHora(e.cierra_at) : null)].filter(Boolean).join(' · ');
  const votar = (opId) => {
    let sel;
    if (e.multiple) { sel = new Set(mis); if (sel.has(opId)) sel.delete(opId); else sel.add(opId); sel = [...sel]; }
    else sel = mis.has(opId) ? [] : [opId];
    ctx.client.votar(m, sel);
  };
  return h('div', { class: 'cw-encuesta', role: 'group', 'aria-label': 'Encuesta: ' + e.pregunta },
    h('div', { class: 'cw-encuesta-q' }, '📊 ', e.pregunta),
    h('div', { class: 'cw-muted cw-small' }, sub),
    h('ul', { class: 'cw-encuesta-ops', role: 'list' }, e.opciones.map((o) => {
      const pct = total ? Math.round((o.votos || 0) * 100 / total) : 0;
      const nombres = (o.votantes || []).map((u) => (s.usuarios.get(u) || {}).nombre).filter(Boolean).join(', ');
      return h('li', null, h('button', {
        type: 'button', class: 'cw-opcion-btn' + (mis.has(o.id) ? ' cw-votada' : ''), disabled: cerrada,
        role: e.multiple ? 'checkbox' : 'radio', 'aria-checked': String(mis.has(o.id)),
        'aria-label': `${o.texto}: ${o.votos || 0} ${o.votos === 1 ? 'voto' : 'votos'}`, dataset: { opcion: String(o.id) },
        title: nombres, on: { click: () => votar(o.id) },
      }, h('span', { class: 'cw-opcion-bar', style: { width: pct + '%' } }),
      h('span', { class: 'cw-opcion-mark', 'aria-hidden': 'true' }, mis.has(o.id) ? (e.multiple ? '☑' : '◉') : (e.multiple ? '☐' : '○')),
      h('span', { class: 'cw-opcion-texto' }, o.texto),
      h('span', { class: 'cw-opcion-votos', dataset: { votos: String(o.votos || 0) } }, String(o.votos || 0))));
    })),
    h('div', { class: 'cw-row cw-small' }, h('span', { class: 'cw-muted cw-votantes' }, `${total} ${total === 1 ? 'persona votó' : 'personas votaron'}`),
      mio && !cerrada ? h('button', { type: 'button', class: 'cw-btn cw-btn-small', on: { click: () => ctx.client.cerrarEncuesta(m) } }, 'Cerrar encuesta') : null));
}
