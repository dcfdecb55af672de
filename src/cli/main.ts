import { errorText } from './error-text.js';
import { UsageError } from './usage-error.js';

type Command = (args: string[]) => Promise<number>;

// Each command's module is imported only when that command runs: `edgestream broker` would otherwise load
// the monitoring pipelines, SQLite and the Kafka client it never uses (about 40 MB of RSS and 0.35 s before
// it listens, on a 2-core machine; bench/footprint-bench.ts measures it).

/** Commands without a sub-action take every argument after their name. */
const singleWordCommands: Record<string, () => Promise<Command>> = {
  broker: async () => (await import('./broker-command.js')).brokerCommand,
  cluster: async () => (await import('./cluster-command.js')).clusterCommand,
  topic: async () => (await import('./kafka-commands.js')).topicCommand,
  produce: async () => (await import('./kafka-commands.js')).produceCommand,
  consume: async () => (await import('./kafka-commands.js')).consumeCommand,
  group: async () => (await import('./kafka-commands.js')).groupCommand,
  simulate: async () => (await import('./simulate-command.js')).simulateCommand,
  start: async () => (await import('./start-command.js')).startCommand,
  mirror: async () => (await import('./mirror-command.js')).mirrorCommand,
  agent: async () => (await import('./agent-command.js')).agentCommand,
  cloud: async () => (await import('./cloud-command.js')).cloudCommand,
  demo: async () => (await import('./start-command.js')).demoCommand,
};

const commands: Record<string, () => Promise<Command>> = {
  'log verify': async () => (await import('./log-commands.js')).logVerify,
  'log dump': async () => (await import('./log-commands.js')).logDump,
  'acl create': async () => (await import('./acl-commands.js')).aclCreate,
  'acl list': async () => (await import('./acl-commands.js')).aclList,
  'acl delete': async () => (await import('./acl-commands.js')).aclDelete,
  'user create': async () => (await import('./user-commands.js')).userCreate,
  'user list': async () => (await import('./user-commands.js')).userList,
  'user delete': async () => (await import('./user-commands.js')).userDelete,
  'http-user hash': async () => (await import('./http-user-command.js')).httpUserHash,
  'http-user token': async () => (await import('./http-user-command.js')).httpUserToken,
};

/**
 * The usage text is put together from each command's own; printing it loads every command module, which
 * only `help` and a usage error do.
 */
async function usage(): Promise<string> {
  const [start, broker, cluster, mirror, cloud, kafka, simulate, agent, user, httpUser, acl] =
    await Promise.all([
      import('./start-command.js'),
      import('./broker-command.js'),
      import('./cluster-command.js'),
      import('./mirror-command.js'),
      import('./cloud-command.js'),
      import('./kafka-commands.js'),
      import('./simulate-command.js'),
      import('./agent-command.js'),
      import('./user-commands.js'),
      import('./http-user-command.js'),
      import('./acl-commands.js'),
    ]);
  return `edgestream — edge streaming platform

Usage:
${start.START_USAGE}${broker.BROKER_USAGE}${cluster.CLUSTER_USAGE}${mirror.MIRROR_USAGE}${cloud.CLOUD_USAGE}${kafka.KAFKA_USAGE}${simulate.SIMULATE_USAGE}${agent.AGENT_USAGE}${user.USER_USAGE}${acl.ACL_USAGE}${httpUser.HTTP_USER_USAGE}  edgestream log verify --data-dir DIR     check every batch of every partition (CRC, offsets); exit 1 on damage
  edgestream log dump PARTITION_DIR        list the batches of one partition directory (DIR/topics/NAME/N)
        [--records]                        also decode and print each record
  edgestream help                          show this text
`;
}

async function main(argv: string[]): Promise<number> {
  const [group, action, ...rest] = argv;
  if (!group || group === 'help' || group === '--help' || group === '-h') {
    process.stdout.write(await usage());
    return 0;
  }
  const single = singleWordCommands[group];
  if (single) return (await single())(argv.slice(1));
  const command = commands[`${group} ${action ?? ''}`];
  if (!command) throw new UsageError(`unknown command '${argv.slice(0, 2).join(' ')}'`);
  return (await command())(rest);
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
  async (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`edgestream: ${error.message}\n\n${await usage()}`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`edgestream: ${errorText(error)}\n`);
    process.exitCode = 1;
  },
);
