// dialogs.js: modal dialogs (native <dialog>, so focus, Escape and the
// backdrop come from the browser): new chat / group, poll, read receipts,
// a chat's info and members, a group's settings, one's own preferences.

import { h, clear, avatar, fechaHora, debounce, ESTATUS } from './dom.js';

/** modal(app, titulo, body, acciones): opens a dialog inside app; returns {dlg, close}. */
export function modal(app, titulo, body, acciones = []) {
  const id = 'cw-dlg-' + Math.random().toString(36).slice(2);
  const dlg = h('dialog', { class: 'cw-dialog', 'aria-labelledby': id },
    h('form', { method: 'dialog', class: 'cw-dialog-form' },
      h('div', { class: 'cw-dialog-head' }, h('h2', { id }, titulo),
        h('button', { type: 'button', class: 'cw-btn cw-btn-icon', 'aria-label': 'Cerrar', on: { click: () => close() } }, '✕')),
      h('div', { class: 'cw-dialog-body' }, body),
      acciones.length ? h('div', { class: 'cw-dialog-actions' }, acciones) : null));
  function close() { try { dlg.close(); } catch (_) { /* closed */ } dlg.remove(); }
  dlg.addEventListener('close', () => dlg.remove());
  dlg.addEventListener('submit', (e) => e.preventDefault());
  app.appendChild(dlg);
  dlg.showModal();
  return { dlg, close };
}

/** dialogoNuevoChat(client, app, grupo): user search; a 1:1 opens at once, a group after naming it. */
export function dialogoNuevoChat(client, app, grupo) {
  const s = client.store.state;
  const elegidos = new Map();
  const q = h('input', { type: 'search', class: 'cw-input', placeholder: 'Nombre, correo, puesto o departamento', 'aria-label': 'Buscar personas', autocomplete: 'off' });
  const nombre = grupo ? h('input', { type: 'text', class: 'cw-input', required: true, maxlength: '120', 'aria-label': 'Nombre del grupo', placeholder: 'Nombre del grupo' }) : null;
  const res = h('ul', { class: 'cw-userlist', role: 'list', 'aria-label': 'Resultados', 'aria-live': 'polite' });
  const chips = h('div', { class: 'cw-chips', 'aria-live': 'polite' });
  const crear = grupo ? h('button', { type: 'button', class: 'cw-btn cw-btn-primary' }, 'Crear grupo') : null;
  const body = [grupo ? h('label', { class: 'cw-field' }, h('span', null, 'Nombre'), nombre) : null,
    h('label', { class: 'cw-field' }, h('span', null, grupo ? 'Agregar personas' : 'Buscar persona'), q), chips, res];
  const m = modal(app, grupo ? 'Nuevo grupo' : 'Nuevo chat', body, crear ? [crear] : []);

  function renderChips() {
    clear(chips);
    for (const u of elegidos.values()) {
      chips.appendChild(h('button', { type: 'button', class: 'cw-chip', 'aria-label': 'Quitar a ' + u.nombre,
        on: { click: () => { elegidos.delete(u.id); renderChips(); buscar(); } } }, u.nombre + ' ✕'));
    }
  }

  let seq = 0;
  const buscar = async () => {
    const my = ++seq;
    try {
      const r = await client.api.usuarios(q.value.trim(), 20);
      if (my !== seq) return;
      clear(res);
      const us = (r.usuarios || []).filter((u) => u.id !== s.me.id);
      if (!us.length) res.appendChild(h('li', { class: 'cw-muted cw-pad' }, 'Nadie coincide'));
      for (const u of us) {
        const sel = elegidos.has(u.id);
        res.appendChild(h('li', null, h('button', {
          type: 'button', class: 'cw-user-item', dataset: { id: String(u.id) }, 'aria-pressed': grupo ? String(sel) : false,
          on: {
            click: async () => {
              if (!grupo) {
                try { await client.directo(u.id); m.close(); } catch (e) { client.fallo(e); }
                return;
              }
              if (elegidos.has(u.id)) elegidos.delete(u.id); else elegidos.set(u.id, u);
              renderChips(); buscar();
            },
          },
        }, avatar(u.nombre, s.presencia.get(u.id) || u.estatus),
        h('span', { class: 'cw-chat-text' }, h('span', { class: 'cw-chat-name' }, u.nombre, sel ? ' ✓' : ''),
          h('span', { class: 'cw-muted' }, [u.puesto, u.departamento].filter(Boolean).join(' · ') || u.email || '')))));
      }
    } catch (e) { client.fallo(e); }
  };
  q.addEventListener('input', debounce(buscar, 200));
  if (crear) {
    crear.addEventListener('click', async () => {
      if (!nombre.value.trim()) { nombre.focus(); client.aviso('Escribe el nombre del grupo'); return; }
      if (!elegidos.size) { q.focus(); client.aviso('Agrega al menos una persona'); return; }
      crear.disabled = true;
      try { await client.crearGrupo(nombre.value.trim(), [...elegidos.keys()]); m.close(); } catch (e) { client.fallo(e); crear.disabled = false; }
    });
  }
  buscar();
  (grupo ? nombre : q).focus();
}

