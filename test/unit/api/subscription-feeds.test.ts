import { expect } from 'chai';
import pino from 'pino';
import { TrunkHealthState } from '../../../domain/trunk-health';
import { notFound } from '../../../api/errors';
import { NotificationHub } from '../../../api/subscriptions/notification-hub';
import { TrunkEventFeed } from '../../../api/subscriptions/trunk-event-feed';
import { STATUS_POLL_MS, TrunkStatusFeed } from '../../../api/subscriptions/trunk-status-feed';
import type { TrunkEventObject } from '../../../api/trunk-event/trunk-event.type';
import { TrunkHealthType } from '../../../api/trunk/trunk-health.type';
import { trunkStatusOf, type TrunkStatusType } from '../../../api/trunk/trunk-status.type';
import { FakeClock } from '../../support/fakes';

const logger = pino({ level: 'silent' });
const TRUNK = '00000000-0000-4000-8000-000000000001';

/** A hub that is never connected: a registry of callbacks the test can count. */
function idleHub(): NotificationHub {
  return new NotificationHub({ connect: () => new Promise(() => undefined), logger });
}

function status(activeCalls: number): TrunkStatusType {
  const health = Object.assign(new TrunkHealthType(), { state: TrunkHealthState.UNKNOWN, reason: null, since: new Date(0), lastProbeAt: null, lastProbeRttMs: null });
  return trunkStatusOf(TRUNK, null, health, activeCalls);
}

/** Lets awaited reads and resolved waits run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('subscription feeds', () => {
  it('trunkStatus: the current status first, a changed one after a poll, none for an unchanged one', async () => {
    const clock = new FakeClock();
    const hub = idleHub();
    let current = status(0);
    let reads = 0;
    const feed = await TrunkStatusFeed.open({ read: async () => (reads++, current), hub, trunkId: TRUNK, clock, logger });
    expect((await feed.next()).value).to.deep.equal(status(0));
    let second: IteratorResult<TrunkStatusType> | null = null;
    void feed.next().then((result) => (second = result));
    await settle();
    clock.advance(STATUS_POLL_MS);
    await settle();
    expect([reads, second]).to.deep.equal([2, null]);
    current = status(2);
    clock.advance(STATUS_POLL_MS);
    await settle();
    expect(second).to.deep.equal({ done: false, value: status(2) });
  });

  it('trunkStatus: return() while waiting ends the pending next() and leaves no timer or callback', async () => {
    const clock = new FakeClock();
    const hub = idleHub();
    const feed = await TrunkStatusFeed.open({ read: async () => status(0), hub, trunkId: TRUNK, clock, logger });
    await feed.next();
    const pending = feed.next();
    await settle();
    expect([clock.pending(), hub.watcherCount()]).to.deep.equal([1, 2]);
    await feed.return();
    expect(await pending).to.deep.equal({ done: true, value: undefined });
    expect([clock.pending(), hub.watcherCount()]).to.deep.equal([0, 0]);
  });

  it('trunkStatus: a trunk deleted meanwhile ends the feed; one the actor may not see is refused with nothing left behind', async () => {
    const clock = new FakeClock();
    const hub = idleHub();
    let gone = false;
    const read = async (): Promise<TrunkStatusType> => {
      if (gone) throw notFound('Trunk', TRUNK);
      return status(0);
    };
    const feed = await TrunkStatusFeed.open({ read, hub, trunkId: TRUNK, clock, logger });
    await feed.next();
    const pending = feed.next();
    gone = true;
    await settle();
    clock.advance(STATUS_POLL_MS);
    expect(await pending).to.deep.equal({ done: true, value: undefined });
    expect([clock.pending(), hub.watcherCount()]).to.deep.equal([0, 0]);
    let refusal: unknown = null;
    await TrunkStatusFeed.open({ read, hub, trunkId: TRUNK, clock, logger }).catch((error: unknown) => (refusal = error));
    expect((refusal as Error).message).to.match(/not found/);
    expect([clock.pending(), hub.watcherCount()]).to.deep.equal([0, 0]);
  });

  it('trunkEvents: a failed read is retried on a timer, and return() cancels it and its callbacks', async () => {
    const clock = new FakeClock();
    const hub = idleHub();
    const event = { id: '8', trunkId: TRUNK, companyId: TRUNK, type: 'FAILOVER_STARTED', reason: null, at: new Date(0) } as TrunkEventObject;
    const asked: string[] = [];
    let failing = true;
    const source = {
      eventsAfter: async (_companyId: string, fromId: string): Promise<TrunkEventObject[]> => {
        asked.push(fromId);
        if (failing) throw new Error('database away');
        return fromId === '7' ? [event] : [];
      },
    };
    const feed = new TrunkEventFeed({ source, hub, companyId: TRUNK, fromId: '7', clock, logger });
    const first = feed.next();
    await settle();
    expect([asked, clock.pending()]).to.deep.equal([['7'], 1]);
    failing = false;
    clock.advance(1_000);
    expect(await first).to.deep.equal({ done: false, value: event });
    const pending = feed.next();
    await settle();
    expect(asked).to.deep.equal(['7', '7']);
    await feed.return();
    expect(await pending).to.deep.equal({ done: true, value: undefined });
    expect([clock.pending(), hub.watcherCount()]).to.deep.equal([0, 0]);
  });
});
