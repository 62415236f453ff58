import { quoteInput } from '../quote-input';
import { APPS, type DialPlanApp } from './apps';

export { DialPlanApp } from './apps';
export { ForwardCallerId, stepsPresentingPlanNumber } from './apps/forward';

/**
 * A dial plan's call flow: steps, each one app with its settings and named exits to other
 * steps, and an entry step. Stored as JSON on the dial plan and read by the SIP workers, so
 * this shape is the contract between the API and the dial plan engine. What each app accepts
 * lives in its own definition under `apps/`; this file holds what every flow shares.
 */

/**
 * One app's definition: the key its settings object has on a step (named after the app), the
 * exits it may leave by, whether it waits (a loop through an app that waits cannot spin), and
 * the check of its settings as a client sent them.
 */
export interface AppDefinition<Key extends string, Settings, Draft> {
  readonly settingsKey: Key;
  readonly exits: readonly string[];
  readonly waits: boolean;
  /** The exits of a step whose settings are `draft`, when they depend on its settings (a webhook's declared exits); else `exits`. */
  exitsOf?(draft: Draft): readonly string[];
  /**
   * Checks and normalises the settings. Each problem starts with `at` (the step's settings, e.g.
   * `flow.steps[2].forward`) and names the rule. Null when no usable settings can be built.
   */
  normalise(draft: Draft, at: string, problems: string[], context?: FlowContext): Settings | null;
}

/** What a flow is checked against besides itself, read when the plan is saved. */
export interface FlowContext {
  /** The operator's networks a webhook may reach besides public addresses (canonical CIDRs). */
  readonly webhookAllowedNetworks: readonly string[];
}

const NO_CONTEXT: FlowContext = { webhookAllowedNetworks: [] };

type Apps = typeof APPS;
type KeyOf<A extends DialPlanApp> = Apps[A]['settingsKey'];
type SettingsOf<A extends DialPlanApp> = Apps[A] extends AppDefinition<string, infer Settings, never> ? Settings : never;
type DraftOf<A extends DialPlanApp> = Apps[A] extends AppDefinition<string, unknown, infer Draft> ? Draft : never;

export interface FlowExit {
  readonly on: string;
  readonly stepId: string;
}

interface StepBase {
  readonly id: string;
  readonly exits: readonly FlowExit[];
}

/** A step: its app, and that app's settings under the app's own key (`forward`, `hangup`). */
export type FlowStep = { [A in DialPlanApp]: StepBase & { readonly app: A } & { readonly [K in KeyOf<A>]: SettingsOf<A> } }[DialPlanApp];

/** The step of one app, e.g. `StepOf<DialPlanApp.FORWARD>` has `forward`. */
export type StepOf<A extends DialPlanApp> = Extract<FlowStep, { readonly app: A }>;

export interface Flow {
  readonly entryStepId: string;
  readonly steps: readonly FlowStep[];
}

export const MAX_FLOW_STEPS = 100;
const STEP_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** An unvalidated flow as it arrives from a client: any settings object may be present. */
export interface FlowDraft {
  readonly entryStepId: string;
  readonly steps: readonly ({
    readonly id: string;
    readonly app: DialPlanApp;
    readonly exits?: readonly FlowExit[] | null;
  } & { readonly [A in DialPlanApp as KeyOf<A>]?: DraftOf<A> | null })[];
}

type StepDraft = FlowDraft['steps'][number];

export type FlowResult = { ok: true; flow: Flow } | { ok: false; problems: string[] };

const SETTINGS_KEYS: readonly string[] = Object.values(APPS).map((definition) => definition.settingsKey);

function buildStep(draft: StepDraft, at: string, problems: string[], context: FlowContext): FlowStep | null {
  const definition: AppDefinition<string, unknown, unknown> | undefined = APPS[draft.app];
  const settingsKey = definition?.settingsKey;
  const drafts = draft as unknown as Readonly<Record<string, unknown>>;
  for (const key of SETTINGS_KEYS) {
    if (key !== settingsKey && drafts[key] != null) {
      problems.push(`${at}: ${key} settings do not belong to a ${draft.app} step`);
    }
  }
  if (definition === undefined || settingsKey === undefined) {
    problems.push(`${at}: unknown app ${String(draft.app)}`);
    return null;
  }
  const settingsDraft = drafts[settingsKey];
  if (settingsDraft == null) {
    problems.push(`${at}: a ${draft.app} step needs ${settingsKey} settings`);
    return null;
  }
  const settings = definition.normalise(settingsDraft, `${at}.${settingsKey}`, problems, context);
  if (settings === null) return null;
  // The key and the settings come from the definition of `draft.app`: the shape is that app's step.
  return { id: draft.id, app: draft.app, [settingsKey]: settings, exits: draft.exits ?? [] } as unknown as FlowStep;
}