/** dialogoEncuesta(client, app, chatId): question, 2–12 options, multiple, anonymous, closing time. */
export function dialogoEncuesta(client, app, chatId) {
  const pregunta = h('input', { type: 'text', class: 'cw-input', required: true, maxlength: '300', placeholder: '¿Qué quieres preguntar?' });
  const opciones = h('div', { class: 'cw-opciones' });
  const agregar = h('button', { type: 'button', class: 'cw-btn' }, '+ Agregar opción');
  const multiple = h('input', { type: 'checkbox' });
  const anonima = h('input', { type: 'checkbox' });
  const cierra = h('input', { type: 'datetime-local', class: 'cw-input' });
  const crear = h('button', { type: 'button', class: 'cw-btn cw-btn-primary' }, 'Crear encuesta');
  function addOpcion(v = '') {
    const n = opciones.children.length + 1;
    const inp = h('input', { type: 'text', class: 'cw-input cw-opcion', maxlength: '200', value: v, 'aria-label': 'Opción ' + n, placeholder: 'Opción ' + n });
    opciones.appendChild(inp);
    agregar.disabled = opciones.children.length >= 12;
    return inp;
  }
  addOpcion(); addOpcion();
  agregar.addEventListener('click', () => addOpcion().focus());
  const m = modal(app, 'Nueva encuesta', [
    h('label', { class: 'cw-field' }, h('span', null, 'Pregunta'), pregunta),
    h('fieldset', { class: 'cw-field' }, h('legend', null, 'Opciones (de 2 a 12)'), opciones, agregar),
    h('label', { class: 'cw-check' }, multiple, ' Permitir varias respuestas'),
    h('label', { class: 'cw-check' }, anonima, ' Votación anónima'),
    h('label', { class: 'cw-field' }, h('span', null, 'Cierra (opcional)'), cierra),
  ], [crear]);
  crear.addEventListener('click', () => {
    const ops = [...opciones.querySelectorAll('input')].map((i) => i.value.trim()).filter(Boolean);
    if (!pregunta.value.trim()) { pregunta.focus(); client.aviso('Escribe la pregunta'); return; }
    if (ops.length < 2) { client.aviso('Una encuesta necesita al menos dos opciones'); return; }
    const body = { pregunta: pregunta.value.trim(), opciones: ops, multiple: multiple.checked, anonima: anonima.checked };
    if (cierra.value) {
      const d = new Date(cierra.value);
      if (!(d > new Date())) { client.aviso('La fecha de cierre debe ser futura'); return; }
      body.cierra_at = d.toISOString();
    }
    client.crearEncuesta(chatId, body);
    m.close();
  });
  pregunta.focus();
}

