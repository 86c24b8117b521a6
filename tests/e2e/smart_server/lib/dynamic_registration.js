// Epic-style dynamic client registration for offline access (--dynamic-registration): after a
// normal sign-in the app registers a device public key at {issuer}/register with its access token
// (RFC 7591 request, Bearer-protected), and from then on gets access tokens with the JWT bearer
// grant (RFC 7523) at the token endpoint, an assertion signed with the device private key.
import { createPublicKey, randomUUID, verify } from 'node:crypto';

import { errors } from 'oidc-provider';

import { MemoryAdapter } from './adapter.js';

export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const ASSERTION_ALG = 'RS384';
const HASH_FOR_ALG = { RS384: 'sha384' };
const MAX_ASSERTION_LIFETIME = 300; // seconds: Epic accepts exp at most 5 minutes ahead
const CLOCK_SKEW = 5;
const MIN_RSA_BITS = 2048;
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
// Not carried over to device-key tokens: they come with neither a refresh token nor an ID token.
const DROPPED_SCOPES = new Set(['offline_access', 'openid']);

const nowSeconds = () => Math.floor(Date.now() / 1000);

function invalidGrant(description) {
  return new errors.CustomOIDCProviderError('invalid_grant', description);
}

function decodeSegment(segment, what) {
  try {
    const value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    if (value && typeof value === 'object' && !Array.isArray(value)) return value;
  } catch {
    // falls through to the refusal below
  }
  throw invalidGrant(`the assertion's ${what} is not a JSON object`);
}

// The registered clients: client id -> { clientId, softwareId, accountId, scope, keys, createdAt }.
export class DynamicClients {
  constructor() {
    this.clients = new Map();
    this.seenJti = new Map(); // jti -> exp (seconds); kept until it could no longer be replayed
  }

  has(clientId) {
    return this.clients.has(clientId);
  }

  get(clientId) {
    return this.clients.get(clientId);
  }

  describe() {
    return [...this.clients.values()].map(({ keys, ...rest }) => ({ ...rest, jwks: { keys: keys.map((k) => k.jwk) } }));
  }

  async add({ softwareId, accountId, scope, jwks }) {
    const clientId = randomUUID();
    const keys = jwks.map((jwk) => ({ jwk, key: createPublicKey({ key: jwk, format: 'jwk' }) }));
    this.clients.set(clientId, { clientId, softwareId, accountId, scope, keys, createdAt: nowSeconds() });
    // A public client of oidc-provider's, so its token endpoint authenticates it by client_id and
    // lets it use the JWT bearer grant (and nothing else); the assertion is checked by the grant.
    await new MemoryAdapter('Client').upsert(clientId, {
      client_id: clientId,
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      grant_types: [JWT_BEARER],
      response_types: [],
      redirect_uris: [],
    });
    return clientId;
  }

  // One use per jti while the assertion is alive (RFC 7523 §3 item 7).
  claimJti(jti, exp) {
    const now = nowSeconds();
    for (const [seen, until] of this.seenJti) if (until + CLOCK_SKEW < now) this.seenJti.delete(seen);
    if (this.seenJti.has(jti)) return false;
    this.seenJti.set(jti, exp);
    return true;
  }
}

function checkPublicJwk(jwk) {
  if (!jwk || typeof jwk !== 'object' || Array.isArray(jwk)) return 'each key must be a JSON object';
  const secret = PRIVATE_JWK_MEMBERS.filter((m) => m in jwk);
  if (secret.length) return `a key holds private members (${secret.join(', ')}); send the public key only`;
  if (jwk.kty !== 'RSA') return `only RSA keys are accepted (got kty ${jwk.kty})`;
  if (jwk.alg !== undefined && jwk.alg !== ASSERTION_ALG) return `only ${ASSERTION_ALG} keys are accepted (got alg ${jwk.alg})`;
  let key;
  try {
    key = createPublicKey({ key: jwk, format: 'jwk' });
  } catch (error) {
    return `a key cannot be read (${error.message})`;
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) return `RSA keys need at least ${MIN_RSA_BITS} bits (got ${bits})`;
  return undefined;
}

async function readJsonBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
}

function sendJson(res, status, body, headers = {}) {
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': data.length, 'Cache-Control': 'no-store', ...headers });
  res.end(data);
}

function registrationError(res, status, error, description, headers = {}) {
  return sendJson(res, status, { error, error_description: description }, headers);
}

