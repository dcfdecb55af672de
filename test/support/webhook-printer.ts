/**
 * A webhook receiver run as a program (`node webhook-printer.js PORT`), for an edge runtime inside a test
 * network's namespace, where the test process cannot listen: prints `listening URL` once ready, then each alert
 * it receives as one JSON line.
 */
import { WebhookReceiver } from './webhook-receiver.js';

const receiver = new WebhookReceiver((alert) => process.stdout.write(`${JSON.stringify(alert)}\n`));
const url = await receiver.start(Number(process.argv[2] ?? 0));
process.stdout.write(`listening ${url}\n`);
process.once('SIGTERM', () => void receiver.close().then(() => process.exit(0)));
