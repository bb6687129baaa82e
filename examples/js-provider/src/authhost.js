// Helpers for writing an authhost provider in JavaScript with
// componentize-js, against authhost's `wit/0.3.0` (world `plugin-with-http`).
//
// componentize-js maps the WIT to JavaScript like this, and the types below
// follow it:
//
// - records are objects with camelCase fields (`display-name` is
//   `displayName`), `option<T>` is `T` or `undefined`;
// - variants are `{ tag, val }` objects (`{ tag: 'oauth', val: tokens }`),
//   enums are strings (`'oauth'`), flags are objects of booleans;
// - `u64` is a BigInt (`1700000000000n`): use `BigInt(n)`, never a Number;
// - `result<T, error>`: return `T` for `ok`; for `err`, *throw* the error
//   value itself (a plain `{ tag, val }` object, as the helpers below make).
//   Throwing an `Error` (or any exception you do not catch) is not an `err`:
//   it ends the call as a crash, and authhost shows the message your plugin
//   printed to stderr with it.

import { get as configJson } from 'authhost:provider/config@0.3.0';
import { write } from 'authhost:provider/log@0.3.0';

/**
 * Why a call failed: the WIT `error` variant. Its text is shown to the
 * user: never put a secret in it.
 * @typedef {{ tag: 'cancelled' }
 *   | { tag: 'denied', val: string }
 *   | { tag: 'timeout', val: string }
 *   | { tag: 'network', val: string }
 *   | { tag: 'invalid-response', val: string }
 *   | { tag: 'capability-denied', val: string }
 *   | { tag: 'other', val: string }} AuthError
 */

/**
 * OAuth tokens. `expires` is milliseconds since the Unix epoch, a BigInt.
 * @typedef {{ access: string, refresh?: string, expires?: bigint }} OauthTokens
 */

/**
 * The secret part of a credential.
 * @typedef {{ tag: 'api-key', val: string } | { tag: 'oauth', val: OauthTokens }} Secret
 */

/**
 * A credential: the secret, and non-secret facts about it as name/value
 * pairs (shown by `authhost status`; never a secret there).
 * @typedef {{ secret: Secret, extra: Array<[string, string]> }} Credential
 */

/**
 * One way to log in. `kind` is `'api-key'`, `'oauth'` or `'helper'`.
 * @typedef {{ id: string, label: string, kind: 'api-key' | 'oauth' | 'helper' }} AuthMethod
 */

/**
 * The optional exports a provider implements.
 * @typedef {{ resolve?: boolean, refresh?: boolean, check?: boolean, revoke?: boolean }} Features
 */

/**
 * What `describe` answers.
 * @typedef {{
 *   id: string,
 *   displayName: string,
 *   description: string,
 *   methods: AuthMethod[],
 *   capabilities: string[],
 *   features: Features,
 *   options?: string[],
 * }} Metadata
 */

/**
 * What `check` answers. `expires` is a BigInt.
 * @typedef {{ account?: string, expires?: bigint, details: Array<[string, string]> }} AccountInfo
 */

/**
 * What `resolve` answers: a credential, and until when (ms since the epoch,
 * a BigInt) the host may reuse it.
 * @typedef {{ credential: Credential, cacheUntil?: bigint }} Resolved
 */

// --- Errors: throw these (`throw denied('…')`); they are values, not Errors.

/** @returns {AuthError} the user cancelled. */
export const cancelled = () => ({ tag: 'cancelled' });
/** @param {string} message @returns {AuthError} the user or the service refused. */
export const denied = (message) => ({ tag: 'denied', val: message });
/** @param {string} message @returns {AuthError} something did not answer in time. */
export const timeout = (message) => ({ tag: 'timeout', val: message });
/** @param {string} message @returns {AuthError} a connection or a remote service failed. */
export const network = (message) => ({ tag: 'network', val: message });
/** @param {string} message @returns {AuthError} an unusable answer. */
export const invalidResponse = (message) => ({ tag: 'invalid-response', val: message });
/** @param {string} message @returns {AuthError} anything else, in words the user can act on. */
export const other = (message) => ({ tag: 'other', val: message });
/** @param {string} name @returns {AuthError} for an optional export the provider does not implement. */
export const unsupported = (name) => other(`this provider does not implement \`${name}\``);

// --- Credentials.

/**
 * A credential holding an API key.
 * @param {string} key
 * @param {Record<string, string>} [extra] non-secret facts
 * @returns {Credential}
 */
export function apiKey(key, extra = {}) {
  return { secret: { tag: 'api-key', val: key }, extra: Object.entries(extra) };
}

/**
 * A credential holding OAuth tokens. `expiresInSeconds` is the token
 * endpoint's `expires_in`; it becomes the absolute BigInt time the WIT wants.
 * @param {{ access: string, refresh?: string, expiresInSeconds?: number }} tokens
 * @param {Record<string, string>} [extra] non-secret facts
 * @returns {Credential}
 */
export function oauth({ access, refresh, expiresInSeconds }, extra = {}) {
  const expires = expiresInSeconds === undefined ? undefined : after(expiresInSeconds);
  return { secret: { tag: 'oauth', val: { access, refresh, expires } }, extra: Object.entries(extra) };
}

/**
 * The secret text of a credential: the key, or the OAuth access token.
 * @param {Credential} credential
 * @returns {string}
 */
export function secretText(credential) {
  return credential.secret.tag === 'oauth' ? credential.secret.val.access : credential.secret.val;
}

// --- Time, as authhost stores it.

/** @returns {bigint} now, in milliseconds since the Unix epoch. */
export const nowMs = () => BigInt(Date.now());

/** @param {number} seconds @returns {bigint} that many seconds from now, in ms since the epoch. */
export const after = (seconds) => nowMs() + BigInt(Math.round(seconds * 1000));

// --- Configuration and logging.

/**
 * The user's `[providers.NAME]` table, as an object. Empty in `describe`.
 * @returns {Record<string, unknown>}
 */
export function options() {
  return JSON.parse(configJson());
}

/**
 * Writes a line to authhost's log (shown with `authhost -v`). Never log a secret.
 * @param {'trace' | 'debug' | 'info' | 'warn' | 'error'} level
 * @param {string} message
 */
export function log(level, message) {
  write(level, message);
}

// --- HTTP.

/**
 * `fetch(url, init)`, with a failure to connect thrown as a `network` error
 * instead of a TypeError. `fetch` cannot tell a refused connection from a
 * request authhost refused because its origin is not granted; authhost
 * knows, and names the missing grant in the error the user sees, whatever
 * the plugin returns.
 * @param {string} url
 * @param {RequestInit} [init]
 * @returns {Promise<Response>}
 */
export async function request(url, init) {
  try {
    return await fetch(url, init);
  } catch (e) {
    throw network(`could not reach ${originOf(url)}: ${e && e.message ? e.message : e}`);
  }
}

/**
 * `scheme://host[:port]` of a URL.
 * @param {string} url
 * @returns {string}
 */
export function originOf(url) {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}
