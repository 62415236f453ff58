import 'reflect-metadata';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { DialPlanApp, validateFlow, type Flow, type FlowDraft, type FlowStep } from '../domain/flow/flow';
import { FakePort } from '../test/support/fakes';
import { PLAN_CALL_DEFAULTS, planInvite } from '../test/support/plan-call';
import { systemClock } from '../worker/clock';
import { callerCondition } from '../worker/dialplan/apps/caller-condition';
import { hangup } from '../worker/dialplan/apps/hangup';
import { timeCondition } from '../worker/dialplan/apps/time-condition';
import { MAX_STEPS_PER_CALL, PlanRunner, type AppExecutor, type PlanCall, type PlanEnd, type PlanToRun } from '../worker/dialplan/runner';
import { measureRingGroups, percentile, ringGroupMarkdown, RING_GROUP_SIZES } from './dial-plan-ring';

/**
 * The dial plan engine's cost, and a ring group's time to CANCEL the targets that lost. Writes
 * bench/results/dial-plan.md.
 *
 * 1. The engine's added time per step, in this process: the worker's PlanRunner with its own
 *    executors runs plans of non-waiting steps (TIME_CONDITION, CALLER_CONDITION) ending in HANGUP,
 *    1 to 32 steps (MAX_STEPS_PER_CALL), many thousands of times each, every run timed on its own.
 * 2. A PARALLEL ring group end to end over SIP on loopback (dial-plan-ring.ts): the winner's 200 to
 *    each loser's CANCEL.
 *
 * `npm run bench:dial-plan` (`--no-write` to only print). Database: DATABASE_URL's server when
 * set, else an embedded PostgreSQL. About a minute.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const RESULTS = path.join(ROOT, 'bench', 'results', 'dial-plan.md');
const COMPANY = 'company';
const WARM_UP_RUNS = 2_000;
const RUNS = 12_000;
/** Runs are spread over rounds, each plan's turn interleaved with the others', so a slow spell of the machine hits every plan. */
const ROUNDS = 6;

type Condition = 'TIME_CONDITION' | 'CALLER_CONDITION';

/** Office hours Monday to Friday with two holiday ranges: a company's usual opening hours. */
const OFFICE_HOURS = {
  rules: [{ weekdays: ['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY'], from: '08:00', to: '18:00' }],
  holidays: [{ from: '2026-12-24', to: '2026-12-26' }, { from: '2027-01-01', to: '2027-01-01' }],
};
/** A caller list: two numbers and two prefixes, none of them the benchmark's caller (+4930901820), so every entry is tried. */
const KNOWN_CALLERS = { numbers: ['+442079460123', '+4989123456'], prefixes: ['+4940', '+331'], anonymous: false };

/** `conditions` chained by both exits, then HANGUP 486: every run takes every step. Validated as the API validates a saved flow. */
function chain(name: string, conditions: readonly Condition[]): { name: string; plan: PlanToRun; steps: number } {
  const steps = conditions.map((app, index) => {
    const next = index + 1 < conditions.length ? `s${index + 1}` : 'busy';
    const settings = app === 'TIME_CONDITION' ? { timeCondition: OFFICE_HOURS } : { callerCondition: KNOWN_CALLERS };
    return { id: `s${index}`, app, ...settings, exits: [{ on: 'match', stepId: next }, { on: 'noMatch', stepId: next }] };
  });
  const draft = { entryStepId: conditions.length > 0 ? 's0' : 'busy', steps: [...steps, { id: 'busy', app: 'HANGUP', hangup: { status: 486 } }] };
  const result = validateFlow(draft as unknown as FlowDraft);
  if (!result.ok) throw new Error(`bench flow refused: ${result.problems.join('; ')}`);
  const flow: Flow = result.flow;
  return { name, plan: { id: `plan-${name}`, flow }, steps: conditions.length + 1 };
}

const alternating = (count: number): Condition[] => Array.from({ length: count }, (_, i) => (i % 2 === 0 ? 'TIME_CONDITION' : 'CALLER_CONDITION'));
const LONGEST = MAX_STEPS_PER_CALL - 1;
const PLANS = [
  chain('HANGUP alone', []),
  chain('TIME and CALLER alternating', alternating(7)),
  chain('TIME and CALLER alternating', alternating(15)),
  chain('TIME and CALLER alternating', alternating(LONGEST)),
  chain('TIME_CONDITION only', Array<Condition>(LONGEST).fill('TIME_CONDITION')),
  chain('CALLER_CONDITION only', Array<Condition>(LONGEST).fill('CALLER_CONDITION')),
];

