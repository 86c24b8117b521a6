// Test controls under /_admin (no auth: a loopback test server): injected faults, direct store
// writes for incremental-sync tests, token expiry, request statistics, and the device-key clients
// registered with --dynamic-registration.
import { expireAccessTokens, expireRefreshTokens } from './oauth.js';
import { expirePages, outcome, sendJson } from './fhir_api.js';

const JSON_TYPE = 'application/json';
const RECENT_LIMIT = 2000;

export class Faults {
  constructor() {
    this.clear();
  }

  clear() {
    this.rules = [];
    this.refusedTypes = new Map();
    this.drop = undefined;
  }

  add(spec) {
    if (spec.clear) {
      this.clear();
      return;
    }
    const prefix = spec.path_prefix ?? '/fhir';
    if (spec.refuse_type) {
      this.refusedTypes.set(spec.refuse_type, spec.status ?? 403);
    } else if (spec.drop_after_requests !== undefined) {
      this.drop = { remaining: Number(spec.drop_after_requests), prefix };
    } else if (spec.status !== undefined || spec.delay_ms !== undefined) {
      this.rules.push({
        status: spec.status,
        remaining: spec.count ?? 1,
        retryAfter: spec.retry_after,
        delayMs: spec.delay_ms ?? 0,
        method: spec.method,
        prefix,
      });
    } else {
      throw new Error('a fault needs one of: status, delay_ms, refuse_type, drop_after_requests, clear');
    }
  }

  describe() {
    return { rules: this.rules, refused_types: Object.fromEntries(this.refusedTypes), drop: this.drop ?? null };
  }

  // What to do with this request: undefined (serve it), { drop }, or { status, retryAfter, delayMs }.
  take(method, pathname) {
    if (this.drop && pathname.startsWith(this.drop.prefix)) {
      if (this.drop.remaining <= 0) return { drop: true };
      this.drop.remaining -= 1;
    }
    const rule = this.rules.find(
      (r) => r.remaining > 0 && pathname.startsWith(r.prefix) && (!r.method || r.method === method),
    );
    if (!rule) return undefined;
    rule.remaining -= 1;
    return rule;
  }
}

export function sendFault(res, pathname, fault) {
  const headers = fault.retryAfter !== undefined ? { 'Retry-After': String(fault.retryAfter) } : {};
  const code = fault.status === 429 ? 'throttled' : fault.status >= 500 ? 'transient' : fault.status === 403 ? 'forbidden' : 'exception';
  const text = `injected fault: HTTP ${fault.status}`;
  if (pathname.startsWith('/fhir')) return sendJson(res, fault.status, outcome(code, text), headers);
  return sendJson(res, fault.status, { error: fault.status >= 500 ? 'temporarily_unavailable' : 'invalid_request', error_description: text }, headers, JSON_TYPE);
}

export class Stats {
  constructor() {
    this.reset();
  }

  reset() {
    this.counts = {};
    this.recent = [];
    this.total = 0;
  }

  record(req, url, res) {
    this.total += 1;
    this.counts[url.pathname] = (this.counts[url.pathname] ?? 0) + 1;
    const entry = { method: req.method, path: url.pathname, query: url.search.replace(/^\?/u, ''), status: null };
    this.recent.push(entry);
    if (this.recent.length > RECENT_LIMIT) this.recent.shift();
    res.on('finish', () => {
      entry.status = res.statusCode;
    });
    res.on('close', () => {
      entry.status ??= 'dropped';
    });
  }

  describe() {
    const queries = this.recent.map((r) => (r.query ? `${r.path}?${r.query}` : r.path));
    return { total: this.total, counts: this.counts, queries, recent: this.recent };
  }
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : {};
}

// ctx: { store, faults, stats, dynamicClients, documents }
export async function handleAdmin(ctx, req, res, url) {
  const parts = url.pathname.split('/').filter(Boolean).slice(1); // after "_admin"
  const route = `${req.method} ${parts[0] ?? ''}`;
  try {
    switch (route) {
      case 'POST faults':
        ctx.faults.add(await readJson(req));
        return sendJson(res, 200, ctx.faults.describe(), {}, JSON_TYPE);
      case 'GET faults':
        return sendJson(res, 200, ctx.faults.describe(), {}, JSON_TYPE);
      case 'POST resources': {
        const stored = await ctx.store.put(await readJson(req));
        return sendJson(res, 200, stored);
      }
      case 'GET resources':
      case 'DELETE resources': {
        const [type, id] = parts.slice(1);
        if (req.method === 'GET') {
          const found = await ctx.store.read(type, id);
          return found ? sendJson(res, 200, found) : sendJson(res, 404, outcome('not-found', `${type}/${id}`));
        }
        const deleted = await ctx.store.delete(type, id);
        return sendJson(res, deleted ? 200 : 404, { deleted }, {}, JSON_TYPE);
      }
      case 'POST expire-access-tokens':
        return sendJson(res, 200, { expired: expireAccessTokens() }, {}, JSON_TYPE);
      case 'POST expire-refresh-tokens':
        return sendJson(res, 200, { expired: expireRefreshTokens() }, {}, JSON_TYPE);
      case 'POST expire-pages':
        return sendJson(res, 200, { expired: expirePages() }, {}, JSON_TYPE);
      case 'GET dynamic-clients':
        return sendJson(res, 200, { clients: ctx.dynamicClients.describe() }, {}, JSON_TYPE);
      case 'POST streamed-binaries':
        ctx.documents.addStreamed(await readJson(req));
        return sendJson(res, 200, ctx.documents.describe(), {}, JSON_TYPE);
      case 'POST next-links':
        ctx.documents.setNextLink(await readJson(req));
        return sendJson(res, 200, ctx.documents.describe(), {}, JSON_TYPE);
      case 'GET documents':
        return sendJson(res, 200, ctx.documents.describe(), {}, JSON_TYPE);
      case 'GET stats':
        return sendJson(res, 200, ctx.stats.describe(), {}, JSON_TYPE);
      case 'DELETE stats':
        ctx.stats.reset();
        return sendJson(res, 200, ctx.stats.describe(), {}, JSON_TYPE);
      default:
        return sendJson(res, 404, { error: `no admin route ${route}` }, {}, JSON_TYPE);
    }
  } catch (error) {
    return sendJson(res, 400, { error: error.message }, {}, JSON_TYPE);
  }
}
