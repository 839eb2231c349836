import type { SluiceRequest } from "../http/request.js";

/**
 * The client address `--max-connections-per-ip` counts by, read from `header`, which a proxy
 * in front of the hub sets: `x-forwarded-for` gives its last entry (the address the nearest
 * proxy saw; earlier ones are whatever the client wrote), any other header its whole value.
 * Absent or empty: the TCP peer's address.
 */
export function clientIpFromHeader(header: string): (request: SluiceRequest) => string {
  const lastHop = header === "x-forwarded-for";
  return (request) => {
    const value = request.header(header);
    const address = (lastHop ? value?.split(",").at(-1) : value)?.trim();
    return address || (request.ip ?? "unknown");
  };
}
