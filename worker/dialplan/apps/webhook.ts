import { callerToE164, countryOfNumber, isAnonymousCaller } from '../../../domain/caller-match';
import type { DialPlanApp } from '../../../domain/flow/flow';
import { webhookExit, webhookRequestBody, type WebhookCallFacts } from '../../../domain/webhook';
import { didFromRequestUser } from '../../calls/did';
import { privacyOf } from '../../calls/privacy';
import { requestUser } from '../../calls/proxy';
import type { AppExecutor, PlanCall } from '../runner';

/** The facts the request carries, read from the call at the instant the step runs. */
export function webhookCallFacts(call: PlanCall): WebhookCallFacts {
  const did = didFromRequestUser(requestUser(call.invite.uri));
  const callerUser = requestUser(call.invite.headers.from.uri);
  const anonymous = isAnonymousCaller(callerUser, { privacy: privacyOf(call.invite) });
  return {
    callId: call.invite.headers['call-id'],
    companyId: call.facts.companyId,
    trunkId: call.facts.trunkId,
    did: did ?? '',
    caller: anonymous ? null : callerToE164(callerUser, did === null ? null : countryOfNumber(did)),
    failoverReason: call.facts.failoverReason,
    at: new Date(call.clock.now()),
  };
}

/**
 * WEBHOOK: POSTs the call's facts to the step's URL and leaves by the exit the answer names
 * (domain/webhook.ts: a declared name, `success`, or `failure` for everything else). The request
 * is asynchronous: the worker serves other calls meanwhile, and the caller's leg stays as it is
 * (the 100 Trying already sent holds it, RFC 3261 section 16.2; nothing is answered here). The
 * client's timer bounds the wait (the step's `timeoutSeconds`). A caller's CANCEL meanwhile (or
 * any other end of the call) ends the call at once and aborts the request (`call.ended`): its
 * connection is closed, and nothing follows from the step.
 *
 * Logged: the step, the exit, why, and how long it took; never the URL (it may carry a token in
 * its query) nor the secret.
 */
export const webhook: AppExecutor<DialPlanApp.WEBHOOK> = (step, call, done) => {
  const { url, timeoutSeconds, secret, exits } = step.webhook;
  const startedAt = call.clock.now();
  const body = webhookRequestBody(webhookCallFacts(call));
  void call.webhookClient.send({ url, timeoutSeconds, secret, body, allowedCidrs: call.snapshot.webhookAllowedNetworks }, call.ended).then((answer) => {
    const { exit, why } = webhookExit(answer, exits);
    const status = answer.kind === 'answer' ? answer.status : null;
    if (call.ended.aborted) {
      if (answer.kind === 'failure' && answer.failure === 'CALL_ENDED') call.logger.info({ stepId: step.id, ms: call.clock.now() - startedAt }, 'webhook request aborted: the call ended');
      else call.logger.info({ stepId: step.id, status, exit, why }, 'webhook answered after the call ended: ignored');
      return;
    }
    call.logger.info({ stepId: step.id, status, exit, why, ms: call.clock.now() - startedAt }, 'webhook answered');
    done({ kind: 'Exit', exit });
  }).catch((error: unknown) => call.abort(error));
};
