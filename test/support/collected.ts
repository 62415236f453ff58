import v8 from 'node:v8';
import vm from 'node:vm';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Whether the object behind `ref` is gone after a full collection (a WeakRef holds it to the end of the job). */
export async function collected(ref: WeakRef<object>): Promise<boolean> {
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  return ref.deref() === undefined;
}

/** Heap used after a full collection, in bytes: compare two to see what a structure keeps alive. */
export async function heapUsedAfterCollection(): Promise<number> {
  await collected(new WeakRef({}));
  return process.memoryUsage().heapUsed;
}
