// The FHIR REST API under /fhir: SMART discovery, CapabilityStatement, and bearer-protected
// read/search confined to the token's patient and scopes.
import { randomUUID } from 'node:crypto';

import { sendBinaryStrictly } from './documents.js';
import { JWT_BEARER } from './dynamic_registration.js';
import { asList, isKnownType } from './store.js';
import { advertisedScopes, permits } from './scopes.js';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const DEFAULT_COUNT = 50;
const MAX_COUNT = 1000;

export function outcome(code, text, severity = 'error') {
  return { resourceType: 'OperationOutcome', issue: [{ severity, code, diagnostics: text }] };
}

export function sendJson(res, status, body, headers = {}, contentType = FHIR_JSON) {
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': data.length, 'Cache-Control': 'no-store', ...headers });
  res.end(data);
}

export function smartConfiguration({ issuer, options }) {
  const capabilities = [
    'launch-standalone',
    'client-public',
    'context-standalone-patient',
    'permission-offline',
    'permission-patient',
    options.smartVersion === 'v1' ? 'permission-v1' : 'permission-v2',
    'sso-openid-connect',
  ];
  const registration = options.dynamicRegistration ? { registration_endpoint: `${issuer}/register` } : {};
  return {
    issuer,
    jwks_uri: `${issuer}/jwks`,
    authorization_endpoint: `${issuer}/auth`,
    token_endpoint: `${issuer}/token`,
    revocation_endpoint: `${issuer}/token/revocation`,
    introspection_endpoint: `${issuer}/token/introspection`,
    ...registration,
    grant_types_supported: ['authorization_code', 'refresh_token', ...(options.dynamicRegistration ? [JWT_BEARER] : [])],
    token_endpoint_auth_methods_supported: ['none'],
    response_types_supported: ['code'],
    code_challenge_methods_supported: options.pkce ? ['S256'] : [],
    scopes_supported: advertisedScopes(options.smartVersion),
    capabilities,
  };
}

const COMBINATION = 'http://hl7.org/fhir/StructureDefinition/capabilitystatement-search-parameter-combination';

// What the CapabilityStatement says about a type's searches. With --declare-category-combinations
// a type of --require-category declares, as US Core's statement does, the one parameter
// combination it takes: patient + category.
function searchCapabilities(type, options) {
  if (!options.declareCategoryCombinations || !options.requireCategory?.has(type)) return {};
  const required = ['patient', 'category'].map((name) => ({ url: 'required', valueString: name }));
  return {
    extension: [{ url: COMBINATION, extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/capabilitystatement-expectation', valueCode: 'SHALL' }, ...required] }],
    searchParam: [
      { name: 'patient', type: 'reference' },
      { name: 'category', type: 'token' },
      { name: 'date', type: 'date' },
    ],
  };
}

export function capabilityStatement({ issuer, fhirBase, types, options = {} }) {
  const oauthUris = {
    url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
    extension: [
      { url: 'authorize', valueUri: `${issuer}/auth` },
      { url: 'token', valueUri: `${issuer}/token` },
      { url: 'revoke', valueUri: `${issuer}/token/revocation` },
    ],
  };
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    fhirVersion: '4.0.1',
    format: ['json'],
    implementation: { description: 'phr-desktop e2e SMART test server', url: fhirBase },
    rest: [
      {
        mode: 'server',
        security: {
          extension: [oauthUris],
          service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }] }],
        },
        resource: types.map((type) => ({ type, interaction: [{ code: 'read' }, { code: 'search-type' }], ...searchCapabilities(type, options) })),
      },
    ],
  };
}

function pageUrl(fhirBase, type, query, offset, count) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (key === '_offset' || key === '_count') continue;
    for (const one of asList(value)) params.append(key, one);
  }
  params.set('_count', String(count));
  if (offset) params.set('_offset', String(offset));
  return `${fhirBase}/${type}?${params}`;
}

