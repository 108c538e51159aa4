// token.js: where the client finds the user's JWT, in order: `?token=` in
// the page URL (development; kept for the tab in sessionStorage and removed
// from the address bar), a `data-token` attribute, a page-provided
// `window.ChatERP.getToken()`, else null — the ERP session cookie then
// authenticates every same-origin request by itself.

/** tokenSource({el}): a getToken() function; el is the element that may carry data-token. */
export function tokenSource({ el = null, url = true } = {}) {
  let fijo = null;
  if (url) {
    try {
      const u = new URL(location.href);
      const t = u.searchParams.get('token');
      if (t) {
        sessionStorage.setItem('chat-erp.token', t);
        u.searchParams.delete('token');
        history.replaceState(history.state, '', u.pathname + u.search + u.hash);
      }
      fijo = sessionStorage.getItem('chat-erp.token');
    } catch (_) { /* no storage: cookie only */ }
  }
  const attr = el && el.getAttribute && el.getAttribute('data-token');
  if (attr) fijo = attr;
  return async function getToken() {
    const g = window.ChatERP && typeof window.ChatERP.getToken === 'function' ? window.ChatERP.getToken : null;
    if (g) {
      const t = await g();
      if (t) return t;
    }
    return fijo || null;
  };
}
