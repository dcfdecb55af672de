import { pythonInteropSuite } from './support/python-interop.js';

pythonInteropSuite('kafka-python', 'python3-kafka (kafka-python 2.0.2)');
