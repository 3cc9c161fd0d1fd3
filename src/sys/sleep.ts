// Blocking sleep for synchronous code (retry loops on EBUSY/EAGAIN): Atomics.wait on a private
// buffer blocks this thread for `ms` without spinning and without the event loop.
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
