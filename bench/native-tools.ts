import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Installs missing Debian packages (package -> a file it provides) when root, else says what to install. */
export function ensureDebianPackages(needed: Record<string, string>, bench: string): void {
  const missing = Object.entries(needed)
    .filter(([, file]) => !fs.existsSync(file))
    .map(([name]) => name);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) throw new Error(`${bench} needs: apt-get install -y ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-q'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], {
    stdio: 'inherit',
    env,
  });
}

/** Builds bench/loadgen.c (librdkafka) into `dir`; returns the binary's path. */
export function buildLoadgen(dir: string, bench: string): string {
  ensureDebianPackages({ 'librdkafka-dev': '/usr/include/librdkafka/rdkafka.h', gcc: '/usr/bin/gcc' }, bench);
  const binary = path.join(dir, 'loadgen');
  execFileSync('gcc', ['-O2', '-o', binary, path.join(root, 'bench/loadgen.c'), '-lrdkafka', '-lpthread']);
  return binary;
}
