/** What every outstanding request records: the reply must carry the same msg_id and command, on the same socket. */
export interface OutstandingRequest {
  readonly msgId: number;
  readonly command: number;
  /** Sent on the twin socket: its reply must come there too. */
  readonly twin: boolean;
}

const ID_SPACE = 0x10000;

/**
 * Our requests waiting for their replies (a client's commands, a server's DMA_READ/DMA_WRITE), in the order they were
 * sent. A peer answers in order, so the oldest is checked first (`oldest` + `dropOldest` for an in-place reply,
 * `match` for any reply); an out-of-order reply is searched for. msg_ids come from `allocate`: 1 to 0xffff in turn,
 * never one still outstanding.
 */
export class Outstanding<T extends OutstandingRequest> {
  private list: (T | undefined)[] = [];
  private head = 0;
  private nextId = 1;
  /** 1 at the msg_ids outstanding. */
  private readonly used = new Uint8Array(ID_SPACE);

  /** Requests outstanding. */
  get size(): number {
    return this.list.length - this.head;
  }

  /** A msg_id no outstanding request has (1 to 0xffff, in turn), or -1 when all are in use. */
  allocate(): number {
    for (let i = 1; i < ID_SPACE; i++) {
      const id = this.nextId;
      this.nextId = id >= ID_SPACE - 1 ? 1 : id + 1;
      if (this.used[id] === 0) return id;
    }
    return -1;
  }

  /** Records a request just sent (its msg_id from `allocate`). */
  add(request: T): void {
    this.list.push(request);
    this.used[request.msgId] = 1;
  }

  /** The oldest request, the one an in-order reply answers. */
  oldest(): T | undefined {
    return this.list[this.head];
  }

  /** The oldest request got its reply. */
  dropOldest(): void {
    const list = this.list;
    const i = this.head;
    const r = list[i];
    if (r === undefined) return;
    this.used[r.msgId] = 0;
    list[i] = undefined;
    this.head = i + 1;
    if (this.head === list.length) {
      list.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > list.length) {
      this.list = list.slice(this.head);
      this.head = 0;
    }
  }

  /** Removes and returns the request a reply answers (same msg_id and command, on its socket), or undefined. */
  match(msgId: number, command: number, twin: boolean): T | undefined {
    const first = this.list[this.head];
    if (first !== undefined && first.msgId === msgId && first.command === command && first.twin === twin) {
      this.dropOldest();
      return first;
    }
    if (this.used[msgId & (ID_SPACE - 1)] === 0) return undefined;
    const list = this.list;
    for (let j = this.head + 1; j < list.length; j++) {
      const r = list[j];
      if (r !== undefined && r.msgId === msgId && r.command === command && r.twin === twin) {
        list.splice(j, 1);
        this.used[msgId] = 0;
        return r;
      }
    }
    return undefined;
  }

  /** Forgets a request (its message could not be sent after all). */
  remove(request: T): void {
    const i = this.list.lastIndexOf(request);
    if (i < this.head) return;
    if (i === this.head) {
      this.dropOldest();
      return;
    }
    this.list.splice(i, 1);
    this.used[request.msgId] = 0;
  }

  /** Removes and returns every outstanding request, oldest first (to fail them). */
  takeAll(): T[] {
    const all: T[] = [];
    for (let i = this.head; i < this.list.length; i++) {
      const r = this.list[i];
      if (r !== undefined) all.push(r);
    }
    this.list = [];
    this.head = 0;
    this.used.fill(0);
    return all;
  }
}
