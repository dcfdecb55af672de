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
import { readJsonFile, writeJsonFile } from './json-file.js';

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

export interface QuotaStoreOptions {
  /** Most entities with quotas kept at once; an alteration adding one past it is refused. */
  maxEntities: number;
}

/**
 * The client quotas of one broker, in `<dir>/quotas.json`, replaced whole on each change (temp file, fsync,
 * rename). Changes run one at a time and memory changes only once the file has the new quotas, so what is
 * read is always durable; `onChange` is told after each change, so enforcement applies it at once.
 */
export class QuotaStore {
  private pending: Promise<unknown> = Promise.resolve();
  private onChange: (quotas: readonly EntityQuota[]) => void = () => undefined;

  private constructor(
    readonly file: string,
    private readonly options: QuotaStoreOptions,
    private quotas: readonly EntityQuota[],
  ) {}

  static async open(dir: string, options: QuotaStoreOptions): Promise<QuotaStore> {
    const file = path.join(dir, QUOTA_FILE);
    const quotas = await load(file);
    if (quotas.length > options.maxEntities) {
      throw new QuotaError(
        'QUOTA_LIMIT',
        `${file} holds quotas of ${quotas.length} entities, more than the limit of ${options.maxEntities}`,
      );
    }
    return new QuotaStore(file, options, quotas);
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
   * Resolves once the file has the result; with `validateOnly` only the limit is checked and nothing kept.
   */
  alter(
    changes: ReadonlyArray<{ entity: QuotaEntity; ops: readonly QuotaOp[] }>,
    validateOnly: boolean,
  ): Promise<void> {
    return this.serially(async () => {
      const next = new Map(this.quotas.map((q) => [entityKey(q.entity), q]));
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
      if (validateOnly) return;
      const quotas = [...next.values()];
      await save(this.file, quotas);
      this.quotas = quotas;
      this.onChange(quotas);
    });
  }

  private serially<T>(change: () => Promise<T>): Promise<T> {
    const result = this.pending.then(change);
    this.pending = result.catch(() => undefined);
    return result;
  }
}

async function load(file: string): Promise<EntityQuota[]> {
  const corrupt = (why: string, cause: unknown) =>
    new QuotaError('CORRUPT_QUOTA_FILE', `${file}: ${why}`, { cause });
  // No file yet: no quota has been set.
  const stored = await readJsonFile(file, fileSchema, corrupt);
  if (stored === null) return [];
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

async function save(file: string, quotas: readonly EntityQuota[]): Promise<void> {
  const contents: z.infer<typeof fileSchema> = {
    version: FILE_FORMAT_VERSION,
    quotas: quotas.map(({ entity, values }) => ({ ...entity, values })),
  };
  writeJsonFile(file, contents);
}
