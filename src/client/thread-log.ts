import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { EmbeddedLogClient } from './embedded-client.js';
import { LogPortServer, type WorkerSlot } from './log-port-server.js';
import { PortLogClient } from './port-log-client.js';
import type { RemoteLogClientOptions } from './remote-common.js';
import type { LogClient } from './types.js';

/**
 * The log a worker thread of this process uses: the broker's own, served from the broker's thread through a
 * port, or a remote cluster reached by a client of the worker's own.
 */
export type ThreadLog =
  | {
      kind: 'embedded';
      client: EmbeddedLogClient;
      /** Counts records handed to a worker in the broker's metrics. */
      served: (topic: string, bytes: number, records: number) => void;
    }
  | { kind: 'remote'; options: RemoteLogClientOptions };

/** What a worker is given (in its workerData) to open its client. */
export type ThreadLogSpec =
  | { kind: 'port'; port: MessagePort }
  | { kind: 'remote'; options: RemoteLogClientOptions };

/** The log opened for one worker: its spec, the port to transfer with it, and the server of that port. */
export interface OpenedThreadLog {
  spec: ThreadLogSpec;
  transfer: MessagePort[];
  /** Null for a remote log. Close it once the worker has exited: it drains the writes the worker sent. */
  server: LogPortServer | null;
}

/** `name` tells the worker's client apart from the process's others on a remote cluster. */
export function openThreadLog(log: ThreadLog, slot: WorkerSlot, name: string): OpenedThreadLog {
  if (log.kind === 'remote') {
    return {
      spec: { kind: 'remote', options: { ...log.options, clientId: `${log.options.clientId}-${name}` } },
      transfer: [],
      server: null,
    };
  }
  const channel = new MessageChannel();
  return {
    spec: { kind: 'port', port: channel.port2 },
    transfer: [channel.port2],
    server: new LogPortServer(channel.port1, log.client, slot, log.served),
  };
}

/** The worker's end. The Kafka client library is loaded only by workers that use a remote cluster. */
export async function threadLogClient(spec: ThreadLogSpec): Promise<LogClient> {
  if (spec.kind === 'port') return new PortLogClient(spec.port);
  const { RemoteLogClient } = await import('./remote-client.js');
  return new RemoteLogClient(spec.options);
}