// Search rules real EHRs apply (Epic's patient-facing API, Oracle Health Millennium, US Core),
// each turned on by a server option: a 400 OperationOutcome when the search breaks one, else
// undefined.
function brokenSearchRule(type, query, options) {
  const has = (name) => asList(query[name]).length > 0;
  if (options.requireCategory?.has(type) && !has('category') && !has('_id')) {
    return outcome('required', 'A required search parameter is missing: category');
  }
  if (options.noLastUpdated && has('_lastUpdated')) {
    return outcome('not-supported', `The search parameter _lastUpdated is not supported for ${type}`);
  }
  // --last-updated-prefixes ge,le: Oracle Health's MedicationRequest takes no other comparator.
  const prefixes = options.lastUpdatedPrefixes ?? [];
  const badPrefix = asList(query._lastUpdated).find((value) => prefixes.length && !prefixes.includes(value.slice(0, 2)));
  if (badPrefix !== undefined) {
    return outcome('invalid', `_lastUpdated must use one of the prefixes ${prefixes.join(', ')}: ${badPrefix}`);
  }
  return undefined;
}

// The note some servers add to a search Bundle as an entry of its own (search.mode "outcome").
function outcomeEntry() {
  return {
    resource: outcome('informational', 'Some results may be hidden: results the patient has not been given access to are not shown.', 'warning'),
    search: { mode: 'outcome' },
  };
}

// --opaque-next-links: next links that name a stored page (like Epic's session-bound paging)
// instead of repeating the search's parameters.
const pagesById = new Map();

// POST /_admin/expire-pages: every stored page is forgotten, as a server session ends.
export function expirePages() {
  const count = pagesById.size;
  pagesById.clear();
  return count;
}

function opaquePageUrl(fhirBase, type, query, offset, count) {
  const id = randomUUID();
  pagesById.set(id, { type, query: { ...query }, offset, count });
  return `${fhirBase}/${type}?_getpages=${id}`;
}

async function search(ctx, res, type, incomingQuery) {
  const { store, fhirBase, token, options } = ctx;
  let rawQuery = incomingQuery;
  let pinnedOffset;
  let pinnedCount;
  const pageId = asList(incomingQuery._getpages)[0];
  if (pageId !== undefined) {
    const page = pagesById.get(pageId);
    if (!page || page.type !== type) return sendJson(res, 400, outcome('invalid', 'This page link has expired; search again.'));
    ({ query: rawQuery, offset: pinnedOffset, count: pinnedCount } = page);
  }
  const broken = brokenSearchRule(type, rawQuery, options);
  if (broken) return sendJson(res, 400, broken);
  const asked = Number.parseInt(asList(rawQuery._count)[0] ?? `${DEFAULT_COUNT}`, 10) || DEFAULT_COUNT;
  // --max-count: a lower maximum page size, enforced silently (Oracle Health caps at 100-200).
  const count = pinnedCount ?? Math.min(asked, options.maxCount ?? MAX_COUNT, MAX_COUNT);
  const offset = pinnedOffset ?? Math.max(Number.parseInt(asList(rawQuery._offset)[0] ?? '0', 10) || 0, 0);
  // The newest write stamp before the search: a safe watermark for `_lastUpdated=gt` next time
  // (anything written later gets a strictly greater stamp).
  const searchedAt = new Date(store.lastStamp || Date.now()).toISOString();
  let found;
  try {
    found = await store.searchForPatient(type, rawQuery, token.patientId);
  } catch (error) {
    return sendJson(res, 400, error.outcome ?? outcome('invalid', error.message));
  }
  if (found.error) return sendJson(res, found.status, outcome(found.status === 403 ? 'forbidden' : 'not-supported', found.error));
  const total = found.entries.length;
  const summaryCount = asList(rawQuery._summary).includes('count');
  const entry = found.entries.slice(offset, summaryCount ? offset : offset + count).map((item) => ({
    fullUrl: `${fhirBase}/${item.resource.resourceType}/${item.resource.id}`,
    resource: item.resource,
    search: item.search,
  }));
  if (options.outcomeEntries && offset === 0) entry.push(outcomeEntry());
  let link = [{ relation: 'self', url: pageUrl(fhirBase, type, rawQuery, offset, count) }];
  if (!summaryCount && offset + count < total) {
    const next = options.opaqueNextLinks ? opaquePageUrl : pageUrl;
    link.push({ relation: 'next', url: next(fhirBase, type, rawQuery, offset + count, count) });
  }
  if (ctx.documents) link = ctx.documents.pointNextLink(type, link);
  const bundle = { resourceType: 'Bundle', id: randomUUID(), meta: { lastUpdated: searchedAt }, type: 'searchset', total, link, entry };
  return sendJson(res, 200, bundle);
}

