// The authorisation server: oidc-provider configured as a SMART standalone-launch server for one
// public native client, plus the login and consent pages it sends the browser to.
import { generateKeyPairSync, randomBytes } from 'node:crypto';

import Provider, { errors } from 'oidc-provider';

import { MemoryAdapter } from './adapter.js';
import { DynamicClients, installJwtBearerGrant } from './dynamic_registration.js';
import { acceptedScopes } from './scopes.js';

export const CLIENT_ID = 'phr-desktop-test';
export const USERNAME = 'patient';
export const PASSWORD = 'password';

const sameBase = (a, b) => a.replace(/\/+$/u, '') === b.replace(/\/+$/u, '');

const escapeHtml = (text) =>
  String(text).replace(/[&<>"']/gu, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

function page(title, body) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body><h1>${escapeHtml(title)}</h1>
${body}
</body></html>`;
}

export function createProvider({ issuer, fhirBase, patientId, options }) {
  const { accessTtl, refreshTtl, rotateRefresh, smartVersion, pkce } = options;
  const accounts = new Map([[USERNAME, patientId]]);

  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-rs256', use: 'sig', alg: 'RS256' };

  const provider = new Provider(issuer, {
    adapter: MemoryAdapter,
    clients: [
      {
        client_id: CLIENT_ID,
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        // RFC 8252 §7.3: oidc-provider ignores the port of loopback redirect URIs for native
        // clients, so this one registration admits http://127.0.0.1:ANY/callback.
        redirect_uris: ['http://127.0.0.1/callback'],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      },
    ],
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    scopes: acceptedScopes(smartVersion),
    claims: { openid: ['sub'], fhirUser: ['fhirUser'], profile: ['name'] },
    // fhirUser belongs in the id_token for SMART apps, not only at userinfo.
    conformIdTokenClaims: false,
    async findAccount(_ctx, accountId) {
      const pid = accounts.get(accountId);
      if (!pid) return undefined;
      return {
        accountId,
        claims: async () => ({ sub: accountId, fhirUser: `${fhirBase}/Patient/${pid}`, name: 'Test Patient' }),
      };
    },
    pkce: { required: () => pkce },
    extraParams: {
      // SMART's `aud`: required, and must name this FHIR server.
      aud(_ctx, value) {
        if (value === undefined) throw new errors.InvalidRequest('aud is required (the FHIR base URL)');
        if (!sameBase(value, fhirBase)) throw new errors.InvalidRequest(`aud ${value} is not this FHIR server`);
      },
      launch: null,
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      introspection: { enabled: true },
    },
    ttl: {
      AccessToken: accessTtl,
      AuthorizationCode: 120,
      IdToken: 3600,
      RefreshToken: refreshTtl,
      Grant: Math.max(refreshTtl, 3600),
      Interaction: 3600,
      Session: 3600,
    },
    rotateRefreshToken: () => rotateRefresh,
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = page('Error', `<p id="error">${escapeHtml(out.error)}</p><p>${escapeHtml(out.error_description ?? '')}</p>`);
    },
  });

  // --dynamic-registration: device-key clients and their JWT bearer grant (none without it).
  const dynamicClients = new DynamicClients();
  if (options.dynamicRegistration) installJwtBearerGrant(provider, dynamicClients, `${issuer}/token`);

  provider.use(async (ctx, next) => {
    await next();
    // SMART launch context travels in the token response.
    if (ctx.path === '/token' && ctx.status === 200 && ctx.body?.access_token) {
      const token = await provider.AccessToken.find(ctx.body.access_token);
      const pid = token && accounts.get(token.accountId);
      if (pid && /(^| )(launch\/patient|patient\/)/u.test(token.scope ?? '')) {
        ctx.body = { ...ctx.body, patient: pid, need_patient_banner: false };
      }
    }
  });

  return { provider, accounts, dynamicClients };
}

// oidc-provider drops offline_access unless prompt=consent, which SMART clients do not send:
// add it to the raw authorization request URL (before oidc-provider derives its mount path).
export function withConsentPromptForOffline(rawUrl) {
  const url = new URL(rawUrl, 'http://placeholder');
  if (url.pathname !== '/oidc/auth' || !url.searchParams.get('scope')?.split(' ').includes('offline_access')) {
    return rawUrl;
  }
  const prompts = new Set((url.searchParams.get('prompt') ?? '').split(' ').filter(Boolean));
  if (prompts.has('consent') || prompts.has('none')) return rawUrl;
  prompts.add('consent');
  url.searchParams.set('prompt', [...prompts].join(' '));
  return `${url.pathname}${url.search}`;
}

// Resolves a Bearer token to { accountId, patientId, scope } or undefined. Tokens of this app's
// client are accepted, and those of the device-key clients registered under it.
export async function lookupAccessToken(provider, accounts, header, dynamicClients) {
  const match = /^Bearer +([^\s]+)$/iu.exec(header ?? '');
  if (!match) return undefined;
  const token = await provider.AccessToken.find(match[1]);
  if (!token || token.isExpired) return undefined;
  if (token.clientId !== CLIENT_ID && !dynamicClients?.has(token.clientId)) return undefined;
  return { accountId: token.accountId, patientId: accounts.get(token.accountId), scope: token.scope ?? '' };
}

export function expireAccessTokens() {
  return MemoryAdapter.destroyAll('AccessToken');
}

export function expireRefreshTokens() {
  return MemoryAdapter.destroyAll('RefreshToken');
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function sendHtml(res, status, html) {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(html);
}

function loginPage(uid, message = '') {
  return page(
    'Sign in to the test patient portal',
    `${message ? `<p id="error">${escapeHtml(message)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login" autocomplete="off">
<label>Username <input name="username" value=""></label>
<label>Password <input type="password" name="password" value=""></label>
<button type="submit">Sign in</button>
</form>`,
  );
}

function consentPage(uid, details) {
  const scopes = (details.params.scope ?? '').split(' ').filter(Boolean);
  return page(
    'Allow phr-desktop to read your record?',
    `<p>Client: ${escapeHtml(details.params.client_id)}</p>
<ul>${scopes.map((s) => `<li>${escapeHtml(s)}</li>`).join('')}</ul>
<form method="post" action="/interaction/${escapeHtml(uid)}/confirm">
<button type="submit" name="decision" value="approve">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>`,
  );
}

async function grantConsent(provider, details) {
  const { prompt, params, session } = details;
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const grantId = await grant.save();
  return details.grantId ? {} : { grantId };
}

// GET /interaction/:uid, POST /interaction/:uid/login, POST /interaction/:uid/confirm.
export async function handleInteraction(provider, req, res, pathname) {
  const [, , uid, action] = pathname.split('/');
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (error) {
    sendHtml(res, 400, page('Error', `<p id="error">${escapeHtml(error.message)}</p>`));
    return;
  }
  if (details.uid !== uid) {
    sendHtml(res, 400, page('Error', '<p id="error">interaction mismatch</p>'));
    return;
  }
  const promptName = details.prompt.name;
  if (req.method === 'GET' && !action) {
    sendHtml(res, 200, promptName === 'login' ? loginPage(uid) : consentPage(uid, details));
    return;
  }
  if (req.method === 'POST' && action === 'login' && promptName === 'login') {
    const form = await readForm(req);
    if (form.get('username') !== USERNAME || form.get('password') !== PASSWORD) {
      sendHtml(res, 200, loginPage(uid, 'Wrong username or password.'));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: USERNAME } }, { mergeWithLastSubmission: false });
    return;
  }
  if (req.method === 'POST' && action === 'confirm' && promptName === 'consent') {
    const form = await readForm(req);
    const result =
      form.get('decision') === 'approve'
        ? { consent: await grantConsent(provider, details) }
        : { error: 'access_denied', error_description: 'The patient did not allow access.' };
    await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
    return;
  }
  sendHtml(res, 400, page('Error', `<p id="error">unexpected ${escapeHtml(req.method)} for ${escapeHtml(promptName)}</p>`));
}