/** dialogoLecturas(client, app, m): who read my message, who has not yet. */
export async function dialogoLecturas(client, app, msg) {
  const s = client.store.state;
  const body = h('div', { class: 'cw-lecturas' }, h('p', { class: 'cw-muted' }, 'Cargando…'));
  modal(app, 'Información del mensaje', body);
  try {
    const r = await client.api.lecturas(msg.id);
    clear(body);
    const fila = (u, extra) => h('li', { class: 'cw-user-row' }, avatar(u.nombre, s.presencia.get(u.id) || u.estatus),
      h('span', { class: 'cw-chat-text' }, h('span', { class: 'cw-chat-name' }, u.nombre), h('span', { class: 'cw-muted' }, extra)));
    body.append(h('h3', null, `Leído por (${(r.leido_por || []).length})`),
      h('ul', { class: 'cw-userlist', role: 'list' }, (r.leido_por || []).map((x) => fila(x.usuario, fechaHora(x.leido_at)))),
      h('h3', null, `Pendientes (${(r.pendientes || []).length})`),
      h('ul', { class: 'cw-userlist', role: 'list' }, (r.pendientes || []).map((u) => fila(u, ESTATUS[s.presencia.get(u.id) || u.estatus] || ''))));
  } catch (e) {
    clear(body).appendChild(h('p', { class: 'cw-error' }, e.mensaje || 'No se pudo cargar'));
  }
}

/** dialogoInfoChat(client, app, chatId): a 1:1's profile, or a group's members (admins add, remove, promote; anyone leaves). */
export async function dialogoInfoChat(client, app, chatId) {
  const store = client.store;
  const s = store.state;
  const chat = s.chats.get(chatId);
  const body = h('div', { class: 'cw-lecturas' }, h('p', { class: 'cw-muted' }, 'Cargando…'));
  const m = modal(app, store.nombreChat(chat), body);
  if (chat.tipo === 'directo') {
    const u = chat.otro_usuario || {};
    clear(body).append(h('div', { class: 'cw-user-row' }, avatar(u.nombre, s.presencia.get(u.id) || u.estatus),
      h('span', { class: 'cw-chat-text' }, h('span', { class: 'cw-chat-name' }, u.nombre || ''),
        h('span', { class: 'cw-muted' }, ESTATUS[s.presencia.get(u.id) || u.estatus] || ''))),
    h('dl', { class: 'cw-perfil' },
      [['Puesto', u.puesto], ['Departamento', u.departamento], ['Correo', u.email]].filter((x) => x[1])
        .map(([k, v]) => [h('dt', null, k), h('dd', null, v)])));
    return;
  }
  const soyAdmin = chat.mi_rol === 'admin';
  const lista = h('ul', { class: 'cw-userlist cw-miembros', role: 'list', 'aria-label': 'Miembros' });
  const q = h('input', { type: 'search', class: 'cw-input', placeholder: 'Buscar personas para agregar', 'aria-label': 'Agregar personas' });
  const res = h('div', { class: 'cw-chips' });
  const salir = h('button', { type: 'button', class: 'cw-btn cw-btn-peligro' }, 'Salir del grupo');
  const ajustes = h('button', { type: 'button', class: 'cw-btn cw-btn-small',
    on: { click: () => { m.close(); dialogoAjustesGrupo(client, app, chatId); } } },
  h('span', { 'aria-hidden': 'true' }, '⚙️'), soyAdmin ? ' Editar grupo' : ' Ajustes del grupo');
  // (append() would write a null as the text "null")
  clear(body).append(...[
    h('div', { class: 'cw-user-row cw-grupo-resumen' }, avatar(chat.nombre, null, true, client.imagenChat(chat)),
      h('span', { class: 'cw-chat-text' }, h('span', { class: 'cw-chat-name' }, store.nombreChat(chat)),
        chat.descripcion ? h('span', { class: 'cw-muted cw-descripcion' }, chat.descripcion) : null,
        chat.restringido ? h('span', { class: 'cw-muted cw-small' }, '🔒 Solo los administradores publican') : null),
      ajustes),
    h('h3', { class: 'cw-miembros-total' }, 'Miembros'), lista,
    soyAdmin ? h('label', { class: 'cw-field' }, h('span', null, 'Agregar personas'), q) : null, soyAdmin ? res : null,
    h('div', { class: 'cw-row' }, salir)].filter(Boolean));

  async function cargar() {
    try {
      const r = await client.api.miembros(chatId);
      const ms = r.miembros || [];
      store.setMiembros(chatId, ms);
      body.querySelector('.cw-miembros-total').textContent = `Miembros (${ms.length})`;
      clear(lista);
      for (const mb of ms) {
        const u = mb.usuario;
        const yo = u.id === s.me.id;
        const acciones = [];
        if (soyAdmin && !yo) {
          acciones.push(h('button', { type: 'button', class: 'cw-btn cw-btn-small', on: { click: () => accion(() => client.api.patch(`/chats/${chatId}/miembros/${u.id}`, { rol: mb.rol === 'admin' ? 'miembro' : 'admin' })) } },
            mb.rol === 'admin' ? 'Quitar admin' : 'Hacer admin'));
          acciones.push(h('button', { type: 'button', class: 'cw-btn cw-btn-small', 'aria-label': 'Quitar a ' + u.nombre + ' del grupo',
            on: { click: () => accion(() => client.api.del(`/chats/${chatId}/miembros/${u.id}`)) } }, 'Quitar'));
        }
        lista.appendChild(h('li', { class: 'cw-user-row', dataset: { id: String(u.id) } }, avatar(u.nombre, s.presencia.get(u.id) || u.estatus),
          h('span', { class: 'cw-chat-text' }, h('span', { class: 'cw-chat-name' }, u.nombre + (yo ? ' (tú)' : '')),
            h('span', { class: 'cw-muted' }, mb.rol === 'admin' ? 'Administrador' : 'Miembro')), acciones));
      }
    } catch (e) {
      clear(lista).appendChild(h('li', { class: 'cw-error' }, e.mensaje || 'No se pudo cargar'));
    }
  }
  async function accion(fn) {
    try { await fn(); } catch (e) { client.fallo(e); }
    cargar();
  }
  q.addEventListener('input', debounce(async () => {
    try {
      const r = await client.api.usuarios(q.value.trim(), 8);
      const dentro = new Set((s.miembros.get(chatId) || []).map((x) => x.usuario.id));
      clear(res);
      for (const u of (r.usuarios || []).filter((x) => !dentro.has(x.id))) {
        res.appendChild(h('button', { type: 'button', class: 'cw-chip cw-chip-add', on: {
          click: () => { clear(res); q.value = ''; accion(() => client.api.post(`/chats/${chatId}/miembros`, { usuario_ids: [u.id] })); },
        } }, '+ ' + u.nombre));
      }
    } catch (e) { client.fallo(e); }
  }, 200));
  salir.addEventListener('click', async () => {
    if (!window.confirm('¿Salir de este grupo?')) return;
    try {
      await client.api.del(`/chats/${chatId}/miembros/${s.me.id}`);
      m.close();
      store.removeChat(chatId);
      store.setUi({ vista: 'lista' });
    } catch (e) { client.fallo(e); }
  });
  cargar();
}