function wantsFhirJson(req, query) {
  const format = asList(query._format)[0] ?? '';
  const accept = `${req.headers.accept ?? ''} ${format}`;
  return /fhir\+json|application\/json|\bjson\b/u.test(accept);
}

async function read(ctx, req, res, type, id, query) {
  const { store, token } = ctx;
  if (type === 'Binary' && (await ctx.documents?.serveStreamed(res, id))) return undefined;
  const resource = await store.read(type, id);
  if (!resource) return sendJson(res, 404, outcome('not-found', `${type}/${id} is not known`));
  if (!(await store.inCompartment(resource, token.patientId))) {
    return sendJson(res, 403, outcome('forbidden', `${type}/${id} is outside this token's patient compartment`));
  }
  if (type === 'Binary' && ctx.options.binaryAccept === 'strict') return sendBinaryStrictly(req, res, resource);
  if (type === 'Binary' && !wantsFhirJson(req, query)) {
    const data = Buffer.from(resource.data ?? '', 'base64');
    res.writeHead(200, { 'Content-Type': resource.contentType ?? 'application/octet-stream', 'Content-Length': data.length, ETag: `W/"${resource.meta.versionId}"` });
    res.end(data);
    return undefined;
  }
  return sendJson(res, 200, resource, { ETag: `W/"${resource.meta.versionId}"`, 'Last-Modified': new Date(resource.meta.lastUpdated).toUTCString() });
}

// ctx: { store, fhirBase, issuer, options, authenticate(req), refusedTypes: Map(type -> status) }
export async function handleFhir(ctx, req, res, url) {
  const rest = url.pathname.slice('/fhir'.length).replace(/^\/+/u, '');
  const query = Object.create(null);
  for (const [key, value] of url.searchParams) query[key] = key in query ? [...asList(query[key]), value] : value;

  if (rest === '.well-known/smart-configuration' && req.method === 'GET') {
    if (ctx.options.smartConfig === false) return sendJson(res, 404, outcome('not-found', 'no smart-configuration here'));
    return sendJson(res, 200, smartConfiguration(ctx), {}, 'application/json');
  }
  if (rest === 'metadata' && req.method === 'GET') {
    return sendJson(res, 200, capabilityStatement({ ...ctx, types: ctx.store.types() }));
  }

  const token = await ctx.authenticate(req);
  if (!token) {
    const error = req.headers.authorization ? ', error="invalid_token", error_description="The access token is invalid or expired"' : '';
    return sendJson(res, 401, outcome('login', 'A valid Bearer access token is required.'), { 'WWW-Authenticate': `Bearer realm="fhir"${error}` });
  }
  if (req.method !== 'GET') return sendJson(res, 405, outcome('not-supported', 'This test server is read-only over FHIR; use /_admin.'));

  const [type, id, ...extra] = rest.split('/');
  if (!type || !isKnownType(type) || extra.length) return sendJson(res, 404, outcome('not-supported', `No route for /${rest}`));
  const refusal = ctx.refusedTypes.get(type);
  if (refusal) return sendJson(res, refusal, outcome('forbidden', `${type} is refused by this server`));
  const action = id ? 'r' : 's';
  if (!permits(token.scope, type, action)) {
    return sendJson(res, 403, outcome('forbidden', `The granted scopes do not allow ${id ? 'reading' : 'searching'} ${type}.`));
  }
  const inner = { ...ctx, token };
  return id ? read(inner, req, res, type, id, query) : search(inner, res, type, query);
}
