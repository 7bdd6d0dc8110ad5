import { closeFd, memfdCreate, type SocketCloseError, UnixSocket } from "@emu/sys";
import { collect, type Received } from "@emu/test-kit";
import { encodeMessage, type Header } from "@emu/vfio-user-proto";
import { Endpoint, type EndpointHandlers, type EndpointOptions } from "../src/index.js";

/** A REGION_READ request frame (32 bytes). */
export function readRequest(msgId: number, count = 4): Uint8Array {
  return encodeMessage({ kind: "RegionReadRequest", offset: 0n, region: 0, count }, { msgId });
}

/** A REGION_WRITE request frame of `n` data bytes. */
export function writeRequest(msgId: number, n: number): Uint8Array {
  return encodeMessage({ kind: "RegionWriteRequest", offset: 0n, region: 0, data: new Uint8Array(n) }, { msgId });
}

/** Everything an endpoint under test reports. */
export interface Seen {
  inPlace: Header[];
  frames: { header: Header; fds: readonly number[]; length: number }[];
  errors: unknown[];
  closed: boolean;
}

/** An endpoint on one end of a pair and a plain socket on the other. */
export function endpointPair(
  handlers: Partial<EndpointHandlers> & { inPlaceAccepts?: (h: Header) => boolean },
  options?: EndpointOptions,
): { ep: Endpoint; peer: UnixSocket; seen: Seen; got: Received<SocketCloseError> } {
  const [a, b] = UnixSocket.pair();
  const ep = new Endpoint(a, options);
  const seen: Seen = { inPlace: [], frames: [], errors: [], closed: false };
  const accepts = handlers.inPlaceAccepts;
  ep.start(
    {
      ...(accepts === undefined
        ? {}
        : {
            inPlace: (_chunk, _view, _at, h) => {
              if (!accepts(h)) return false;
              seen.inPlace.push({ ...h });
              return true;
            },
          }),
      onFrame: (f) => seen.frames.push({ header: f.header, fds: f.fds, length: f.bytes.length }),
      onFramingError: (e) => seen.errors.push(e),
      onClose: () => {
        seen.closed = true;
      },
      ...(handlers.hold === undefined ? {} : { hold: handlers.hold }),
      ...(handlers.halted === undefined ? {} : { halted: handlers.halted }),
      ...(handlers.onFrame === undefined ? {} : { onFrame: handlers.onFrame }),
    },
    8,
  );
  return { ep, peer: b, seen, got: collect(b) };
}

export function memfd(): number {
  return memfdCreate("transport-test");
}

export { closeFd };
