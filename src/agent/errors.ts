/** What went wrong in the agent, as a stable code (docs/agent.md). */
export type AgentErrorCode =
  | 'SS_MISSING'
  | 'SS_FAILED'
  | 'PROC_NET_UNREADABLE'
  | 'SPOOL_RECORD_TOO_LARGE'
  | 'AGENT_CONFIG';

export class AgentError extends Error {
  constructor(
    readonly code: AgentErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AgentError';
  }
}
