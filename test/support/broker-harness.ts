import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { Broker } from '../../src/broker/broker.js';
import { type BrokerConfigInput, parseBrokerConfig } from '../../src/broker/config.js';

export interface RunningBroker {
  broker: Broker;
  port: number;
  bootstrap: string;
  dataDir: string;
  /** Closes the broker cleanly and starts it again on the same data directory and port. */
  restart(): Promise<void>;
  /** Stops the broker and deletes its data directory. */
  stop(): Promise<void>;
}

/**
 * An in-process broker on 127.0.0.1 with a fresh data directory; logs go to a file beside it when debugging.
 * `prepare` fills the data directory before the broker opens it (SASL users, for one).
 */
export async function startBroker(
  overrides: Partial<BrokerConfigInput> = {},
  prepare: (dataDir: string) => Promise<void> = async () => undefined,
): Promise<RunningBroker> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-broker-'));
  await prepare(dataDir);
  const logger = pino({ level: process.env.EDGESTREAM_TEST_LOG ?? 'silent' });
  const config = (port: number) =>
    parseBrokerConfig({
      dataDir,
      listen: `127.0.0.1:${port}`,
      groupInitialRebalanceDelayMs: 100,
      ...overrides,
    });
  const running: RunningBroker = {
    broker: await Broker.start(config(0), logger),
    port: 0,
    bootstrap: '',
    dataDir,
    async restart() {
      // Every listener comes back on the port it had, as a restarted broker does.
      const bound = [...running.broker.listenerAddresses].map(
        ([protocol, a]) => `${protocol}://127.0.0.1:${a.port}`,
      );
      await running.broker.close();
      running.broker = await Broker.start(
        overrides.listeners ? { ...config(running.port), listeners: bound } : config(running.port),
        logger,
      );
    },
    async stop() {
      await running.broker.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  running.port = running.broker.kafkaAddress.port;
  running.bootstrap = `127.0.0.1:${running.port}`;
  return running;
}
