import { parseArgs } from 'node:util';
import { hashPassword, newToken } from '../security/index.js';
import { UsageError } from './usage-error.js';

export const HTTP_USER_USAGE = `  edgestream http-user hash --password-stdin
                                           read a password from stdin, print the passwordHash for http.auth.users
  edgestream http-user token               print a new bearer token (shown once) and its tokenHash for http.auth.tokens
`;

/** Shorter passwords are refused: a dashboard reachable from the network must not be one guess away. */
const MIN_PASSWORD_CHARS = 8;
/** More than any password; stdin past it is refused rather than buffered without bound. */
const MAX_PASSWORD_BYTES = 1024;

/** Prints the stored form of the password read from stdin; the password itself is never echoed. */
export async function httpUserHash(args: string[]): Promise<number> {
  let values: { 'password-stdin'?: boolean };
  try {
    ({ values } = parseArgs({ args, strict: true, options: { 'password-stdin': { type: 'boolean' } } }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  // A password on the command line would be left in the shell history and in `ps`.
  if (!values['password-stdin'])
    throw new UsageError('http-user hash reads the password from stdin: pass --password-stdin');
  const password = (await readStdin(MAX_PASSWORD_BYTES)).replace(/\r?\n$/, '');
  if ([...password].length < MIN_PASSWORD_CHARS)
    throw new UsageError(`the password must have at least ${MIN_PASSWORD_CHARS} characters`);
  process.stdout.write(`${await hashPassword(password)}\n`);
  return 0;
}

export async function httpUserToken(args: string[]): Promise<number> {
  if (args.length > 0) throw new UsageError(`http-user token takes no arguments, got '${args.join(' ')}'`);
  const { token, tokenHash } = newToken();
  process.stdout.write(
    `# give the token to the script (Authorization: Bearer TOKEN); it is shown only now\ntoken: ${token}\n` +
      `# add to http.auth.tokens with a name and a role\ntokenHash: ${tokenHash}\n`,
  );
  return 0;
}

async function readStdin(maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new UsageError(`the password on stdin exceeds ${maxBytes} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
