import fs from 'node:fs';
import type { SecureContextOptions } from 'node:tls';
import type { Logger } from 'pino';

export interface TlsFilesConfig {
  /** PEM certificate chain, the server's certificate first. */
  cert: string;
  /** PEM private key of that certificate. */
  key: string;
}

/** How often the files are checked for a change; a renewed certificate is served within this. */
const WATCH_INTERVAL_MS = 5_000;

export function readTlsFiles(files: TlsFilesConfig): SecureContextOptions {
  return { cert: fs.readFileSync(files.cert), key: fs.readFileSync(files.key) };
}

/**
 * Re-reads the certificate and key when either file changes or the process gets SIGHUP, and hands them to
 * `apply` (a server's setSecureContext). A pair that fails to load is logged and the old one stays in use, so
 * a half-written renewal never takes the server down. Returns what stops watching.
 */
export function watchTlsFiles(
  files: TlsFilesConfig,
  apply: (context: SecureContextOptions) => void,
  logger: Logger,
): () => void {
  const reload = (reason: string) => {
    try {
      apply(readTlsFiles(files));
      logger.info({ cert: files.cert, reason }, 'tls certificate reloaded');
    } catch (error) {
      logger.error({ err: error, cert: files.cert, key: files.key, reason }, 'tls certificate not reloaded');
    }
  };
  const onChange = (current: fs.Stats, previous: fs.Stats) => {
    if (current.mtimeMs !== previous.mtimeMs || current.ino !== previous.ino) reload('file changed');
  };
  const onHangUp = () => reload('SIGHUP');
  // Polling (not fs.watch): it follows a file replaced by rename or a symlink switched, as renewal tools do.
  for (const file of [files.cert, files.key])
    fs.watchFile(file, { interval: WATCH_INTERVAL_MS, persistent: false }, onChange);
  process.on('SIGHUP', onHangUp);
  return () => {
    for (const file of [files.cert, files.key]) fs.unwatchFile(file, onChange);
    process.off('SIGHUP', onHangUp);
  };
}
