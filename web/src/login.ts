import { ApiError, login, type Me } from './api.js';
import { h, replaceChildren } from './dom.js';

/** The login form, shown when the server asks who you are; `onLoggedIn` starts the dashboard. */
export function mountLogin(container: HTMLElement, onLoggedIn: (identity: Me) => void): void {
  const user = h('input', { name: 'user', autocomplete: 'username', required: true, autofocus: true });
  const password = h('input', {
    name: 'password',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
  });
  const submit = h('button', { type: 'submit' }, 'Log in');
  const status = h('p', { class: 'status', role: 'alert' });
  const form = h(
    'form',
    {
      class: 'login-form',
      onsubmit: async (event: Event) => {
        event.preventDefault();
        submit.disabled = true;
        status.textContent = '';
        try {
          const identity = await login(user.value, password.value);
          password.value = '';
          onLoggedIn(identity);
        } catch (caught) {
          status.textContent = loginError(caught);
          submit.disabled = false;
        }
      },
    },
    h('h1', {}, 'Log in to Edgestream'),
    h('label', {}, 'User', user),
    h('label', {}, 'Password', password),
    submit,
    status,
  );
  replaceChildren(container, h('section', { class: 'page login-page' }, form));
  user.focus();
}

function loginError(caught: unknown): string {
  if (caught instanceof ApiError && caught.status === 401) return 'Wrong user name or password.';
  if (caught instanceof ApiError && caught.status === 429)
    return `Too many failed logins: ${caught.message}.`;
  return `Could not log in: ${caught instanceof Error ? caught.message : String(caught)}`;
}
