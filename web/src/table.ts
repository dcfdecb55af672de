import { h } from './dom.js';

export interface Row {
  cells: ReadonlyArray<string | HTMLElement>;
  attributes?: Record<string, string | number>;
}

/** A plain table: headings right-aligned over numbers, the first column left-aligned (styles.css). */
export function table(headings: readonly string[], rows: readonly Row[]): HTMLElement {
  return h(
    'table',
    {},
    h('thead', {}, h('tr', {}, ...headings.map((heading) => h('th', { scope: 'col' }, heading)))),
    h(
      'tbody',
      {},
      ...rows.map((row) => h('tr', row.attributes ?? {}, ...row.cells.map((cell) => h('td', {}, cell)))),
    ),
  );
}

export function plural(amount: number, noun: string): string {
  return `${amount} ${noun}${amount === 1 ? '' : 's'}`;
}
