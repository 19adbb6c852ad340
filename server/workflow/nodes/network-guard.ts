import {
  PublicAddressError,
  resolveCheckedAddresses as resolveChecked,
  type HostResolver,
  type ResolvedAddress,
} from "../../net/public-address.ts";
import { NodeError } from "../errors.ts";

export { isNonPublicAddress, pinnedLookup, type HostResolver, type ResolvedAddress } from "../../net/public-address.ts";

/**
 * `resolveCheckedAddresses` of server/net, failing the node the way it always has: a refused or
 * unresolvable host is a `NodeError` whose type is the check's code (`HOST_NOT_FOUND`,
 * `PRIVATE_NETWORK_REFUSED`).
 */
export async function resolveCheckedAddresses(
  hostname: string,
  allowPrivateNetwork: boolean,
  resolve?: HostResolver,
): Promise<ResolvedAddress[]> {
  try {
    return await resolveChecked(hostname, allowPrivateNetwork, resolve);
  } catch (error) {
    if (error instanceof PublicAddressError) throw new NodeError(error.code, error.message);
    throw error;
  }
}