/**
 * dialogoAjustesGrupo(client, app, chatId): a group's name, description,
 * picture and "only admins post" (restringido). Admins edit them (the
 * picture is uploaded when chosen, everything is saved with one PATCH);
 * everyone else sees them read-only, kept live from the store.
 */
export function dialogoAjustesGrupo(client, app, chatId) {
  const store = client.store;
  const s = store.state;
  const chat = s.chats.get(chatId);
  if (!chat || chat.tipo !== 'grupo') return null;
  if (chat.mi_rol !== 'admin') return ajustesSoloLectura(client, app, chatId);

  let mediaId = undefined; // undefined: unchanged; 0: remove the picture; N: the new upload
  let preview = null;      // object URL of the chosen file
  const foto = h('div', { class: 'cw-ajustes-foto' });
  const archivo = h('input', { type: 'file', accept: 'image/png,image/jpeg,image/gif,image/webp', class: 'cw-file', tabindex: '-1', 'aria-hidden': 'true' });
  const cambiar = h('button', { type: 'button', class: 'cw-btn cw-btn-small', on: { click: () => archivo.click() } }, chat.imagen_url ? 'Cambiar imagen' : 'Elegir imagen');
  const quitar = h('button', { type: 'button', class: 'cw-btn cw-btn-small', hidden: !chat.imagen_url }, 'Quitar imagen');
  const progreso = h('progress', { max: '1', value: '0', hidden: true, 'aria-label': 'Subiendo imagen' });
  const estadoFoto = h('span', { class: 'cw-muted cw-small', 'aria-live': 'polite' });
  const nombre = h('input', { type: 'text', class: 'cw-input', required: true, maxlength: '200', value: chat.nombre || '', autocomplete: 'off' });
  const descripcion = h('textarea', { class: 'cw-input cw-textarea cw-textarea-big', maxlength: '2000', rows: '3' });
  descripcion.value = chat.descripcion || '';
  const restringido = h('input', { type: 'checkbox', checked: !!chat.restringido });
  const guardar = h('button', { type: 'button', class: 'cw-btn cw-btn-primary' }, 'Guardar');
  const cancelar = h('button', { type: 'button', class: 'cw-btn' }, 'Cancelar');

  function pintarFoto() {
    const c = s.chats.get(chatId) || chat;
    const img = mediaId === 0 ? null : (preview || client.imagenChat(c));
    clear(foto).appendChild(avatar(nombre.value || c.nombre, null, true, img));
    quitar.hidden = mediaId === 0 || (!preview && !c.imagen_url);
    cambiar.textContent = quitar.hidden ? 'Elegir imagen' : 'Cambiar imagen';
  }

  const m = modal(app, 'Ajustes del grupo', [
    h('div', { class: 'cw-ajustes-cabeza' }, foto,
      h('div', { class: 'cw-ajustes-foto-acciones' }, h('div', { class: 'cw-row' }, cambiar, quitar), progreso, estadoFoto), archivo),
    h('label', { class: 'cw-field' }, h('span', null, 'Nombre del grupo'), nombre),
    h('label', { class: 'cw-field' }, h('span', null, 'Descripción'), descripcion),
    h('label', { class: 'cw-check' }, restringido, ' Solo los administradores publican'),
    h('p', { class: 'cw-muted cw-small' }, 'Con esta opción, los demás miembros pueden leer pero no escribir en el grupo.'),
  ], [cancelar, guardar]);
  m.dlg.classList.add('cw-dialog-ajustes');
  cancelar.addEventListener('click', () => m.close());
  m.dlg.addEventListener('close', () => { if (preview) URL.revokeObjectURL(preview); });

  archivo.addEventListener('change', async () => {
    const f = archivo.files[0];
    archivo.value = '';
    if (!f) return;
    if (!/^image\//.test(f.type)) { estadoFoto.textContent = 'Elige una imagen (PNG, JPEG, GIF o WebP)'; return; }
    guardar.disabled = true; cambiar.disabled = true;
    progreso.hidden = false; progreso.value = 0;
    estadoFoto.textContent = 'Subiendo ' + f.name + '…';
    try {
      const media = await client.api.upload(f, (p) => { progreso.value = p; });
      mediaId = media.id;
      if (preview) URL.revokeObjectURL(preview);
      preview = URL.createObjectURL(f);
      estadoFoto.textContent = 'Imagen lista; se aplicará al guardar';
    } catch (e) {
      estadoFoto.textContent = e.mensaje || 'No se pudo subir la imagen';
    } finally {
      progreso.hidden = true; guardar.disabled = false; cambiar.disabled = false;
      pintarFoto();
    }
  });
  quitar.addEventListener('click', () => {
    mediaId = 0;
    if (preview) { URL.revokeObjectURL(preview); preview = null; }
    estadoFoto.textContent = 'La imagen se quitará al guardar';
    pintarFoto();
    cambiar.focus();
  });

  guardar.addEventListener('click', async () => {
    const c = s.chats.get(chatId) || chat;
    const n = nombre.value.trim();
    if (!n) { nombre.focus(); client.aviso('Escribe el nombre del grupo'); return; }
    const cambios = {};
    if (n !== c.nombre) cambios.nombre = n;
    const d = descripcion.value.trim();
    if (d !== (c.descripcion || '')) cambios.descripcion = d || null;
    if (restringido.checked !== !!c.restringido) cambios.restringido = restringido.checked;
    if (mediaId !== undefined) cambios.imagen_media_id = mediaId || null;
    if (!Object.keys(cambios).length) { m.close(); return; }
    guardar.disabled = true;
    try {
      await client.actualizarGrupo(chatId, cambios);
      client.aviso('Cambios guardados', 'info');
      m.close();
    } catch (e) {
      client.fallo(e);
      guardar.disabled = false;
    }
  });
  pintarFoto();
  nombre.focus();
  return m;
}

/** The settings of a group for a member who is not an admin: read-only, live. */
function ajustesSoloLectura(client, app, chatId) {
  const store = client.store;
  const s = store.state;
  const body = h('div', { class: 'cw-ajustes-lectura' });
  const m = modal(app, 'Ajustes del grupo', body);
  m.dlg.classList.add('cw-dialog-ajustes');
  let clave = null;
  function render() {
    const c = s.chats.get(chatId);
    if (!c) { m.close(); return; }
    const k = [c.nombre, c.descripcion, c.imagen_url, c.restringido, c.mi_rol].join('\u0000');
    if (k === clave) return;
    clave = k;
    if (c.mi_rol === 'admin') { m.close(); dialogoAjustesGrupo(client, app, chatId); return; }
    clear(body).append(
      h('div', { class: 'cw-ajustes-cabeza' }, h('div', { class: 'cw-ajustes-foto' }, avatar(c.nombre, null, true, client.imagenChat(c))),
        h('div', { class: 'cw-chat-text' }, h('span', { class: 'cw-chat-name cw-ajustes-nombre' }, c.nombre || ''))),
      h('dl', { class: 'cw-perfil' },
        h('dt', null, 'Descripción'), h('dd', { class: 'cw-descripcion' }, c.descripcion || 'Sin descripción'),
        h('dt', null, 'Quién publica'), h('dd', { class: 'cw-quien-publica' }, c.restringido ? 'Solo los administradores' : 'Todos los miembros')),
      h('p', { class: 'cw-muted cw-small' }, 'Solo los administradores del grupo pueden cambiar estos ajustes.'));
  }
  const unsub = store.subscribe((t) => {
    if (!m.dlg.isConnected) { unsub(); return; }
    if (t.has('chats') || t.has('chat:' + chatId)) render();
  });
  m.dlg.addEventListener('close', () => unsub());
  render();
  return m;
}

/** dialogoPreferencias(client, app): the user's own settings (API.md §9
 * preferences): the unread e-mail digest on or off, saved at once. */
export function dialogoPreferencias(client, app) {
  const resumen = h('input', { type: 'checkbox', class: 'cw-pref-resumen', disabled: true });
  const estado = h('p', { class: 'cw-muted cw-small', role: 'status', 'aria-live': 'polite' }, 'Cargando…');
  const cerrar = h('button', { type: 'button', class: 'cw-btn' }, 'Cerrar');
  const m = modal(app, 'Preferencias', [
    h('label', { class: 'cw-check' }, resumen,
      ' Recibir por correo un resumen de los mensajes que sigan sin leer cuando no estoy conectado'),
    estado,
  ], [cerrar]);
  cerrar.addEventListener('click', () => m.close());
  client.api.preferencias().then((p) => {
    resumen.checked = !!p.resumen_correo;
    resumen.disabled = false;
    estado.textContent = '';
  }).catch((e) => { estado.textContent = (e && e.mensaje) || 'No se pudieron cargar las preferencias'; });
  resumen.addEventListener('change', async () => {
    const quiere = resumen.checked;
    resumen.disabled = true;
    estado.textContent = 'Guardando…';
    try {
      const p = await client.api.guardarPreferencias({ resumen_correo: quiere });
      resumen.checked = !!p.resumen_correo;
      estado.textContent = p.resumen_correo ? 'Recibirás el resumen por correo' : 'No recibirás el resumen por correo';
    } catch (e) {
      resumen.checked = !quiere;
      estado.textContent = (e && e.mensaje) || 'No se pudo guardar';
    } finally {
      resumen.disabled = false;
    }
  });
  return m;
}
