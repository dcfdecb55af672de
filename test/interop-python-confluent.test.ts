import { pythonInteropSuite } from './support/python-interop.js';

pythonInteropSuite('confluent', 'python3-confluent-kafka 1.7.0');
