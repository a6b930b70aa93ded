/**
 * Kernel calls shipped to pool workers. Typed-array arguments are views into an arena; a
 * task carries the arena handle (shared by structured clone, never copied) and replaces
 * each view by its byte offset and length, which the worker turns back into views.
 */
import type { Arena, ArenaHandle } from './arena.js';
import type { BackendName, ExplicitStepArgs, ImplicitStepArgs, TopKArgs } from './kernels.js';

export type KernelOp =
  | { op: 'explicitHalfStep'; args: ExplicitStepArgs }
  | { op: 'implicitHalfStep'; args: ImplicitStepArgs }
  | { op: 'topK'; args: TopKArgs };

export interface KernelTask {
  backend: BackendName;
  arena: ArenaHandle;
  op: KernelOp['op'];
  args: unknown; // KernelOp args with views encoded as { $f32 | $i32: [offset, length] }
}

type Encoded = { $f32: [number, number] } | { $i32: [number, number] };

function encode(value: unknown, arena: Arena): unknown {
  if (value instanceof Float32Array) {
    const r = arena.ref(value);
    return { $f32: [r.offset, r.length] };
  }
  if (value instanceof Int32Array) {
    const r = arena.ref(value);
    return { $i32: [r.offset, r.length] };
  }
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encode(v, arena)]));
  }
  return value;
}

function decode(value: unknown, arena: Arena): unknown {
  if (value && typeof value === 'object') {
    const e = value as Partial<Record<'$f32' | '$i32', [number, number]>>;
    if (e.$f32) return arena.f32At({ offset: e.$f32[0], length: e.$f32[1] });
    if (e.$i32) return arena.i32At({ offset: e.$i32[0], length: e.$i32[1] });
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decode(v, arena)]));
  }
  return value;
}

export function encodeTask(backend: BackendName, arena: Arena, call: KernelOp): KernelTask {
  return { backend, arena: arena.handle, op: call.op, args: encode(call.args, arena) };
}

export function decodeTask(task: KernelTask, arena: Arena): KernelOp {
  return { op: task.op, args: decode(task.args, arena) } as KernelOp;
}

export type { Encoded };
