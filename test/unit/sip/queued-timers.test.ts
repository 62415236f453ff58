import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { collected, heapUsedAfterCollection } from '../../support/collected';
import { queuedTimers } from '../../../worker/sip/queued-timers';

const MS = 40;

describe('queuedTimers: the sip stack timers, one Node timer per queued duration', () => {
  it('runs the waits of a queued duration each at its time, in order, with its argument', async () => {
    const timers = queuedTimers({ durations: [MS] });
    const began = performance.now();
    const ran: [string, number][] = [];
    const record = (name: unknown) => ran.push([name as string, performance.now() - began]);
    timers.setTimeout(record, MS, 'a');
    await sleep(10);
    timers.setTimeout(record, MS, 'b');
    await sleep(10);
    timers.setTimeout(record, MS, 'c');
    await sleep(MS + 30);
    expect(ran.map(([name]) => name)).to.deep.equal(['a', 'b', 'c']);
    const starts = [0, 10, 20];
    ran.forEach(([name, at], i) => expect(at, name).to.be.at.least(starts[i] + MS - 1));
  });

  it('a cleared wait never runs and lets its argument go; other durations are Node timers', async () => {
    const timers = queuedTimers({ durations: [MS] });
    const ran: string[] = [];
    const put = (arg: unknown): WeakRef<object> => {
      const payload = { name: arg as string };
      const handle = timers.setTimeout(() => ran.push(payload.name), MS, payload);
      timers.clearTimeout(handle);
      return new WeakRef(payload);
    };
    const ref = put('cleared');
    timers.setTimeout((name) => ran.push(name as string), MS, 'kept');
    timers.clearTimeout(timers.setTimeout((name) => ran.push(name as string), MS + 1, 'node, cleared'));
    timers.setTimeout((name) => ran.push(name as string), MS + 1, 'node');
    timers.clearTimeout(undefined);
    expect(await collected(ref)).to.equal(true);
    await sleep(MS + 30);
    expect(ran).to.deep.equal(['kept', 'node']);
  });

  it('a wait added by a due callback runs once, at its own time; a throw costs its own wait only', async () => {
    const errors: unknown[] = [];
    const timers = queuedTimers({ durations: [MS], onError: (error) => errors.push(error) });
    const ran: string[] = [];
    timers.setTimeout(() => {
      throw new Error('first');
    }, MS);
    timers.setTimeout(() => {
      ran.push('second');
      timers.setTimeout(() => ran.push('added'), MS);
    }, MS);
    await sleep(MS + 20);
    expect(ran).to.deep.equal(['second']);
    expect(errors.map((error) => (error as Error).message)).to.deep.equal(['first']);
    await sleep(MS + 20);
    expect(ran).to.deep.equal(['second', 'added']);
  });

  it('holds 50,000 waits in less than 60 % of the heap that 50,000 Node timers take (about 40 % measured)', async () => {
    const callback = (): void => undefined;
    const measure = async (arm: () => unknown, disarm: (handle: unknown) => void): Promise<number> => {
      const before = await heapUsedAfterCollection();
      const handles = Array.from({ length: 50_000 }, () => arm());
      const used = (await heapUsedAfterCollection()) - before;
      for (const handle of handles) disarm(handle);
      return used;
    };
    const queued = queuedTimers({ durations: [60_000] });
    const byQueue = await measure(
      () => queued.setTimeout(callback, 60_000),
      (handle) => queued.clearTimeout(handle),
    );
    const byNode = await measure(
      () => setTimeout(callback, 60_000),
      (handle) => clearTimeout(handle as NodeJS.Timeout),
    );
    expect(byQueue).to.be.below(byNode * 0.6, `${byQueue} bytes queued, ${byNode} as Node timers`);
  });
});
