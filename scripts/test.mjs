#!/usr/bin/env node
// The whole suite: Debian packages the tests need, type check (the build), lint, then every test file
// with Node's test runner. Plain JS so it runs before anything is compiled.
// `--unit` is the fast lane (npm run test:unit): the build, then only the unit tests beside the code under
// src/ that start no process of their own.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');

/** Debian packages used by tests: package -> a file it installs that proves it is present. */
const debianPackages = JSON.parse(
  fs.readFileSync(path.join(root, 'scripts', 'debian-packages.json'), 'utf8'),
);

function ensureDebianPackages() {
  const missing = Object.entries(debianPackages)
    .filter(([, file]) => !fs.existsSync(file))
    .map(([name]) => name);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    console.error(`Tests need these Debian packages: ${missing.join(' ')}`);
    console.error(`Install them with: sudo apt-get install -y ${missing.join(' ')}`);
    process.exit(1);
  }
  console.log(`installing Debian packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-q'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], {
    stdio: 'inherit',
    env,
  });
}

function run(step, command, args) {
  const started = Date.now();
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`${step} failed (exit ${result.status ?? result.signal})`);
    process.exit(result.status ?? 1);
  }
  console.log(`${step} ok in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

function testFiles() {
  const dist = path.join(root, 'dist');
  return ['src', 'test']
    .flatMap((dir) =>
      fs.readdirSync(path.join(dist, dir), { recursive: true }).map((f) => path.join(dist, dir, f)),
    )
    .filter((file) => file.endsWith('.test.js'))
    .sort();
}

/**
 * Imports by which a test starts another process: child_process itself, or the helpers in test/support that
 * run programs or a browser. A unit test with one of these is left out of the fast lane.
 */
const STARTS_PROCESSES = [
  /from 'node:child_process'/,
  /import \{[^}]*\b(run|Background)\b[^}]*\} from '[^']*support\/processes\.js'/,
  /from '[^']*support\/browser\.js'/,
];

/** The compiled unit tests: one per *.test.ts under src/, found from the sources so stale files in dist/ never run. */
function unitTestFiles() {
  const sources = fs
    .readdirSync(path.join(root, 'src'), { recursive: true })
    .filter((file) => file.endsWith('.test.ts'))
    .sort();
  const selected = [];
  for (const source of sources) {
    const text = fs.readFileSync(path.join(root, 'src', source), 'utf8');
    if (STARTS_PROCESSES.some((pattern) => pattern.test(text))) {
      console.log(`left out of the unit lane (starts processes): src/${source}`);
      continue;
    }
    selected.push(path.join(root, 'dist', 'src', source.replace(/\.ts$/, '.js')));
  }
  return selected;
}

if (process.argv.includes('--unit')) {
  run('type check and build', path.join(root, 'node_modules', '.bin', 'tsc'), ['-p', root]);
  const unitFiles = unitTestFiles();
  // With no file named, node --test would search the whole tree and run the slow tests too.
  if (unitFiles.length === 0) {
    console.error('no unit test files found under src/');
    process.exit(1);
  }
  run('unit tests', process.execPath, [
    '--enable-source-maps',
    '--test',
    '--test-reporter=spec',
    ...unitFiles,
  ]);
  process.exit(0);
}

ensureDebianPackages();
fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
run('type check and build', path.join(root, 'node_modules', '.bin', 'tsc'), ['-p', root]);
run('type check dashboard', path.join(root, 'node_modules', '.bin', 'tsc'), ['-p', path.join(root, 'web')]);
run('build dashboard', path.join(root, 'node_modules', '.bin', 'vite'), [
  'build',
  '--config',
  path.join(root, 'web', 'vite.config.ts'),
]);
run('lint', path.join(root, 'node_modules', '.bin', 'biome'), ['check', '--error-on-warnings', root]);
const files = testFiles();
if (files.length === 0) {
  console.error('no test files found under dist/');
  process.exit(1);
}
run('tests', process.execPath, ['--enable-source-maps', '--test', '--test-reporter=spec', ...files]);
