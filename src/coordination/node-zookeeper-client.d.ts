// The parts of node-zookeeper-client 1.1.x (a CommonJS package without types) that zookeeper-coordinator.ts
// uses, checked against its index.js, lib/ConnectionManager.js, lib/Transaction.js and lib/Exception.js.
declare module 'node-zookeeper-client' {
  import type { EventEmitter } from 'node:events';
  import type { Socket } from 'node:net';

  export interface Stat {
    version: number;
    /** 8 bytes: the owning session's id for an ephemeral node, zeros for a persistent one. */
    ephemeralOwner: Buffer;
  }

  export interface Exception extends Error {
    getCode(): number;
  }
  export const Exception: {
    OK: number;
    CONNECTION_LOSS: number;
    OPERATION_TIMEOUT: number;
    NO_NODE: number;
    BAD_VERSION: number;
    NODE_EXISTS: number;
    NOT_EMPTY: number;
    SESSION_EXPIRED: number;
  };

  export const CreateMode: { PERSISTENT: number; EPHEMERAL: number };

  export type Watcher = (event: unknown) => void;

  /** One op of a multi; `version` is written as given (see zookeeper-coordinator.ts for why we set it). */
  export interface TransactionOp {
    version?: number;
  }

  export interface Transaction {
    ops: TransactionOp[];
    check(path: string, version: number): Transaction;
    create(path: string, data: Buffer, mode: number): Transaction;
    setData(path: string, data: Buffer, version: number): Transaction;
    remove(path: string, version: number): Transaction;
    commit(callback: (error: Exception | null, results?: unknown) => void): void;
  }

  /** Internal parts of the library's connection, used to close gaps in it. */
  export interface ConnectionManager {
    /** The socket to the current server, destroyed to leave a server that stopped answering. */
    socket?: Socket;
    /** Bytes of a response frame read so far: kept across reconnects by the library. */
    pendingBuffer: Buffer | null;
    onSocketData(buffer: Buffer): void;
    onSocketClosed(hasError: boolean): void;
  }

  export interface Client extends EventEmitter {
    connect(): void;
    close(): void;
    getSessionId(): Buffer;
    getSessionTimeout(): number;
    /** Internal: the connection to the current server (see guardFraming in zookeeper-coordinator.ts). */
    connectionManager: ConnectionManager;
    getData(
      path: string,
      watcher: Watcher | undefined,
      callback: (error: Exception | null, data?: Buffer | null, stat?: Stat) => void,
    ): void;
    getChildren(
      path: string,
      watcher: Watcher | undefined,
      callback: (error: Exception | null, children?: string[], stat?: Stat) => void,
    ): void;
    exists(
      path: string,
      watcher: Watcher | undefined,
      callback: (error: Exception | null, stat?: Stat | null) => void,
    ): void;
    create(
      path: string,
      data: Buffer,
      mode: number,
      callback: (error: Exception | null, path?: string) => void,
    ): void;
    mkdirp(path: string, callback: (error: Exception | null, path?: string) => void): void;
    setData(
      path: string,
      data: Buffer,
      version: number,
      callback: (error: Exception | null, stat?: Stat) => void,
    ): void;
    remove(path: string, version: number, callback: (error: Exception | null) => void): void;
    transaction(): Transaction;
  }

  export function createClient(
    connectString: string,
    options: { sessionTimeout: number; spinDelay: number; retries: number },
  ): Client;
}
