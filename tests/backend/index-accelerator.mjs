// Makes convex-test's in-memory database answer equality index lookups in
// constant time instead of by scanning the whole table.
//
// Why: convex-test evaluates every `withIndex` query by visiting each document
// of the table, so each recordEvent's idempotency lookup costs O(events
// stored) and a 10,000-event backfill costs O(n^2): minutes instead of
// seconds, and a drain rate that measures the stand-in rather than the client.
//
// How, without changing any answer: committed documents are kept in a hash
// map per (index, leading equal values). For a query whose index range starts
// with `eq` on the index's leading fields, the table scan is narrowed to the
// documents under that key plus every document the open transaction wrote;
// convex-test's own code then filters, sorts and limits them as before. The
// map is maintained when the outermost transaction commits, the only place
// committed documents change. tests/backend/server.test.mjs checks that a
// mixed workload stores the same tables with and without it.
import { convexToJson } from "convex/values";

export async function installIndexAccelerator() {
  const mod = await import("convex-test");
  const DatabaseFake = mod.__DatabaseFake;
  const evaluateQueryValue = mod.__evaluateQueryValue;
  const evaluateFieldPath = mod.__evaluateFieldPath;
  if (!DatabaseFake || !evaluateQueryValue || !evaluateFieldPath) {
    throw new Error("convex-test internals not exposed: register tests/backend/expose-hooks.mjs first");
  }
  const proto = DatabaseFake.prototype;
  if (proto.__accelerated) return;
  proto.__accelerated = true;

  const buckets = new WeakMap(); // db -> Map<key, Set<id>>
  const bucketsOf = (db) => {
    let m = buckets.get(db);
    if (!m) buckets.set(db, (m = new Map()));
    return m;
  };
  const encode = (value) => (value === undefined ? "U" : JSON.stringify(convexToJson(value)));
  const userIndexes = (db, table) => db._schema?.tables.get(table)?.indexes ?? [];
  // convex-test ids are a zero-padded counter followed by the table name.
  const tableOf = (id) => id.slice(id.search(/[^0-9]/));

  /** Every key a document is filed under: each prefix of each index. */
  function keysOf(db, table, doc) {
    const keys = [];
    for (const { indexDescriptor, fields } of userIndexes(db, table)) {
      let key = `${table}.${indexDescriptor}`;
      for (const field of fields) {
        key += `|${encode(evaluateFieldPath(field, doc))}`;
        keys.push(key);
      }
    }
    return keys;
  }

  const originalCommit = proto.commit;
  proto.commit = function (commitTs) {
    const outermost = this._writes.length === 1;
    const written = outermost ? Object.keys(this._writes[0]) : [];
    const before = written.map((id) => this._documents[id]);
    const result = originalCommit.call(this, commitTs);
    if (outermost) {
      const m = bucketsOf(this);
      written.forEach((id, i) => {
        const table = tableOf(id);
        const old = before[i];
        const now = this._documents[id];
        if (old) for (const k of keysOf(this, table, old)) m.get(k)?.delete(id);
        if (now) {
          for (const k of keysOf(this, table, now)) {
            let ids = m.get(k);
            if (!ids) m.set(k, (ids = new Set()));
            ids.add(id);
          }
        }
      });
    }
    return result;
  };

  const originalResolve = proto._resolveQuerySource;
  proto._resolveQuerySource = function (query) {
    const narrowed = narrowCandidates(this, query.source);
    if (narrowed === undefined) return originalResolve.call(this, query);
    const { table, ids } = narrowed;
    this._iterateDocs = (tableName, callback) => {
      if (tableName !== table) return proto._iterateDocs.call(this, tableName, callback);
      const all = new Set(ids);
      for (const level of this._writes) {
        for (const id of Object.keys(level)) if (tableOf(id) === table) all.add(id);
      }
      for (const id of all) {
        const doc = this.get(tableName, id);
        if (doc !== null) callback(doc);
      }
    };
    try {
      return originalResolve.call(this, query);
    } finally {
      delete this._iterateDocs;
    }
  };

  /** The committed candidates for an index range starting with `eq`, or undefined to scan. */
  function narrowCandidates(db, source) {
    if (source.type !== "IndexRange") return undefined;
    const [table, indexName] = source.indexName.split(".");
    const index = userIndexes(db, table).find((i) => i.indexDescriptor === indexName);
    if (!index) return undefined;
    let key = `${table}.${indexName}`;
    let n = 0;
    for (const filter of source.range) {
      if (filter.type !== "Eq" || filter.fieldPath !== index.fields[n]) break;
      try {
        key += `|${encode(evaluateQueryValue(filter.value))}`;
      } catch {
        return undefined;
      }
      n++;
    }
    if (n === 0) return undefined;
    return { table, ids: bucketsOf(db).get(key) ?? new Set() };
  }
}
