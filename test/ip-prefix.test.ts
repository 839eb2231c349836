import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { addressGroup, checkIpv6Prefix, DEFAULT_IPV6_PREFIX } from "../src/server/ip-prefix.js";

/** Asserts that each list of addresses is one group under `prefix`, and the lists are apart. */
function assertGroups(prefix: number, groups: string[][]) {
  const keys = groups.map((addresses) => {
    const [first, ...rest] = addresses.map((address) => addressGroup(address, prefix));
    for (const [i, key] of rest.entries()) {
      assert.equal(key, first, `/${prefix}: ${addresses[i + 1]} should count as ${addresses[0]}`);
    }
    return first;
  });
  assert.equal(
    new Set(keys).size,
    keys.length,
    `/${prefix}: ${JSON.stringify(keys)} should all differ`,
  );
}

describe("addressGroup: what maxConnectionsPerIp counts an address as", () => {
  test("the default prefix is /64", () => {
    assert.equal(DEFAULT_IPV6_PREFIX, 64);
    assert.equal(addressGroup("2001:db8:1:2::1"), addressGroup("2001:db8:1:2:ffff:ffff:ffff:ffff"));
    assert.notEqual(addressGroup("2001:db8:1:2::1"), addressGroup("2001:db8:1:3::1"));
  });

  test("/64: every address of one /64 is one client, whatever its spelling; the next /64 is another", () => {
    assertGroups(64, [
      [
        "2001:db8:1:2::1",
        "2001:db8:1:2:0:0:0:1",
        "2001:0db8:0001:0002:0000:0000:0000:0002",
        "2001:DB8:1:2:abcd:ef01:2345:6789",
        "2001:db8:1:2::",
        "[2001:db8:1:2::7]",
        "2001:db8:1:2:ffff:ffff:ffff:ffff",
      ],
      ["2001:db8:1:3::1", "2001:db8:1:3:8000::"],
      ["2001:db8:1::1", "2001:db8:1:0:1:2:3:4"],
      ["::", "::1", "0:0:0:0:0:0:0:2", "::2:3:4:5"],
      ["fe80::1%eth0", "fe80::2:3%eth0"],
      ["fe80::1%eth1"],
      ["fe80::1"],
    ]);
  });

  test("/48 puts a site's subnets together; /128 counts each address apart", () => {
    assertGroups(48, [
      ["2001:db8:1::1", "2001:db8:1:ffff::1", "2001:db8:1:2:3:4:5:6"],
      ["2001:db8:2::1"],
    ]);
    assertGroups(128, [
      ["2001:db8::1", "2001:db8:0:0:0:0:0:1", "[2001:db8::1]"],
      ["2001:db8::2"],
      ["2001:db8::1:0"],
    ]);
  });

  test("prefixes that do not fall on a group boundary mask the bits inside the group", () => {
    assertGroups(60, [
      ["2001:db8:1:20::1", "2001:db8:1:2f::1", "2001:db8:1:2f:ffff::"],
      ["2001:db8:1:30::1"],
    ]);
    assertGroups(1, [
      ["::1", "7fff::1"],
      ["8000::1", "ffff::1"],
    ]);
    assertGroups(127, [["2001:db8::2", "2001:db8::3"], ["2001:db8::4"]]);
  });

  test("an IPv4-mapped address counts as its IPv4 address, under any prefix", () => {
    for (const prefix of [1, 48, 64, 96, 128]) {
      assert.equal(addressGroup("::ffff:192.0.2.7", prefix), "192.0.2.7");
      assert.equal(addressGroup("::FFFF:192.0.2.7", prefix), "192.0.2.7");
      assert.equal(addressGroup("0:0:0:0:0:ffff:c000:207", prefix), "192.0.2.7");
      assert.equal(addressGroup("[::ffff:10.0.0.1]", prefix), "10.0.0.1");
    }
    assert.notEqual(addressGroup("::ffff:192.0.2.7"), addressGroup("::ffff:192.0.2.8"));
    // Not mapped: ::ffff:0:0/96 only (IPv4-compatible and NAT64 forms are ordinary IPv6).
    assert.notEqual(addressGroup("::192.0.2.7", 128), "192.0.2.7");
    assert.notEqual(addressGroup("::fffe:192.0.2.7", 128), "192.0.2.7");
  });

  test("IPv4 addresses and strings that are not IP addresses are their own key", () => {
    for (const address of [
      "127.0.0.1",
      "192.0.2.7",
      "unknown",
      "client-a",
      "",
      "1::2::3",
      "[::1",
      "::1%",
    ]) {
      assert.equal(addressGroup(address, 64), address);
    }
  });
});

describe("checkIpv6Prefix", () => {
  test("takes an integer from 1 to 128, 64 when left out; anything else is a TypeError", () => {
    assert.equal(checkIpv6Prefix(undefined), 64);
    for (const good of [1, 48, 56, 64, 128]) assert.equal(checkIpv6Prefix(good), good);
    for (const bad of [0, -1, 129, 64.5, Number.NaN, Number.POSITIVE_INFINITY, "64", null]) {
      assert.throws(
        () => checkIpv6Prefix(bad),
        (error: Error) =>
          error instanceof TypeError &&
          error.message.startsWith("ipv6Prefix must be an integer from 1 to 128"),
        String(bad),
      );
    }
  });
});
