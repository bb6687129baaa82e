// A real OpenID Connect provider on 127.0.0.1 for authhost's integration
// tests, built on `oidc-provider` (tests/idp/package.json pins it; install
// with `npm ci --prefix tests/idp`, which tests/run.sh does).
//
//   node tests/idp/idp.mjs [--port N] [--access-ttl SECONDS]
//                          [--client-id ID] [--interactions auto|forms]
//                          [--device-interval SECONDS] [--device-ttl SECONDS]
//                          [--slow-down N]
//
// --port             port on 127.0.0.1 (default: a free one)
// --access-ttl       lifetime of access tokens (default 60)
// --client-id        id of the one registered client (default authhost-cli)
// --interactions     auto: every login is account `alice` (alice@example.com)
//                    and consent is given at once, so any HTTP client that
//                    follows redirects with cookies completes a login;
//                    forms: the package's own login and consent pages (any
//                    login name is accepted, the password is ignored), for a
//                    headless browser to fill in (default auto)
// --device-interval  the `interval` of device authorization responses
//                    (default 1; oidc-provider itself sends none, which
//                    means 5 seconds to a client)
// --device-ttl       lifetime of device codes (default 600)
// --slow-down        answer this many device-code polls that would get
//                    `authorization_pending` with `slow_down` instead
//                    (default 0)
//
// The client: public and native, no secret (`token_endpoint_auth_method:
// none`), PKCE S256 required, redirect URI `http://127.0.0.1/callback` on any
// port (RFC 8252 7.3; the path must match exactly), grant types
// authorization_code, refresh_token and device_code. Scopes: openid,
// offline_access, email, profile. Every token response carries a refresh
// token, and every refresh rotates it: presenting a used refresh token (or
// device code) again answers `invalid_grant` and revokes the whole grant.
// `offline_access` is dropped from the granted `scope` unless the request
// has `prompt=consent`; the refresh token is issued all the same. Access
// tokens are refused from the second they expire (no clock tolerance). The
// authorization response carries `iss` (RFC 9207). Userinfo returns `sub`
// and, with the `email` scope, `email` and `email_verified` (`name` and
// `preferred_username` with `profile`); the account id is the login name.
// Everything is kept in memory: a restart forgets every login.
//
// Endpoints (relative to the issuer, also listed by discovery):
//   /.well-known/openid-configuration   discovery
//   /auth                               authorization
//   /token                              token
//   /me                                 userinfo
//   /device/auth                        device authorization
//   /device                             device verification (user code)
//   /token/revocation                   revocation (RFC 7009)
//   /jwks                               signing keys
//
// Standard output, one JSON object per line; each event also has `at`, the
// time it was printed in milliseconds since the Unix epoch:
//   {"issuer":"http://127.0.0.1:PORT","port":PORT}        once, when listening
//   {"event":"authorization.success"}
//   {"event":"authorization.error","error":"..."}
//   {"event":"device_authorization.success"}
//   {"event":"grant.success","grant_type":"authorization_code"}
//       grant_type is also "refresh_token" or
//       "urn:ietf:params:oauth:grant-type:device_code"
//   {"event":"grant.error","grant_type":"refresh_token","error":"invalid_grant"}
//       (device-code polling before approval gives "authorization_pending")
//   {"event":"device.slow_down"}              a poll answered `slow_down`
//                                             (--slow-down)
//   {"event":"grant.revoked"}                 a grant was revoked: refresh
//                                             token reuse, or a refresh token
//                                             sent to the revocation endpoint
//   {"event":"refresh_token.consumed"}        a refresh token was rotated
//   {"event":"refresh_token.destroyed"}       revoked, or reused and dropped
//   {"event":"access_token.destroyed"}        revoked at the revocation
//                                             endpoint (its grant stays)
//   {"event":"userinfo.error","error":"..."}
//   {"event":"revocation.error","error":"..."}
//   {"event":"server_error","message":"..."}
//   {"event":"revoke-all","grants":N}         answer to `revoke-all` on stdin
// Diagnostics (including the package's own notices) go to standard error.
//
// Standard input, one command per line (not part of the IdP):
//   revoke-all   revoke every grant with all its tokens and forget every
//                session: each login so far is refused from now on
//   quit         exit (so does the end of standard input)
//
// Logging in with plain HTTP (`--interactions auto`): follow each 303 by
// hand or automatically, with one cookie jar that honours cookie paths.
// Locations are either absolute or a path on the issuer.
//   1. GET {issuer}/auth?response_type=code&client_id=authhost-cli
//        &redirect_uri=http://127.0.0.1:PORT/callback
//        &scope=openid%20offline_access%20email%20profile
//        &state=S&code_challenge=C&code_challenge_method=S256
//      -> 303 to /interaction/UID, setting `_interaction` (path
//         /interaction/UID) and `_interaction_resume` (path /auth/UID)
//   2. GET /interaction/UID (with `_interaction`)
//      -> 303 to {issuer}/auth/UID (logged in as alice and consented in one
//         step; only consent when `_session` already holds a login)
//   3. GET /auth/UID (with `_interaction_resume`)
//      -> 303 to http://127.0.0.1:PORT/callback?code=...&state=S
//         &iss=http%3A%2F%2F127.0.0.1%3APORT, setting `_session` (path /)
//      (a later login with the same `_session` cookie takes the same steps:
//      the provider asks a native client's user to consent every time, and
//      step 2 gives that consent)
//   4. POST {issuer}/token, application/x-www-form-urlencoded:
//        grant_type=authorization_code&code=...&redirect_uri=(as in 1)
//        &client_id=authhost-cli&code_verifier=V
//      -> 200 {access_token, expires_in, id_token, refresh_token, scope,
//              token_type: "Bearer"}
//   5. POST {issuer}/token: grant_type=refresh_token&refresh_token=R
//        &client_id=authhost-cli
//      -> 200 with a new refresh token; R again -> 400 invalid_grant, and
//         the grant (the new refresh token too) is revoked
//   6. GET {issuer}/me with `authorization: Bearer A`
//      -> 200 {"sub":"alice","email":"alice@example.com",
//              "email_verified":true,"name":"alice",
//              "preferred_username":"alice"} (the last two for `profile`)
//
// The device flow with plain HTTP (`--interactions auto`), one cookie jar:
//   1. POST {issuer}/device/auth: client_id=authhost-cli
//        &scope=openid%20offline_access%20email
//      -> 200 {device_code, user_code, verification_uri,
//              verification_uri_complete, expires_in, interval}
//   2. GET verification_uri_complete ({issuer}/device?user_code=XXXX-XXXX)
//      -> 200, an auto-submitting form with hidden `xsrf` and `user_code`
//         fields, setting `_session` (path /)
//   3. POST {issuer}/device: xsrf=X&user_code=XXXX-XXXX&confirm=yes
//      (without `confirm=yes` the answer is a confirmation form holding the
//      same fields plus confirm=yes, to be posted in turn)
//      -> 303 to /interaction/UID, setting `_interaction` and
//         `_interaction_resume` (path /device/UID)
//   4. GET /interaction/UID -> 303 to {issuer}/device/UID
//   5. GET /device/UID -> 200, a "Sign-in Success" page
//   6. POST {issuer}/token: grant_type=urn:ietf:params:oauth:grant-type:device_code
//        &device_code=D&client_id=authhost-cli
//      -> 400 {"error":"authorization_pending"} before step 5, 200 with
//         tokens (including a refresh token) after it
//
// With `--interactions forms`, GET /interaction/UID is a login page: its form
// posts prompt=login&login=NAME&password=ANY to /interaction/UID, which
// redirects (303, via /auth/UID or /device/UID) to a second interaction whose
// consent page posts prompt=consent to /interaction/UID2; the flow then goes
// on as above.

