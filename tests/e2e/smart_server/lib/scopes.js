// SMART scope vocabulary: what the provider accepts, what discovery advertises, and the check
// the FHIR API makes against an access token's granted scopes.
import { getResourceTypes } from '@medplum/core';

export const OIDC_SCOPES = ['openid', 'fhirUser', 'profile', 'offline_access', 'online_access', 'launch/patient'];

const V1_PERMISSIONS = ['read', 'write', '*'];

// SMART v2: any non-empty subsequence of c, r, u, d, s, in that order.
const V2_PERMISSIONS = (() => {
  const letters = ['c', 'r', 'u', 'd', 's'];
  const out = [];
  for (let mask = 1; mask < 32; mask += 1) {
    out.push(letters.filter((_, i) => mask & (1 << i)).join(''));
  }
  return out;
})();

const SCOPE_PATTERN = /^(patient|user)\/([A-Za-z]+|\*)\.(read|write|\*|c?r?u?d?s?)$/u;

// Every scope string oidc-provider should recognise (it silently drops the others).
export function acceptedScopes(smartVersion) {
  const permissions = smartVersion === 'v1' ? V1_PERMISSIONS : [...V1_PERMISSIONS, ...V2_PERMISSIONS];
  const types = ['*', ...getResourceTypes()];
  const out = [...OIDC_SCOPES];
  for (const context of ['patient', 'user']) {
    for (const type of types) {
      for (const permission of permissions) out.push(`${context}/${type}.${permission}`);
    }
  }
  return out;
}

export function advertisedScopes(smartVersion) {
  const clinical = smartVersion === 'v1' ? ['patient/*.read'] : ['patient/*.rs', 'patient/*.read'];
  return [...OIDC_SCOPES, ...clinical];
}

// action: 'r' (read) or 's' (search).
export function permits(scopeString, type, action) {
  for (const scope of (scopeString ?? '').split(' ')) {
    const match = SCOPE_PATTERN.exec(scope);
    if (!match || match[3] === '') continue;
    const [, , scopeType, permission] = match;
    if (scopeType !== '*' && scopeType !== type) continue;
    if (permission === 'read' || permission === '*' || permission.includes(action)) return true;
  }
  return false;
}
