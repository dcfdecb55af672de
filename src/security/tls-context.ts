import fs from 'node:fs';
import tls from 'node:tls';

export interface TlsFiles {
  /** PEM certificate chain of this server. */
  certFile: string;
  /** PEM private key of the certificate. */
  keyFile: string;
  /** PEM CA bundle that client certificates must chain to; null: client certificates are not asked for. */
  caFile: string | null;
  /** ssl.client.auth: 'required' refuses clients without a valid certificate; 'requested' takes one if sent. */
  clientAuth: 'none' | 'requested' | 'required';
}

/** A server certificate and its key, PEM files (the HTTP server's `tls:` keys). */
export interface TlsFilesConfig {
  cert: string;
  key: string;
}

/** How often the certificate files are looked at for a renewal. */
const RELOAD_CHECK_INTERVAL_MS = 5000;

export class TlsConfigError extends Error {
  override readonly name = 'TlsConfigError';
}

/**
 * A TLS server context from PEM files that follows renewals: when a file changes (looked at every 5 s, by
 * polling, which follows files replaced by rename or symlinks switched as renewal tools do) or the process
 * gets SIGHUP, the servers it was given to take the new certificate for new connections. A renewal that does
 * not load is reported and the certificate in use stays.
 */
export class ReloadingTlsContext {
  private readonly servers = new Set<tls.Server>();
  private stamp: string;
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly files: TlsFiles,
    private readonly events: { reloaded(): void; reloadFailed(error: TlsConfigError): void },
  ) {
    this.options = loadContextOptions(files);
    this.stamp = stampOf(files);
    this.timer = setInterval(() => this.check(false), RELOAD_CHECK_INTERVAL_MS);
    this.timer.unref();
    process.on('SIGHUP', this.onHangUp);
  }

  private readonly onHangUp = () => this.check(true);

  /** The options a TLS server is created with: the current certificate and the client-auth policy. */
  options: tls.SecureContextOptions;

  /**
   * The options a TLS server is created with. Client certificates are asked for only where `askClients`
   * (SSL listeners: as in Kafka, ssl.client.auth does not apply to SASL_SSL, whose clients log in by SASL).
   */
  serverOptions(askClients: boolean): tls.TlsOptions {
    const clientAuth = askClients ? this.files.clientAuth : 'none';
    return {
      ...this.options,
      requestCert: clientAuth !== 'none',
      rejectUnauthorized: clientAuth === 'required',
      minVersion: 'TLSv1.2',
    };
  }

  /** Keeps `server`'s certificate current until close(). */
  follow(server: tls.Server): void {
    this.servers.add(server);
  }

  close(): void {
    clearInterval(this.timer);
    process.off('SIGHUP', this.onHangUp);
    this.servers.clear();
  }

  private check(force: boolean): void {
    const stamp = stampOf(this.files);
    if (stamp === this.stamp && !force) return;
    this.stamp = stamp;
    try {
      const options = loadContextOptions(this.files);
      for (const server of this.servers) server.setSecureContext(options);
      this.options = options;
      this.events.reloaded();
    } catch (error) {
      if (!(error instanceof TlsConfigError)) throw error;
      this.events.reloadFailed(error);
    }
  }
}

/** Reads and checks the PEM files: a key that does not match its certificate is an error here, not later. */
function loadContextOptions(files: TlsFiles): tls.SecureContextOptions {
  const read = (file: string, what: string) => {
    try {
      return fs.readFileSync(file);
    } catch (error) {
      throw new TlsConfigError(`${what} ${file}: ${(error as Error).message}`);
    }
  };
  const options: tls.SecureContextOptions = {
    cert: read(files.certFile, 'TLS certificate'),
    key: read(files.keyFile, 'TLS key'),
    ...(files.caFile ? { ca: read(files.caFile, 'TLS CA') } : {}),
  };
  try {
    tls.createSecureContext(options);
  } catch (error) {
    throw new TlsConfigError(
      `TLS certificate ${files.certFile} with key ${files.keyFile}: ${(error as Error).message}`,
    );
  }
  return options;
}

function stampOf(files: TlsFiles): string {
  return [files.certFile, files.keyFile, files.caFile]
    .map((file) => {
      if (file === null) return '';
      try {
        const stat = fs.statSync(file);
        return `${stat.size}:${stat.mtimeMs}:${stat.ino}`;
      } catch {
        return 'missing';
      }
    })
    .join('|');
}

/**
 * Kafka's principal for a client certificate: "User:" and the subject distinguished name as RFC 2253 writes
 * it (most specific first, e.g. CN=alice,OU=edge,O=Example), specials escaped.
 */
export function certificatePrincipal(subject: string): string {
  const escapeValue = (value: string) =>
    value.replace(/[,+"\\<>;]/g, (c) => `\\${c}`).replace(/^[ #]|[ ]$/g, (c) => `\\${c}`);
  const parts = subject
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const at = line.indexOf('=');
      return `${line.slice(0, at)}=${escapeValue(line.slice(at + 1))}`;
    });
  return `User:${parts.reverse().join(',')}`;
}
