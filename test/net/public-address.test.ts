import { describe, expect, it } from "vitest";
import {
  isKnownNonPublicHost,
  isNonPublicAddress,
  PublicAddressError,
  resolveCheckedAddresses,
  type HostResolver,
} from "../../server/net/public-address.ts";

describe("isNonPublicAddress", () => {
  it.each([
    ["10.1.2.3", true],
    ["172.16.0.1", true],
    ["172.32.0.1", false],
    ["192.168.1.1", true],
    ["127.0.0.1", true],
    ["169.254.169.254", true],
    ["100.64.0.1", true],
    ["0.0.0.0", true],
    ["8.8.8.8", false],
    ["::1", true],
    ["::", true],
    ["fe80::1%eth0", true],
    ["fc00::1", true],
    ["fd12:3456::1", true],
    ["::ffff:127.0.0.1", true],
    ["::ffff:8.8.8.8", false],
    ["64:ff9b::a00:1", true],
    ["2002:c0a8:101::1", true],
    ["2606:4700:4700::1111", false],
    ["not an address", true],
  ])("%s → %s", (address, nonPublic) => {
    expect(isNonPublicAddress(address)).toBe(nonPublic);
  });
});

describe("isKnownNonPublicHost", () => {
  // Hosts as `new URL(…).hostname` gives them: IPv4 in any spelling is normalized, IPv6 keeps its brackets.
  it.each([
    ["http://127.0.0.1/", true],
    ["http://2130706433/", true],
    ["http://0x7f.1/", true],
    ["http://[::1]/", true],
    ["http://[::ffff:127.0.0.1]/", true],
    ["http://169.254.169.254/latest", true],
    ["http://localhost:8080/", true],
    ["http://LOCALHOST./", true],
    ["http://api.localhost/", true],
    ["https://93.184.215.14/", false],
    ["https://[2606:4700:4700::1111]/", false],
    ["https://hooks.example.com/", false],
    ["https://localhost.example.com/", false],
  ])("%s → %s", (url, nonPublic) => {
    expect(isKnownNonPublicHost(new URL(url).hostname)).toBe(nonPublic);
  });
});

describe("resolveCheckedAddresses", () => {
  const resolvesTo =
    (...addresses: string[]): HostResolver =>
    async () =>
      addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
  const failureOf = (promise: Promise<unknown>) =>
    promise.then(
      () => null,
      (error: unknown) => (error instanceof PublicAddressError ? { code: error.code, message: error.message } : error),
    );

  it("hands back every address when all are public, and a literal without asking DNS", async () => {
    expect(await resolveCheckedAddresses("hooks.example", false, resolvesTo("93.184.215.14", "2606:4700:4700::1111"))).toEqual([
      { address: "93.184.215.14", family: 4 },
      { address: "2606:4700:4700::1111", family: 6 },
    ]);
    const unused: HostResolver = async () => {
      throw new Error("DNS was asked");
    };
    expect(await resolveCheckedAddresses("[2606:4700:4700::1111]", false, unused)).toEqual([
      { address: "2606:4700:4700::1111", family: 6 },
    ]);
  });

  it("refuses a non-public literal, and a name with one non-public address among public ones, unless allowed", async () => {
    expect(await failureOf(resolveCheckedAddresses("169.254.169.254", false))).toEqual({
      code: "PRIVATE_NETWORK_REFUSED",
      message: "169.254.169.254 is not a public address",
    });
    const rebinding = resolvesTo("93.184.215.14", "10.0.0.7");
    expect(await failureOf(resolveCheckedAddresses("rebind.example", false, rebinding))).toEqual({
      code: "PRIVATE_NETWORK_REFUSED",
      message: "rebind.example resolves to 10.0.0.7, which is not a public address",
    });
    expect(await resolveCheckedAddresses("rebind.example", true, rebinding)).toHaveLength(2);
  });

  it("fails with HOST_NOT_FOUND for a name that does not resolve or has no addresses", async () => {
    const broken: HostResolver = async () => {
      throw new Error("queryA ENOTFOUND nowhere.example");
    };
    expect(await failureOf(resolveCheckedAddresses("nowhere.example", false, broken))).toEqual({
      code: "HOST_NOT_FOUND",
      message: "could not resolve nowhere.example: queryA ENOTFOUND nowhere.example",
    });
    expect(await failureOf(resolveCheckedAddresses("empty.example", true, resolvesTo()))).toEqual({
      code: "HOST_NOT_FOUND",
      message: "empty.example has no addresses",
    });
  });
});
