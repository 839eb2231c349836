import { isIPv6 } from "node:net";

/** What `maxConnectionsPerIp` counts an IPv6 client by unless told otherwise: its /64. */
export const DEFAULT_IPV6_PREFIX = 64;

/**
 * The key an address is counted under by `maxConnectionsPerIp`. An IPv4 address (and
 * anything that is not an IP address, such as what a `clientAddress` function returns) is
 * its own key. An IPv6 address counts by its first `prefix` bits, because one host is
 * commonly handed a whole /64 and can pick a new address in it for every connection; an
 * IPv4-mapped address (`::ffff:1.2.3.4`, what a dual-stack server sees from IPv4 clients)
 * counts as the IPv4 address. A zone id (`fe80::1%eth0`) is kept apart: the same prefix
 * on another interface is another network.
 *
 * @example
 * addressGroup("2001:db8::1", 64); // "2001:db8:0:0:0:0:0:0/64"
 * addressGroup("::ffff:192.0.2.7", 64); // "192.0.2.7"
 */
export function addressGroup(address: string, prefix: number = DEFAULT_IPV6_PREFIX): string {
  if (!address.includes(":")) return address;
  const bare = address.startsWith("[") && address.endsWith("]") ? address.slice(1, -1) : address;
  if (!isIPv6(bare)) return address;
  const zoneAt = bare.indexOf("%");
  const zone = zoneAt === -1 ? "" : bare.slice(zoneAt);
  const groups = ipv6Groups(zoneAt === -1 ? bare : bare.slice(0, zoneAt));
  if (isIpv4Mapped(groups)) {
    return `${groups[6] >> 8}.${groups[6] & 0xff}.${groups[7] >> 8}.${groups[7] & 0xff}`;
  }
  for (let i = 0; i < 8; i++) {
    const kept = Math.min(16, Math.max(0, prefix - 16 * i));
    groups[i] &= (0xffff << (16 - kept)) & 0xffff;
  }
  return `${groups.map((group) => group.toString(16)).join(":")}/${prefix}${zone}`;
}

/** The eight 16-bit groups of an address `isIPv6` accepted (no zone). */
function ipv6Groups(address: string): number[] {
  const [head, tail] = address.includes("::") ? address.split("::") : [address, undefined];
  const parse = (part: string): number[] => {
    if (part === "") return [];
    return part.split(":").flatMap((group) => {
      if (!group.includes(".")) return [Number.parseInt(group, 16)];
      // A dotted IPv4 tail (`::ffff:1.2.3.4`) is the last two groups.
      const [a, b, c, d] = group.split(".").map(Number);
      return [(a << 8) | b, (c << 8) | d];
    });
  };
  const front = parse(head);
  if (tail === undefined) return front;
  const back = parse(tail);
  return [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
}

function isIpv4Mapped(groups: number[]): boolean {
  return groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff;
}

/** The `ipv6Prefix` option checked: an integer from 1 to 128 (TypeError otherwise). */
export function checkIpv6Prefix(value: unknown): number {
  if (value === undefined) return DEFAULT_IPV6_PREFIX;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 128) {
    throw new TypeError(
      `ipv6Prefix must be an integer from 1 to 128 (how many leading bits of an IPv6 address count as one client; default 64), got ${typeof value === "number" ? value : `${typeof value} ${JSON.stringify(value)}`}`,
    );
  }
  return value;
}
