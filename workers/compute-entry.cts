/**
 * The compute pool's Piscina filename. Piscina loads a task file with require() first, and
 * Node 20.19+ then takes its require(esm) path for our ES modules, which once aborted a worker
 * with a V8 fatal error (`IsGraphAsync must be used on an instantiated module`). A CommonJS
 * entry keeps require() on plain CommonJS; import() loads the real worker module.
 */
import type { KernelTask } from '../src/compute/tasks.js' with { 'resolution-mode': 'import' };

// Loaded on the first task (Piscina asks for the handler when the thread starts), so a failed
// import rejects that task instead of an unhandled promise killing the thread.
let worker:
  | Promise<typeof import('./compute-worker.js', { with: { 'resolution-mode': 'import' }})>
  | undefined;

export = async function run(task: KernelTask): Promise<void> {
  worker ??= import('./compute-worker.js');
  return (await worker).default(task);
};
