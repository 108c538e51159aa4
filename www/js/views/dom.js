// dom.js: tiny DOM helpers shared by the views (no framework), and the
// es-MX formatting of dates and sizes.

/**
 * h(tag, attrs, ...children): an element. attrs: class, text, dataset ({}),
 * on ({click: fn}), style, aria-*, any attribute or property (true adds a
 * boolean attribute, false/null leaves it out). Children: nodes, strings, arrays.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
      else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
      else if (k === 'value' || k === 'checked' || k === 'selected' || k === 'hidden' || k === 'disabled') el[k] = v;
      else if (v === true) el.setAttribute(k, '');
      else el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/** clear(el): removes every child. */
export function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }

const LOCALE = 'es-MX';
const fHora = new Intl.DateTimeFormat(LOCALE, { hour: '2-digit', minute: '2-digit' });
const fDia = new Intl.DateTimeFormat(LOCALE, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
const fCorta = new Intl.DateTimeFormat(LOCALE, { day: '2-digit', month: '2-digit', year: '2-digit' });
const fSemana = new Intl.DateTimeFormat(LOCALE, { weekday: 'short' });
const fCompleta = new Intl.DateTimeFormat(LOCALE, { dateStyle: 'medium', timeStyle: 'short' });

export function hora(iso) { return iso ? fHora.format(new Date(iso)) : ''; }
export function fechaHora(iso) { return iso ? fCompleta.format(new Date(iso)) : ''; }

export function diaKey(iso) {
  const d = new Date(iso);
  return d.getFullYear() + '-' + d.getMonth() + '-' + d.getDate();
}

/** separador(iso): "Hoy", "Ayer" or the long date. */
export function separador(iso) {
  const d = new Date(iso);
  const hoy = new Date();
  const ayer = new Date(); ayer.setDate(hoy.getDate() - 1);
  if (diaKey(d) === diaKey(hoy)) return 'Hoy';
  if (diaKey(d) === diaKey(ayer)) return 'Ayer';
  const s = fDia.format(d);
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** corta(iso): time today, weekday this week, else a short date (chat list). */
export function corta(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const hoy = new Date();
  if (diaKey(d) === diaKey(hoy)) return fHora.format(d);
  if (hoy - d < 6 * 86400000) return fSemana.format(d);
  return fCorta.format(d);
}

export function tamano(n) {
  if (!n && n !== 0) return '';
  if (n < 1024) return n + ' B';
  if (n < 1048576) return (n / 1024).toFixed(1).replace('.0', '') + ' KB';
  return (n / 1048576).toFixed(1).replace('.0', '') + ' MB';
}

export function iniciales(nombre) {
  return (nombre || '?').split(/\s+/).filter(Boolean).slice(0, 2).map((p) => p[0].toUpperCase()).join('');
}

/**
 * avatar(nombre, estatus?, grupo?, imagen?): initials (or 👥 for a group) in
 * a circle, a presence dot when estatus given. imagen: a picture's src, or a
 * promise of it (shown once it resolves; the initials stay if it fails).
 */
export function avatar(nombre, estatus, grupo = false, imagen = null) {
  let hash = 0;
  for (const ch of nombre || '') hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  const el = h('span', { class: 'cw-avatar' + (grupo ? ' cw-avatar-grupo' : ''), style: { '--cw-hue': String(hash % 360) }, 'aria-hidden': 'true' },
    h('span', { class: 'cw-avatar-txt' }, grupo ? '👥' : iniciales(nombre)),
    estatus ? h('span', { class: 'cw-dot cw-dot-' + estatus }) : null);
  const poner = (src) => {
    if (!src) return;
    el.insertBefore(h('img', { class: 'cw-avatar-img', src, alt: '' }), el.firstChild);
    el.classList.add('cw-avatar-con-img');
  };
  if (typeof imagen === 'string') poner(imagen);
  else if (imagen && typeof imagen.then === 'function') imagen.then(poner, () => {});
  return el;
}

export const ESTATUS = {
  en_linea: 'En línea', inactivo: 'Inactivo', desconectado: 'Desconectado', vacaciones: 'De vacaciones',
};

export const EMOJIS = ['👍', '❤️', '😂', '😮', '😢', '🙏'];

/** debounce(fn, ms). */
export function debounce(fn, ms) {
  let t = 0;
  return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
}
