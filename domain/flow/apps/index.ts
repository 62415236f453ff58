import type { AppDefinition } from '../flow';
import { forwardApp } from './forward';
import { hangupApp } from './hangup';
import { timeConditionApp } from './time-condition';
import { callerConditionApp } from './caller-condition';
import { gotoDialPlanApp } from './goto-dial-plan';
import { webhookApp } from './webhook';
import { ringGroupApp } from './ring-group';

/** The apps a flow step can run. Adding one means a definition below (and an executor in the worker). */
export enum DialPlanApp {
  FORWARD = 'FORWARD',
  HANGUP = 'HANGUP',
  TIME_CONDITION = 'TIME_CONDITION',
  CALLER_CONDITION = 'CALLER_CONDITION',
  GOTO_DIAL_PLAN = 'GOTO_DIAL_PLAN',
  WEBHOOK = 'WEBHOOK',
  RING_GROUP = 'RING_GROUP',
}

/**
 * Every app's definition. `satisfies` makes an app without a definition (or a definition
 * without an app) a compile error; the exact types stay, so each step's settings are typed.
 */
export const APPS = {
  [DialPlanApp.FORWARD]: forwardApp,
  [DialPlanApp.HANGUP]: hangupApp,
  [DialPlanApp.TIME_CONDITION]: timeConditionApp,
  [DialPlanApp.CALLER_CONDITION]: callerConditionApp,
  [DialPlanApp.GOTO_DIAL_PLAN]: gotoDialPlanApp,
  [DialPlanApp.WEBHOOK]: webhookApp,
  [DialPlanApp.RING_GROUP]: ringGroupApp,
} as const satisfies Readonly<Record<DialPlanApp, AppDefinition<string, unknown, never>>>;
