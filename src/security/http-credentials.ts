import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * scrypt's cost parameters for new hashes: N = 2^15, r = 8 takes about 32 MiB and 50-100 ms on a small edge
 * server, which bounds a stolen config file's guessing rate without making a login slow. They are stored in
 * the hash, so raising them later keeps old hashes valid.
 */
const SCRYPT_N = 2 ** 15;
const SCRYPT_R = 8;
const SCRYPT_P = 1;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Stored hashes may ask for at most this much memory (128 * N * r bytes), so a config cannot exhaust it. */
const SCRYPT_MAX_MEMORY_BYTES = 256 * 1024 * 1024;
const TOKEN_BYTES = 32;
const TOKEN_PREFIX = 'est_';

/** `scrypt$N$r$p$salt$key`, salt and key in base64url. */
export const PASSWORD_HASH_PATTERN =
  /^scrypt\$(\d{1,8})\$(\d{1,3})\$(\d{1,3})\$([A-Za-z0-9_-]{16,})\$([A-Za-z0-9_-]{32,})$/;
/** `sha256$` and 64 hex digits. */
export const TOKEN_HASH_PATTERN = /^sha256\$[0-9a-f]{64}$/;

interface ScryptParams {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}

function scryptKey(password: string, params: Omit<ScryptParams, 'key'>, keyBytes: number): Promise<Buffer> {
  const { N, r, p, salt } = params;
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keyBytes, { N, r, p, maxmem: SCRYPT_MAX_MEMORY_BYTES }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

/** The stored form of a password: scrypt with a fresh random salt. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await scryptKey(password, { N: SCRYPT_N, r: SCRYPT_R, p: SCRYPT_P, salt }, KEY_BYTES);
  return `scrypt$${SCRYPT_N}$${SCRYPT_R}$${SCRYPT_P}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Why a stored password hash is unusable, or null when it is fine (config validation calls this). */
export function passwordHashProblem(stored: string): string | null {
  const match = PASSWORD_HASH_PATTERN.exec(stored);
  if (!match) return 'expected scrypt$N$r$p$salt$key, as `edgestream http-user hash` prints it';
  const [N, r] = [Number(match[1]), Number(match[2])];
  if (N < 2 || (N & (N - 1)) !== 0) return `scrypt N=${N}: expected a power of two`;
  if (128 * N * r > SCRYPT_MAX_MEMORY_BYTES / 2)
    return `scrypt N=${N}, r=${r}: needs more than ${SCRYPT_MAX_MEMORY_BYTES / 2 / 1024 / 1024} MiB`;
  return null;
}

function parsePasswordHash(stored: string): ScryptParams {
  const match = PASSWORD_HASH_PATTERN.exec(stored);
  if (!match || passwordHashProblem(stored) !== null)
    throw new Error('password hash: expected a valid scrypt$N$r$p$salt$key');
  return {
    N: Number(match[1]),
    r: Number(match[2]),
    p: Number(match[3]),
    salt: Buffer.from(match[4]!, 'base64url'),
    key: Buffer.from(match[5]!, 'base64url'),
  };
}

/** Whether `password` matches the stored hash; the comparison takes the same time wherever they differ. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const params = parsePasswordHash(stored);
  const key = await scryptKey(password, params, params.key.length);
  return timingSafeEqual(key, params.key);
}

/** A new bearer token (shown once) and the form stored in the config. */
export function newToken(): { token: string; tokenHash: string } {
  const token = `${TOKEN_PREFIX}${randomBytes(TOKEN_BYTES).toString('base64url')}`;
  return { token, tokenHash: hashToken(token) };
}

/**
 * The stored form of a bearer token. A plain SHA-256 is enough: the token is 32 random bytes, so unlike a
 * password it cannot be guessed from its hash, and a fast hash lets every request be checked cheaply.
 */
export function hashToken(token: string): string {
  return `sha256$${createHash('sha256').update(token, 'utf8').digest('hex')}`;
}
