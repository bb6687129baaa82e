// Acme in JavaScript: an example authhost provider built with
// componentize-js. It does what the Rust example (examples/acme-provider)
// does: it asks for a user name and a password, posts them as a form to
// Acme's token endpoint with `fetch()` and returns the OAuth tokens; `refresh` renews
// them and `check` asks Acme whom they belong to.

import { prompt, message } from 'authhost:provider/interact@0.3.0';
import {
  denied,
  invalidResponse,
  log,
  network,
  oauth,
  options,
  other,
  request,
  secretText,
  unsupported,
} from './authhost.js';

/** Used when the user's `[providers.NAME]` sets no `base_url`. */
const DEFAULT_BASE_URL = 'https://api.acme.example';

/** @returns {string} the `base_url` option, without a trailing `/`. */
function baseUrl() {
  const { base_url: url = DEFAULT_BASE_URL } = options();
  if (typeof url !== 'string') throw other('the option `base_url` must be a string');
  return url.replace(/\/+$/, '');
}

/**
 * Posts `fields` to Acme's token endpoint as the form an OAuth token
 * endpoint requires (`application/x-www-form-urlencoded`, not JSON) and
 * turns the answer into a credential.
 * @param {Record<string, string>} fields
 * @returns {Promise<import('./authhost.js').Credential>}
 */
async function requestToken(fields) {
  const response = await request(`${baseUrl()}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
  if ([400, 401, 403].includes(response.status)) {
    throw denied('Acme rejected the user name and password, or the refresh token');
  }
  if (!response.ok) throw network(`Acme answered HTTP ${response.status}`);
  // `response.json()` throws a SyntaxError when Acme answers with something
  // that is not JSON. It is not caught here: an exception the plugin does not
  // catch ends the call as a crash, and authhost shows the exception's
  // message (the plugin's stderr) with it.
  const token = await response.json();
  if (typeof token.access_token !== 'string') {
    throw invalidResponse('Acme answered without an access token');
  }
  return oauth(
    {
      access: token.access_token,
      refresh: token.refresh_token ?? undefined,
      expiresInSeconds: token.expires_in ?? undefined,
    },
    // Not a secret: stored beside the tokens and shown by `authhost status`.
    token.email ? { email: token.email } : {},
  );
}

export const provider = {
  /** @returns {import('./authhost.js').Metadata} */
  describe() {
    return {
      id: 'acme-js',
      displayName: 'Acme AI (JavaScript example)',
      description: 'Example provider in JavaScript: logs in with an Acme user name and password',
      methods: [{ id: 'password', label: 'Log in with your Acme account', kind: 'oauth' }],
      // `describe` sees no configuration: a capability that depends on an
      // option is a template the host fills in per provider.
      capabilities: ['prompt', `http:{base_url=${DEFAULT_BASE_URL}}`],
      features: { refresh: true, check: true },
      options: ['base_url'],
    };
  },

  async login(method, _flags) {
    if (method !== 'password') throw other(`unknown method ${method}`);
    const username = prompt('Acme user name: ', false);
    const password = prompt('Acme password: ', true);
    log('debug', `requesting a token for ${username}`);
    const credential = await requestToken({ grant_type: 'password', username, password });
    message('Acme login complete');
    return credential;
  },

  async refresh(stored) {
    const refresh = stored.secret.tag === 'oauth' ? stored.secret.val.refresh : undefined;
    if (!refresh) throw denied('no refresh token is stored');
    return requestToken({ grant_type: 'refresh_token', refresh_token: refresh });
  },

  async check(credential) {
    const response = await request(`${baseUrl()}/v1/me`, {
      headers: { authorization: `Bearer ${secretText(credential)}` },
    });
    if (response.status === 401) throw denied('Acme does not accept the token');
    if (!response.ok) throw network(`Acme answered HTTP ${response.status}`);
    const me = await response.json();
    return { account: me.email, details: [['plan', me.plan ?? 'free']] };
  },

  // Not in `features`: authhost never calls these.
  resolve(_reason, _stored) {
    throw unsupported('resolve');
  },
  revoke(_stored) {
    throw unsupported('revoke');
  },
};
