import { countryOfNumber, matchesCaller } from '../../domain/caller-match';
import { DialPlanApp, type FlowStep } from '../../domain/flow/flow';
import { matchesTimeWindow } from '../../domain/time-window';
import type { DialPlanConfig } from '../../worker/config/snapshot';
import { entry, next, type Next } from '../../worker/dialplan/engine';

/** One step a simulated call goes through, and the exit it would leave by (null: the path ends there). */
export interface SimulatedStep {
  readonly dialPlanId: string;
  readonly stepId: string;
  readonly app: DialPlanApp;
  readonly exit: string | null;
}

/** The facts the condition apps read. */
export interface SimulatedCall {
  readonly did: string;
  /** The caller's user part as a From header would carry it, or null for none. */
  readonly caller: string | null;
  readonly timeZone: string | undefined;
  readonly at: Date;
}

/** GOTO_DIAL_PLAN hops followed before the path is cut; the API refuses cycles, this bounds a chain. */
export const MAX_SIMULATED_GOTO_HOPS = 10;

/**
 * Steps one call enters, across the plans it goes through, before the worker's runner ends it
 * (480). A flow may loop through an app that waits (a FORWARD whose `noAnswer` leads back to it),
 * and such a step is taken as unanswered here, so without this bound the walk would not end.
 */
export const MAX_SIMULATED_STEPS = 32;

/**
 * The exit a step would take without placing a call: the conditions are evaluated for real;
 * forwards and ring groups are taken as unanswered so the path goes on; a webhook is not
 * called and a hangup ends the call, so both end the path (null). A GOTO_DIAL_PLAN step has
 * no exit: the walk moves to its plan.
 */
function exitOf(step: FlowStep, call: SimulatedCall): string | null {
  switch (step.app) {
    case DialPlanApp.TIME_CONDITION:
      return call.timeZone !== undefined && matchesTimeWindow(step.timeCondition, call.timeZone, call.at) ? 'match' : 'noMatch';
    case DialPlanApp.CALLER_CONDITION:
      return matchesCaller(step.callerCondition, call.caller, { country: countryOfNumber(call.did) }) ? 'match' : 'noMatch';
    case DialPlanApp.FORWARD:
    case DialPlanApp.RING_GROUP:
      return 'noAnswer';
    case DialPlanApp.HANGUP:
    case DialPlanApp.WEBHOOK:
    case DialPlanApp.GOTO_DIAL_PLAN:
      return null;
    default: {
      const unknown: never = step;
      return unknown;
    }
  }
}

/**
 * The path through `start` (and the plans its GOTO_DIAL_PLAN steps lead to) with the engine's
 * own `entry`/`next`. Pure; `plans` holds the company's plans. The walk ends where the runner's
 * would: at a step with no exit to follow, after MAX_SIMULATED_GOTO_HOPS hops, or after
 * MAX_SIMULATED_STEPS steps (a flow may loop through a FORWARD or RING_GROUP).
 */
export function simulatePlan(start: DialPlanConfig, plans: ReadonlyMap<string, DialPlanConfig>, call: SimulatedCall): SimulatedStep[] {
  const steps: SimulatedStep[] = [];
  let plan: DialPlanConfig | undefined = start;
  let at: Next = entry(start.flow);
  let hops = 0;
  while (plan !== undefined && at.kind === 'Step' && steps.length < MAX_SIMULATED_STEPS) {
    const step: FlowStep = at.step;
    const exit = exitOf(step, call);
    steps.push({ dialPlanId: plan.id, stepId: step.id, app: step.app, exit });
    if (step.app === DialPlanApp.GOTO_DIAL_PLAN) {
      hops += 1;
      plan = hops > MAX_SIMULATED_GOTO_HOPS ? undefined : plans.get(step.gotoDialPlan.dialPlanId);
      at = plan === undefined ? { kind: 'End' } : entry(plan.flow);
    } else {
      at = exit === null ? { kind: 'End' } : next(plan.flow, step.id, exit);
    }
  }
  return steps;
}
