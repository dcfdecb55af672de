// A real ZooKeeper ensemble for integration tests: Debian's zookeeper 3.8 (scripts/debian-packages.json), one
// JVM per member on 127.0.0.1, each with its own temporary data directory and log file. The ensemble is the
// one `edgestream cluster local` runs (src/cli/zookeeper-ensemble.ts).
export {
  type Ensemble,
  type EnsembleMember,
  freePorts,
  startZooKeeperEnsemble,
} from '../../src/cli/zookeeper-ensemble.js';
