import { z } from 'zod';
import { CoordinationError, type Coordinator } from '../coordination/index.js';
import { decodeNode, encodeNode, Paths } from './zk-layout.js';

/** Ids taken from the shared counter at once, as Kafka's producer id blocks. */
export const PRODUCER_ID_BLOCK_SIZE = 1000;
/** Compare-and-set attempts before giving up (other brokers taking blocks at the same moment). */
const MAX_CLAIM_ATTEMPTS = 20;

/** /latest_producer_id_block: the last block any broker took, [blockStart, blockEnd). */
const ProducerIdBlock = z.object({
  version: z.literal(1),
  brokerId: z.number().int(),
  blockStart: z.number().int().min(0),
  blockEnd: z.number().int().min(0),
});

/**
 * Producer ids unique across the cluster: each broker claims blocks of ids from one shared counter by
 * compare-and-set, so two brokers never hand out the same id (two idempotent producers sharing an id would
 * share sequence numbers, and one's records would be taken for the other's duplicates and dropped).
 */
export class ClusterProducerIds {
  private next = 0;
  private blockEnd = 0;
  private claiming: Promise<void> | null = null;

  constructor(
    private readonly coordinator: Coordinator,
    private readonly brokerId: number,
  ) {}

  /** A fresh id; rejects with a CoordinationError when no block can be claimed. */
  async allocate(): Promise<number> {
    while (this.next >= this.blockEnd) {
      this.claiming ??= this.claim().finally(() => {
        this.claiming = null;
      });
      await this.claiming;
    }
    return this.next++;
  }

  private async claim(): Promise<void> {
    for (let attempt = 0; attempt < MAX_CLAIM_ATTEMPTS; attempt++) {
      const node = await this.coordinator.get(Paths.producerIdBlock);
      const previous = node ? decodeNode(ProducerIdBlock, Paths.producerIdBlock, node.data) : null;
      if (previous instanceof Error) throw new CoordinationError('UNEXPECTED', previous.message);
      const blockStart = previous?.blockEnd ?? 0;
      const block = encodeNode({
        version: 1,
        brokerId: this.brokerId,
        blockStart,
        blockEnd: blockStart + PRODUCER_ID_BLOCK_SIZE,
      });
      const claimed = node
        ? (await this.coordinator.set(Paths.producerIdBlock, block, node.version)) !== null
        : await this.coordinator.create(Paths.producerIdBlock, block);
      if (claimed) {
        this.next = blockStart;
        this.blockEnd = blockStart + PRODUCER_ID_BLOCK_SIZE;
        return;
      }
    }
    throw new CoordinationError(
      'UNEXPECTED',
      `no producer id block claimed in ${MAX_CLAIM_ATTEMPTS} attempts`,
    );
  }
}
