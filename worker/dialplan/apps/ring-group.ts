import { ForwardCallerId, type DialPlanApp } from '../../../domain/flow/flow';
import { RingStrategy, RING_GROUP_TARGET_TIMEOUT, type RingGroupTarget } from '../../../domain/flow/apps/ring-group';
import type { BranchSetMember } from '../../calls/branch-set';
import { forwardedInvite } from '../forwarded-invite';
import type { AppExecutor, PlanCall, StepEnd } from '../runner';

/**
 * The branch one target is rung on, or null when it cannot be rung at all (a number with no
 * outbound gateway, a trunk with no current registration): such a target fails at once. A ring
 * group presents the caller.
 */
function memberFor(target: RingGroupTarget, ringMs: number, call: PlanCall): BranchSetMember | null {
  const invite = forwardedInvite(call, target.target, { callerId: ForwardCallerId.KEEP_CALLER });
  if (invite === null) return null;
  return { request: invite.request, destination: invite.destination, target: target.target, noProvisionalMs: null, ringMs, ringFrom: 'start' };
}

/**
 * RING_GROUP: rings the step's targets and ends with the first answer (its 2xx goes to the
 * caller) or leaves by `noAnswer`.
 * - PARALLEL: every target at once in a BranchSet (RFC 3261 section 16.7): the first 2xx wins and
 *   the others get CANCEL. Each target rings its own time or the group's, the group's time bounding
 *   both, so the group is over within its ringTimeoutSeconds.
 * - SEQUENTIAL: one target at a time, in order, each for its own time (default 20 s); a target that
 *   fails (at once or not) or is not answered in time hands over to the next.
 * The caller's CANCEL ends the call, not the step: nothing more happens here.
 */
export const ringGroup: AppExecutor<DialPlanApp.RING_GROUP> = (step, call, done) => {
  const settings = step.ringGroup;
  const noAnswer: StepEnd = { kind: 'Exit', exit: 'noAnswer' };
  const unreachable = (target: RingGroupTarget) => call.logger.warn({ stepId: step.id, target: target.target }, 'ring group target not reachable: skipped');

  if (settings.strategy === RingStrategy.PARALLEL) {
    const members: BranchSetMember[] = [];
    for (const target of settings.targets) {
      const seconds = Math.min(target.ringTimeoutSeconds ?? settings.ringTimeoutSeconds, settings.ringTimeoutSeconds);
      const member = memberFor(target, seconds * 1000, call);
      if (member === null) unreachable(target);
      else members.push(member);
    }
    if (members.length === 0) {
      done(noAnswer);
      return;
    }
    call.startBranchSet({
      members,
      onOutcome: (outcome) => {
        if (outcome.kind === 'Answered') done({ kind: 'Answered', response: outcome.response, callee: members[outcome.index].destination });
        else if (outcome.kind === 'Unanswered') done(noAnswer);
      },
    });
    return;
  }

  const ring = (index: number): void => {
    for (let next = index; next < settings.targets.length; next++) {
      const target = settings.targets[next];
      const member = memberFor(target, (target.ringTimeoutSeconds ?? RING_GROUP_TARGET_TIMEOUT.default) * 1000, call);
      if (member === null) {
        unreachable(target);
        continue;
      }
      call.startBranch({
        ...member,
        onOutcome: (outcome, response) => {
          if (outcome.kind === 'Answered' && response !== null) done({ kind: 'Answered', response, callee: member.destination });
          else if (outcome.kind !== 'CallerCancelled') ring(next + 1);
        },
      });
      return;
    }
    done(noAnswer);
  };
  ring(0);
};
