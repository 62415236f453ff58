import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Summarises the `.cpuprofile` files `node --cpu-prof` writes (one per thread of the product) into
 * the top entries by self time, per kind of thread: the main thread (the SIP edge), the SIP workers
 * (summed), and the rest (the API thread). A thread is told by the modules it ran: a SIP worker runs
 * `worker/worker-main`, the API thread `app/api-thread-main`.
 *
 * `node dist/bench/profile-summary.js DIR [TOP]` prints the markdown; bench/compare.ts uses it for
 * `--profile`. Self time is sampled on the wall clock: it includes time a thread was ready but had
 * no CPU, so on a saturated machine a syscall's share looks larger than its cost.
 */
interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export type ThreadKind = 'edge (main thread)' | 'SIP workers' | 'API thread';

export interface ThreadSummary {
  kind: ThreadKind;
  threads: number;
  /** Sampled time in all, and how much of it the thread was not idle, in ms. */
  totalMs: number;
  busyMs: number;
  top: { name: string; ms: number }[];
}

const IDLE = new Set(['(idle)', '(root)']);

function shortUrl(url: string): string {
  const at = url.search(/\/(node_modules|dist)\//);
  return at === -1 ? url : url.slice(at + 1);
}

function entryName(frame: CallFrame): string {
  const where = frame.url === '' ? '' : ` ${shortUrl(frame.url).replace(/^dist\//, '')}:${frame.lineNumber + 1}`;
  return `${frame.functionName === '' ? '(anonymous)' : frame.functionName}${where}`;
}

function kindOf(profile: CpuProfile, main: boolean): ThreadKind {
  if (main) return 'edge (main thread)';
  return profile.nodes.some((node) => node.callFrame.url.includes('worker/worker-main')) ? 'SIP workers' : 'API thread';
}

/** Self time per entry of one profile, in µs. */
function selfTimes(profile: CpuProfile): Map<string, number> {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const times = new Map<string, number>();
  profile.samples.forEach((id, index) => {
    const node = byId.get(id);
    if (node === undefined) return;
    const name = entryName(node.callFrame);
    times.set(name, (times.get(name) ?? 0) + (profile.timeDeltas[index] ?? 0));
  });
  return times;
}

export async function summarise(dir: string, top = 12): Promise<ThreadSummary[]> {
  const files = (await readdir(dir)).filter((file) => file.endsWith('.cpuprofile')).sort();
  const kinds = new Map<ThreadKind, { threads: number; times: Map<string, number> }>();
  for (const file of files) {
    const profile = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as CpuProfile;
    // CPU.<date>.<time>.<pid>.<thread id>.<sequence>.cpuprofile: thread 0 is the main thread.
    const kind = kindOf(profile, file.split('.')[4] === '0');
    const entry = kinds.get(kind) ?? { threads: 0, times: new Map<string, number>() };
    entry.threads++;
    for (const [name, us] of selfTimes(profile)) entry.times.set(name, (entry.times.get(name) ?? 0) + us);
    kinds.set(kind, entry);
  }
  return [...kinds].map(([kind, { threads, times }]) => {
    const all = [...times.values()].reduce((sum, us) => sum + us, 0);
    const busy = [...times].filter(([name]) => !IDLE.has(name)).reduce((sum, [, us]) => sum + us, 0);
    const ranked = [...times].filter(([name]) => !IDLE.has(name)).sort((a, b) => b[1] - a[1]);
    return { kind, threads, totalMs: all / 1000, busyMs: busy / 1000, top: ranked.slice(0, top).map(([name, us]) => ({ name, ms: us / 1000 })) };
  });
}

/** Markdown: per kind of thread, the top entries as a share of that kind's busy time. */
export function summaryMarkdown(summaries: readonly ThreadSummary[]): string[] {
  const lines: string[] = [];
  for (const summary of summaries) {
    const busyPct = summary.totalMs === 0 ? 0 : (100 * summary.busyMs) / summary.totalMs;
    lines.push('', `**${summary.kind}** (${summary.threads} thread${summary.threads === 1 ? '' : 's'}, busy ${busyPct.toFixed(0)} % of the sampled time)`, '');
    lines.push('| self time, % of busy | entry |', '|---|---|');
    for (const entry of summary.top) lines.push(`| ${((100 * entry.ms) / summary.busyMs).toFixed(1)} | \`${entry.name}\` |`);
  }
  return lines;
}

if (require.main === module) {
  const [dir, top] = process.argv.slice(2);
  if (dir === undefined) {
    process.stderr.write('usage: node dist/bench/profile-summary.js DIR [TOP]\n');
    process.exit(2);
  }
  summarise(dir, top === undefined ? 12 : Number(top))
    .then((summaries) => process.stdout.write(`${summaryMarkdown(summaries).join('\n')}\n`))
    .catch((error: unknown) => {
      process.stderr.write(`${String(error)}\n`);
      process.exit(1);
    });
}
