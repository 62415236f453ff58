import { trunkTargetId } from '../../domain/flow/apps/ring-group';
import { ForwardCallerId } from '../../domain/flow/flow';
import { forwardedRequest } from '../calls/proxy';
import type { Endpoint, SipRequest } from '../sip/message';
import { presentingNumber } from './caller-id';
import type { PlanCall } from './runner';
import { forwardRequestUri, literalDestination } from './target';

/** The INVITE a plan's target is rung with, and where it is sent (null: the stack resolves its Request-URI). */
export interface ForwardedInvite {
  readonly request: SipRequest;
  readonly destination: Endpoint | null;
}

/** Whom the INVITE presents as its caller: the caller, or the number of the plan whose step asks (named in the warning when it is gone). */
export type Presentation =
  | { readonly callerId: ForwardCallerId.KEEP_CALLER }
  | { readonly callerId: ForwardCallerId.DIAL_PLAN_NUMBER; readonly dialPlanId: string; readonly stepId: string };

/**
 * The caller's INVITE as it leaves for one target of a FORWARD or RING_GROUP step (a proxied leg:
 * same Call-ID, record-routed, Max-Forwards decremented, RFC 3261 section 16.6), or null when the
 * target cannot be rung at all:
 * - `trunk:<id>`: the trunk's current registration, its Contact sent where the REGISTER came from
 *   (NAT); null when the trunk has none or is not the call's company's.
 * - an E.164 number: the outbound gateway's URI with the number as user part; null without one.
 * - a `sip:` URI as it is, sent straight to an IP-literal host.
 * With `DIAL_PLAN_NUMBER` it presents the plan's external number (caller-id.ts).
 */
export function forwardedInvite(call: PlanCall, target: string, presentation: Presentation): ForwardedInvite | null {
  const resolved = resolveTarget(call, target);
  if (resolved === null) return null;
  const proxied = forwardedRequest(call.invite, { uri: resolved.uri, recordRoute: call.recordRoute, isOwnRoute: (route) => call.port.isOwnUri(route) });
  const request = presentation.callerId === ForwardCallerId.DIAL_PLAN_NUMBER ? presentPlanNumber(proxied, call, presentation) : proxied;
  return { request, destination: resolved.destination };
}

function resolveTarget(call: PlanCall, target: string): { readonly uri: string; readonly destination: Endpoint | null } | null {
  const trunkId = trunkTargetId(target);
  if (trunkId !== null) {
    const binding = call.trunkBinding(trunkId);
    return binding === null ? null : { uri: binding.contact, destination: { address: binding.sourceAddress, port: binding.sourcePort } };
  }
  const uri = forwardRequestUri(target, call.snapshot.outboundGateway);
  return uri === null ? null : { uri, destination: literalDestination(uri) };
}

/**
 * The API refuses DIAL_PLAN_NUMBER on a plan without an external number and the removal of a
 * number such a step presents; a snapshot caught between two changes may still lack it. Then the
 * call goes out with the caller kept, rather than not at all.
 */
function presentPlanNumber(request: SipRequest, call: PlanCall, presentation: Extract<Presentation, { callerId: ForwardCallerId.DIAL_PLAN_NUMBER }>): SipRequest {
  const { dialPlanId, stepId } = presentation;
  const number = call.dialPlanNumber(dialPlanId);
  if (number !== null) return presentingNumber(request, number);
  call.logger.warn({ stepId, dialPlanId }, 'forward presents the dial plan number, but the plan has none: the caller is kept');
  return request;
}
