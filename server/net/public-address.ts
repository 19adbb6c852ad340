import { lookup } from "node:dns/promises";
import { BlockList, isIP, type LookupFunction } from "node:net";

/**
 * Which hosts an outgoing request may reach, for everything that connects to a URL a tenant chose
 * (workflow HTTP nodes, webhooks), so none of them becomes a scanner of our own network. Imports
 * no domain: each caller adapts `PublicAddressError` into its own failure.
 */

/** One address a host name resolved to. */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to every address it has (the system resolver unless a caller injects one). */
export type HostResolver = (hostname: string) => Promise<ResolvedAddress[]>;

/** Why a host was not let through: it does not resolve, or it is (or resolves to) a non-public address. */
export type PublicAddressErrorCode = "HOST_NOT_FOUND" | "PRIVATE_NETWORK_REFUSED";

/**
 * The one error of this module.
 *
 * @example
 * try { await resolveCheckedAddresses(url.hostname, false) } catch (error) {
 *   if (error instanceof PublicAddressError) return { failed: error.code, why: error.message };
 *   throw error;
 * }
 */
export class PublicAddressError extends Error {
  override readonly name = "PublicAddressError";
  readonly code: PublicAddressErrorCode;

  constructor(code: PublicAddressErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

const nonPublic = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) {
  nonPublic.addSubnet(network, prefix, "ipv4");
}
for (const [network, prefix] of [
  ["::", 96],
  ["::1", 128],
  ["100::", 64],
  ["2001:db8::", 32],
  ["fc00::", 7],
  ["fe80::", 10],
  ["fec0::", 10],
  ["ff00::", 8],
] as const) {
  nonPublic.addSubnet(network, prefix, "ipv6");
}

/**
 * Whether an address is private, loopback, link-local, unique-local or otherwise not on the public
 * internet. IPv4 inside IPv6 (mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) is
 * judged by its IPv4 part, so a private host cannot hide behind an IPv6 spelling.
 *
 * @example
 * isNonPublicAddress("169.254.169.254") // true
 * isNonPublicAddress("8.8.8.8") // false
 */
export function isNonPublicAddress(address: string): boolean {
  const bare = address.replace(/%.*$/, "");
  const family = isIP(bare);
  if (family === 4) return nonPublic.check(bare, "ipv4");
  if (family !== 6) return true;
  if (nonPublic.check(bare, "ipv6")) return true;
  const embedded = embeddedIPv4(bare);
  return embedded !== null && nonPublic.check(embedded, "ipv4");
}

/**
 * Whether a URL's host is non-public on its face, without asking DNS: a literal non-public address,
 * or `localhost` and the names under `.localhost` (loopback by definition, RFC 6761). For checks
 * made ahead of time (saving a URL); a name can change what it resolves to, so only
 * `resolveCheckedAddresses` at connection time is the real check.
 *
 * @example
 * isKnownNonPublicHost(new URL("http://[::1]:8080/").hostname) // true
 * isKnownNonPublicHost("hooks.example.com") // false, whatever it resolves to
 */
export function isKnownNonPublicHost(hostname: string): boolean {
  const bare = hostname
    .replace(/^\[|\]$/g, "")
    .replace(/\.$/, "")
    .toLowerCase();
  if (isIP(bare)) return isNonPublicAddress(bare);
  return bare === "localhost" || bare.endsWith(".localhost");
}

/**
 * Resolves first and checks every address, then hands back the addresses to connect to, so the
 * connection goes to an address that was checked and a rebinding DNS answer cannot slip in between.
 * Connect with `pinnedLookup(addresses)`. Throws `PublicAddressError`.
 *
 * @example
 * const addresses = await resolveCheckedAddresses(url.hostname, false);
 * httpRequest({ hostname: url.hostname, lookup: pinnedLookup(addresses), … });
 */
export async function resolveCheckedAddresses(
  hostname: string,
  allowPrivateNetwork: boolean,
  resolve: HostResolver = systemResolver,
): Promise<ResolvedAddress[]> {
  const bare = hostname.replace(/^\[|\]$/g, "");
  const literal = isIP(bare);
  const addresses = literal
    ? [{ address: bare, family: literal as 4 | 6 }]
    : await resolve(bare).catch((error: unknown) => {
        throw new PublicAddressError(
          "HOST_NOT_FOUND",
          `could not resolve ${bare}: ${error instanceof Error ? error.message : String(error)}`,
        );
      });
  if (addresses.length === 0) throw new PublicAddressError("HOST_NOT_FOUND", `${bare} has no addresses`);
  if (!allowPrivateNetwork) {
    const refused = addresses.find((candidate) => isNonPublicAddress(candidate.address));
    if (refused) {
      const what = literal ? bare : `${bare} resolves to ${refused.address}, which`;
      throw new PublicAddressError("PRIVATE_NETWORK_REFUSED", `${what} is not a public address`);
    }
  }
  return addresses;
}

/**
 * The `lookup` option of `http.request`/`https.request` that answers the socket's DNS lookup with
 * the addresses already checked, whatever DNS would say now.
 */
export function pinnedLookup(checked: ResolvedAddress[]): LookupFunction {
  const [first] = checked as [ResolvedAddress];
  return (_hostname, options, callback) => {
    if (options.all) callback(null, checked);
    else callback(null, first.address, first.family);
  };
}

async function systemResolver(hostname: string): Promise<ResolvedAddress[]> {
  const found = await lookup(hostname, { all: true, verbatim: true });
  return found.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
}

function embeddedIPv4(address: string): string | null {
  const words = ipv6Words(address);
  if (!words) return null;
  const isNat64 = words[0] === 0x64 && words[1] === 0xff9b && words.slice(2, 6).every((word) => word === 0);
  if (isNat64) return wordsToIPv4(words[6] as number, words[7] as number);
  if (words[0] === 0x2002) return wordsToIPv4(words[1] as number, words[2] as number);
  return null;
}

/** The eight 16-bit words of an IPv6 address (a trailing dotted IPv4 part included). */
function ipv6Words(address: string): number[] | null {
  let text = address;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    const [a, b, c, d] = dotted[1].split(".").map(Number) as [number, number, number, number];
    text = `${text.slice(0, -dotted[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const parse = (part: string) => (part === "" ? [] : part.split(":").map((word) => parseInt(word, 16)));
  const first = parse(head);
  const last = tail === undefined ? [] : parse(tail);
  const gap = 8 - first.length - last.length;
  if (gap < 0) return null;
  const words = [...first, ...new Array<number>(gap).fill(0), ...last];
  return words.length === 8 && words.every((word) => Number.isInteger(word) && word >= 0 && word <= 0xffff) ? words : null;
}

function wordsToIPv4(high: number, low: number): string {
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join(".");
}
