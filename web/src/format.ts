/** Number and time formatting shared by the views; `–` marks a value the window has too few samples for. */

const MISSING = '–';

export function percent(value: number | null | undefined, digits = 2): string {
  return value === null || value === undefined ? MISSING : `${value.toFixed(digits)}%`;
}

export function millis(value: number | null | undefined): string {
  return value === null || value === undefined ? MISSING : `${Math.round(value).toLocaleString('en')} ms`;
}

export function count(value: number | null | undefined): string {
  return value === null || value === undefined ? MISSING : Math.round(value).toLocaleString('en');
}

export function rate(perSecond: number | null): string {
  if (perSecond === null) return MISSING;
  if (perSecond >= 10_000) return `${(perSecond / 1000).toFixed(1)}k/s`;
  return `${Math.round(perSecond).toLocaleString('en')}/s`;
}

export function clockTime(ms: number): string {
  return new Date(ms).toLocaleTimeString('en-GB', { hour12: false });
}

export function dateTime(ms: number): string {
  const date = new Date(ms);
  return `${date.toLocaleDateString('en-CA')} ${clockTime(ms)}`;
}

/** "4 s", "3 min", "2 h 5 min": how long ago, or how long until, for "since" and "ends in". */
export function duration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
}

/** An alert's value in the unit its rule uses, judged from the annotation-free value alone. */
export function alertValue(value: number | null): string {
  if (value === null) return MISSING;
  return Math.abs(value) >= 100 ? Math.round(value).toLocaleString('en') : value.toFixed(3);
}
