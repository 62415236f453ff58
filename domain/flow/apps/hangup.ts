import type { AppDefinition } from '../flow';

/** HANGUP: answer the caller with a final status; the call ends here, so the step has no exits. */
export interface HangupSettings {
  readonly status: number;
}

export const hangupApp: AppDefinition<'hangup', HangupSettings, HangupSettings> = {
  settingsKey: 'hangup',
  exits: [],
  waits: false,
  normalise(draft, at, problems) {
    if (!Number.isInteger(draft.status) || draft.status < 400 || draft.status > 699) {
      problems.push(`${at}.status must be a SIP final status 400..699`);
    }
    return { status: draft.status };
  },
};
