/**
 * The `argsz` convention: in a request `argsz` is the largest reply payload the sender accepts; in a reply it is the
 * size the complete reply needs. A reply whose `argsz` exceeds the request's was truncated to its fixed part (no
 * capabilities, no sub-regions, no fds); ask again with the reply's `argsz`.
 */

/** True if a reply with `replyArgsz` to a request with `requestArgsz` was truncated. */
export function isTruncatedReply(requestArgsz: number, replyArgsz: number): boolean {
  return replyArgsz > requestArgsz;
}

/**
 * The `argsz` to retry with, or `undefined` if the reply is complete.
 *
 * ```ts
 * const retry = argszRetry(req.argsz, reply.argsz);
 * if (retry !== undefined) send({ ...req, argsz: retry });
 * ```
 */
export function argszRetry(requestArgsz: number, replyArgsz: number): number | undefined {
  return replyArgsz > requestArgsz ? replyArgsz : undefined;
}
