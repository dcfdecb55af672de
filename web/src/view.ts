import { h } from './dom.js';
import type { Fleet } from './fleet.js';
import type { LiveConnection } from './live.js';
import type { Dimension } from './metrics.js';

/** What every page gets: the shared fleet state, the live stream, what the user may do, and in-app navigation. */
export interface ViewContext {
  fleet: Fleet;
  live: LiveConnection;
  /** The user's role may create and expire silences (operator or admin, or authentication off). */
  canSilence: boolean;
  navigate(path: string): void;
}

/** A mounted page; `destroy` stops its timers and subscriptions when the user leaves it. */
export interface View {
  destroy(): void;
}

/** The charts page of one series: `/charts?edge=edge-003`, `/charts?stream=ams1%2Fsports-1&range=15m`. */
export function chartsPath(target: { dimension: Dimension; id: string } | null, range?: string): string {
  const params = new URLSearchParams();
  if (target !== null) params.set(target.dimension, target.id);
  if (range !== undefined) params.set('range', range);
  return `/charts?${params}`;
}

/**
 * An in-app link: a plain click navigates without reloading the page; a middle click or a click with a
 * modifier key opens the path in a new tab or window, as any link does.
 */
export function link(
  context: ViewContext,
  href: string,
  attributes: Record<string, string | number | null>,
  ...children: Array<Node | string | null>
): HTMLAnchorElement {
  return h(
    'a',
    {
      ...attributes,
      href,
      onclick: (event: Event) => {
        const click = event as MouseEvent;
        if (click.button !== 0 || click.ctrlKey || click.metaKey || click.shiftKey || click.altKey) return;
        event.preventDefault();
        context.navigate(href);
      },
    },
    ...children,
  );
}
