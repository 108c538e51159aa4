// comunicados.js: the announcements panel — list, read confirmation,
// reactions; for permission 567 the composer and the readers report.

import { h, clear, avatar, fechaHora, EMOJIS, debounce, tamano } from './dom.js';
import { modal } from './dialogs.js';
import { tipoDeMime } from '../client.js';

export function createComunicados(client, el, app) {
  const store = client.store;
  const s = store.state;
  const back = h('button', { type: 'button', class: 'cw-btn cw-btn-icon cw-back', 'aria-label': 'Volver a la lista', on: { click: () => store.setUi({ vista: 'lista' }) } }, '←');
  const nuevo = store.puede(567)
    ? h('button', { type: 'button', class: 'cw-btn cw-btn-primary', on: { click: () => dialogoComunicado(client, app) } }, '+ Nuevo comunicado') : null;
  const lista = h('div', { class: 'cw-com-list', role: 'feed', 'aria-label': 'Comunicados' });
  const root = h('section', { class: 'cw-conv cw-comunicados', 'aria-label': 'Comunicados' },
    h('header', { class: 'cw-conv-head' }, back, h('h2', { class: 'cw-conv-title' }, '📢 Comunicados'), h('span', { class: 'cw-grow' }), nuevo),
    h('div', { class: 'cw-scroller' }, lista));
  el.appendChild(root);

  function card(c) {
    const mio = s.me && c.autor && c.autor.id === s.me.id;
    const veReporte = mio || store.puede(567);
    const partes = [
      h('div', { class: 'cw-com-head' }, avatar(c.autor ? c.autor.nombre : ''),
        h('div', { class: 'cw-chat-text' }, h('h3', { class: 'cw-com-title' }, c.titulo),
          h('span', { class: 'cw-muted cw-small' }, (c.autor ? c.autor.nombre : '') + ' · ' + fechaHora(c.created_at)))),
      h('div', { class: 'cw-msg-text' }, c.contenido || ''),
    ];
    if (c.media) partes.push(mediaComunicado(client, c.media));
    partes.push(h('div', { class: 'cw-reacciones' },
      (c.reacciones || []).map((r) => h('button', { type: 'button', class: 'cw-reaccion' + (r.mia ? ' cw-mia' : ''), 'aria-pressed': String(!!r.mia),
        'aria-label': `${r.emoji} ${r.total}`, dataset: { emoji: r.emoji }, on: { click: () => client.reaccionarComunicado(c, r.emoji) } }, r.emoji, ' ', String(r.total))),
      mio ? null : EMOJIS.filter((e) => !(c.reacciones || []).some((r) => r.emoji === e)).slice(0, 3).map((e) =>
        h('button', { type: 'button', class: 'cw-reaccion cw-reaccion-nueva', 'aria-label': 'Reaccionar con ' + e, dataset: { emoji: e }, on: { click: () => client.reaccionarComunicado(c, e) } }, e))));
    const pie = h('div', { class: 'cw-row cw-com-pie' });
    if (!mio) {
      pie.appendChild(c.leido_at
        ? h('span', { class: 'cw-ok cw-leido' }, '✓ Leído el ' + fechaHora(c.leido_at))
        : h('button', { type: 'button', class: 'cw-btn cw-btn-primary cw-confirmar', on: { click: () => client.confirmarComunicado(c) } }, 'Confirmar lectura'));
    }
    if (store.puede(568)) {
      pie.appendChild(h('button', { type: 'button', class: 'cw-btn cw-btn-peligro cw-borrar-com', on: { click: async () => {
        if (!window.confirm('¿Eliminar este comunicado para todos?')) return;
        try { await client.api.del(`/comunicados/${c.id}`); store.upsertComunicado({ id: c.id, eliminado: true }); } catch (e) { client.fallo(e); }
      } } }, 'Eliminar'));
    }
    if (veReporte) {
      pie.appendChild(h('button', { type: 'button', class: 'cw-btn cw-reporte', on: { click: () => dialogoReporte(client, app, c) } },
        `Lecturas: ${c.leidos_total || 0} de ${c.destinatarios_total || 0}`));
    }
    partes.push(pie);
    return h('article', { class: 'cw-com' + (!c.leido_at && !mio ? ' cw-com-nuevo' : ''), dataset: { id: String(c.id) }, tabindex: '0', 'aria-label': c.titulo }, partes);
  }

  function render() {
    const act = root.getRootNode().activeElement;
    const art = act && act.closest ? act.closest('.cw-com') : null;
    const focusId = art ? art.dataset.id : null;
    const focusCls = act && act.classList ? [...act.classList].find((x) => x !== 'cw-btn' && x !== 'cw-btn-primary') : null;
    clear(lista);
    const cs = store.comunicadosOrdenados();
    if (!cs.length) lista.appendChild(h('p', { class: 'cw-muted cw-pad' }, s.comunicadosCargados ? 'No hay comunicados' : 'Cargando…'));
    for (const c of cs) lista.appendChild(card(c));
    if (focusId) {
      const a = lista.querySelector(`[data-id="${focusId}"]`);
      const t = a && focusCls ? a.querySelector('.' + focusCls) : a;
      (t || a) && (t || a).focus();
    }
  }
  const unsub = store.subscribe((t) => { if (t.has('comunicados') || t.has('me')) render(); });
  if (!s.comunicadosCargados) client.loadComunicados().catch(client.fallo);
  render();
  return { destroy() { unsub(); root.remove(); } };
}

