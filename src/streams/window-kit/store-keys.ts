/**
 * Changelog keys of the window stores. An entry of `key` placed at event time `time` (a window's start, a
 * session's first record, the time of a record accumulator) is `${time}\u0000${key}`, optionally behind a
 * one-character prefix and its own separator (`w\u0000${time}\u0000${key}`, sliding windows). The key comes
 * last so it may contain anything, NUL included. These keys are on disk: changing them breaks restoring
 * existing changelogs.
 */
const KEY_SEPARATOR = '\u0000';

export function windowEntryKey(time: number, key: string): string {
  return `${time}${KEY_SEPARATOR}${key}`;
}

export function prefixedWindowEntryKey(prefix: string, time: number, key: string): string {
  return `${prefix}${KEY_SEPARATOR}${time}${KEY_SEPARATOR}${key}`;
}

export interface WindowEntry {
  time: number;
  key: string;
}

/** Decodes `${time}\u0000${key}`; throws on a key no window store writes. */
export function decodeWindowEntryKey(store: string, entryKey: string): WindowEntry {
  return decodeFrom(store, entryKey, 0);
}

/** Decodes `${prefix}\u0000${time}\u0000${key}` for a one-character prefix, returned with it. */
export function decodePrefixedWindowEntryKey(
  store: string,
  entryKey: string,
): WindowEntry & { prefix: string } {
  if (entryKey[1] !== KEY_SEPARATOR) throw malformedEntry(store, 'key', entryKey);
  return { prefix: entryKey[0]!, ...decodeFrom(store, entryKey, 2) };
}

function decodeFrom(store: string, entryKey: string, from: number): WindowEntry {
  const separator = entryKey.indexOf(KEY_SEPARATOR, from);
  const time = Number(entryKey.slice(from, separator));
  if (separator < 0 || !Number.isFinite(time)) throw malformedEntry(store, 'key', entryKey);
  return { time, key: entryKey.slice(separator + 1) };
}

/** A changelog entry this store never writes: the changelog is corrupt or belongs to another store. */
export function malformedEntry(store: string, part: 'key' | 'value for', entryKey: string): Error {
  return new Error(`state store '${store}': malformed changelog ${part} ${JSON.stringify(entryKey)}`);
}
