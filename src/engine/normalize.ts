import { EngineHttpError, type BulkItemResult, type ClusterHealth, type NameState, type SearchHits } from './types.js';

interface ClientErrorShape {
  name?: string;
  message?: string;
  meta?: { statusCode?: number; body?: unknown };
  body?: unknown;
}

function errorBody(body: unknown): { type?: string; reason?: string } {
  if (body && typeof body === 'object' && 'error' in body) {
    const e = (body as { error: unknown }).error;
    if (e && typeof e === 'object') {
      const rc = (e as { root_cause?: Array<{ type?: string; reason?: string }> }).root_cause?.[0];
      const top = e as { type?: string; reason?: string };
      return { type: rc?.type ?? top.type, reason: rc?.reason ?? top.reason };
    }
    if (typeof e === 'string') return { reason: e };
  }
  return {};
}

/** Maps either client's errors onto EngineHttpError; statusCode is undefined when unreachable. */
export function normalizeError(err: unknown): EngineHttpError {
  if (err instanceof EngineHttpError) return err;
  const e = (err ?? {}) as ClientErrorShape;
  const status = e.meta?.statusCode;
  /*
   * An answer that could not be read whole: a body that is not JSON (DeserializationError), or
   * a connection closed mid-body, which the OpenSearch client reports with the 200 it had read
   * so far. Either client, either way: a failed request that may succeed when sent again, never
   * a refusal (the clients throw ResponseError, not these, for a 4xx/5xx).
   */
  if (e.name === 'DeserializationError' || (status !== undefined && status >= 200 && status < 300)) {
    return new EngineHttpError(`malformed answer: ${e.name ?? 'Error'}: ${e.message ?? String(err)}`, undefined, e.name, true);
  }
  if (status == null || status === 0) {
    return new EngineHttpError(`${e.name ?? 'Error'}: ${e.message ?? String(err)}`, undefined, e.name);
  }
  const { type, reason } = errorBody(e.meta?.body ?? e.body);
  return new EngineHttpError(`HTTP ${status}${type ? ` ${type}` : ''}: ${reason ?? e.message ?? ''}`, status, type);
}

interface RawBulkResponse {
  errors?: boolean;
  items?: Array<Record<string, { _id?: string; _index?: string; status?: number; error?: { type?: string; reason?: string } }>>;
}

/**
 * One result per item of a bulk answer. Whatever is not a well-formed item (an HTML page, a
 * truncated list, an item without _id or status) yields nothing or an item that acknowledges
 * nothing, so that the loader can never read an acknowledgement the engine did not give.
 */
export function bulkItems(body: unknown): BulkItemResult[] {
  const items = body && typeof body === 'object' ? (body as RawBulkResponse).items : undefined;
  if (!Array.isArray(items)) return [];
  return items.map((item) => {
    const [action, r] = (item && typeof item === 'object' ? Object.entries(item)[0] : undefined) ?? ['unknown', {}];
    const ok = r && typeof r === 'object';
    const result: BulkItemResult = {
      id: ok && typeof r._id === 'string' ? r._id : '',
      index: ok && typeof r._index === 'string' ? r._index : '',
      action,
      status: ok && typeof r.status === 'number' ? r.status : 0,
    };
    if (ok && r.error) result.error = { type: String(r.error.type ?? 'unknown'), reason: String(r.error.reason ?? '') };
    return result;
  });
}

// Only what the loader reads, so that large bulk responses stay cheap to parse.
export const BULK_FILTER_PATH = 'errors,items.*._id,items.*._index,items.*.status,items.*.error.type,items.*.error.reason';

/** The answer of GET /_alias/<name>: the indexes the alias points to. */
export function aliasIndices(body: unknown): string[] {
  return body && typeof body === 'object' ? Object.keys(body) : [];
}

/** How an adapter reads what a name is; each makes the calls with its own client and returns the bodies. */
export interface NameCalls {
  /** GET /_alias/<name>: the indexes an alias of that name points to (404 when none). */
  aliasOf(): Promise<unknown>;
  /** HEAD /<name>: whether an index of that name exists (open or closed). */
  exists(): Promise<boolean>;
  /** GET /_cat/indices/<name>?format=json&h=status: "open" or "close". */
  catStatus(): Promise<unknown>;
  /** GET /<name>/_alias: the aliases that point to the index (answered for a closed index too). */
  aliasesOfIndex(): Promise<unknown>;
}

const malformedState = (what: string) => new EngineHttpError(`malformed ${what} answer`, undefined, 'malformed');

/**
 * What a name is: GET /_alias/<name> answers 404 when no alias has it, and then the index
 * itself may exist. Of a concrete index, whether it is open (a closed one answers every search
 * with index_closed_exception) and which aliases point to it (deleting it would take them
 * along). Shared by both adapters, which differ only in how they make the calls; an answer
 * without what is asked is a failed request, never read as "open" or "no aliases".
 */
export async function nameStateOf(c: NameCalls): Promise<NameState> {
  try {
    const indices = aliasIndices(await c.aliasOf());
    if (indices.length > 0) return { kind: 'alias', indices };
  } catch (err) {
    if (normalizeError(err).statusCode !== 404) throw err;
  }
  if (!(await c.exists())) return { kind: 'missing' };
  const [cat, aliases] = await Promise.all([c.catStatus(), c.aliasesOfIndex()]);
  const status = Array.isArray(cat) ? (cat[0] as { status?: unknown } | undefined)?.status : undefined;
  if (status !== 'open' && status !== 'close') throw malformedState('_cat/indices');
  if (!aliases || typeof aliases !== 'object') throw malformedState('_alias');
  // Keyed by the concrete index's name: the one entry there is.
  const entry = Object.values(aliases as Record<string, { aliases?: Record<string, unknown> }>)[0];
  return { kind: 'index', open: status === 'open', aliases: Object.keys(entry?.aliases ?? {}) };
}

interface RawSearchResponse {
  hits?: { total?: number | { value?: number }; hits?: Array<{ _score?: number | null; _source?: Record<string, unknown> }> };
}

export function searchHits(body: unknown): SearchHits {
  const h = (body as RawSearchResponse).hits ?? {};
  const total = typeof h.total === 'number' ? h.total : Number(h.total?.value ?? 0);
  return { total, hits: (h.hits ?? []).map((x) => ({ ...(x._source ?? {}), score: x._score ?? 0 })) };
}

/** Runs one client call, turning either client's errors into EngineHttpError. */
export async function normalized<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw normalizeError(err);
  }
}

/** GET _cluster/health's body, the same on both engines, in our terms. */
export function clusterHealthOf(body: unknown): ClusterHealth {
  const b = (body ?? {}) as { status?: string; number_of_nodes?: number; number_of_data_nodes?: number; unassigned_shards?: number };
  const status = b.status === 'green' || b.status === 'yellow' ? b.status : 'red';
  return { status, nodes: Number(b.number_of_nodes ?? 0), dataNodes: Number(b.number_of_data_nodes ?? 0), unassignedShards: Number(b.unassigned_shards ?? 0) };
}
