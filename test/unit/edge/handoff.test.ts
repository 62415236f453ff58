import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { expect } from 'chai';
import { MAX_BATCH_DATAGRAMS, PackedReader } from '../../../worker/edge/datagram-batch';
import { Handoff } from '../../../worker/edge/handoff';
import { handoffNow } from '../../../worker/edge/handoff-clock';
import type { DatagramsMessage } from '../../../worker/edge/protocol';

interface Posted {
  readonly index: number;
  readonly texts: string[];
  readonly addresses: readonly string[];
  readonly ports: readonly number[];
  readonly receivedAt: readonly number[];
  readonly transferred: boolean;
}

function setup(accepts: (index: number) => boolean = () => true) {
  const posted: Posted[] = [];
  const undelivered: [number, number][] = [];
  let flushes: (() => void)[] = [];
  const handoff = new Handoff(
    (index, message: DatagramsMessage, transfer) => {
      const reader = new PackedReader(message);
      const each = <T>(read: (k: number) => T): T[] => Array.from({ length: reader.count }, (_, k) => read(k));
      posted.push({
        index,
        texts: each((k) => (reader.datagram(k) as Buffer).toString('latin1')),
        addresses: each((k) => reader.address(k)),
        ports: each((k) => reader.port(k)),
        receivedAt: each((k) => reader.stamp(k)),
        transferred: transfer.length === 1 && transfer[0] === message.bytes,
      });
      return accepts(index);
    },
    (index, count) => undelivered.push([index, count]),
    (flush) => flushes.push(flush),
  );
  /** Ends the turn: runs the flush it scheduled. */
  const endTurn = (): number => {
    const due = flushes;
    flushes = [];
    for (const flush of due) flush();
    return due.length;
  };
  const add = (index: number, text: string, stamp = 0): void => handoff.add(index, Buffer.from(text, 'latin1'), `192.0.2.${index}`, 5060 + index, stamp);
  return { handoff, posted, undelivered, endTurn, add };
}

describe('edge hand-off', () => {
  it('posts nothing until the turn ends, then one batch per worker with its datagrams in the order read', () => {
    const { posted, endTurn, add } = setup();
    add(0, 'a1', 1);
    add(2, 'c1', 2);
    add(0, 'a2', 3);
    add(1, 'b1', 4);
    add(0, 'a3', 5);
    add(2, 'c2', 6);
    expect(posted).to.deep.equal([]);
    expect(endTurn(), 'one flush scheduled for the turn').to.equal(1);
    expect(posted.map((batch) => [batch.index, batch.texts, batch.receivedAt])).to.deep.equal([
      [0, ['a1', 'a2', 'a3'], [1, 3, 5]],
      [1, ['b1'], [4]],
      [2, ['c1', 'c2'], [2, 6]],
    ]);
    expect(posted[0]).to.include({ transferred: true });
    expect(posted[0].addresses).to.deep.equal(['192.0.2.0', '192.0.2.0', '192.0.2.0']);
    expect(posted[0].ports).to.deep.equal([5060, 5060, 5060]);
  });

  it('a lone datagram goes out at the end of its turn, and a quiet turn posts nothing', () => {
    const { posted, endTurn, add } = setup();
    add(1, 'only');
    expect(endTurn()).to.equal(1);
    expect(posted.map((batch) => batch.texts)).to.deep.equal([['only']]);
    expect(endTurn()).to.equal(0);
    expect(posted).to.have.length(1);
  });

  it('keeps the datagram bytes it was given, whatever the caller does with its Buffer afterwards', () => {
    const { handoff, posted, endTurn } = setup();
    const buf = Buffer.from('INVITE', 'latin1');
    handoff.add(0, buf, '192.0.2.1', 5060, 0);
    buf.fill(0);
    endTurn();
    expect(posted[0].texts).to.deep.equal(['INVITE']);
  });

  for (const count of [MAX_BATCH_DATAGRAMS, MAX_BATCH_DATAGRAMS + 1]) {
    it(`${count} datagrams for one worker in a turn: ${count > MAX_BATCH_DATAGRAMS ? 'a full batch at once, the rest at the end of the turn' : 'one batch, posted the moment it is full'}`, () => {
      const { posted, endTurn, add } = setup();
      for (let k = 0; k < count; k++) add(0, `d${k}`);
      expect(posted.map((batch) => batch.texts.length)).to.deep.equal([MAX_BATCH_DATAGRAMS]);
      endTurn();
      expect(posted.map((batch) => batch.texts.length)).to.deep.equal(count > MAX_BATCH_DATAGRAMS ? [MAX_BATCH_DATAGRAMS, 1] : [MAX_BATCH_DATAGRAMS]);
      expect(posted.flatMap((batch) => batch.texts)).to.deep.equal(Array.from({ length: count }, (_, k) => `d${k}`));
    });
  }

  it('reports a batch its worker could not take, with how many datagrams it held', () => {
    const { posted, undelivered, endTurn, add } = setup((index) => index !== 1);
    add(0, 'kept');
    add(1, 'lost-1');
    add(1, 'lost-2');
    endTurn();
    expect(posted).to.have.length(2);
    expect(undelivered).to.deep.equal([[1, 2]]);
  });

  it('flush posts what is queued at once', () => {
    const { handoff, posted, add } = setup();
    add(0, 'x');
    handoff.flush();
    expect(posted.map((batch) => batch.texts)).to.deep.equal([['x']]);
  });
});

describe('hand-off clock', () => {
  it('reads the same in a worker thread as on the main thread: a worker\'s reading lies between two of the main thread\'s', async () => {
    const clock = path.join(__dirname, '..', '..', '..', 'worker', 'edge', 'handoff-clock.js');
    const worker = new Worker(
      `const { parentPort } = require('node:worker_threads');
       const { handoffNow } = require(${JSON.stringify(clock)});
       parentPort.on('message', () => parentPort.postMessage(handoffNow()));`,
      { eval: true },
    );
    try {
      for (let round = 0; round < 5; round++) {
        const before = handoffNow();
        worker.postMessage('now?');
        const [reading] = (await once(worker, 'message')) as [number];
        const after = handoffNow();
        expect(reading).to.be.within(before, after);
      }
    } finally {
      await worker.terminate();
    }
  });
});
