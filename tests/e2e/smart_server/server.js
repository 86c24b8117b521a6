#!/usr/bin/env node
// A real SMART on FHIR server for phr-desktop's end-to-end tests, on 127.0.0.1 only:
//   node server.js --port 0 --seed BUNDLE.json [--access-ttl S] [--refresh-ttl S]
//     [--rotate-refresh true|false] [--smart-version v1|v2] [--no-smart-config] [--no-pkce]
//     [--dynamic-registration] [--binary-accept lenient|strict] [--require-category TYPES]
//     [--declare-category-combinations] [--outcome-entries] [--no-last-updated]
//     [--last-updated-prefixes P,…] [--max-count N] [--opaque-next-links] [--verbose]
// When ready it prints one JSON line to stdout; it exits on SIGTERM, SIGINT or stdin EOF (pipe).
import { fstatSync } from 'node:fs';
import { createServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

import { Faults, Stats, handleAdmin, sendFault } from './lib/admin.js';
import { DocumentModes } from './lib/documents.js';
import { handleRegistration } from './lib/dynamic_registration.js';
import { handleFhir, outcome, sendJson } from './lib/fhir_api.js';
import {
  CLIENT_ID,
  createProvider,
  handleInteraction,
  lookupAccessToken,
  withConsentPromptForOffline,
} from './lib/oauth.js';
import { Store } from './lib/store.js';

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '0' },
      seed: { type: 'string' },
      'access-ttl': { type: 'string', default: '3600' },
      'refresh-ttl': { type: 'string', default: '86400' },
      'rotate-refresh': { type: 'string', default: 'true' },
      'smart-version': { type: 'string', default: 'v2' },
      'no-smart-config': { type: 'boolean', default: false },
      'no-pkce': { type: 'boolean', default: false },
      'dynamic-registration': { type: 'boolean', default: false },
      'binary-accept': { type: 'string', default: 'lenient' },
      'require-category': { type: 'string', default: '' },
      'declare-category-combinations': { type: 'boolean', default: false },
      'outcome-entries': { type: 'boolean', default: false },
      'no-last-updated': { type: 'boolean', default: false },
      'last-updated-prefixes': { type: 'string', default: '' },
      'max-count': { type: 'string', default: '' },
      'opaque-next-links': { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
    },
  });
  if (!values.seed) throw new Error('--seed BUNDLE.json is required');
  if (!['true', 'false'].includes(values['rotate-refresh'])) throw new Error('--rotate-refresh takes true or false');
  if (!['v1', 'v2'].includes(values['smart-version'])) throw new Error('--smart-version takes v1 or v2');
  if (!['lenient', 'strict'].includes(values['binary-accept'])) throw new Error('--binary-accept takes lenient or strict');
  const seconds = (name) => {
    const n = Number.parseInt(values[name], 10);
    if (!(n > 0)) throw new Error(`--${name} takes a positive number of seconds`);
    return n;
  };
  const positive = (name) => {
    const n = Number.parseInt(values[name], 10);
    if (!(n > 0)) throw new Error(`--${name} takes a positive number`);
    return n;
  };
  return {
    port: Number.parseInt(values.port, 10),
    seed: values.seed,
    accessTtl: seconds('access-ttl'),
    refreshTtl: seconds('refresh-ttl'),
    rotateRefresh: values['rotate-refresh'] === 'true',
    smartVersion: values['smart-version'],
    smartConfig: !values['no-smart-config'],
    pkce: !values['no-pkce'],
    dynamicRegistration: values['dynamic-registration'],
    binaryAccept: values['binary-accept'],
    // Search rules of real EHRs (see lib/fhir_api.js): all off by default.
    requireCategory: new Set(values['require-category'].split(',').filter(Boolean)),
    declareCategoryCombinations: values['declare-category-combinations'],
    outcomeEntries: values['outcome-entries'],
    noLastUpdated: values['no-last-updated'],
    lastUpdatedPrefixes: values['last-updated-prefixes'].split(',').filter(Boolean),
    maxCount: values['max-count'] ? positive('max-count') : undefined,
    opaqueNextLinks: values['opaque-next-links'],
    verbose: values.verbose,
  };
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  const store = new Store();
  await store.seed(options.seed);

  // Idle keep-alive sockets outlive a client's Retry-After waits, so a pooled connection is
  // not closed under it by the default 5 s timeout.
  const server = createServer();
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 70_000;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  const origin = `http://127.0.0.1:${port}`;
  const fhirBase = `${origin}/fhir`;
  const issuer = `${origin}/oidc`;

  const { provider, accounts, dynamicClients } = createProvider({ issuer, fhirBase, patientId: store.patientId, options });
  const oidc = provider.callback();
  const faults = new Faults();
  const stats = new Stats();
  const documents = new DocumentModes();
  const fhirCtx = {
    store,
    documents,
    fhirBase,
    issuer,
    options,
    authenticate: (req) => lookupAccessToken(provider, accounts, req.headers.authorization, dynamicClients),
    get refusedTypes() {
      return faults.refusedTypes;
    },
  };

  async function route(req, res) {
    const url = new URL(req.url, origin);
    const path = url.pathname;
    if (options.verbose) process.stderr.write(`${req.method} ${req.url}\n`);
    if (path === '/_admin' || path.startsWith('/_admin/')) return handleAdmin({ store, faults, stats, dynamicClients, documents }, req, res, url);

    stats.record(req, url, res);
    const fault = faults.take(req.method, path);
    if (fault?.drop) {
      req.socket.destroy();
      return undefined;
    }
    if (fault?.delayMs) await sleep(fault.delayMs);
    if (fault?.status) return sendFault(res, path, fault);

    if (options.dynamicRegistration && path === '/oidc/register') {
      return handleRegistration({ provider, registry: dynamicClients, originalClientId: CLIENT_ID }, req, res);
    }
    if (path === '/oidc' || path.startsWith('/oidc/')) {
      // Mounted like an Express sub-app: oidc-provider reads the prefix from originalUrl.
      if (req.method === 'GET') req.url = withConsentPromptForOffline(req.url);
      req.originalUrl = req.url;
      req.url = req.url.slice('/oidc'.length) || '/';
      return oidc(req, res);
    }
    if (path.startsWith('/interaction/')) return handleInteraction(provider, req, res, path);
    if (path === '/fhir' || path.startsWith('/fhir/')) return handleFhir(fhirCtx, req, res, url);
    return sendJson(res, 404, { error: `nothing at ${path}` }, {}, 'application/json');
  }

  server.on('request', (req, res) => {
    route(req, res).catch((error) => {
      process.stderr.write(`error on ${req.method} ${req.url}: ${error.stack}\n`);
      if (!res.headersSent) sendJson(res, 500, outcome('exception', error.message));
      else res.destroy();
    });
  });

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // A parent that dies closes our stdin pipe; a terminal or /dev/null stdin is left alone.
  if (fstatSync(0).isFIFO()) {
    process.stdin.on('end', stop);
    process.stdin.on('error', stop);
    process.stdin.resume();
  }

  const ready = { ready: true, port, base: fhirBase, issuer, patient: store.patientId, client_id: CLIENT_ID };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
}

main().catch((error) => {
  process.stderr.write(`smart_server failed to start: ${error.stack ?? error}\n`);
  process.exit(1);
});
