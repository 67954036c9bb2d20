/** Items of pages, one at a time, with the next page already asked for while this one is used. */
export class Cursor<T> {
  private page: T[] = [];
  private at = 0;
  private next: Promise<IteratorResult<T[]>> | undefined;
  private ended = false;

  constructor(private readonly pages: AsyncIterator<T[]>) {}

  /** The current item (undefined at the end); fetches pages as needed. */
  async peek(): Promise<T | undefined> {
    while (this.at >= this.page.length) {
      if (this.ended) return undefined;
      const r = await (this.next ?? this.pages.next());
      this.next = undefined;
      if (r.done) {
        this.ended = true;
        return undefined;
      }
      this.page = r.value;
      this.at = 0;
      // Read ahead: the next page is read while this one is compared. Its failure is met at the
      // next peek; until then it must not count as an unhandled rejection (Node would exit).
      if (this.page.length > 0) {
        this.next = this.pages.next();
        this.next.catch(() => undefined);
      }
    }
    return this.page[this.at];
  }

  advance(): void {
    this.at++;
  }
}

/**
 * Keyset pages: `read(after)` gives the page after the key `after`; the last item's key is the
 * next page's `after`. Ends at the first short page.
 */
export async function* keysetPages<T>(read: (after: string | undefined) => Promise<T[]>, key: (t: T) => string, size: number): AsyncGenerator<T[]> {
  let after: string | undefined;
  for (;;) {
    const page = await read(after);
    if (page.length > 0) yield page;
    if (page.length < size) return;
    after = key(page[page.length - 1]!);
  }
}