function mediaComunicado(client, md) {
  const t = tipoDeMime(md.mime);
  if (t === 'imagen') {
    const img = h('img', { class: 'cw-img', alt: md.nombre || 'Imagen', width: md.ancho || null, height: md.alto || null });
    client.mediaUrl(md).then((u) => { img.src = u; }).catch(() => {});
    return h('div', { class: 'cw-media' }, img);
  }
  const a = h('a', { class: 'cw-doc', href: md.url, download: md.nombre || 'archivo' }, h('span', { class: 'cw-doc-icon' }, '📄'),
    h('span', { class: 'cw-chat-text' }, h('span', { class: 'cw-doc-name' }, md.nombre || 'archivo'), h('span', { class: 'cw-muted' }, tamano(md.tamano))));
  client.mediaUrl(md).then((u) => { a.href = u; }).catch(() => {});
  return a;
}

/** dialogoReporte(client, app, c): readers report (author or 567), live while open. */
export function dialogoReporte(client, app, c) {
  const body = h('div', { class: 'cw-lecturas' }, h('p', { class: 'cw-muted' }, 'Cargando…'));
  const m = modal(app, 'Lecturas: ' + c.titulo, body);
  async function cargar() {
    try {
      const r = await client.api.lecturasComunicado(c.id);
      const dest = r.destinatarios || [];
      clear(body).append(
        h('p', { class: 'cw-strong cw-resumen' }, `${r.leidos} de ${r.total} confirmaron la lectura · ${r.pendientes} pendientes`),
        h('table', { class: 'cw-tabla' },
          h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Destinatario'), h('th', { scope: 'col' }, 'Leído'))),
          h('tbody', null, dest.map((d) => h('tr', { dataset: { usuario: String(d.usuario.id) } },
            h('td', null, d.usuario.nombre, d.usuario.departamento ? h('span', { class: 'cw-muted' }, ' · ' + d.usuario.departamento) : null),
            h('td', null, d.leido_at ? fechaHora(d.leido_at) : h('span', { class: 'cw-muted' }, 'Pendiente')))))));
    } catch (e) {
      clear(body).appendChild(h('p', { class: 'cw-error' }, e.mensaje || 'No se pudo cargar'));
    }
  }
  const recargar = debounce(cargar, 300);
  const unsub = client.store.subscribe((t) => { if (t.has('comunicado:leido:' + c.id)) recargar(); });
  m.dlg.addEventListener('close', unsub);
  cargar();
}

