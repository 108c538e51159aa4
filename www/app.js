// app.js: the full chat page (/chat/): finds the token, starts the client
// and mounts the UI into <body>.

import { createClient } from './js/client.js';
import { tokenSource } from './js/token.js';
import { mountApp, mountError } from './js/views/app.js';
import { ApiError } from './js/api.js';

const root = document.getElementById('chat-app');
const getToken = tokenSource({ el: document.documentElement, url: true });
const client = createClient({ getToken });

async function main() {
  try {
    await client.start();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      mountError(root, 'Tu sesión no es válida o venció', 'Vuelve a entrar al ERP y abre el chat de nuevo.');
    } else if (e instanceof ApiError && e.codigo === 'usuario_desactivado') {
      mountError(root, 'Tu usuario está desactivado', 'Pide ayuda al área de sistemas.');
    } else {
      mountError(root, 'No se pudo abrir el chat', (e && e.mensaje) || 'Revisa tu conexión e intenta de nuevo.');
    }
    return;
  }
  const ui = mountApp(root, client, { modo: 'pagina' });
  const params = new URL(location.href).searchParams;
  const want = Number(params.get('chat'));
  if (want && client.store.state.chats.has(want)) client.abrirChat(want);
  // the e-mail digest's List-Unsubscribe link lands here
  if (params.get('preferencias') === '1') ui.abrirPreferencias();
}

// tests and the ERP may look at the running client; the only global
window.ChatERP = Object.assign(window.ChatERP || {}, { client });
main();
