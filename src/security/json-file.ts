import fs from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { fsyncDirectory, writeFileAtomic } from '../log/index.js';

/**
 * The security settings a broker keeps in its data directory (users, ACLs, quotas) are small JSON files:
 * read whole and validated, replaced whole, atomically and durably.
 */

/**
 * The file's contents as `schema` reads them, or null if there is no file yet. A file that is not JSON or not
 * of the schema is reported through `corrupt(why)` with the first problem and where it is.
 */
export async function readJsonFile<T>(
  file: string,
  schema: z.ZodType<T>,
  corrupt: (why: string, cause: unknown) => Error,
): Promise<T | null> {
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return null;
    throw error;
  }
  return parseJsonText(text, schema, corrupt);
}

/** As readJsonFile, for text already read. */
export function parseJsonText<T>(
  text: string,
  schema: z.ZodType<T>,
  corrupt: (why: string, cause: unknown) => Error,
): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw corrupt(`not JSON (${String(error)})`, error);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw corrupt(`${issue.path.join('.') || 'top level'}: ${issue.message}`, parsed.error);
  }
  return parsed.data;
}

/** Replaces the file: written beside it, fsynced, renamed over it, the directory fsynced (the rename's durability). */
export function writeJsonFile(file: string, contents: unknown, mode?: number): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  writeFileAtomic(file, `${JSON.stringify(contents, null, 2)}\n`);
  if (mode !== undefined) fs.chmodSync(file, mode);
  fsyncDirectory(dir);
}