/** dialogoComunicado(client, app): the composer (permission 567). */
export function dialogoComunicado(client, app) {
  const titulo = h('input', { type: 'text', class: 'cw-input', maxlength: '200', required: true });
  const contenido = h('textarea', { class: 'cw-textarea cw-textarea-big', rows: '5' });
  const radios = ['todos', 'departamentos', 'usuarios'].map((v, i) => h('input', { type: 'radio', name: 'cw-dest', value: v, checked: i === 0 }));
  const deptos = h('input', { type: 'text', class: 'cw-input', placeholder: 'Finanzas, Ventas', 'aria-label': 'Departamentos separados por comas' });
  const usuariosQ = h('input', { type: 'search', class: 'cw-input', placeholder: 'Buscar personas', 'aria-label': 'Buscar destinatarios' });
  const usuariosRes = h('div', { class: 'cw-chips' });
  const elegidos = new Map();
  const elegidosEl = h('div', { class: 'cw-chips', 'aria-live': 'polite' });
  const archivo = h('input', { type: 'file', 'aria-label': 'Adjuntar archivo al comunicado' });
  const progreso = h('progress', { max: '1', value: '0', hidden: true });
  const publicar = h('button', { type: 'button', class: 'cw-btn cw-btn-primary' }, 'Publicar');
  const m = modal(app, 'Nuevo comunicado', [
    h('label', { class: 'cw-field' }, h('span', null, 'Título'), titulo),
    h('label', { class: 'cw-field' }, h('span', null, 'Contenido'), contenido),
    h('fieldset', { class: 'cw-field' }, h('legend', null, 'Destinatarios'),
      h('label', { class: 'cw-check' }, radios[0], ' Todos'),
      h('label', { class: 'cw-check' }, radios[1], ' Departamentos'), deptos,
      h('label', { class: 'cw-check' }, radios[2], ' Personas'), usuariosQ, usuariosRes, elegidosEl),
    h('label', { class: 'cw-field' }, h('span', null, 'Adjunto (opcional)'), archivo), progreso,
  ], [publicar]);
  const renderElegidos = () => {
    clear(elegidosEl);
    for (const u of elegidos.values()) {
      elegidosEl.appendChild(h('button', { type: 'button', class: 'cw-chip', 'aria-label': 'Quitar a ' + u.nombre, on: { click: () => { elegidos.delete(u.id); renderElegidos(); } } }, u.nombre + ' ✕'));
    }
  };
  usuariosQ.addEventListener('input', debounce(async () => {
    radios[2].checked = true;
    try {
      const r = await client.api.usuarios(usuariosQ.value.trim(), 8);
      clear(usuariosRes);
      for (const u of r.usuarios || []) {
        usuariosRes.appendChild(h('button', { type: 'button', class: 'cw-chip cw-chip-add', on: { click: () => { elegidos.set(u.id, u); renderElegidos(); } } }, '+ ' + u.nombre));
      }
    } catch (e) { client.fallo(e); }
  }, 200));
  deptos.addEventListener('input', () => { radios[1].checked = true; });
  publicar.addEventListener('click', async () => {
    if (!titulo.value.trim()) { titulo.focus(); client.aviso('Escribe el título'); return; }
    const modoDest = radios.find((r) => r.checked).value;
    let destinatarios = { todos: true };
    if (modoDest === 'departamentos') {
      const ds = deptos.value.split(',').map((x) => x.trim()).filter(Boolean);
      if (!ds.length) { deptos.focus(); client.aviso('Escribe al menos un departamento'); return; }
      destinatarios = { departamentos: ds };
    } else if (modoDest === 'usuarios') {
      if (!elegidos.size) { usuariosQ.focus(); client.aviso('Elige al menos una persona'); return; }
      destinatarios = { usuario_ids: [...elegidos.keys()] };
    }
    publicar.disabled = true;
    try {
      const body = { titulo: titulo.value.trim(), contenido: contenido.value, destinatarios };
      if (archivo.files[0]) {
        progreso.hidden = false;
        const media = await client.api.upload(archivo.files[0], (p) => { progreso.value = p; });
        body.media_id = media.id;
      }
      await client.crearComunicado(body);
      client.aviso('Comunicado publicado', 'info');
      m.close();
    } catch (e) {
      client.fallo(e);
      publicar.disabled = false;
    }
  });
  titulo.focus();
}