import * as crypto from 'node:crypto';
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

// oidc-provider 9 calls URL.parse and crypto.hash, which Node.js has since
// 20.18 (Debian 12's nodejs, 18.x, lacks both).
if (typeof URL.parse !== 'function' || typeof crypto.hash !== 'function') {
  console.error(`idp: oidc-provider needs Node.js 20.18 or later, this is ${process.version}`);
  process.exit(1);
}

// The package prints notices with console.info; standard output is kept for
// the JSON lines.
console.info = console.error;
console.log = console.error;

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'access-ttl': { type: 'string', default: '60' },
    'client-id': { type: 'string', default: 'authhost-cli' },
    interactions: { type: 'string', default: 'auto' },
    'device-interval': { type: 'string', default: '1' },
    'device-ttl': { type: 'string', default: '600' },
    'slow-down': { type: 'string', default: '0' },
  },
});
if (!['auto', 'forms'].includes(args.interactions)) {
  throw new Error(`--interactions must be auto or forms, not ${args.interactions}`);
}

function print(object) {
  const line = object.event ? { ...object, at: Date.now() } : object;
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

// The only account's name in auto mode; in forms mode whatever is typed.
const AUTO_ACCOUNT = 'alice';

// Listen first: the issuer names the port.
const server = createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(Number(args.port), '127.0.0.1', resolve);
});
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: args['client-id'],
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    redirect_uris: ['http://127.0.0.1/callback'],
    grant_types: [
      'authorization_code',
      'refresh_token',
      'urn:ietf:params:oauth:grant-type:device_code',
    ],
    response_types: ['code'],
  }],
  scopes: ['openid', 'offline_access', 'email', 'profile'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
  },
  async findAccount(ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        return {
          sub,
          email: `${sub}@example.com`,
          email_verified: true,
          name: sub,
          preferred_username: sub,
        };
      },
    };
  },
  pkce: { required: () => true },
  // Every code and device grant gets a refresh token (not only those with
  // offline_access and prompt=consent), and every refresh rotates it.
  issueRefreshToken: async () => true,
  rotateRefreshToken: true,
  ttl: {
    AccessToken: Number(args['access-ttl']),
    DeviceCode: Number(args['device-ttl']),
  },
  // Expired means expired (the default tolerates 15 s of clock skew).
  clockTolerance: 0,
  features: {
    devInteractions: { enabled: args.interactions === 'forms' },
    deviceFlow: { enabled: true },
    revocation: { enabled: true },
    userinfo: { enabled: true },
  },
});

