import { BROKER_USAGE, brokerCommand } from './broker-command.js';
import { CLOUD_USAGE, cloudCommand } from './cloud-command.js';
import { CLUSTER_USAGE, clusterCommand } from './cluster-command.js';
import { consumeCommand, groupCommand, KAFKA_USAGE, produceCommand, topicCommand } from './kafka-commands.js';
import { logDump, logVerify } from './log-commands.js';
import { MIRROR_USAGE, mirrorCommand } from './mirror-command.js';
import { SIMULATE_USAGE, simulateCommand } from './simulate-command.js';
import { demoCommand, START_USAGE, startCommand } from './start-command.js';
import { UsageError } from './usage-error.js';

const USAGE = `edgestream — edge streaming platform

Usage:
${START_USAGE}${BROKER_USAGE}${CLUSTER_USAGE}${MIRROR_USAGE}${CLOUD_USAGE}${KAFKA_USAGE}${SIMULATE_USAGE}  edgestream log verify --data-dir DIR     check every batch of every partition (CRC, offsets); exit 1 on damage
  edgestream log dump PARTITION_DIR        list the batches of one partition directory (DIR/topics/NAME/N)
        [--records]                        also decode and print each record
  edgestream help                          show this text
`;

type Command = (args: string[]) => Promise<number>;

/** Commands without a sub-action take every argument after their name. */
const singleWordCommands: Record<string, Command> = {
  broker: brokerCommand,
  cluster: clusterCommand,
  topic: topicCommand,
  produce: produceCommand,
  consume: consumeCommand,
  group: groupCommand,
  simulate: simulateCommand,
  start: startCommand,
  mirror: mirrorCommand,
  cloud: cloudCommand,
  demo: demoCommand,
};

const commands: Record<string, Command> = {
  'log verify': logVerify,
  'log dump': logDump,
};

async function main(argv: string[]): Promise<number> {
  const [group, action, ...rest] = argv;
  if (!group || group === 'help' || group === '--help' || group === '-h') {
    process.stdout.write(USAGE);
    return 0;
  }
  const single = singleWordCommands[group];
  if (single) return single(argv.slice(1));
  const command = commands[`${group} ${action ?? ''}`];
  if (!command) throw new UsageError(`unknown command '${argv.slice(0, 2).join(' ')}'`);
  return command(rest);
}

// A reader that stops early (`| head`) is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`edgestream: ${error.message}\n\n${USAGE}`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`edgestream: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