/** The call a worker hands the runner, as the runner's unit tests build it: a carrier's INVITE, a company in Europe/Berlin. */
const CALL: PlanCall = {
  ...PLAN_CALL_DEFAULTS,
  invite: planInvite('bench-1@carrier', 'z9hG4bK-bench'),
  port: new FakePort(),
  clock: systemClock,
  logger: pino({ level: 'silent' }),
  recordRoute: { uri: 'sip:192.0.2.1:5060;lr', params: {} },
  startBranch: () => undefined,
  facts: { ...PLAN_CALL_DEFAULTS.facts, companyId: COMPANY },
  snapshot: { ...PLAN_CALL_DEFAULTS.snapshot, dialPlans: new Map(), companies: new Map([[COMPANY, { id: COMPANY, timeZone: 'Europe/Berlin' }]]) },
};

interface PlanFigures {
  readonly name: string;
  readonly steps: number;
  readonly runs: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly meanUs: number;
}

/** One run of `plan`, nanoseconds from `new PlanRunner` to its end; checks the run took every step and ended with 486. */
function timedRun(plan: PlanToRun, steps: number): number {
  const seen = { status: 0, entered: 0 };
  const onEnd = (end: PlanEnd): void => {
    seen.status = end.kind === 'Respond' ? end.status : end.response.status;
  };
  const began = process.hrtime.bigint();
  new PlanRunner(plan, CALL, onEnd, (event) => event.kind === 'Entered' && seen.entered++).start();
  const ns = Number(process.hrtime.bigint() - began);
  if (seen.status !== 486 || seen.entered !== steps) throw new Error(`plan ${plan.id} ended with ${seen.status} after ${seen.entered} steps`);
  return ns;
}

/** One call of `executor` on `step` alone (no runner), in nanoseconds; checks it ended. */
function timedCall(executor: AppExecutor<DialPlanApp>, step: FlowStep): number {
  let ended = false;
  const began = process.hrtime.bigint();
  executor(step, CALL, () => (ended = true), 'plan');
  const ns = Number(process.hrtime.bigint() - began);
  if (!ended) throw new Error(`${step.app} did not end`);
  return ns;
}

interface EngineFigures {
  readonly plans: PlanFigures[];
  /** Per app: its executor called alone (ns per call, p50), and the plan of that app only to read its time per step from. */
  readonly apps: { readonly app: DialPlanApp; readonly aloneNs: number; readonly plan: PlanFigures }[];
  readonly timerNs: number;
}

function measureEngine(): EngineFigures {
  const at = (name: string): number => PLANS.findIndex((plan) => plan.name === name);
  const apps = [
    { app: DialPlanApp.HANGUP, executor: hangup, plan: at('HANGUP alone') },
    { app: DialPlanApp.TIME_CONDITION, executor: timeCondition, plan: at('TIME_CONDITION only') },
    { app: DialPlanApp.CALLER_CONDITION, executor: callerCondition, plan: at('CALLER_CONDITION only') },
  ].map(({ app, executor, plan }) => ({ app, plan, executor: executor as AppExecutor<DialPlanApp>, step: PLANS[plan].plan.flow.steps[0] }));
  for (let i = 0; i < WARM_UP_RUNS; i++) {
    for (const { plan, steps } of PLANS) timedRun(plan, steps);
    for (const { executor, step } of apps) timedCall(executor, step);
  }
  const samples = PLANS.map(() => new Float64Array(RUNS));
  const alone = apps.map(() => new Float64Array(RUNS));
  const timer = new Float64Array(RUNS);
  const perRound = RUNS / ROUNDS;
  for (let round = 0; round < ROUNDS; round++) {
    const first = round * perRound;
    PLANS.forEach(({ plan, steps }, index) => {
      for (let i = first; i < first + perRound; i++) samples[index][i] = timedRun(plan, steps);
    });
    apps.forEach(({ executor, step }, index) => {
      for (let i = first; i < first + perRound; i++) alone[index][i] = timedCall(executor, step);
    });
    for (let i = first; i < first + perRound; i++) {
      const began = process.hrtime.bigint();
      timer[i] = Number(process.hrtime.bigint() - began);
    }
  }
  const plans = PLANS.map(({ name, steps }, index) => {
    const sorted = samples[index].sort();
    const total = sorted.reduce((sum, ns) => sum + ns, 0);
    return { name, steps, runs: RUNS, p50Us: percentile(sorted, 50) / 1000, p99Us: percentile(sorted, 99) / 1000, meanUs: total / RUNS / 1000 };
  });
  return {
    plans,
    apps: apps.map(({ app, plan }, index) => ({ app, aloneNs: percentile(alone[index].sort(), 50), plan: plans[plan] })),
    timerNs: percentile(timer.sort(), 50),
  };
}

