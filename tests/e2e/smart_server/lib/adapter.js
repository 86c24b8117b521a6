// oidc-provider storage in plain Maps: no LRU eviction mid-test (the bundled memory adapter
// keeps 1,000 items), and the admin API can list and destroy every token of one kind.
const records = new Map(); // `${model}:${id}` -> { payload, expiresAt }
const byGrant = new Map(); // grantId -> Set of record keys
const byUid = new Map(); // `${model}:${uid}` -> id
const byUserCode = new Map();

const now = () => Date.now();

export class MemoryAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    records.set(key, { payload, expiresAt: expiresIn ? now() + expiresIn * 1000 : Infinity });
    if (payload.grantId) {
      if (!byGrant.has(payload.grantId)) byGrant.set(payload.grantId, new Set());
      byGrant.get(payload.grantId).add(key);
    }
    if (payload.uid) byUid.set(`${this.model}:${payload.uid}`, id);
    if (payload.userCode) byUserCode.set(`${this.model}:${payload.userCode}`, id);
  }

  async find(id) {
    const key = this.key(id);
    const record = records.get(key);
    if (!record) return undefined;
    if (record.expiresAt <= now()) {
      records.delete(key);
      return undefined;
    }
    return record.payload;
  }

  async findByUid(uid) {
    const id = byUid.get(`${this.model}:${uid}`);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode(userCode) {
    const id = byUserCode.get(`${this.model}:${userCode}`);
    return id === undefined ? undefined : this.find(id);
  }

  async consume(id) {
    const record = records.get(this.key(id));
    if (record) record.payload.consumed = Math.floor(now() / 1000);
  }

  async destroy(id) {
    records.delete(this.key(id));
  }

  async revokeByGrantId(grantId) {
    for (const key of byGrant.get(grantId) ?? []) records.delete(key);
    byGrant.delete(grantId);
  }

  // Test control: every stored token of this kind disappears (lookups then fail).
  static destroyAll(model) {
    let count = 0;
    for (const key of records.keys()) {
      if (key.startsWith(`${model}:`)) {
        records.delete(key);
        count += 1;
      }
    }
    return count;
  }
}
