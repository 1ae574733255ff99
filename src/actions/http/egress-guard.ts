import { promises as dns, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { PermanentActionError } from '../action-errors';

/** Resolves a host name to every address it has (injectable so tests need no DNS). */
export type DnsLookup = (hostname: string) => Promise<LookupAddress[]>;

/** Callback-style lookup with the signature `net.connect({ lookup })` expects. */
export type ConnectLookup = (
  hostname: string,
  options: { all?: boolean },
  callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void,
) => void;

export interface EgressGuardConfig {
  /** `HTTP_ACTION_ALLOWED_HOSTS`: names or IPs, optionally `host:port`. Empty = any public host. */
  allowedHosts: readonly string[];
  lookup?: DnsLookup;
}

const systemLookup: DnsLookup = (hostname) => dns.lookup(hostname, { all: true, verbatim: true });

const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16],
  ['172.16.0.0', 12], ['192.168.0.0', 16], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) blocked.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) {
  blocked.addSubnet(net, prefix, 'ipv6');
}
// IPv4-mapped, IPv4-compatible and NAT64 addresses reach the IPv4 address in their low 32 bits.
const embedsIPv4 = new BlockList();
for (const net of ['::ffff:0:0', '::', '64:ff9b::']) embedsIPv4.addSubnet(net, 96, 'ipv6');

/** True when `address` is a public unicast address (not private, loopback, link-local, CGNAT, …). */
export function isPublicAddress(address: string): boolean {
  const version = isIP(address);
  if (version === 4) return !blocked.check(address, 'ipv4');
  if (version !== 6) return false;
  if (blocked.check(address, 'ipv6')) return false;
  return embedsIPv4.check(address, 'ipv6') ? isPublicAddress(lowIPv4(address)) : true;
}

function lowIPv4(address: string): string {
  const groups = new URL(`http://[${address}]`).hostname.slice(1, -1).split(':');
  const [high, low] = groups.slice(-2).map((group) => parseInt(group || '0', 16));
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

function canonicalHost(host: string): string {
  const bare = host.toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
  return isIP(bare) === 6 ? new URL(`http://[${bare}]`).hostname.slice(1, -1) : bare;
}

function parseEntry(entry: string): { host: string; port?: string } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed) return { host: canonicalHost(bracketed[1]), port: bracketed[2] };
  const withPort = /^([^:]+):(\d+)$/.exec(entry);
  return withPort ? { host: canonicalHost(withPort[1]), port: withPort[2] } : { host: canonicalHost(entry) };
}

/**
 * SSRF guard for outbound calls. `assertAllowed(url)` runs before each request; `connectLookup`
 * is given to the HTTP agent so the address that was vetted is the one connected to (no DNS
 * rebinding window between check and connect).
 */
export class EgressGuard {
  private readonly entries: { host: string; port?: string }[];
  private readonly lookup: DnsLookup;

  constructor(config: EgressGuardConfig) {
    this.entries = config.allowedHosts.map((entry) => parseEntry(entry.trim())).filter((entry) => entry.host);
    this.lookup = config.lookup ?? systemLookup;
  }

  assertAllowed(url: URL): void {
    const host = canonicalHost(url.hostname);
    const port = url.port || (url.protocol === 'https:' ? '443' : '80');
    if (this.entries.some((entry) => entry.host === host && (!entry.port || entry.port === port))) return;
    if (this.entries.length > 0) throw refusal(`${host}:${port} is not in HTTP_ACTION_ALLOWED_HOSTS`);
    if (isIP(host) && !isPublicAddress(host)) throw refusal(`${host} is not a public address`);
  }

  readonly connectLookup: ConnectLookup = (hostname, options, callback) => {
    this.vettedAddresses(hostname).then(
      (addresses) => (options.all ? callback(null, addresses) : callback(null, addresses[0].address, addresses[0].family)),
      (error: Error) => callback(error, ''),
    );
  };

  private async vettedAddresses(hostname: string): Promise<LookupAddress[]> {
    const addresses = await this.lookup(hostname);
    if (addresses.length === 0) throw Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' });
    if (this.entries.some((entry) => entry.host === canonicalHost(hostname))) return addresses;
    const refused = addresses.find((candidate) => !isPublicAddress(candidate.address));
    if (refused) throw refusal(`${hostname} resolves to ${refused.address}, which is not a public address`);
    return addresses;
  }
}

function refusal(reason: string): PermanentActionError {
  return new PermanentActionError(`refused by egress guard: ${reason}; list the host in HTTP_ACTION_ALLOWED_HOSTS to allow it`);
}
