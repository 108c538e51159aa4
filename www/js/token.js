// token.js: where the client finds the user's JWT, in order: a page-provided
// `window.ChatERP.getToken()`, a `data-token` attribute, `?token=` in the
// page URL (development only: honoured when the server says its
// `token_en_url` switch is on, `GET /salud`), else null — the ERP session
// cookie then authenticates every same-origin request by itself. A token in
// the URL is always removed from the address bar at once, so it does not
// stay in the history or leak through Referer.

const CLAVE = 'chat-erp.token';

/** tokenSource({el, url, base}): a getToken() function; el is the element that may carry data-token. */
export function tokenSource({ el = null, url = true, base = '/chat/api/v1' } = {}) {
  let deUrl = null;     // from ?token= or this tab's storage: needs the switch
  if (url) {
    try {
      const u = new URL(location.href);
      const t = u.searchParams.get('token');
      if (t) {
        u.searchParams.delete('token');
        history.replaceState(history.state, '', u.pathname + u.search + u.hash);
        sessionStorage.setItem(CLAVE, t);
      }
      deUrl = sessionStorage.getItem(CLAVE);
    } catch (_) { /* no storage: cookie only */ }
  }
  const attr = el && el.getAttribute && el.getAttribute('data-token');

  // Asked once; a network failure is not an answer (asked again next time).
  let permitido = null;
  async function urlPermitida() {
    if (permitido !== null) return permitido;
    try {
      const res = await fetch(base + '/salud', { credentials: 'omit', headers: { Accept: 'application/json' } });
      const body = await res.json();
      permitido = !!(body && body.token_en_url === true);
    } catch (_) {
      return false;
    }
    if (!permitido) {
      deUrl = null;
      try { sessionStorage.removeItem(CLAVE); } catch (_) { /* nothing kept */ }
    }
    return permitido;
  }

  return async function getToken() {
    const g = window.ChatERP && typeof window.ChatERP.getToken === 'function' ? window.ChatERP.getToken : null;
    if (g) {
      const t = await g();
      if (t) return t;
    }
    if (attr) return attr;
    if (deUrl && await urlPermitida()) return deUrl;
    return null;
  };
}
