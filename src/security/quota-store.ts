import path from 'node:path';
import { z } from 'zod';
import {
  checkQuotaValue,
  entityKey,
  type QuotaEntity,
  QuotaError,
  type QuotaKey,
  type QuotaValues,
  quotaKeyOf,
} from './client-quota.js';
import { parseJsonText, readJsonFile, writeJsonFile } from './json-file.js';
import { type ListStorage, SingleWriterStorage } from './list-storage.js';

export const QUOTA_FILE = 'quotas.json';
const FILE_FORMAT_VERSION = 1;

/** One entity's quotas as kept and listed. */
export interface EntityQuota {
  entity: QuotaEntity;
  values: QuotaValues;
}

/** One change of AlterClientQuotas: set `value` on `key`, or remove the key (value null). */
export interface QuotaOp {
  key: QuotaKey;
  value: number | null;
}

/** null in the file is the default entity (`<default>`); an absent component is not part of the entity. */
const fileSchema = z.strictObject({
  version: z.literal(FILE_FORMAT_VERSION),
  quotas: z.array(
    z.strictObject({
      user: z.string().nullable().optional(),
      clientId: z.string().nullable().optional(),
      values: z.record(z.string(), z.number()),
    }),
  ),
});

type QuotaFile = z.infer<typeof fileSchema>;

/**
 * Where client quotas are kept: `quotas.json` for a single broker, a ZooKeeper node for a cluster. A damaged
 * copy is a QuotaError CORRUPT_QUOTA_FILE naming where it is.
 */
export type QuotaStorage = ListStorage<EntityQuota>;

/** The quotas as kept (a file, a ZooKeeper node). */
export function quotaDocument(quotas: readonly EntityQuota[]): QuotaFile {
  return {
    version: FILE_FORMAT_VERSION,
    quotas: quotas.map(({ entity, values }) => ({ ...entity, values })),
  };
}

/** The quotas of a quotaDocument's JSON text read from `where`, each validated. */
export function parseQuotaDocument(text: string, where: string): EntityQuota[] {
  return quotasOf(
    parseJsonText(text, fileSchema, (why, cause) => corruptQuotas(where, why, cause)),
    where,
  );
}

/** The client quotas of one broker in `<dir>/quotas.json`, replaced whole on each change (temp file, fsync, rename). */
export class FileQuotaStorage extends SingleWriterStorage<EntityQuota> {
  readonly file: string;

  constructor(dir: string) {
    super();
    this.file = path.join(dir, QUOTA_FILE);
  }

  async load(): Promise<EntityQuota[]> {
    // No file yet: no quota has been set.
    const stored = await readJsonFile(this.file, fileSchema, (why, cause) =>
      corruptQuotas(this.file, why, cause),
    );
    return stored === null ? [] : quotasOf(stored, this.file);
  }

  async save(quotas: readonly EntityQuota[]): Promise<void> {
    writeJsonFile(this.file, quotaDocument(quotas));
  }
}

export interface QuotaStoreOptions {
  /** Most entities with quotas kept at once; an alteration adding one past it is refused. */
  maxEntities: number;
}

/**
 * The client quotas in memory over a storage. Changes of this process run one at a time, each applied to the
 * newest quotas the storage has (another broker may share it), and memory changes only once the storage has
 * the new quotas, so what is read is always durable; `onChange` is told after each change, this process's or
 * another writer's, so enforcement applies it at once.
 */
export class QuotaStore {
  private pending: Promise<unknown> = Promise.resolve();
  private onChange: (quotas: readonly EntityQuota[]) => void = () => undefined;

  private constructor(
    private readonly storage: QuotaStorage,
    private readonly options: QuotaStoreOptions,
    private quotas: readonly EntityQuota[],
  ) {
    storage.watch((changed) => this.replaced(changed));
  }

  static async open(storage: QuotaStorage, options: QuotaStoreOptions): Promise<QuotaStore> {
    const quotas = await storage.load();
    if (quotas.length > options.maxEntities) {
      throw new QuotaError(
        'QUOTA_LIMIT',
        `storage holds quotas of ${quotas.length} entities, more than the limit of ${options.maxEntities}`,
      );
    }
    return new QuotaStore(storage, options, quotas);
  }

  /** Every entity with at least one quota, in the order first set. */
  list(): readonly EntityQuota[] {
    return this.quotas;
  }

  /** Calls `listener` with the quotas now and after every change. */
  follow(listener: (quotas: readonly EntityQuota[]) => void): void {
    this.onChange = listener;
    listener(this.quotas);
  }

  /**
   * Applies each entity's ops (checked by the caller) in order; an entity left without keys is removed.
   * Resolves once the storage has the result; with `validateOnly` only the limit is checked and nothing kept.
   */
  alter(
    changes: ReadonlyArray<{ entity: QuotaEntity; ops: readonly QuotaOp[] }>,
    validateOnly: boolean,
  ): Promise<void> {
    return this.serially(async () => {
      if (validateOnly) {
        this.altered(this.quotas, changes);
        return;
      }
      this.replaced(await this.storage.update((current) => this.altered(current, changes)));
    });
  }

  /** `current` with the changes made; throws QUOTA_LIMIT past the limit. */
  private altered(
    current: readonly EntityQuota[],
    changes: ReadonlyArray<{ entity: QuotaEntity; ops: readonly QuotaOp[] }>,
  ): EntityQuota[] {
    const next = new Map(current.map((q) => [entityKey(q.entity), q]));
    for (const { entity, ops } of changes) {
      const key = entityKey(entity);
      const values: QuotaValues = { ...next.get(key)?.values };
      for (const op of ops) {
        if (op.value === null) delete values[op.key];
        else values[op.key] = op.value;
      }
      if (Object.keys(values).length === 0) next.delete(key);
      else next.set(key, { entity: next.get(key)?.entity ?? entity, values });
    }
    if (next.size > this.options.maxEntities) {
      throw new QuotaError(
        'QUOTA_LIMIT',
        `the broker keeps quotas of at most ${this.options.maxEntities} entities`,
      );
    }
    return [...next.values()];
  }

  private replaced(quotas: readonly EntityQuota[]): void {
    if (quotas === this.quotas) return;
    this.quotas = quotas;
    this.onChange(quotas);
  }

  private serially<T>(change: () => Promise<T>): Promise<T> {
    const result = this.pending.then(change);
    this.pending = result.catch(() => undefined);
    return result;
  }
}

function corruptQuotas(where: string, why: string, cause: unknown): QuotaError {
  return new QuotaError('CORRUPT_QUOTA_FILE', `${where}: ${why}`, { cause });
}

function quotasOf(stored: QuotaFile, where: string): EntityQuota[] {
  const corrupt = (why: string, cause: unknown) => corruptQuotas(where, why, cause);
  const seen = new Set<string>();
  return stored.quotas.map(({ user, clientId, values }, i) => {
    const entity: QuotaEntity = {};
    if (user !== undefined) entity.user = user;
    if (clientId !== undefined) entity.clientId = clientId;
    const key = entityKey(entity);
    if ((user === undefined && clientId === undefined) || seen.has(key)) {
      throw corrupt(`quotas.${i}: an entity needs a user or a clientId, once`, null);
    }
    seen.add(key);
    const checked: QuotaValues = {};
    for (const [name, value] of Object.entries(values)) {
      try {
        const key = quotaKeyOf(name);
        checked[key] = checkQuotaValue(key, value);
      } catch (error) {
        throw corrupt(`quotas.${i}.values.${name}: ${String(error)}`, error);
      }
    }
    return { entity, values: checked };
  });
}