// POST {issuer}/register: Authorization: Bearer <access token of the app's own client>, JSON
// { software_id: <that client id>, jwks: { keys: [<public RSA JWK>] } } -> 201 { client_id, … }.
// ctx: { provider, registry, originalClientId }
export async function handleRegistration(ctx, req, res) {
  if (req.method !== 'POST') return registrationError(res, 405, 'invalid_request', 'use POST', { Allow: 'POST' });
  const match = /^Bearer +([^\s]+)$/iu.exec(req.headers.authorization ?? '');
  const bearer = match ? await ctx.provider.AccessToken.find(match[1]) : undefined;
  if (!bearer || bearer.isExpired || bearer.clientId !== ctx.originalClientId) {
    const challenge = match ? 'Bearer error="invalid_token"' : 'Bearer';
    return registrationError(res, 401, 'invalid_token', 'a valid access token from the sign-in is required', { 'WWW-Authenticate': challenge });
  }
  let body;
  try {
    body = await readJsonBody(req);
  } catch {
    return registrationError(res, 400, 'invalid_client_metadata', 'the request body is not JSON');
  }
  if (body.software_id !== bearer.clientId) {
    return registrationError(res, 400, 'invalid_software_statement', 'software_id must be the client id the access token was issued to');
  }
  const keys = body.jwks?.keys;
  if (!Array.isArray(keys) || keys.length === 0) {
    return registrationError(res, 400, 'invalid_client_metadata', 'jwks.keys must hold the device public key');
  }
  for (const jwk of keys) {
    const problem = checkPublicJwk(jwk);
    if (problem) return registrationError(res, 400, 'invalid_client_metadata', problem);
  }
  const clientId = await ctx.registry.add({
    softwareId: body.software_id,
    accountId: bearer.accountId,
    scope: bearer.scope ?? '',
    jwks: keys,
  });
  const registered = ctx.registry.get(clientId);
  return sendJson(
    res,
    201,
    {
      client_id: clientId,
      client_id_issued_at: registered.createdAt,
      software_id: body.software_id,
      jwks: { keys },
      grant_types: [JWT_BEARER],
      token_endpoint_auth_method: 'none',
    },
  );
}

// The assertion's signature against the registered keys, then its claims; returns the claims.
export function verifyAssertion(assertion, registered, tokenEndpoint, registry) {
  if (typeof assertion !== 'string' || !/^[\w-]+\.[\w-]+\.[\w-]+$/u.test(assertion)) {
    throw invalidGrant('assertion must be a signed JWT (three base64url parts)');
  }
  const [headerPart, payloadPart, signaturePart] = assertion.split('.');
  const header = decodeSegment(headerPart, 'header');
  const hash = HASH_FOR_ALG[header.alg];
  if (!hash) throw invalidGrant(`assertion alg must be ${ASSERTION_ALG} (got ${header.alg})`);
  const candidates = registered.keys.filter(({ jwk }) => header.kid === undefined || jwk.kid === undefined || jwk.kid === header.kid);
  const signed = Buffer.from(`${headerPart}.${payloadPart}`, 'ascii');
  const signature = Buffer.from(signaturePart, 'base64url');
  if (!candidates.some(({ key }) => verify(hash, signed, key, signature))) {
    throw invalidGrant("the assertion's signature does not verify with the registered device key");
  }
  const claims = decodeSegment(payloadPart, 'payload');
  const now = nowSeconds();
  if (claims.iss !== registered.clientId) throw invalidGrant('assertion iss must be the dynamic client id');
  if (claims.sub !== registered.clientId) throw invalidGrant('assertion sub must be the dynamic client id');
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.includes(tokenEndpoint)) throw invalidGrant(`assertion aud must be the token endpoint ${tokenEndpoint}`);
  if (!Number.isInteger(claims.exp)) throw invalidGrant('assertion exp is required (seconds since the epoch)');
  if (claims.exp + CLOCK_SKEW <= now) throw invalidGrant('the assertion has expired');
  if (claims.exp - now > MAX_ASSERTION_LIFETIME + CLOCK_SKEW) {
    throw invalidGrant(`assertion exp may be at most ${MAX_ASSERTION_LIFETIME} s ahead`);
  }
  if (claims.nbf !== undefined && (!Number.isInteger(claims.nbf) || claims.nbf - CLOCK_SKEW > now)) {
    throw invalidGrant('the assertion is not valid yet (nbf)');
  }
  if (claims.iat !== undefined && (!Number.isInteger(claims.iat) || claims.iat - CLOCK_SKEW > now)) {
    throw invalidGrant('assertion iat is in the future');
  }
  if (typeof claims.jti !== 'string' || !claims.jti) throw invalidGrant('assertion jti is required');
  if (!registry.claimJti(`${registered.clientId} ${claims.jti}`, claims.exp)) {
    throw invalidGrant('this assertion (jti) was already used');
  }
  return claims;
}

// grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=JWT&client_id=<dynamic id>
// [&scope=…] -> an access token for the registered client's patient and scopes.
export function installJwtBearerGrant(provider, registry, tokenEndpoint) {
  async function jwtBearerGrant(ctx) {
    const { client, params } = ctx.oidc;
    const registered = registry.get(client.clientId);
    if (!registered) throw invalidGrant('this client was not registered with a device key');
    verifyAssertion(params.assertion, registered, tokenEndpoint, registry);
    const allowed = registered.scope.split(' ').filter((s) => s && !DROPPED_SCOPES.has(s));
    let scopes = allowed;
    if (params.scope) {
      const asked = params.scope.split(' ').filter(Boolean);
      const extra = asked.filter((s) => !allowed.includes(s));
      if (extra.length) throw new errors.InvalidScope('scope exceeds what was granted at registration', extra.join(' '));
      scopes = asked;
    }
    const token = new provider.AccessToken({
      accountId: registered.accountId,
      client,
      gty: JWT_BEARER,
      scope: scopes.join(' '),
    });
    const value = await token.save();
    ctx.body = { access_token: value, token_type: token.tokenType, expires_in: token.expiration, scope: token.scope };
  }
  provider.registerGrantType(JWT_BEARER, jwtBearerGrant, ['assertion', 'scope']);
}
