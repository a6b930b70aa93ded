/**
 * IdMap: external string ids ⇄ dense 0-based indices.
 *
 * Kernels index factor rows by position, users and items arrive as arbitrary strings.
 * Indices are handed out in insertion order, so a map built by scanning a file is
 * deterministic, and its JSON form (the plain array of ids, index = position) is all a saved
 * model needs to map ids back.
 */
export class IdMap {
  private readonly byId = new Map<string, number>();
  private readonly list: string[] = [];

  /** Number of distinct ids. */
  get size(): number {
    return this.list.length;
  }

  /** Index of `id`, adding it at the end if new. */
  add(id: string): number {
    let index = this.byId.get(id);
    if (index === undefined) {
      index = this.list.length;
      this.byId.set(id, index);
      this.list.push(id);
    }
    return index;
  }

  /** Index of `id`, or undefined when unknown (does not add). */
  get(id: string): number | undefined {
    return this.byId.get(id);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** The id at `index`; throws RangeError outside [0, size). */
  id(index: number): string {
    if (!Number.isInteger(index) || index < 0 || index >= this.list.length) {
      throw new RangeError(`index ${index} out of range [0, ${this.list.length})`);
    }
    return this.list[index]!;
  }

  /** All ids in index order (read-only view, not a copy). */
  ids(): readonly string[] {
    return this.list;
  }

  toJSON(): string[] {
    return this.list.slice();
  }

  static fromJSON(ids: readonly unknown[]): IdMap {
    if (!Array.isArray(ids)) throw new TypeError('IdMap.fromJSON expects an array of ids');
    const map = new IdMap();
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (typeof id !== 'string') throw new TypeError(`IdMap.fromJSON: entry ${i} is not a string`);
      if (map.add(id) !== i)
        throw new TypeError(`IdMap.fromJSON: duplicate id ${JSON.stringify(id)} at ${i}`);
    }
    return map;
  }

  static from(ids: Iterable<string>): IdMap {
    const map = new IdMap();
    for (const id of ids) map.add(id);
    return map;
  }
}
