/**
 * The Host header values an HTTP server answers to. A browser tricked by DNS rebinding sends the attacker's
 * name as Host while connecting to our address; refusing names we were not told about stops it reaching the
 * API with the victim's network position.
 */
export class HostAllowList {
  /** Lower-case `name:port` entries, and bare names that match on any port. */
  private readonly exact = new Set<string>();
  private readonly anyPort = new Set<string>();

  /**
   * `port` is the one the server listens on; `listenHost` is added unless it is a wildcard address. Extra
   * entries are `name`, `name:port` or `[v6]:port`.
   */
  constructor(listenHost: string, port: number, extra: readonly string[]) {
    const names = ['localhost', '127.0.0.1', '[::1]'];
    if (!isWildcard(listenHost)) names.push(listenHost.includes(':') ? `[${listenHost}]` : listenHost);
    for (const name of names) {
      this.exact.add(`${name.toLowerCase()}:${port}`);
      // Browsers leave the port out of Host when it is the scheme's default.
      if (port === 80 || port === 443) this.exact.add(name.toLowerCase());
    }
    for (const entry of extra) {
      const lower = entry.toLowerCase();
      if (/:\d+$/.test(lower)) this.exact.add(lower);
      else this.anyPort.add(lower);
    }
  }

  /** Whether a request with this Host header is served; a missing header never is. */
  allows(hostHeader: string | undefined): boolean {
    if (hostHeader === undefined) return false;
    const lower = hostHeader
      .toLowerCase()
      .replace(/\.$/, '')
      .replace(/\.:(\d+)$/, ':$1');
    if (this.exact.has(lower)) return true;
    const name = lower.replace(/:\d+$/, '');
    return this.anyPort.has(name);
  }

  entries(): string[] {
    return [...this.exact, ...this.anyPort];
  }
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

/** Loopback addresses and names: a server listening only there is reachable from this machine alone. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
