/**
 * Shared memory for factor matrices and CSR arrays.
 *
 * One arena backs a whole training or scoring job. It is a SharedArrayBuffer so every
 * Piscina worker sees the same bytes; for the wasm backend it is the buffer of a shared
 * WebAssembly.Memory that each worker's wasm instance imports as its linear memory, so the
 * kernels read the matrices in place. Tasks carry the arena handle (shared, not copied by
 * structured clone) and byte offsets of the views they need.
 *
 * Layout: bytes [0, RESERVED) belong to the wasm module (static data, stack); the bump
 * allocator's cursor lives in the header word at byte 16 and is advanced atomically so
 * workers can allocate scratch space too.
 */

export const ARENA_RESERVED = 1 << 20;
const HEADER_CURSOR = 4; // Int32 index of the cursor (byte 16), counted in 16-byte units
const HEADER_ID = 5; // Int32 index of a random id, so workers can cache per-arena state
const ALIGN = 16;
const PAGE = 65536;

export interface ArenaHandle {
  buffer: SharedArrayBuffer;
  memory: WebAssembly.Memory | null;
}

export interface ArrayRef {
  offset: number; // byte offset in the arena
  length: number; // element count
}

export class ArenaFullError extends Error {
  constructor(requested: number, capacity: number) {
    super(`arena full: ${requested} more bytes requested, capacity ${capacity} bytes`);
    this.name = 'ArenaFullError';
  }
}

export class Arena {
  readonly buffer: SharedArrayBuffer;
  readonly memory: WebAssembly.Memory | null;
  private readonly header: Int32Array;

  private constructor(handle: ArenaHandle) {
    this.buffer = handle.buffer;
    this.memory = handle.memory;
    this.header = new Int32Array(this.buffer, 0, 8);
  }

  /** A fresh arena of at least `bytes` usable bytes; `wasm` makes it a shared wasm memory. */
  static create(bytes: number, opts: { wasm?: boolean } = {}): Arena {
    const total = ARENA_RESERVED + Math.ceil(bytes / ALIGN) * ALIGN;
    let handle: ArenaHandle;
    if (opts.wasm) {
      const pages = Math.ceil(total / PAGE);
      if (pages > 65536) throw new ArenaFullError(total, 65536 * PAGE);
      const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
      handle = { buffer: memory.buffer as unknown as SharedArrayBuffer, memory };
    } else {
      handle = { buffer: new SharedArrayBuffer(total), memory: null };
    }
    const arena = new Arena(handle);
    Atomics.store(arena.header, HEADER_CURSOR, ARENA_RESERVED / ALIGN);
    Atomics.store(arena.header, HEADER_ID, (Math.random() * 0x7fffffff) | 0);
    return arena;
  }

  /** Re-open an arena from a handle received by a worker. */
  static attach(handle: ArenaHandle): Arena {
    return new Arena(handle);
  }

  get handle(): ArenaHandle {
    return { buffer: this.buffer, memory: this.memory };
  }

  get id(): number {
    return Atomics.load(this.header, HEADER_ID);
  }

  get capacity(): number {
    return this.buffer.byteLength;
  }

  get used(): number {
    return Atomics.load(this.header, HEADER_CURSOR) * ALIGN;
  }

  /** Reserve `bytes` (16-byte aligned) and return the byte offset. Thread-safe. */
  allocBytes(bytes: number): number {
    const units = Math.max(1, Math.ceil(bytes / ALIGN));
    const start = Atomics.add(this.header, HEADER_CURSOR, units) * ALIGN;
    if (start + units * ALIGN > this.capacity) {
      Atomics.sub(this.header, HEADER_CURSOR, units);
      throw new ArenaFullError(bytes, this.capacity);
    }
    return start;
  }

  f32(length: number): Float32Array {
    return new Float32Array(this.buffer, this.allocBytes(length * 4), length);
  }

  i32(length: number): Int32Array {
    return new Int32Array(this.buffer, this.allocBytes(length * 4), length);
  }

  /** Copy `src` into a new arena array of the same type. */
  copyOf<T extends Float32Array | Int32Array>(src: T): T {
    const dst = (src instanceof Float32Array ? this.f32(src.length) : this.i32(src.length)) as T;
    dst.set(src);
    return dst;
  }

  ref(view: Float32Array | Int32Array): ArrayRef {
    if (view.buffer !== this.buffer) throw new Error('view does not belong to this arena');
    return { offset: view.byteOffset, length: view.length };
  }

  f32At(ref: ArrayRef): Float32Array {
    return new Float32Array(this.buffer, ref.offset, ref.length);
  }

  i32At(ref: ArrayRef): Int32Array {
    return new Int32Array(this.buffer, ref.offset, ref.length);
  }
}