/** The exits a step may have: its app's, or those its settings declare. */
function exitsOfDraft(draft: StepDraft): readonly string[] {
  const definition: AppDefinition<string, unknown, unknown> | undefined = APPS[draft.app];
  if (definition === undefined) return [];
  const settingsDraft = (draft as unknown as Readonly<Record<string, unknown>>)[definition.settingsKey];
  return definition.exitsOf !== undefined && settingsDraft != null ? definition.exitsOf(settingsDraft) : definition.exits;
}

/** Steps reachable from the entry, following exits. */
function reachable(entry: string, byId: ReadonlyMap<string, FlowStep>): Set<string> {
  const seen = new Set<string>();
  const stack = [entry];
  while (stack.length > 0) {
    const id = stack.pop() as string;
    const step = byId.get(id);
    if (step === undefined || seen.has(id)) continue;
    seen.add(id);
    for (const exit of step.exits) stack.push(exit.stepId);
  }
  return seen;
}

/** A cycle made only of apps that do not wait would spin the engine: find one, if any. */
function findSpinningLoop(byId: ReadonlyMap<string, FlowStep>): string[] | null {
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (id: string): string[] | null => {
    const step = byId.get(id);
    if (step === undefined || APPS[step.app].waits) return null;
    if (state.get(id) === 'visiting') return [...path.slice(path.indexOf(id)), id];
    if (state.get(id) === 'done') return null;
    state.set(id, 'visiting');
    path.push(id);
    for (const exit of step.exits) {
      const loop = visit(exit.stepId);
      if (loop !== null) return loop;
    }
    path.pop();
    state.set(id, 'done');
    return null;
  };
  for (const id of byId.keys()) {
    const loop = visit(id);
    if (loop !== null) return loop;
  }
  return null;
}

/**
 * Validates a flow: unique well-formed step ids, settings matching each app, exits the app
 * knows and pointing at existing steps, every step reachable from the entry, and no loop
 * that could run without waiting. Returns every problem found, not just the first.
 */
export function validateFlow(draft: FlowDraft, context: FlowContext = NO_CONTEXT): FlowResult {
  const problems: string[] = [];
  if (draft.steps.length === 0) problems.push('flow.steps: a flow needs at least one step');
  if (draft.steps.length > MAX_FLOW_STEPS) problems.push(`flow.steps: at most ${MAX_FLOW_STEPS} steps`);
  const byId = new Map<string, FlowStep>();
  const ids = new Set<string>();
  draft.steps.forEach((stepDraft, index) => {
    const at = `flow.steps[${index}]`;
    if (!STEP_ID.test(stepDraft.id)) problems.push(`${at}.id must be 1..64 letters, digits, "_" or "-"`);
    if (ids.has(stepDraft.id)) problems.push(`${at}.id ${quoteInput(stepDraft.id)} is used by another step`);
    ids.add(stepDraft.id);
    const step = buildStep(stepDraft, at, problems, context);
    if (step !== null && !byId.has(step.id)) byId.set(step.id, step);
  });
  draft.steps.forEach((stepDraft, index) => {
    const allowed = exitsOfDraft(stepDraft);
    const seenExits = new Set<string>();
    (stepDraft.exits ?? []).forEach((exit, exitIndex) => {
      const at = `flow.steps[${index}].exits[${exitIndex}]`;
      if (!allowed.includes(exit.on)) {
        problems.push(`${at}.on: a ${stepDraft.app} step has ${allowed.length === 0 ? 'no exits' : `exits ${allowed.join(', ')}`}, not ${quoteInput(exit.on)}`);
      }
      if (seenExits.has(exit.on)) problems.push(`${at}.on: exit ${quoteInput(exit.on)} is given twice`);
      seenExits.add(exit.on);
      if (!ids.has(exit.stepId)) problems.push(`${at}.stepId: no step ${quoteInput(exit.stepId)}`);
    });
  });
  if (!ids.has(draft.entryStepId)) {
    problems.push(`flow.entryStepId: no step ${quoteInput(draft.entryStepId)}`);
  } else if (problems.length === 0) {
    const seen = reachable(draft.entryStepId, byId);
    const unreachable = [...ids].filter((id) => !seen.has(id));
    if (unreachable.length > 0) problems.push(`flow.steps: unreachable from the entry step: ${unreachable.join(', ')}`);
    const loop = findSpinningLoop(byId);
    if (loop !== null) problems.push(`flow.steps: loop without a waiting app: ${loop.join(' -> ')}`);
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, flow: { entryStepId: draft.entryStepId, steps: draft.steps.map((s) => byId.get(s.id) as FlowStep) } };
}
