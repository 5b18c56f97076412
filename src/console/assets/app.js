// The console's shell: who is signed in (a session cookie; the key never stays in the page), the
// navigation, and which page the address (#/...) shows.

import { api } from './api.js';
import { KeysPage, RefusedPage, StatusPage, WithdrawalsPage } from './operator.js';
import { CommandForm, html } from './ui.js';
import { useEffect, useRef, useState } from './vendor/hooks.js';
import { render } from './vendor/preact.js';
import { WalletPage, WalletsPage } from './wallets.js';

const SIGN_IN_MESSAGES = {
  401: 'That API key was not accepted: it is wrong, or it has been revoked.',
  403: 'Signing in was refused from here.',
  429: 'Too many attempts; wait a moment and try again.',
};

function SignIn({ onSignedIn }) {
  return html`<main id="main" class="sign-in">
    <h1 tabindex="-1">Wallet console</h1>
    <p>Sign in with your API key. The key is exchanged for a session; the page does not keep it.</p>
    <${CommandForm}
      title="Sign in"
      button="Sign in"
      fields=${[{ name: 'key', label: 'API key', type: 'password', required: true }]}
      send=${async (values) => {
        const answer = await api('POST', '/console/session', { key: values.key.trim() });
        if (answer.ok || answer.status === 400) return answer;
        const detail = SIGN_IN_MESSAGES[answer.status] ?? answer.body?.detail;
        return { ...answer, body: { detail } };
      }}
      onDone=${onSignedIn}
    />
  </main>`;
}

function useRoute() {
  const [hash, setHash] = useState(location.hash || '#/');
  useEffect(() => {
    const onChange = () => setHash(location.hash || '#/');
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return hash;
}

function Page({ route, session }) {
  const navigate = (to) => {
    location.hash = to;
  };
  const operator = session.kind !== 'owner';
  const wallet = /^#\/wallets\/([^/]+)$/.exec(route);
  if (wallet) return html`<${WalletPage} key=${wallet[1]} id=${wallet[1]} session=${session} />`;
  if (operator && route === '#/withdrawals') return html`<${WithdrawalsPage} />`;
  if (operator && route === '#/keys' && session.auth === 'on') return html`<${KeysPage} />`;
  if (operator && route === '#/status') return html`<${StatusPage} />`;
  if (operator && route === '#/refused' && session.auth === 'on') return html`<${RefusedPage} />`;
  return html`<${WalletsPage} session=${session} navigate=${navigate} />`;
}

function Shell({ session, onSignOut }) {
  const route = useRoute();
  const main = useRef(null);
  // A new page: its heading takes the focus, so a screen reader announces where one is.
  useEffect(() => {
    main.current?.querySelector('h1')?.focus();
  }, [route]);
  const operator = session.kind !== 'owner';
  const links = [
    ['#/', 'Wallets'],
    ...(operator ? [['#/withdrawals', 'Withdrawals']] : []),
    ...(operator && session.auth === 'on' ? [['#/keys', 'Keys']] : []),
    ...(operator ? [['#/status', 'Status']] : []),
    ...(operator && session.auth === 'on' ? [['#/refused', 'Refused requests']] : []),
  ];
  const who =
    session.auth === 'off'
      ? 'Open access (AUTH=off): nobody signs in'
      : session.kind === 'owner'
        ? `Signed in as owner ${session.owner}`
        : `Signed in as operator ${session.name ?? ''}`;
  return html`<a class="skip" href="#main" onClick=${(e) => {
    e.preventDefault();
    main.current?.querySelector('h1')?.focus();
  }}>Skip to content</a>
    <header>
      <p class="brand">Wallet console</p>
      <nav aria-label="Main">
        <ul>
          ${links.map(
            ([href, text]) =>
              html`<li><a href=${href} aria-current=${route === href ? 'page' : undefined}>${text}</a></li>`,
          )}
        </ul>
      </nav>
      <p class="who">
        ${who}
        ${session.auth === 'on' && html`<button type="button" onClick=${onSignOut}>Sign out</button>`}
      </p>
    </header>
    <main id="main" ref=${main}><${Page} route=${route} session=${session} /></main>`;
}

function App() {
  const [session, setSession] = useState(undefined);
  useEffect(() => {
    api('GET', '/console/session').then(
      (answer) => setSession(answer.ok ? answer.body : null),
      () => setSession(null),
    );
  }, []);
  if (session === undefined) return html`<p class="loading">Loading the console…</p>`;
  if (session === null) return html`<${SignIn} onSignedIn=${setSession} />`;
  const signOut = async () => {
    await api('DELETE', '/console/session');
    setSession(null);
  };
  return html`<${Shell} session=${session} onSignOut=${signOut} />`;
}

// A failure no handler caught: logged, so it is not silent (the browser tests fail on it).
addEventListener('unhandledrejection', (event) => console.error('Unhandled:', event.reason));

render(html`<${App} />`, document.getElementById('app'));
