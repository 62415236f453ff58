import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { OPERATOR_KEY, TestApi } from '../test/support/api';
import { startTestServer, stopTestServer } from '../test/support/database';
import { actAsPbx, SipPeer } from '../test/support/sip-peer';
import { OPTIONS_HEALTH_CHECK, passiveSilence, probedSilence } from './trunk-health-calls';
import { eventStream } from './trunk-health-events';
import { healthMarkdown } from './trunk-health-report';
import { configureTrunk, Pbx, Product, Receiver, SIP_WORKERS } from './trunk-health-rig';

/**
 * Trunk health, end to end on loopback (issue 8's closing figures); writes
 * bench/results/trunk-health.md:
 *
 * 1. Failover time for a call to a dead PBX: health "off" (the calls before the trunk goes DOWN,
 *    each waiting the no-1xx timeout, as every call did before trunk health), passive detection
 *    (the calls after DOWN, PBX_DOWN at once), OPTIONS probing (DOWN from probes alone; reported
 *    "not measured" on a build without probing).
 * 2. From the PBX falling silent to the FAILOVER_STARTED webhook reaching a receiver, in parts.
 * 3. Event delivery latency over 1,000 events: webhook, and subscription when the build has them.
 *
 * `npm run bench:health` (`--timeout <s>` the trunks' no-1xx timeout, default the product's 15;
 * `--no-write` to only print). Database: DATABASE_URL's server when set, else an embedded
 * PostgreSQL. About 2 minutes (2.5 with probing).
 */
const ROOT = path.resolve(__dirname, '..', '..');
const RESULTS = path.join(ROOT, 'bench', 'results', 'trunk-health.md');
const DEFAULT_NO_PROVISIONAL_TIMEOUT_S = 15;

function settings(argv: readonly string[]): { timeoutS: number; write: boolean } {
  const at = argv.indexOf('--timeout');
  const timeoutS = at === -1 ? DEFAULT_NO_PROVISIONAL_TIMEOUT_S : Number(argv[at + 1]);
  if (!Number.isInteger(timeoutS) || timeoutS <= 0) throw new Error('--timeout takes whole seconds');
  return { timeoutS, write: !argv.includes('--no-write') };
}

function gitDescription(): string {
  const git = (...args: string[]) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' }).stdout ?? '';
  const commit = git('rev-parse', '--short', 'HEAD').trim();
  const dirty = git('status', '--porcelain', '--untracked-files=no').trim() !== '';
  return commit === '' ? 'not a git checkout' : `${commit}${dirty ? ' with uncommitted changes' : ''}`;
}

const say = (line: string) => process.stdout.write(`${line}\n`);

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const s = settings(argv);
  const began = Date.now();
  const loadBefore = os.loadavg()[0];
  say(`trunk health: no-1xx timeout ${s.timeoutS} s, ${SIP_WORKERS} SIP workers, --role all`);
  await startTestServer();
  const receiver = new Receiver();
  const peers: SipPeer[] = [];
  const pbxs: Pbx[] = [];
  let api: TestApi | null = null;
  let product: Product | null = null;
  try {
    api = await TestApi.start();
    await api.ok(OPERATOR_KEY, `mutation { createCarrier(input: { name: "Bench carrier", sourceCidrs: ["127.0.0.1/32"] }) { id } }`);
    await api.ok(OPERATOR_KEY, `mutation { setWebhookAllowedNetworks(cidrs: ["127.0.0.0/8"]) }`);
    const hooks = await receiver.start();
    const mobile = await SipPeer.start('mobile');
    peers.push(mobile);
    actAsPbx(mobile, () => ({ kind: 'answer' }));
    const [passivePbx, probedPbx] = [await Pbx.start('pbx-passive'), await Pbx.start('pbx-probed')];
    pbxs.push(passivePbx, probedPbx);
    const common = { mobileUri: mobile.uri, noProvisionalTimeoutSeconds: s.timeoutS };
    const passiveTrunk = await configureTrunk(api, { ...common, name: 'passive', did: '+442079467001', hookUrl: `${hooks}/passive` });
    const probedTrunk = await configureTrunk(api, { ...common, name: 'probed', did: '+442079467002', hookUrl: `${hooks}/probed`, healthCheck: OPTIONS_HEALTH_CHECK });
    const streamTrunk = await configureTrunk(api, { ...common, name: 'stream', did: '+442079467003', hookUrl: `${hooks}/stream` });

    const started = await Product.start(api.database.url);
    product = started.product;
    const carrier = await SipPeer.start('carrier');
    peers.push(carrier);
    const proxy = product.proxy;

    say('1-2. passive detection: the PBX falls silent while calls come');
    const passive = await passiveSilence(api, carrier, proxy, passivePbx, receiver, passiveTrunk, s.timeoutS);
    say(`  DOWN after ${(passive.downMs / 1000).toFixed(2)} s, webhook after ${(passive.webhookMs / 1000).toFixed(2)} s; ${passive.beforeDown.length} calls before DOWN, ${passive.pbxDown.length} PBX_DOWN, ${passive.trials.length} trials`);
    say('1-2. OPTIONS probing: the PBX falls silent, no call');
    const probed = await probedSilence(api, carrier, proxy, probedPbx, receiver, probedTrunk, s.timeoutS);
    say(probed.measured ? `  DOWN after ${(probed.figures.downMs / 1000).toFixed(2)} s, webhook after ${(probed.figures.webhookMs / 1000).toFixed(2)} s; ${probed.figures.pbxDown.length} PBX_DOWN` : `  ${probed.why}`);
    say('3. event delivery: 1,000 events');
    const events = await eventStream(api.database.url, started.apiUrl, receiver, streamTrunk);
    say(`  webhook: ${events.webhook.fromCommitMs.length} delivered, ${events.webhook.duplicates} duplicates; subscription: ${typeof events.subscription === 'string' ? events.subscription : `${events.subscription.fromCommitMs.length} delivered`}`);

    const markdown = healthMarkdown({
      command: `npm run bench:health${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`,
      date: new Date().toISOString().slice(0, 10),
      seconds: (Date.now() - began) / 1000,
      machine: `${os.cpus().length} CPUs, ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${os.release()}; Node ${process.version}`,
      loadBefore,
      loadAfter: os.loadavg()[0],
      cpus: os.cpus().length,
      code: gitDescription(),
      database: process.env.DATABASE_URL ? 'DATABASE_URL' : 'embedded PostgreSQL (fsync off, as in the tests)',
      timeoutS: s.timeoutS,
      workers: SIP_WORKERS,
      passive,
      probed,
      events,
      problems: product.problems(),
    });
    say(`\n${markdown}`);
    if (s.write) await writeFile(RESULTS, markdown);
  } finally {
    for (const peer of peers) peer.stop();
    for (const pbx of pbxs) pbx.stop();
    await product?.stop();
    await receiver.stop();
    await api?.stop();
    await stopTestServer();
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
