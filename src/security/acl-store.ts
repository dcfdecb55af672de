import path from 'node:path';
import { z } from 'zod';
import {
  type AclBinding,
  type AclBindingFilter,
  AclError,
  AclOperation,
  AclPermissionType,
  bindingKey,
  codeName,
  filterMatches,
  PatternType,
  ResourceType,
  validateBinding,
} from './acl.js';
import { readJsonFile, writeJsonFile } from './json-file.js';

/**
 * Where ACL bindings are kept: one file in a directory for a single broker; a ZooKeeper-backed storage can
 * take its place for a cluster. Storage keeps the whole list; what a change means is AclStore's.
 */
export interface AclStorage {
  /** Every binding kept, each validated; a damaged copy is an AclError CORRUPT_ACL_FILE naming where it is. */
  load(): Promise<AclBinding[]>;
  /** Replaces every binding kept; durable when it resolves. */
  save(bindings: readonly AclBinding[]): Promise<void>;
}

export const ACL_FILE = 'acls.json';
const FILE_FORMAT_VERSION = 1;

/** Names, not codes, in the file, so an operator can read it. */
const fileSchema = z.strictObject({
  version: z.literal(FILE_FORMAT_VERSION),
  acls: z.array(
    z.strictObject({
      resourceType: z.enum(['TOPIC', 'GROUP', 'CLUSTER', 'TRANSACTIONAL_ID', 'DELEGATION_TOKEN', 'USER']),
      resourceName: z.string(),
      patternType: z.enum(['LITERAL', 'PREFIXED']),
      principal: z.string(),
      host: z.string(),
      operation: z.enum([
        'ALL',
        'READ',
        'WRITE',
        'CREATE',
        'DELETE',
        'ALTER',
        'DESCRIBE',
        'CLUSTER_ACTION',
        'DESCRIBE_CONFIGS',
        'ALTER_CONFIGS',
        'IDEMPOTENT_WRITE',
        'CREATE_TOKENS',
        'DESCRIBE_TOKENS',
      ]),
      permissionType: z.enum(['DENY', 'ALLOW']),
    }),
  ),
});

type AclFile = z.infer<typeof fileSchema>;

/** The ACLs of one broker in `<dir>/acls.json`, replaced whole on each change (temp file, fsync, rename). */
export class FileAclStorage implements AclStorage {
  readonly file: string;

  constructor(readonly dir: string) {
    this.file = path.join(dir, ACL_FILE);
  }

  async load(): Promise<AclBinding[]> {
    // No file yet: no ACL has been created.
    const stored = await readJsonFile(this.file, fileSchema, (why, cause) => this.corrupt(why, cause));
    if (stored === null) return [];
    return stored.acls.map((acl, i) => {
      try {
        return validateBinding({
          ...acl,
          resourceType: ResourceType[acl.resourceType],
          patternType: PatternType[acl.patternType],
          operation: AclOperation[acl.operation],
          permissionType: AclPermissionType[acl.permissionType],
        });
      } catch (error) {
        throw this.corrupt(`acls.${i}: ${String(error)}`, error);
      }
    });
  }

  async save(bindings: readonly AclBinding[]): Promise<void> {
    const contents: AclFile = {
      version: FILE_FORMAT_VERSION,
      acls: bindings.map((binding) =>
        fileSchema.shape.acls.element.parse({
          ...binding,
          resourceType: codeName(ResourceType, binding.resourceType),
          patternType: codeName(PatternType, binding.patternType),
          operation: codeName(AclOperation, binding.operation),
          permissionType: codeName(AclPermissionType, binding.permissionType),
        }),
      ),
    };
    writeJsonFile(this.file, contents);
  }

  private corrupt(why: string, cause: unknown): AclError {
    return new AclError('CORRUPT_ACL_FILE', `${this.file}: ${why}`, { cause });
  }
}

export interface AclStoreOptions {
  /** Most bindings kept at once; a create past it is refused with ACL_LIMIT. */
  maxAcls: number;
}

/**
 * The bindings in memory over a storage, with Kafka's CreateAcls / DeleteAcls semantics. Changes run one at
 * a time, and memory changes only once the storage has the new list, so what is read is always durable.
 */
export class AclStore {
  private pending: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly storage: AclStorage,
    private readonly options: AclStoreOptions,
    private bindings: readonly AclBinding[],
  ) {}

  static async open(storage: AclStorage, options: AclStoreOptions): Promise<AclStore> {
    const bindings = await storage.load();
    if (bindings.length > options.maxAcls) {
      throw new AclError(
        'ACL_LIMIT',
        `storage holds ${bindings.length} ACLs, more than the limit of ${options.maxAcls}`,
      );
    }
    return new AclStore(storage, options, bindings);
  }

  /** Every binding, in the order created. */
  list(): readonly AclBinding[] {
    return this.bindings;
  }

  /**
   * Adds each binding not already kept (creating an existing ACL succeeds and changes nothing, as in Kafka):
   * per binding, null, or an ACL_LIMIT error once the limit is reached.
   */
  create(bindings: readonly AclBinding[]): Promise<(AclError | null)[]> {
    return this.serially(async () => {
      const next = [...this.bindings];
      const keys = new Set(next.map(bindingKey));
      const results = bindings.map((binding) => {
        const key = bindingKey(binding);
        if (keys.has(key)) return null;
        if (next.length >= this.options.maxAcls) {
          return new AclError('ACL_LIMIT', `the broker keeps at most ${this.options.maxAcls} ACLs`);
        }
        keys.add(key);
        next.push(binding);
        return null;
      });
      if (next.length > this.bindings.length) await this.replace(next);
      return results;
    });
  }

  /** Removes every binding a filter selects: per filter, the bindings it selected (one may be in several). */
  delete(filters: readonly AclBindingFilter[]): Promise<AclBinding[][]> {
    return this.serially(async () => {
      const selected = filters.map((filter) =>
        this.bindings.filter((binding) => filterMatches(filter, binding)),
      );
      const doomed = new Set(selected.flat());
      if (doomed.size > 0) await this.replace(this.bindings.filter((binding) => !doomed.has(binding)));
      return selected;
    });
  }

  private async replace(next: AclBinding[]): Promise<void> {
    await this.storage.save(next);
    this.bindings = next;
  }

  private serially<T>(change: () => Promise<T>): Promise<T> {
    const result = this.pending.then(change);
    this.pending = result.catch(() => undefined);
    return result;
  }
}
