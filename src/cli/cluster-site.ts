import type { Logger } from 'pino';
import type { AlertEngine } from '../alerts/engine.js';
import type { WindowUpdate } from '../alerts/series.js';
import type { LogClient } from '../client/types.js';
import type { ClusterView } from '../cluster/index.js';
import type { LiveFeed } from '../http/live-feed.js';
import { SiteAlertControl } from '../monitor/site-alert-control.js';
import { SiteAlertBoard } from '../monitor/site-alerts.js';
import { SiteFeed } from '../monitor/site-feed.js';
import type { SitePublisher } from '../monitor/site-publisher.js';
import { DEFAULT_SITE_TOPICS } from '../monitor/site-topics.js';
import type { SqliteAggregateStore } from '../store/sqlite-store.js';

/** Replicas of the topics the runtime creates on a cluster, unless the cluster sets its default. */
export const SITE_REPLICATION_FACTOR = 3;
const BROKER_WAIT_LOG_INTERVAL_MS = 10_000;

/**
 * Waits until `count` brokers are registered: a node starting before its peers would otherwise create the
 * pipelines' topics with fewer replicas than the site is meant to keep (or fail to create them).
 */
export async function waitForBrokers(view: ClusterView, count: number, logger: Logger): Promise<void> {
  let loggedAtMs = 0;
  while (view.liveBrokerIds().size < count) {
    if (Date.now() - loggedAtMs >= BROKER_WAIT_LOG_INTERVAL_MS) {
      loggedAtMs = Date.now();
      logger.info(
        { live: [...view.liveBrokerIds()], needed: count },
        'waiting for the other brokers of the cluster before starting the pipelines',
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export interface ClusterSiteOptions {
  client: LogClient;
  store: SqliteAggregateStore;
  live: LiveFeed;
  engine: AlertEngine;
  publisher: SitePublisher;
  clusterView: ClusterView;
  positionsFile: string;
  logger: Logger;
}

/**
 * How one node of a cluster shows the whole site: it follows the site topics every node publishes to into its
 * store, its live feed and the site's alert list, and shares the silences made on it with the other nodes.
 */
export class ClusterSite {
  private constructor(
    readonly alerts: SiteAlertControl,
    readonly feed: SiteFeed,
  ) {}

  static async start(options: ClusterSiteOptions): Promise<ClusterSite> {
    const { engine, live, clusterView, logger } = options;
    const board = new SiteAlertBoard({
      // After a session expiry the view is stale until reloaded: show every node's alerts meanwhile.
      liveNodes: () => (clusterView.current ? clusterView.liveBrokerIds() : null),
      silencedBy: (labels, nowMs) => engine.silences.silencedBy(labels, nowMs),
    });
    const alerts = new SiteAlertControl(engine, board, options.publisher, logger);
    const feed = await SiteFeed.start({
      client: options.client,
      topics: DEFAULT_SITE_TOPICS,
      store: options.store,
      positionsFile: options.positionsFile,
      logger,
      listener: {
        windows(rows) {
          for (const row of rows) {
            const update: WindowUpdate = {
              metric: row.metric,
              dimensions: { ...row.dimensions },
              windowStart: row.windowStartMs,
              windowEnd: row.windowEndMs,
              values: { ...row.values },
              final: row.final,
              eventTime: row.windowEndMs - 1,
            };
            live.publish({ type: 'window', data: update });
          }
        },
        alerts(record) {
          board.apply(record);
          for (const transition of record.transitions) live.publish({ type: 'alert', data: transition });
        },
        silence(silence) {
          board.rememberSilence(silence);
          try {
            engine.addSilence({
              id: silence.id,
              matchers: silence.matchers.map(({ name, op, value }) => ({ label: name, op, value })),
              startsAtMs: silence.startsAtMs,
              endsAtMs: silence.endsAtMs,
              comment: silence.comment,
              createdBy: silence.createdBy,
            });
          } catch (error) {
            logger.warn({ err: error, silence: silence.id }, 'silence from another node not applied');
          }
        },
      },
    });
    return new ClusterSite(alerts, feed);
  }

  async close(): Promise<void> {
    await this.alerts.close();
    await this.feed.close();
  }
}
