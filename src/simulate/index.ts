export * from './generator.js';
export * from './scenarios.js';
export * from './simulator.js';
export * from './telemetry.js';
