// api.js: the REST client of /chat/api/v1 (API.md §4): JSON in and out, the
// error shape turned into ApiError, uploads through XMLHttpRequest for progress.

/** An API failure: HTTP status plus API.md's {codigo, mensaje}; status 0 = network. */
export class ApiError extends Error {
  constructor(status, codigo, mensaje, retryAfter) {
    super(mensaje || codigo);
    this.status = status;
    this.codigo = codigo;
    this.mensaje = mensaje || codigo;
    this.retryAfter = retryAfter || 0;
  }
  /** True when trying again later may work (network down, gateway, overload). */
  get transitoria() {
    return this.status === 0 || this.status === 502 || this.status === 503 ||
      this.status === 504 || this.status === 429;
  }
}

const MENSAJES_RED = 'No hay conexión con el servidor';

// A 429 (limite_excedido) changes nothing on the server, so any request may
// be repeated after its Retry-After: up to this many times, when the wait is
// at most LIMITE_ESPERA_MAX seconds; longer waits surface as the error.
const LIMITE_REINTENTOS = 3;
const LIMITE_ESPERA_MAX = 60;

const dormir = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * createApi({base, getToken, onLimite}): base is the API prefix ("/chat/api/v1");
 * getToken() returns the JWT (or a promise of it), or null to rely on the
 * ERP cookie, which same-origin requests send by themselves. onLimite(seconds)
 * is told when a request hit a rate limit and will be retried in that many seconds.
 */
