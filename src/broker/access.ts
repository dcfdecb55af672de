import type { Logger } from 'pino';
import {
  AclOperation,
  type Authorizer,
  type BindingResourceType,
  CLUSTER_RESOURCE_NAME,
  codeName,
  type RequestedOperation,
  ResourceType,
  type Session,
} from '../security/index.js';
import type { RequestContext } from './api-handler.js';
import { LogThrottle } from './log-throttle.js';

/** Where refusals are counted (BrokerMetrics). */
export interface DenialCounter {
  authorizationDenied(api: string, resourceType: string): void;
}

/** Denial lines let through per window; the metric counts every one. */
const DENIAL_LINES_PER_WINDOW = 20;
const DENIAL_WINDOW_MS = 10_000;

/**
 * The authorization checks of the handlers, as Kafka's AuthHelper: `allows` is a check whose refusal the
 * client is told of, so it is counted and logged; `permits` is one whose refusal only narrows the answer
 * (Kafka's logIfDenied=false: a Metadata request for every topic leaves out those it may not describe).
 * Without an authorizer every check is true after a null check, so a broker without ACLs pays nothing else.
 */
export class Access {
  /** Every check passes: the broker runs without an authorizer. */
  static readonly OPEN = new Access(null, null);

  private constructor(
    /** Null: no authorizer, everything allowed (and the ACL APIs answer SECURITY_DISABLED). */
    readonly authorizer: Authorizer | null,
    private readonly denials: { counter: DenialCounter; log: LogThrottle } | null,
  ) {}

  static enforced(authorizer: Authorizer, counter: DenialCounter, logger: Logger): Access {
    return new Access(authorizer, {
      counter,
      log: new LogThrottle(logger, DENIAL_LINES_PER_WINDOW, DENIAL_WINDOW_MS),
    });
  }

  /** May the client do `operation` on the resource? A refusal is counted under `api` and logged. */
  allows(
    context: RequestContext,
    api: string,
    operation: RequestedOperation,
    resourceType: BindingResourceType,
    name: string,
  ): boolean {
    return this.allowsSession(context.session.aclSession, api, operation, resourceType, name);
  }

  /**
   * As allows, for a principal that reached the log through another door (MQTT, HTTP ingest): `api` names
   * that door in the denial metric and log.
   */
  allowsSession(
    session: Session,
    api: string,
    operation: RequestedOperation,
    resourceType: BindingResourceType,
    name: string,
  ): boolean {
    if (this.authorizer === null) return true;
    if (this.authorizer.authorize(session, operation, resourceType, name)) return true;
    this.denied(session, api, operation, resourceType, name);
    return false;
  }

  /** As allows, on the cluster. */
  allowsCluster(context: RequestContext, api: string, operation: RequestedOperation): boolean {
    return this.allows(context, api, operation, ResourceType.CLUSTER, CLUSTER_RESOURCE_NAME);
  }

  /** May the client do `operation` on the resource? A refusal is neither counted nor logged. */
  permits(
    context: RequestContext,
    operation: RequestedOperation,
    resourceType: BindingResourceType,
    name: string,
  ): boolean {
    return (
      this.authorizer === null ||
      this.authorizer.authorize(context.session.aclSession, operation, resourceType, name)
    );
  }

  /** As permits, on the cluster. */
  permitsCluster(context: RequestContext, operation: RequestedOperation): boolean {
    return this.permits(context, operation, ResourceType.CLUSTER, CLUSTER_RESOURCE_NAME);
  }

  /**
   * May the client create the topic, as Kafka decides for CreateTopics and auto-creation: CREATE on the
   * cluster (not logged when refused), else CREATE on the topic.
   */
  mayCreateTopic(context: RequestContext, api: string, name: string): boolean {
    return (
      this.permitsCluster(context, AclOperation.CREATE) ||
      this.allows(context, api, AclOperation.CREATE, ResourceType.TOPIC, name)
    );
  }

  private denied(
    session: Session,
    api: string,
    operation: RequestedOperation,
    resourceType: BindingResourceType,
    name: string,
  ): void {
    const type = codeName(ResourceType, resourceType);
    this.denials!.counter.authorizationDenied(api, type);
    // The principal and address only: nothing the client authenticated with.
    const { principal, host } = session;
    this.denials!.log.log((logger) =>
      logger.info(
        {
          api,
          principal,
          host,
          operation: codeName(AclOperation, operation),
          resourceType: type,
          resource: name,
        },
        'request denied by ACLs',
      ),
    );
  }
}
