import { UnixSocket } from "@emu/sys";
import { Endpoint, type EndpointOptions } from "./endpoint.js";

/**
 * The server's side of a twin socket (negotiated in VERSION; it carries the server's own commands and their replies,
 * so they never wait behind the client's): a socketpair. Send `peer.fd` with the VERSION reply, then close `peer`
 * (the send dup'd it); start `endpoint`.
 */
export function createTwin(options?: EndpointOptions): { readonly endpoint: Endpoint; readonly peer: UnixSocket } {
  const [mine, peer] = UnixSocket.pair();
  return { endpoint: new Endpoint(mine, options), peer };
}

/** The client's side of a twin socket: the fd that came with the VERSION reply (now owned by the endpoint). */
export function adoptTwin(fd: number, options?: EndpointOptions): Endpoint {
  return new Endpoint(UnixSocket.adopt(fd), options);
}