export function createApi({ base = '/chat/api/v1', getToken = () => null, onLimite = () => {} } = {}) {
  async function headers(extra) {
    const h = Object.assign({ Accept: 'application/json' }, extra || {});
    const t = await getToken();
    if (t) h.Authorization = 'Bearer ' + t;
    return h;
  }

  async function errorFrom(res) {
    let codigo = 'error_interno';
    let mensaje = 'Error ' + res.status;
    try {
      const body = await res.json();
      if (body && body.error) {
        codigo = body.error.codigo || codigo;
        mensaje = body.error.mensaje || mensaje;
      }
    } catch (_) { /* not JSON: keep the generic text */ }
    return new ApiError(res.status, codigo, mensaje, Number(res.headers.get('Retry-After')) || 0);
  }

  /** request(method, path, body?): the parsed JSON (null for 204); throws ApiError. */
  async function request(method, path, body, opts = {}) {
    const init = { method, credentials: 'same-origin', headers: await headers() };
    // With the ERP cookie the server wants application/json on every write
    // to a JSON endpoint (its cross-site request check): send {} when empty.
    if (body === undefined && (method === 'POST' || method === 'PUT' || method === 'PATCH')) body = {};
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    if (opts.signal) init.signal = opts.signal;
    let res;
    for (let intento = 0; ; intento++) {
      try {
        res = await fetch(base + path, init);
      } catch (e) {
        if (e && e.name === 'AbortError') throw e;
        throw new ApiError(0, 'sin_conexion', MENSAJES_RED);
      }
      if (res.status !== 429 || intento >= LIMITE_REINTENTOS) break;
      const espera = Number(res.headers.get('Retry-After')) || 1;
      if (espera > LIMITE_ESPERA_MAX) break;
      try { onLimite(espera); } catch (_) { /* the UI's business */ }
      await dormir(espera * 1000);
    }
    if (!res.ok) throw await errorFrom(res);
    if (res.status === 204) return null;
    const text = await res.text();
    const data = text ? JSON.parse(text) : null;
    if (data && typeof data === 'object') {
      Object.defineProperty(data, '_status', { value: res.status, enumerable: false });
    }
    return data;
  }

  /** upload(file, onProgress(fraction)): POST /media multipart (field "archivo") -> Media;
   * over the upload rate limit it waits Retry-After and tries again (as request does). */
  async function upload(file, onProgress) {
    for (let intento = 0; ; intento++) {
      try {
        return await uploadOnce(file, onProgress);
      } catch (e) {
        if (!(e instanceof ApiError) || e.status !== 429 || intento >= LIMITE_REINTENTOS ||
            (e.retryAfter || 1) > LIMITE_ESPERA_MAX) throw e;
        try { onLimite(e.retryAfter || 1); } catch (_) { /* the UI's business */ }
        await dormir((e.retryAfter || 1) * 1000);
      }
    }
  }

  async function uploadOnce(file, onProgress) {
    const h = await headers();
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', base + '/media');
      xhr.withCredentials = true;
      for (const [k, v] of Object.entries(h)) xhr.setRequestHeader(k, v);
      xhr.upload.onprogress = (ev) => {
        if (ev.lengthComputable && onProgress) onProgress(ev.loaded / ev.total);
      };
      xhr.onerror = () => reject(new ApiError(0, 'sin_conexion', MENSAJES_RED));
      xhr.onload = () => {
        let data = null;
        try { data = JSON.parse(xhr.responseText); } catch (_) { /* below */ }
        if (xhr.status >= 200 && xhr.status < 300 && data) {
          if (onProgress) onProgress(1);
          resolve(data.media || data);
          return;
        }
        const err = data && data.error ? data.error : {};
        reject(new ApiError(xhr.status, err.codigo || 'error_interno',
          err.mensaje || (xhr.status === 413 ? 'El archivo es demasiado grande' : 'Error ' + xhr.status),
          Number(xhr.getResponseHeader('Retry-After')) || 0));
      };
      const fd = new FormData();
      fd.append('archivo', file, file.name);
      xhr.send(fd);
    });
  }

  /** blob(url): bytes of a protected URL (media) with the token, as a Blob. */
  async function blob(url) {
    let res;
    try {
      res = await fetch(url, { credentials: 'same-origin', headers: await headers() });
    } catch (_) {
      throw new ApiError(0, 'sin_conexion', MENSAJES_RED);
    }
    if (!res.ok) throw await errorFrom(res);
    return res.blob();
  }

  const enc = encodeURIComponent;
  return {
    request, upload, blob, base,
    get: (p, o) => request('GET', p, undefined, o),
    post: (p, b) => request('POST', p, b === undefined ? {} : b),
    put: (p, b) => request('PUT', p, b),
    patch: (p, b) => request('PATCH', p, b),
    del: (p) => request('DELETE', p),
    // the resources of API.md §4, named as there
    me: () => request('GET', '/me'),
    preferencias: () => request('GET', '/me/preferencias'),
    guardarPreferencias: (b) => request('PUT', '/me/preferencias', b),
    usuarios: (q, limite = 20) => request('GET', `/usuarios?q=${enc(q || '')}&limite=${limite}`),
    presencia: (ids) => request('GET', '/presencia?ids=' + ids.join(',')),
    chats: () => request('GET', '/chats?limite=200'),
    chat: (id) => request('GET', `/chats/${id}`),
    directo: (usuarioId) => request('POST', '/chats/directo', { usuario_id: usuarioId }),
    crearGrupo: (b) => request('POST', '/chats', b),
    actualizarChat: (id, b) => request('PATCH', `/chats/${id}`, b),
    miembros: (id) => request('GET', `/chats/${id}/miembros`),
    silenciar: (id, silenciado) => request('PUT', `/chats/${id}/silenciar`, { silenciado }),
    mensajes: (id, antes, limite = 50) =>
      request('GET', `/chats/${id}/mensajes?limite=${limite}` + (antes ? `&antes=${antes}` : '')),
    mensajesDespues: (id, despues, limite = 50) =>
      request('GET', `/chats/${id}/mensajes?limite=${limite}&despues=${despues}`),
    mensajesAlrededor: (id, mensajeId, limite = 50) =>
      request('GET', `/chats/${id}/mensajes?limite=${limite}&alrededor=${mensajeId}`),
    buscar: (params, opts) => request('GET', '/buscar?' + new URLSearchParams(params).toString(), undefined, opts),
    contexto: (tipo, clave) => request('GET', `/contextos/${enc(tipo)}/${enc(clave)}`),
    enviar: (chatId, b) => request('POST', `/chats/${chatId}/mensajes`, b),
    editar: (id, contenido) => request('PATCH', `/mensajes/${id}`, { contenido }),
    eliminar: (id) => request('DELETE', `/mensajes/${id}`),
    reaccionar: (id, emoji) => request('POST', `/mensajes/${id}/reacciones`, { emoji }),
    quitarReaccion: (id, emoji) => request('DELETE', `/mensajes/${id}/reacciones/${enc(emoji)}`),
    leido: (chatId, mensajeId) => request('POST', `/chats/${chatId}/leido`, { mensaje_id: mensajeId }),
    lecturas: (id) => request('GET', `/mensajes/${id}/lecturas`),
    cursor: () => request('GET', '/sync/cursor'),
    sync: (cursor) => request('POST', '/sync', { cursor }),
    crearEncuesta: (chatId, b) => request('POST', `/chats/${chatId}/encuestas`, b),
    votar: (id, opciones) => request('PUT', `/encuestas/${id}/voto`, { opciones }),
    cerrarEncuesta: (id) => request('POST', `/encuestas/${id}/cerrar`, {}),
    comunicados: (antes) => request('GET', '/comunicados?limite=50' + (antes ? `&antes=${antes}` : '')),
    comunicado: (id) => request('GET', `/comunicados/${id}`),
    crearComunicado: (b) => request('POST', '/comunicados', b),
    confirmarComunicado: (id) => request('POST', `/comunicados/${id}/leido`, {}),
    lecturasComunicado: (id) => request('GET', `/comunicados/${id}/lecturas`),
    reaccionarComunicado: (id, emoji) => request('POST', `/comunicados/${id}/reacciones`, { emoji }),
    quitarReaccionComunicado: (id, emoji) => request('DELETE', `/comunicados/${id}/reacciones/${enc(emoji)}`),
  };
}
