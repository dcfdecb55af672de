import Database from 'better-sqlite3';
import { StoreError } from './errors.js';

export const SCHEMA_VERSION = 1;

/**
 * Dimensions are normalised into a series table (metric + canonical sorted-JSON key, one id per distinct
 * label set) and series_dimension (one row per label). Aggregate rows carry only the integer series id,
 * so the hot table stays narrow and a range read is one primary-key range scan per series. Filters
 * resolve series ids through series_dimension's primary key (series_id, name): series per metric number
 * in the thousands, so probing them is cheap and no (name, value) index is needed. Adding a dimension
 * needs no schema change, unlike one column per dimension.
 *
 * Alert labels stay JSON on the event row: alert events are few (transitions, not samples), and reads are
 * time-ranged first (alert_event_by_time), so label filters apply to a small set with json_extract.
 */
const SCHEMA_V1 = `
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE series (
  id INTEGER PRIMARY KEY,
  metric TEXT NOT NULL,
  dims_key TEXT NOT NULL,
  UNIQUE (metric, dims_key)
);
CREATE TABLE series_dimension (
  series_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (series_id, name)
) WITHOUT ROWID;
-- base_size_ms: the window size the row was written at; window_size_ms grows when downsampling merges
-- rows of that lineage. The key leads with the lineage and the start, so a range read is one index range.
CREATE TABLE aggregate (
  series_id INTEGER NOT NULL,
  base_size_ms INTEGER NOT NULL,
  window_start_ms INTEGER NOT NULL,
  window_size_ms INTEGER NOT NULL,
  covered_ms INTEGER NOT NULL,
  final INTEGER NOT NULL,
  values_json TEXT NOT NULL,
  PRIMARY KEY (series_id, base_size_ms, window_start_ms, window_size_ms)
) WITHOUT ROWID;
-- Retention and downsampling select by age across all series.
CREATE INDEX aggregate_by_start ON aggregate (window_start_ms);
-- Per tier: writes to fine windows before rolled_before_ms are refused (they were merged already);
-- rows before done_before_ms are all merged, so the next run scans from there.
CREATE TABLE downsample_watermark (
  bucket_ms INTEGER PRIMARY KEY,
  rolled_before_ms INTEGER NOT NULL,
  done_before_ms INTEGER NOT NULL
);
CREATE TABLE alert_event (
  id INTEGER PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  rule TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'firing', 'resolved')),
  at_ms INTEGER NOT NULL,
  value REAL,
  labels_json TEXT NOT NULL,
  annotations_json TEXT NOT NULL
);
CREATE INDEX alert_event_by_time ON alert_event (at_ms, id);
CREATE INDEX alert_event_by_fingerprint ON alert_event (fingerprint, at_ms);
CREATE TABLE silence (
  id TEXT PRIMARY KEY,
  matchers_json TEXT NOT NULL,
  starts_at_ms INTEGER NOT NULL,
  ends_at_ms INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  comment TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL
);
CREATE INDEX silence_by_end ON silence (ends_at_ms);
`;

interface SqliteErrorLike {
  code: string;
  message: string;
}

function isSqliteError(error: unknown): error is SqliteErrorLike {
  return error instanceof Error && typeof (error as Partial<SqliteErrorLike>).code === 'string';
}

/** Maps SQLite failures to store errors that name the database file. */
export function storeErrorFrom(error: unknown, path: string, doing: string): StoreError {
  if (error instanceof StoreError) return error;
  const code = isSqliteError(error) ? error.code : '';
  const detail = error instanceof Error ? error.message : String(error);
  if (code.startsWith('SQLITE_NOTADB') || code.startsWith('SQLITE_CORRUPT')) {
    return new StoreError(
      'CORRUPT_DATABASE',
      `${path} is not a SQLite database or is corrupt (${detail}) while ${doing}; move it aside to start empty`,
      { cause: error },
    );
  }
  if (
    code.startsWith('SQLITE_READONLY') ||
    code.startsWith('SQLITE_CANTOPEN') ||
    code.startsWith('SQLITE_PERM')
  ) {
    return new StoreError('DATABASE_UNWRITABLE', `cannot write ${path} (${detail}) while ${doing}`, {
      cause: error,
    });
  }
  if (code.startsWith('SQLITE_FULL')) {
    return new StoreError('DISK_FULL', `disk full writing ${path} while ${doing}`, { cause: error });
  }
  return new StoreError('IO_ERROR', `${path}: ${detail} while ${doing}`, { cause: error });
}

/** Opens (creating if needed) the database at path and brings its schema to SCHEMA_VERSION. */
export function openDatabase(path: string): Database.Database {
  let db: Database.Database;
  try {
    db = new Database(path, { fileMustExist: false });
  } catch (error) {
    throw storeErrorFrom(error, path, 'opening');
  }
  try {
    configure(db, path);
    migrate(db, path);
    return db;
  } catch (error) {
    db.close();
    throw storeErrorFrom(error, path, 'opening');
  }
}

/** SQLite page cache per connection, KiB (a negative cache_size is in KiB, a positive one in pages). */
const PAGE_CACHE_KIB = 16_000;

function configure(db: Database.Database, path: string): void {
  // WAL: readers (HTTP API, dashboards) never block the pipeline's writer and commits append sequentially.
  const journalMode = db.pragma('journal_mode = WAL', { simple: true });
  if (journalMode !== 'wal') {
    throw new StoreError(
      'IO_ERROR',
      `${path} cannot use write-ahead logging (journal mode stays ${journalMode})`,
    );
  }
  // NORMAL in WAL mode syncs at checkpoints, not at every commit: a power loss can drop the last commits
  // but never corrupts the file. Aggregates and alert transitions are a monitoring record whose last
  // seconds are re-emitted by the pipelines on replay, while FULL would fsync every batch and cap the
  // write rate at the disk's sync rate.
  db.pragma('synchronous = NORMAL');
  // The page cache is the one part of the store's memory that grows with the file, up to this bound: set here
  // rather than left to the build (better-sqlite3 compiles in 16 MB, SQLite itself 2 MB), so the process's
  // footprint once it is full is known. 16 MB keeps the recent windows the dashboard reads in memory.
  db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
  // Another process (a CLI query) holding the lock briefly makes us wait instead of failing at once.
  db.pragma('busy_timeout = 5000');
  // A write probe: a read-only file or directory fails here, at open, rather than at the first batch.
  db.exec('BEGIN IMMEDIATE; COMMIT;');
}

function migrate(db: Database.Database, path: string): void {
  const hasVersionTable = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'")
    .get();
  if (hasVersionTable === undefined) {
    const tableCount = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as {
      n: number;
    };
    if (tableCount.n > 0) {
      throw new StoreError('CORRUPT_DATABASE', `${path} is a SQLite database but not an Edgestream store`);
    }
    db.transaction(() => {
      db.exec(SCHEMA_V1);
      db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(SCHEMA_VERSION);
    })();
    return;
  }
  const row = db.prepare('SELECT max(version) AS version FROM schema_version').get() as {
    version: number | null;
  };
  if (row.version === null)
    throw new StoreError('CORRUPT_DATABASE', `${path} has an empty schema_version table`);
  if (row.version > SCHEMA_VERSION) {
    throw new StoreError(
      'SCHEMA_TOO_NEW',
      `${path} has store schema version ${row.version}, this Edgestream understands up to ${SCHEMA_VERSION}: ` +
        'upgrade Edgestream or point it at another file',
    );
  }
}
