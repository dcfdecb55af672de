import fs from 'node:fs';
import path from 'node:path';
import { LogError, writeFileAtomic } from '../log/index.js';

const PRODUCER_ID_BLOCK = 1000;

/** Where InitProducerId gets ids: this node's own counter, or on a cluster the shared one. */
export interface ProducerIdSource {
  allocate(): Promise<number>;
}

/** Hands out producer ids that never repeat across restarts, persisting one block of ids at a time. */
export class ProducerIdAllocator implements ProducerIdSource {
  private next: number;
  private blockEnd: number;
  private readonly file: string;

  constructor(dataDir: string) {
    this.file = path.join(dataDir, 'producer-ids.json');
    let start = 0;
    if (fs.existsSync(this.file)) {
      const saved = JSON.parse(fs.readFileSync(this.file, 'utf8')) as { nextBlock?: unknown };
      if (
        typeof saved.nextBlock !== 'number' ||
        !Number.isSafeInteger(saved.nextBlock) ||
        saved.nextBlock < 0
      ) {
        throw new LogError('INVALID_CONFIG', `${this.file}: expected {"nextBlock": <integer >= 0>}`);
      }
      start = saved.nextBlock;
    }
    this.next = start;
    this.blockEnd = start;
  }

  async allocate(): Promise<number> {
    if (this.next >= this.blockEnd) {
      this.blockEnd = this.next + PRODUCER_ID_BLOCK;
      writeFileAtomic(this.file, JSON.stringify({ nextBlock: this.blockEnd }));
    }
    return this.next++;
  }
}
