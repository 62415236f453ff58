import type { Flow, FlowStep } from '../../domain/flow/flow';

/**
 * The dial plan engine, pure and generic: it knows steps and named exits, not apps. An app's
 * executor ends with the name of the exit it leaves by; `next` says where that leads.
 */
export type Next =
  | { readonly kind: 'Step'; readonly step: FlowStep }
  /** The exit leads nowhere (the step has no such exit): the plan is over without an answer. */
  | { readonly kind: 'End' };

/** A plan that ends without an answer (an exit leading nowhere) ends the call with this (RFC 3261 21.4.18). */
export const UNANSWERED_STATUS = 480;

function at(flow: Flow, stepId: string): Next {
  const step = flow.steps.find((candidate) => candidate.id === stepId);
  return step === undefined ? { kind: 'End' } : { kind: 'Step', step };
}

/** Where a flow starts: its entry step. */
export function entry(flow: Flow): Next {
  return at(flow, flow.entryStepId);
}

/** Where leaving step `stepId` by exit `exitName` leads: the step it names, or the end. */
export function next(flow: Flow, stepId: string, exitName: string): Next {
  const step = flow.steps.find((candidate) => candidate.id === stepId);
  const exit = step?.exits.find((candidate) => candidate.on === exitName);
  return exit === undefined ? { kind: 'End' } : at(flow, exit.stepId);
}
