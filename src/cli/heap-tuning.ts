import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';

/**
 * The old generation may grow by this share of what survived the last full GC before the next one. V8's own
 * factor (up to 4x) let the demo at 5,000 events/s carry 30-40 MB of dead promoted objects, and the
 * ArrayBuffers they hold (segment reads, encoded batches: malloc memory), between full GCs. At 50% the demo's
 * RSS fell as far as at 20% in A/B runs, for a third of the extra full GCs' CPU.
 */
const HEAP_GROWING_PERCENT = 50;

/**
 * The main thread's semi-space (the young generation is two of them), bytes. V8 grows it from 1 MB to 16 MB on
 * 64-bit, all resident once the scavenger has cycled through it; the broker's garbage (requests, batches,
 * window updates) dies as young in 4 MB. Node sets the main thread's limit only from the command line
 * (--max-semi-space-size), so it is held here instead.
 */
const MAIN_SEMI_SPACE_BYTES = 4 * 1024 * 1024;

/**
 * Bounds the process's V8 heaps for a long-running command. Both flags are read by V8 each time it decides
 * (the old generation's limit after a full GC, the young generation's growth after a scavenge), so setting them
 * now takes effect without a restart. Growth of the young generation is stopped once the main thread's reaches
 * MAIN_SEMI_SPACE_BYTES, and allowed again if V8 shrinks it below; worker threads have their own fixed limits
 * (resourceLimits), which the growth factor does not change.
 */
export function boundHeap(): void {
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  const holdNewSpace = () => {
    const newSpace = v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
    // The semi-space in use: what is allocated in it and what is left (space_size counts the other one only
    // once it has been used).
    const semiSpaceBytes = (newSpace?.space_used_size ?? 0) + (newSpace?.space_available_size ?? 0);
    // V8 grows a semi-space to factor x its size: a factor that lands on the bound, not past it. It is set
    // every time, not once: each new isolate (a worker thread starting) puts a factor below 2 back to 2.
    const factor = Math.max(1, Math.floor(MAIN_SEMI_SPACE_BYTES / Math.max(1, semiSpaceBytes)));
    v8.setFlagsFromString(`--semi-space-growth-factor=${factor}`);
  };
  holdNewSpace();
  // Growth is decided after a scavenge, so the size is looked at again after GCs (reported once per turn of
  // the event loop: a long turn of scavenges may still grow it past the bound).
  new PerformanceObserver(holdNewSpace).observe({ entryTypes: ['gc'] });
}
