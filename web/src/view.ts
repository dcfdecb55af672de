import type { Fleet } from './fleet.js';
import type { LiveConnection } from './live.js';

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
