export { ACCESS_LOG_FORMATS, type AccessLogFormat, isAccessLogFormat } from './access-log-formats.js';
export { AGENT_DEFAULTS, AGENT_LIMITS, Agent, type AgentOptions, type AgentStats } from './agent.js';
export { AgentError, type AgentErrorCode } from './errors.js';
export { AGENT_PROVENANCE_HEADER } from './forwarder.js';
export { SPOOL_BYTES_MIN } from './spool.js';
