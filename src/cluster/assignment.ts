/** A broker as replica placement sees it. */
export interface PlacementBroker {
  id: number;
  rack: string | null;
}

/**
 * Replicas for each partition of a new topic, spread over brokers and racks: brokers are ordered so that
 * neighbours sit on different racks (one from each rack in turn), partition p starts at position
 * start + p and takes the next `replicationFactor` brokers. Leaders (the first replica) rotate over every
 * broker, and with as many racks as replicas each partition has one replica per rack.
 */
export function assignReplicas(
  brokers: readonly PlacementBroker[],
  partitions: number,
  replicationFactor: number,
  start: number,
): number[][] {
  if (replicationFactor < 1) throw new RangeError(`replication factor ${replicationFactor} must be >= 1`);
  if (replicationFactor > brokers.length) {
    throw new RangeError(
      `replication factor ${replicationFactor} is larger than the ${brokers.length} live brokers`,
    );
  }
  const ordered = rackAlternating(brokers);
  const n = ordered.length;
  return Array.from({ length: partitions }, (_, p) =>
    Array.from({ length: replicationFactor }, (_, j) => ordered[(start + p + j) % n]!.id),
  );
}

function rackAlternating(brokers: readonly PlacementBroker[]): PlacementBroker[] {
  const byRack = new Map<string, PlacementBroker[]>();
  for (const broker of [...brokers].sort((a, b) => a.id - b.id)) {
    const rack = broker.rack ?? '';
    byRack.set(rack, [...(byRack.get(rack) ?? []), broker]);
  }
  const racks = [...byRack.keys()].sort();
  const ordered: PlacementBroker[] = [];
  for (let round = 0; ordered.length < brokers.length; round++) {
    for (const rack of racks) {
      const broker = byRack.get(rack)![round];
      if (broker) ordered.push(broker);
    }
  }
  return ordered;
}
