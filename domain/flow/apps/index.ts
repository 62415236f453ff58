import type { AppDefinition } from '../flow';
import { forwardApp } from './forward';
import { hangupApp } from './hangup';
import { webhookApp } from './webhook';
import { ringGroupApp } from './ring-group';

/** The apps a flow step can run. Adding one means a definition below (and an executor in the worker). */
export enum DialPlanApp {
  FORWARD = 'FORWARD',
  HANGUP = 'HANGUP',
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
  [DialPlanApp.WEBHOOK]: webhookApp,
  [DialPlanApp.RING_GROUP]: ringGroupApp,
} as const satisfies Readonly<Record<DialPlanApp, AppDefinition<string, unknown, never>>>;
