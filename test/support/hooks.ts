import 'reflect-metadata';
import { startTestServer, stopTestServer } from './database';

/** Mocha global fixtures: one PostgreSQL server and a migrated template for the whole run. */
export async function mochaGlobalSetup(): Promise<void> {
  await startTestServer();
}

export async function mochaGlobalTeardown(): Promise<void> {
  await stopTestServer();
}
