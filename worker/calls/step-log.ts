import type { CallStep } from '../../domain/call';
import type { StepEvent } from '../dialplan/runner';

/**
 * The dial plan steps a call went through, in order, for its record (DESIGN section 6): a step
 * entered is listed with no exit, and the exit it leaves by is set when it is left.
 */
export class StepLog {
  private readonly taken: CallStep[] = [];

  add(event: StepEvent): void {
    if (event.kind === 'Entered') {
      const { dialPlanId, stepId, app, at } = event;
      this.taken.push({ dialPlanId, stepId, app, exit: null, at: new Date(at).toISOString() });
      return;
    }
    const last = this.taken.length - 1;
    if (last >= 0) this.taken[last] = { ...this.taken[last], exit: event.exit };
  }

  steps(): readonly CallStep[] {
    return this.taken;
  }
}
