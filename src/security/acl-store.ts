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
import { parseJsonText, readJsonFile, writeJsonFile } from './json-file.js';
import { type ListStorage, SingleWriterStorage } from './list-storage.js';

/**
 * Where ACL bindings are kept: one file in a directory for a single broker, a ZooKeeper node for a cluster.
 * Storage keeps the whole list; what a change means is AclStore's. A damaged copy is an AclError
 * CORRUPT_ACL_FILE naming where it is.
 */
export type AclStorage = ListStorage<AclBinding>;

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

/** The bindings as kept (a file, a ZooKeeper node): every code by name, so an operator can read them. */
export function aclDocument(bindings: readonly AclBinding[]): AclFile {
  return {
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
}

/** The bindings of an aclDocument's JSON text read from `where`, each validated. */
export function parseAclDocument(text: string, where: string): AclBinding[] {
  return bindingsOf(
    parseJsonText(text, fileSchema, (why, cause) => corruptAcls(where, why, cause)),
    where,
  );
}

function bindingsOf(stored: AclFile, where: string): AclBinding[] {
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
      throw corruptAcls(where, `acls.${i}: ${String(error)}`, error);
    }
  });
}

function corruptAcls(where: string, why: string, cause: unknown): AclError {
  return new AclError('CORRUPT_ACL_FILE', `${where}: ${why}`, { cause });
}

/** The ACLs of one broker in `<dir>/acls.json`, replaced whole on each change (temp file, fsync, rename). */
export class FileAclStorage extends SingleWriterStorage<AclBinding> {
  readonly file: string;

  constructor(readonly dir: string) {
    super();
    this.file = path.join(dir, ACL_FILE);
  }

  async load(): Promise<AclBinding[]> {
    // No file yet: no ACL has been created.
    const stored = await readJsonFile(this.file, fileSchema, (why, cause) =>
      corruptAcls(this.file, why, cause),
    );
    return stored === null ? [] : bindingsOf(stored, this.file);
  }

  async save(bindings: readonly AclBinding[]): Promise<void> {
    writeJsonFile(this.file, aclDocument(bindings));
  }
}

export interface AclStoreOptions {
  /** Most bindings kept at once; a create past it is refused with ACL_LIMIT. */
  maxAcls: number;
}

/**
 * The bindings in memory over a storage, with Kafka's CreateAcls / DeleteAcls semantics. Changes of this
 * process run one at a time, each applied to the newest list the storage has (another broker may share it),
 * and memory changes only once the storage has the new list, so what is read is always durable.
 */
export class AclStore {
  private pending: Promise<unknown> = Promise.resolve();
  private onChange: (bindings: readonly AclBinding[]) => void = () => undefined;

  private constructor(
    private readonly storage: AclStorage,
    private readonly options: AclStoreOptions,
    private bindings: readonly AclBinding[],
  ) {
    storage.watch((changed) => this.replaced(changed));
  }

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

  /** Calls `listener` with the bindings now and after every change, this process's or another writer's. */
  follow(listener: (bindings: readonly AclBinding[]) => void): void {
    this.onChange = listener;
    listener(this.bindings);
  }

  /**
   * Adds each binding not already kept (creating an existing ACL succeeds and changes nothing, as in Kafka):
   * per binding, null, or an ACL_LIMIT error once the limit is reached.
   */
  create(bindings: readonly AclBinding[]): Promise<(AclError | null)[]> {
    return this.serially(async () => {
      let results: (AclError | null)[] = [];
      await this.change((current) => {
        const next = [...current];
        const keys = new Set(next.map(bindingKey));
        results = bindings.map((binding) => {
          const key = bindingKey(binding);
          if (keys.has(key)) return null;
          if (next.length >= this.options.maxAcls) {
            return new AclError('ACL_LIMIT', `the broker keeps at most ${this.options.maxAcls} ACLs`);
          }
          keys.add(key);
          next.push(binding);
          return null;
        });
        return next.length > current.length ? next : null;
      });
      return results;
    });
  }

  /** Removes every binding a filter selects: per filter, the bindings it selected (one may be in several). */
  delete(filters: readonly AclBindingFilter[]): Promise<AclBinding[][]> {
    return this.serially(async () => {
      let selected: AclBinding[][] = [];
      await this.change((current) => {
        selected = filters.map((filter) => current.filter((binding) => filterMatches(filter, binding)));
        const doomed = new Set(selected.flat());
        return doomed.size > 0 ? current.filter((binding) => !doomed.has(binding)) : null;
      });
      return selected;
    });
  }

  /** `change` may run again on a newer list (another writer's change came first): its last run counts. */
  private async change(change: (current: readonly AclBinding[]) => AclBinding[] | null): Promise<void> {
    this.replaced(await this.storage.update(change));
  }

  private replaced(bindings: readonly AclBinding[]): void {
    if (bindings === this.bindings) return;
    this.bindings = bindings;
    this.onChange(bindings);
  }

  private serially<T>(change: () => Promise<T>): Promise<T> {
    const result = this.pending.then(change);
    this.pending = result.catch(() => undefined);
    return result;
  }
}