// Events, one JSON line each.
const grantType = (ctx) => ctx.oidc?.params?.grant_type ?? ctx.request?.body?.grant_type;
const errorCode = (err) => err?.error ?? err?.message;
provider.on('authorization.success', () => print({ event: 'authorization.success' }));
provider.on('authorization.error', (ctx, err) => print({ event: 'authorization.error', error: errorCode(err) }));
provider.on('device_authorization.success', (ctx, body) => {
  // The response body is sent after this listener returns.
  body.interval = Number(args['device-interval']);
  print({ event: 'device_authorization.success' });
});
provider.on('grant.success', (ctx) => print({ event: 'grant.success', grant_type: grantType(ctx) }));
provider.on('grant.error', (ctx, err) => print({ event: 'grant.error', grant_type: grantType(ctx), error: errorCode(err) }));
provider.on('grant.revoked', () => print({ event: 'grant.revoked' }));
provider.on('refresh_token.consumed', () => print({ event: 'refresh_token.consumed' }));
provider.on('refresh_token.destroyed', () => print({ event: 'refresh_token.destroyed' }));
provider.on('access_token.destroyed', () => print({ event: 'access_token.destroyed' }));
provider.on('userinfo.error', (ctx, err) => print({ event: 'userinfo.error', error: errorCode(err) }));
provider.on('revocation.error', (ctx, err) => print({ event: 'revocation.error', error: errorCode(err) }));
provider.on('server_error', (ctx, err) => {
  console.error(err);
  print({ event: 'server_error', message: String(err?.message) });
});

// --slow-down: a pending device-code poll answered `slow_down` (RFC 8628
// section 3.5) instead, as a server under load would.
let slowDowns = Number(args['slow-down']);
provider.use(async (ctx, next) => {
  await next();
  if (slowDowns > 0 && ctx.path === '/token' && ctx.status === 400
      && ctx.body?.error === 'authorization_pending') {
    slowDowns -= 1;
    ctx.body = { error: 'slow_down', error_description: 'you are polling too quickly' };
    print({ event: 'device.slow_down' });
  }
});

// Every grant ever saved, for `revoke-all`.
const grantIds = new Set();
provider.on('grant.saved', (grant) => grantIds.add(grant.jti));
const sessionIds = new Set();
provider.on('session.saved', (session) => sessionIds.add(session.jti));

// Auto mode: GET /interaction/UID finishes whatever the provider asks for.
async function autoInteraction(req, res) {
  const { prompt, params, session, grantId } = await provider.interactionDetails(req, res);
  const accountId = prompt.name === 'login' ? AUTO_ACCOUNT : session.accountId;
  const grant = (grantId && await provider.Grant.find(grantId))
    ?? new provider.Grant({ accountId, clientId: params.client_id });
  if (prompt.name === 'login') {
    // Log in and consent to everything requested in one step.
    if (params.scope) grant.addOIDCScope(params.scope);
  } else if (prompt.name === 'consent') {
    const { details } = prompt;
    if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
    if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(details.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
  } else {
    throw new Error(`unexpected prompt ${prompt.name}`);
  }
  const result = { consent: { grantId: await grant.save() } };
  if (prompt.name === 'login') result.login = { accountId };
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
}

const handle = provider.callback();
server.on('request', (req, res) => {
  if (args.interactions === 'auto' && req.method === 'GET' && /^\/interaction\/[^/?]+(\?|$)/.test(req.url)) {
    autoInteraction(req, res).catch((err) => {
      console.error(err);
      res.statusCode = 400;
      res.setHeader('content-type', 'text/plain');
      res.end(`interaction failed: ${err.message}\n`);
    });
    return;
  }
  handle(req, res);
});

// Revokes every grant and its tokens, and drops every session.
async function revokeAll() {
  const models = [provider.AccessToken, provider.RefreshToken, provider.AuthorizationCode, provider.DeviceCode];
  let revoked = 0;
  for (const grantId of grantIds) {
    await Promise.all(models.map((model) => model.revokeByGrantId(grantId)));
    const grant = await provider.Grant.find(grantId);
    if (grant) {
      await grant.destroy();
      revoked += 1;
    }
  }
  grantIds.clear();
  for (const sessionId of sessionIds) {
    const session = await provider.Session.find(sessionId);
    await session?.destroy();
  }
  sessionIds.clear();
  return revoked;
}

const commands = createInterface({ input: process.stdin });
commands.on('line', async (line) => {
  const command = line.trim();
  if (command === 'revoke-all') {
    print({ event: 'revoke-all', grants: await revokeAll() });
  } else if (command === 'quit') {
    process.exit(0);
  } else if (command) {
    console.error(`idp: unknown command ${JSON.stringify(command)}`);
  }
});
commands.on('close', () => process.exit(0));

print({ issuer, port });
