import { toE164 } from './phone-number';
import { parseSipUri } from './sip-uri';
import { quoteInput } from './quote-input';

/**
 * A dial plan's call flow: steps, each one app with its settings and named exits to other
 * steps, and an entry step. Stored as JSON on the dial plan and read by the SIP workers, so
 * this shape is the contract between the API and the dial plan engine.
 */
export enum DialPlanApp {
  FORWARD = 'FORWARD',
  HANGUP = 'HANGUP',
}

export interface ForwardSettings {
  /** An E.164 number (leaves through the outbound gateway) or a `sip:` URI. */
  readonly target: string;
  readonly ringTimeoutSeconds: number;
}

export interface HangupSettings {
  readonly status: number;
}

export interface FlowExit {
  readonly on: string;
  readonly stepId: string;
}

interface StepBase {
  readonly id: string;
  readonly exits: readonly FlowExit[];
}

export type FlowStep =
  | (StepBase & { readonly app: DialPlanApp.FORWARD; readonly forward: ForwardSettings })
  | (StepBase & { readonly app: DialPlanApp.HANGUP; readonly hangup: HangupSettings });

export interface Flow {
  readonly entryStepId: string;
  readonly steps: readonly FlowStep[];
}

/** What each app accepts: its exits, and whether it waits (so a loop through it cannot spin). */
export interface AppSpec {
  readonly exits: readonly string[];
  readonly waits: boolean;
}

export const APP_SPECS: Readonly<Record<DialPlanApp, AppSpec>> = {
  [DialPlanApp.FORWARD]: { exits: ['noAnswer'], waits: true },
  [DialPlanApp.HANGUP]: { exits: [], waits: false },
};

export const FORWARD_RING_TIMEOUT = { min: 5, max: 300, default: 30 } as const;
export const MAX_FLOW_STEPS = 100;
const STEP_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** An unvalidated flow as it arrives from a client: any settings object may be present. */
export interface FlowDraft {
  readonly entryStepId: string;
  readonly steps: readonly {
    readonly id: string;
    readonly app: DialPlanApp;
    readonly forward?: { readonly target: string; readonly ringTimeoutSeconds?: number | null } | null;
    readonly hangup?: { readonly status: number } | null;
    readonly exits?: readonly FlowExit[] | null;
  }[];
}

export type FlowResult = { ok: true; flow: Flow } | { ok: false; problems: string[] };

const SETTINGS_KEYS = ['forward', 'hangup'] as const;
const SETTINGS_KEY: Readonly<Record<DialPlanApp, (typeof SETTINGS_KEYS)[number]>> = {
  [DialPlanApp.FORWARD]: 'forward',
  [DialPlanApp.HANGUP]: 'hangup',
};

function normaliseTarget(target: string): string | null {
  const trimmed = target.trim();
  if (trimmed.startsWith('+')) return toE164(trimmed);
  const uri = parseSipUri(trimmed);
  return uri === null || uri.scheme !== 'sip' ? null : trimmed;
}

function buildStep(draft: FlowDraft['steps'][number], at: string, problems: string[]): FlowStep | null {
  const exits = draft.exits ?? [];
  const settingsKey = SETTINGS_KEY[draft.app];
  for (const key of SETTINGS_KEYS) {
    if (key !== settingsKey && draft[key] != null) {
      problems.push(`${at}: ${key} settings do not belong to a ${draft.app} step`);
    }
  }
  switch (draft.app) {
    case DialPlanApp.FORWARD: {
      const settings = draft.forward;
      if (settings == null) {
        problems.push(`${at}: a FORWARD step needs forward settings`);
        return null;
      }
      const target = normaliseTarget(settings.target);
      if (target === null) problems.push(`${at}.forward.target: ${quoteInput(settings.target)} is neither an E.164 number nor a sip: URI`);
      const ringTimeoutSeconds = settings.ringTimeoutSeconds ?? FORWARD_RING_TIMEOUT.default;
      if (!Number.isInteger(ringTimeoutSeconds) || ringTimeoutSeconds < FORWARD_RING_TIMEOUT.min || ringTimeoutSeconds > FORWARD_RING_TIMEOUT.max) {
        problems.push(`${at}.forward.ringTimeoutSeconds must be ${FORWARD_RING_TIMEOUT.min}..${FORWARD_RING_TIMEOUT.max}`);
      }
      if (target === null) return null;
      return { id: draft.id, app: draft.app, forward: { target, ringTimeoutSeconds }, exits };
    }
    case DialPlanApp.HANGUP: {
      const settings = draft.hangup;
      if (settings == null) {
        problems.push(`${at}: a HANGUP step needs hangup settings`);
        return null;
      }
      if (!Number.isInteger(settings.status) || settings.status < 400 || settings.status > 699) {
        problems.push(`${at}.hangup.status must be a SIP final status 400..699`);
      }
      return { id: draft.id, app: draft.app, hangup: { status: settings.status }, exits };
    }
    default: {
      const unknown: never = draft.app;
      problems.push(`${at}: unknown app ${String(unknown)}`);
      return null;
    }
  }
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
    if (step === undefined || APP_SPECS[step.app].waits) return null;
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
export function validateFlow(draft: FlowDraft): FlowResult {
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
    const step = buildStep(stepDraft, at, problems);
    if (step !== null && !byId.has(step.id)) byId.set(step.id, step);
  });
  draft.steps.forEach((stepDraft, index) => {
    const allowed = APP_SPECS[stepDraft.app]?.exits ?? [];
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
