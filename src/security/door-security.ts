/**
 * What the log's other doors (the MQTT listener, the HTTP produce APIs) ask of the broker's security, so a
 * device or a REST client is held to the same users and ACLs as a Kafka client: one set of users (the SASL
 * users) and one set of ACLs, whichever protocol the records arrive by.
 */
export interface DoorSecurity {
  /** True when the broker has a SASL listener: its doors then require a user and password too. */
  readonly loginRequired: boolean;
  /** The password checked against the user's stored SCRAM credential, as SASL/PLAIN checks it. */
  checkPassword(user: string, password: string): Promise<boolean>;
  /**
   * May `principal` ("User:alice", or "User:ANONYMOUS" when nobody logged in) at `host` (its IP address) write
   * to `topic`? True when the broker runs without an authorizer. A refusal is counted and logged under `door`.
   */
  mayWrite(door: string, principal: string, host: string, topic: string): boolean;
}
