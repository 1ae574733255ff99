import type { PortApiClient } from '../actions/port/port-api.client';
import type { EntitySnapshot } from '../changes/change-event';
import { waitingOutRateLimits } from './rate-limit-wait';

export interface ListingOptions {
  /** Entities per page asked of Port (1 to 1000). */
  limit: number;
  signal: AbortSignal;
  /** Told each time a 429 makes the listing wait. */
  onWait?: (ms: number) => void;
  /** Told each time a page has been read. */
  onPage?: () => void;
}

/**
 * Every entity of a blueprint, page by page (`next` back as `from` until absent), waiting out
 * 429s and re-reading the same page. A cursor Port hands out twice stops the listing.
 */
export async function listAllEntities(
  port: Pick<PortApiClient, 'searchEntities'>,
  blueprint: string,
  options: ListingOptions,
): Promise<EntitySnapshot[]> {
  const entities: EntitySnapshot[] = [];
  const seen = new Set<string>();
  let from: string | undefined;
  do {
    const page = await waitingOutRateLimits(() => port.searchEntities(blueprint, { limit: options.limit, from, signal: options.signal }), options);
    for (const entity of page.entities) entities.push(entity);
    options.onPage?.();
    from = page.next;
    if (from !== undefined && seen.has(from)) throw new Error(`Port repeated a page cursor of ${blueprint}`);
    if (from !== undefined) seen.add(from);
  } while (from !== undefined);
  return entities;
}