function engineMarkdown(engine: EngineFigures): string[] {
  const base = engine.plans[0];
  const perStep = (plan: PlanFigures, from: PlanFigures, key: 'p50Us' | 'meanUs'): string => ((plan[key] - from[key]) / (plan.steps - from.steps)).toFixed(2);
  const rows = engine.plans.map((plan, index) => {
    const previous = engine.plans[index - 1];
    const fromShorter = index > 0 && plan.name === previous.name ? perStep(plan, previous, 'p50Us') : '';
    const fromOne = plan === base ? '' : perStep(plan, base, 'p50Us');
    return `| ${plan.name} | ${plan.steps} | ${plan.runs} | ${plan.p50Us.toFixed(2)} / ${plan.p99Us.toFixed(2)} | ${plan.meanUs.toFixed(2)} | ${fromOne} | ${fromShorter} |`;
  });
  return [
    '## 1. The engine: added time per step',
    '',
    `The worker's \`PlanRunner\` with its own executors (worker/dialplan/runner.ts), in one thread of this process, on the`,
    'call a worker hands it (a carrier INVITE from +4930901820 to +442079460001, the company in Europe/Berlin, the real',
    'clock). Plans: a chain of TIME_CONDITION (office hours, two holiday ranges) and CALLER_CONDITION (two numbers and two',
    'prefixes, none matching, so each is tried) steps whose two exits both lead on, ending in HANGUP 486; validated as the',
    `API validates a saved flow. The longest has ${MAX_STEPS_PER_CALL} steps, the runner's cap per call. Each plan: ${WARM_UP_RUNS.toLocaleString('en')} runs to warm up, then`,
    `${RUNS.toLocaleString('en')} runs in ${ROUNDS} rounds interleaved with the other plans; each run timed on its own with \`process.hrtime.bigint\``,
    `from \`new PlanRunner\` to the plan's end (every run checked to take every step and end with 486). Reading the clock`,
    `twice costs ${engine.timerNs.toFixed(0)} ns (p50), included in the run times. Per added step: the difference of p50 run times`,
    'divided by the difference in steps.',
    '',
    '| plan | steps | runs | run µs p50 / p99 | run µs mean | µs per added step, vs HANGUP alone | µs per added step, vs the shorter plan above |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    '',
    'Per app kind: the time a step of that kind adds to a run (from its 32-step plan against HANGUP alone, p50 and mean',
    'run times), beside its executor called alone on the same step and call (no runner; as many calls, timed one by one in',
    "the same rounds, p50). The difference of the p50s is the runner's own work per step: finding the step and its exit's",
    'target in the flow, the step events, the call-over check, the closure per step. For HANGUP, the single step of a',
    '1-step run: the difference is a whole run without the app (`new PlanRunner`, the entry, the events, the end).',
    '',
    "| app | µs per step in a plan, p50 / mean | executor alone, µs p50 | the runner's own, µs per step (p50 - alone) |",
    '|---|---|---|---|',
    ...engine.apps.map(({ app, aloneNs, plan }) => {
      const p50 = plan === base ? plan.p50Us : (plan.p50Us - base.p50Us) / (plan.steps - base.steps);
      const mean = plan === base ? plan.meanUs : (plan.meanUs - base.meanUs) / (plan.steps - base.steps);
      return `| ${app} | ${p50.toFixed(2)} / ${mean.toFixed(2)} | ${(aloneNs / 1000).toFixed(2)} | ${(p50 - aloneNs / 1000).toFixed(2)} |`;
    }),
  ];
}

async function main(): Promise<void> {
  const write = !process.argv.includes('--no-write');
  const began = Date.now();
  const loadBefore = os.loadavg()[0];
  process.stdout.write(`engine: ${PLANS.length} plans, ${WARM_UP_RUNS} + ${RUNS} runs each\n`);
  const engine = measureEngine();
  process.stdout.write(`ring groups of ${RING_GROUP_SIZES.join(', ')} targets over SIP on loopback\n`);
  const rings = await measureRingGroups();
  const markdown = [
    '# Dial plans: the engine per step, a ring group to CANCEL',
    '',
    `\`npm run bench:dial-plan\` (bench/dial-plan.ts, bench/dial-plan-ring.ts), ${new Date().toISOString().slice(0, 10)}, ${((Date.now() - began) / 1000).toFixed(0)} s.`,
    '',
    `- machine: ${os.cpus().length} CPUs, ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${os.release()}; Node ${process.version}`,
    `- shared with other work: load average ${loadBefore.toFixed(1)} at the start, ${os.loadavg()[0].toFixed(1)} at the end (1 min, ${os.cpus().length} CPUs); a quiet machine's figures may be lower, the p99 and max especially`,
    '',
    ...engineMarkdown(engine),
    '',
    ...ringGroupMarkdown(rings),
    '',
  ].join('\n');
  process.stdout.write(`\n${markdown}`);
  if (write) await writeFile(RESULTS, markdown);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
