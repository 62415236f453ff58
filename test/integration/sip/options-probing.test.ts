import { expect } from 'chai';
import pino from 'pino';
import type { Config } from '../../../app/config';
import { startSipRole, type SipRole } from '../../../app/sip-role';
import { OPERATOR_KEY, TEST_REALM } from '../../support/api';
import { SipHarness } from '../../support/sip-harness';
import { actAsPbx, placeCall, SipPeer, waitUntil, type PbxMode, type Remote } from '../../support/sip-peer';
import type { SipRequest } from '../../../worker/sip/message';

/** One probe second lasts this long: the 5 s interval (the minimum) is 250 ms, and so is the timeout. */
const PROBE_SECOND_MS = 50;
const INTERVAL_MS = 5 * PROBE_SECOND_MS;
const HEALTH_CHECK = { enabled: true, intervalSeconds: 5, failuresToDown: 3, successesToUp: 2 };

type OptionsMode = { readonly kind: 'answer'; readonly status: number } | { readonly kind: 'silent' } | { readonly kind: 'drop-next' };

/** A PBX peer that answers INVITEs as `actAsPbx` does and OPTIONS as the test says, noting when each OPTIONS came and from where. */
function pbxWithOptions(peer: SipPeer, invites: () => PbxMode) {
  const seen = actAsPbx(peer, invites);
  const calls = peer.handler;
  const state = { mode: { kind: 'answer', status: 200 } as OptionsMode, options: [] as { at: number; from: Remote; request: SipRequest; answered: boolean }[] };
  peer.handler = (request, remote) => {
    if (request.method !== 'OPTIONS') return calls?.(request, remote);
    const mode = state.mode;
    const answered = mode.kind === 'answer';
    state.options.push({ at: performance.now(), from: remote, request, answered });
    if (mode.kind === 'drop-next') state.mode = { kind: 'answer', status: 200 };
    if (mode.kind === 'answer') peer.reply(request, mode.status, mode.status === 200 ? 'OK' : 'Method Not Allowed');
  };
  return { seen, state };
}

describe('OPTIONS probing (real SIP on loopback)', function () {
  this.timeout(60_000);
  let h: SipHarness;
  let pbx: SipPeer;
  let mobile: SipPeer;
  let invites: PbxMode = { kind: 'answer' };
  let probed: ReturnType<typeof pbxWithOptions>;
  let trunk: { trunkId: string; key: string };
  const DID = '+442079462201';

  const health = async () =>
    ((await h.api.dataSource.query('SELECT state, reason, since, last_probe_at, last_probe_rtt_ms FROM trunk_health WHERE trunk_id = $1', [trunk.trunkId])) as {
      state: string;
      reason: string | null;
      since: Date;
      last_probe_at: Date | null;
      last_probe_rtt_ms: number | null;
    }[])[0];
  const events = async () =>
    ((await h.api.dataSource.query('SELECT type, reason FROM trunk_event WHERE trunk_id = $1 ORDER BY id', [trunk.trunkId])) as { type: string; reason: string | null }[]).map(
      (event) => `${event.type}:${event.reason ?? ''}`,
    );
  /** Sets how the PBX answers OPTIONS and waits until the trunk is `state` on every worker; returns the OPTIONS seen meanwhile. */
  const until = async (mode: OptionsMode, state: 'UP' | 'DOWN') => {
    const from = probed.state.options.length;
    probed.state.mode = mode;
    await h.applying(() => waitUntil(async () => (await health()).state === state, 10_000, `the trunk ${state}`), 'trunk_health', trunk.trunkId, 12_000);
    return probed.state.options.slice(from);
  };

  before(async () => {
    h = await SipHarness.start({ workers: 2, probeSecondMs: PROBE_SECOND_MS });
    pbx = await SipPeer.start('pbx');
    mobile = await SipPeer.start('mobile');
    probed = pbxWithOptions(pbx, () => invites);
    actAsPbx(mobile, () => ({ kind: 'answer' }));
    trunk = await h.trunk({
      username: 'probed-pbx',
      number: DID,
      healthCheck: HEALTH_CHECK,
      failover: { noProvisionalTimeoutSeconds: 1 },
      flow: { entryStepId: 'mobile', steps: [{ id: 'mobile', app: 'FORWARD', forward: { target: mobile.uri, ringTimeoutSeconds: 5 }, exits: [] }] },
    });
    await h.registerPbx(pbx, 'probed-pbx');
    await until({ kind: 'answer', status: 200 }, 'UP');
  });
  after(async () => {
    pbx.stop();
    mobile.stop();
    await h.stop();
  });

  it('probes the binding with a well-formed OPTIONS and fills lastProbeAt and lastProbeRttMs', async () => {
    const { request } = await waitUntil(() => probed.state.options.at(-1), 3000, 'an OPTIONS');
    expect(request.uri).to.equal(pbx.uri);
    expect(request.headers.to.uri).to.equal(pbx.uri);
    expect(request.headers.from.params.tag).to.be.a('string');
    expect(Number(request.headers['max-forwards'])).to.equal(70);
    expect(request.headers.cseq.method).to.equal('OPTIONS');
    const read = await waitUntil(async () => {
      const result = await h.api.ok<{ trunk: { health: { lastProbeAt: string | null; lastProbeRttMs: number | null } } }>(
        trunk.key,
        `query ($id: ID!) { trunk(id: $id) { health { lastProbeAt lastProbeRttMs } } }`,
        { id: trunk.trunkId },
      );
      return result.trunk.health.lastProbeAt !== null && result.trunk.health.lastProbeRttMs !== null ? result.trunk.health : null;
    });
    expect(Date.now() - Date.parse(read.lastProbeAt as string)).to.be.below(5000);
    expect(read.lastProbeRttMs).to.be.within(0, 1000);
  });

  it('a PBX that stops answering goes DOWN after 3 probes, the next call fails over at once with PBX_DOWN; answering again it is UP after 2 and calls reach it', async () => {
    const before = (await events()).length;
    invites = { kind: 'silent' };
    const silent = await until({ kind: 'silent' }, 'DOWN');
    expect(silent.length).to.be.at.least(HEALTH_CHECK.failuresToDown, 'DOWN only after the threshold of unanswered probes');
    expect(await health()).to.include({ reason: 'PROBES_FAILING' });
    const invitesBefore = probed.seen.invites.length;
    const started = performance.now();
    const call = placeCall(h.carrier, h.proxy, DID);
    expect((await call.final()).status).to.equal(200, 'failed over to the mobile');
    expect(performance.now() - started).to.be.below(100);
    expect(await h.record(call.callId)).to.include({ outcome: 'FAILED_OVER', failover_reason: 'PBX_DOWN' });
    expect(probed.seen.invites.length).to.equal(invitesBefore, 'no INVITE reached the PBX');

    invites = { kind: 'reject', status: 486 };
    const answered = await until({ kind: 'answer', status: 200 }, 'UP');
    expect(answered.filter((entry) => entry.answered).length).to.be.at.least(HEALTH_CHECK.successesToUp);
    const again = placeCall(h.carrier, h.proxy, DID);
    expect((await again.final()).status).to.equal(486, 'the call reached the PBX');
    expect((await events()).slice(before)).to.deep.equal(['FAILOVER_STARTED:PROBES_FAILING', 'FAILOVER_ENDED:']);
  });

  it('one lost OPTIONS in a run of answered ones changes nothing', async () => {
    const { since } = await health();
    const before = (await events()).length;
    const from = probed.state.options.length;
    probed.state.mode = { kind: 'drop-next' };
    await waitUntil(() => probed.state.options.length >= from + 6, 5000, 'five probes after the lost one');
    const run = probed.state.options.slice(from);
    expect(run.map((entry) => entry.answered)).to.deep.equal([false, true, true, true, true, true]);
    // The batch after the last probe has been applied.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await health()).to.include({ state: 'UP' });
    expect((await health()).since.getTime()).to.equal(since.getTime());
    expect((await events()).length).to.equal(before);
  });

  it('a PBX answering OPTIONS with 405 is alive: it brings a DOWN trunk back', async () => {
    await until({ kind: 'silent' }, 'DOWN');
    const answered = await until({ kind: 'answer', status: 405 }, 'UP');
    expect(answered.some((entry) => entry.answered)).to.equal(true);
    probed.state.mode = { kind: 'answer', status: 200 };
  });
});

