import { DialPlanApp, type Flow, type FlowStep } from '../../domain/flow/flow';

/**
 * The dial plan engine's step logic, pure: given a flow and what the last app's result was,
 * the next thing to do. The call layer executes the actions and reports results back.
 */
export type DialPlanAction =
  /** Ring a target: an E.164 number (through the outbound gateway) or a `sip:` URI. */
  | { readonly kind: 'Forward'; readonly stepId: string; readonly target: string; readonly ringTimeoutMs: number }
  /** Answer the caller with a final status and end. */
  | { readonly kind: 'Respond'; readonly stepId: string | null; readonly status: number };

/** How a FORWARD ended. */
export type ForwardResult = 'answered' | 'noAnswer' | 'failed' | 'cancelled';

/** A FORWARD that is not answered and has no `noAnswer` exit ends the call with this (RFC 3261 21.4.18). */
export const UNANSWERED_STATUS = 480;

/**
 * Flows are validated, and every loop goes through an app that waits; still, a plan that keeps
 * forwarding to targets that fail at once would spin. After this many steps the call ends.
 */
export const MAX_STEPS_PER_CALL = 32;

export interface EngineState {
  readonly flow: Flow;
  readonly stepsTaken: number;
}

function stepById(flow: Flow, id: string): FlowStep | undefined {
  return flow.steps.find((step) => step.id === id);
}

function actionFor(state: EngineState, stepId: string): { action: DialPlanAction; state: EngineState } {
  const step = stepById(state.flow, stepId);
  const taken = state.stepsTaken + 1;
  if (step === undefined || taken > MAX_STEPS_PER_CALL) {
    return { action: { kind: 'Respond', stepId: step?.id ?? null, status: UNANSWERED_STATUS }, state: { ...state, stepsTaken: taken } };
  }
  const next = { ...state, stepsTaken: taken };
  switch (step.app) {
    case DialPlanApp.FORWARD:
      return { action: { kind: 'Forward', stepId: step.id, target: step.forward.target, ringTimeoutMs: step.forward.ringTimeoutSeconds * 1000 }, state: next };
    case DialPlanApp.HANGUP:
      return { action: { kind: 'Respond', stepId: step.id, status: step.hangup.status }, state: next };
    default: {
      const unknown: never = step;
      return unknown;
    }
  }
}

/** The first action of a flow: its entry step. */
export function start(flow: Flow): { action: DialPlanAction; state: EngineState } {
  return actionFor({ flow, stepsTaken: 0 }, flow.entryStepId);
}

/**
 * What follows a FORWARD: answered or cancelled by the caller, nothing (null: the call is done);
 * no answer within the ring timeout or a failure, the `noAnswer` exit, or 480 when it has none.
 */
export function afterForward(state: EngineState, stepId: string, result: ForwardResult): { action: DialPlanAction; state: EngineState } | null {
  if (result === 'answered' || result === 'cancelled') return null;
  const step = stepById(state.flow, stepId);
  const exit = step?.exits.find((candidate) => candidate.on === 'noAnswer');
  if (exit === undefined) return { action: { kind: 'Respond', stepId, status: UNANSWERED_STATUS }, state };
  return actionFor(state, exit.stepId);
}
