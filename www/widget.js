/* widget.js: the chat for legacy ERP pages. One tag does it:
 *   <script src="/chat/widget.js" defer></script>
 * optionally with data-token="<jwt>"; or the page defines
 * window.ChatERP = {getToken: () => "<jwt>"} (may return a promise); or the
 * ERP session cookie authenticates (nothing to do). It adds a floating
 * button with the unread count and a chat panel, both inside a shadow root,
 * so the page's CSS and ours do not touch. The only global is window.ChatERP
 * (kept if the page made it): {open(), close(), toggle(), client}.
 * On the page of an ERP record (a purchase order...), data-contexto=
 * "pedido:1001" (or window.ChatERP.contexto, a string or a function that
 * returns one, or a promise of one) opens the chat on that record's
 * conversation (GET /contextos/{tipo}/{clave}) and the button counts that
 * conversation's unread messages; without it, or for a record with no chat
 * the user belongs to, the widget is the general one.
 * A classic script (it must work in pages with no modules); the chat itself
 * comes as the same ES modules the full page uses, from /chat/js/. */
(function () {
  'use strict';
  var script = document.currentScript;
  var ns = window.ChatERP = window.ChatERP || {};
  if (ns._widget) return; // included twice
  ns._widget = true;
  var base = new URL('./', (script && script.src) || (location.origin + '/chat/widget.js')).href;

  function boot() {
    var host = document.createElement('chat-erp-widget');
    var shadow = host.attachShadow({ mode: 'open' });
    shadow.innerHTML =
      '<style>' +
      ':host{all:initial!important;display:block!important;position:static!important;contain:none!important;' +
      'visibility:visible!important;opacity:1!important;transform:none!important;filter:none!important}' +
      '</style>' +
      '<link rel="stylesheet" href="' + base + 'css/app.css">' +
      '<div class="cw-widget" lang="es-MX">' +
      '<div class="cw-panel" id="cw-panel" role="dialog" aria-label="Chat" hidden></div>' +
      '<button type="button" class="cw-fab" aria-expanded="false" aria-controls="cw-panel" aria-label="Abrir chat">' +
      '<span aria-hidden="true" class="cw-fab-icon">💬</span><span class="cw-badge cw-fab-badge" hidden></span></button>' +
      '</div>';
    // <html>, not <body>: a transform or filter on the body would trap position:fixed
    document.documentElement.appendChild(host);
    var fab = shadow.querySelector('.cw-fab');
    var panel = shadow.querySelector('.cw-panel');
    var badge = shadow.querySelector('.cw-fab-badge');
    var client = null;
    var mounted = null;
    var views = null;
    var failed = null;
    var ctxChat = null;     // the record's chat id, when the page names a record

    function setOpen(open) {
      panel.hidden = !open;
      fab.setAttribute('aria-expanded', String(open));
      fab.classList.toggle('cw-fab-open', open);
      if (open) {
        if (client && !mounted && views) {
          mounted = views.mountApp(panel, client, { modo: 'widget', onCerrar: function () { setOpen(false); fab.focus(); } });
          if (ctxChat) client.abrirChat(ctxChat);
        } else if (failed && views) {
          views.mountError(panel, failed[0], failed[1]);
        }
        if (client) client.onVisibility();
        var f = panel.querySelector('.cw-buscar, .cw-textarea');
        if (f) f.focus();
      } else if (client) {
        client.onVisibility();
      }
    }

    fab.addEventListener('click', function () { setOpen(panel.hidden); });
    panel.addEventListener('keydown', function (e) {
      if (e.key === 'Escape' && !e.defaultPrevented && !shadow.querySelector('dialog[open]')) { setOpen(false); fab.focus(); }
    });
    ns.open = function () { setOpen(true); };
    ns.close = function () { setOpen(false); };
    ns.toggle = function () { setOpen(panel.hidden); };

    Promise.all([
      import(base + 'js/client.js'),
      import(base + 'js/token.js'),
      import(base + 'js/views/app.js'),
    ]).then(function (mods) {
      views = mods[2];
      client = mods[0].createClient({
        getToken: mods[1].tokenSource({ el: script, url: false }),
        base: new URL('api/v1', base).pathname,
        rtPath: new URL('socket.io', base).pathname,
        notificar: true,
        esVisible: function () { return !panel.hidden && !document.hidden; },
      });
      ns.client = client;
      var store = client.store;
      function renderFab() {
        var c = ctxChat ? store.state.chats.get(ctxChat) : null;
        var n = c ? (c.no_leidos || 0) : store.totalNoLeidos() + store.comunicadosNoLeidos();
        badge.hidden = !n;
        badge.textContent = n > 99 ? '99+' : String(n);
        var que = c ? 'Abrir la conversación de ' + store.nombreChat(c) : 'Abrir chat';
        fab.setAttribute('aria-label', n ? que + ', ' + n + ' sin leer' : que);
        fab.classList.toggle('cw-fab-contexto', !!c);
      }
      // the record the page is about: "tipo:clave"
      function contexto() {
        var v = script && script.getAttribute('data-contexto');
        if (!v && ns.contexto) v = typeof ns.contexto === 'function' ? ns.contexto() : ns.contexto;
        return Promise.resolve(v).then(function (x) {
          var m = typeof x === 'string' ? /^([a-z0-9_]{1,50}):(.{1,200})$/.exec(x.trim()) : null;
          if (!m) return null;
          return client.api.contexto(m[1], m[2]).then(function (chat) {
            store.upsertChat(chat);
            return chat.id;
          }, function () { return null; }); // not a member, or no such chat: the general widget
        });
      }
      store.subscribe(function (t) { if (t.has('chats') || t.has('comunicados')) renderFab(); });
      return client.start().then(contexto).then(function (id) {
        ctxChat = id;
        renderFab();
        if (!panel.hidden) setOpen(true);
      });
    }).catch(function (e) {
      var st = e && e.status;
      failed = st === 401 ? ['Tu sesión no es válida o venció', 'Vuelve a entrar al ERP.']
        : e && e.codigo === 'usuario_desactivado' ? ['Tu usuario está desactivado', 'Pide ayuda al área de sistemas.']
          : ['No se pudo abrir el chat', (e && e.mensaje) || 'Revisa tu conexión.'];
      fab.classList.add('cw-fab-error');
      fab.setAttribute('title', failed[0]);
      if (!panel.hidden && views) views.mountError(panel, failed[0], failed[1]);
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
})();