describe('OPTIONS probing with two SIP nodes on one database', function () {
  this.timeout(60_000);
  let h: SipHarness;
  let second: SipRole;
  const pbxs: SipPeer[] = [];

  before(async () => {
    h = await SipHarness.start({ workers: 2, probeSecondMs: PROBE_SECOND_MS });
    const config: Config = {
      role: 'sip',
      databaseUrl: h.api.database.url,
      dataDir: '/nonexistent',
      apiHost: '127.0.0.1',
      apiPort: 0,
      sipHost: '127.0.0.1',
      sipPort: 0,
      sipPublicAddress: '127.0.0.1',
      sipRealm: TEST_REALM,
      sipWorkers: 2,
      operatorApiKey: OPERATOR_KEY,
      logLevel: 'silent',
    };
    second = await startSipRole(config, h.api.database.url, pino({ level: 'silent' }), { probeSecondMs: PROBE_SECOND_MS });
    // Both nodes count each other before there is anything to claim.
    await waitUntil(async () => ((await h.api.dataSource.query('SELECT count(*)::int AS n FROM probe_node WHERE alive_until > now()')) as { n: number }[])[0].n === 2, 5000, 'two live nodes');
  });
  after(async () => {
    for (const pbx of pbxs) pbx.stop();
    await second.stop();
    await h.stop();
  });

  it('each binding is probed once per interval by one node, and the two bindings by different nodes', async () => {
    const probed: ReturnType<typeof pbxWithOptions>[] = [];
    for (const [n, number] of ['+442079462301', '+442079462302'].entries()) {
      const pbx = await SipPeer.start(`pbx${n}`);
      pbxs.push(pbx);
      probed.push(pbxWithOptions(pbx, () => ({ kind: 'answer' })));
      await h.trunk({ username: `two-nodes-${n}`, number, healthCheck: HEALTH_CHECK });
      await h.registerPbx(pbx, `two-nodes-${n}`);
    }
    // Let the first claim rounds settle, then watch 3 s (12 intervals).
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const windowMs = 3000;
    const from = probed.map((p) => p.state.options.length);
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const nodes = new Set<number>();
    for (const [n, p] of probed.entries()) {
      const run = p.state.options.slice(from[n]);
      expect(run.length, `probes of binding ${n}`).to.be.within(windowMs / INTERVAL_MS - 3, windowMs / INTERVAL_MS + 1);
      const gaps = run.slice(1).map((entry, i) => entry.at - run[i].at);
      expect(Math.min(...gaps), `shortest gap between probes of binding ${n}`).to.be.above(INTERVAL_MS * 0.6);
      const sources = new Set(run.map((entry) => entry.from.port));
      expect(sources.size, `nodes probing binding ${n}`).to.equal(1);
      nodes.add([...sources][0]);
    }
    expect([...nodes].sort()).to.deep.equal([h.proxy.port, second.edge.address().port].sort(), 'one binding per node');
  });
});
