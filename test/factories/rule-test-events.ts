import { readSampleJson } from '../support/port-samples';
import type { ChangeEvent, EntitySnapshot, PortChangeBody } from '../../src/changes/change-event';

/** A verbatim Port sample from ../shared/port-samples (a fresh copy each call). */
export function loadSample<T = PortChangeBody>(name: string): T {
  return readSampleJson(name) as T;
}

/** The ChangeEvent the parser makes of a changelog or Automation body, built by hand so rule tests do not depend on it. */
export function eventFromBody(body: PortChangeBody, overrides: Partial<ChangeEvent> = {}): ChangeEvent {
  const context = body.context ?? {};
  const blueprint = (context.blueprint ?? context.blueprintIdentifier ?? null) as string | null;
  const entity = (context.entity ?? context.entityIdentifier ?? null) as string | null;
  return {
    id: 'evt-test-1',
    source: 'webhook',
    receivedAt: '2026-11-22T10:00:01.000Z',
    action: String(body.action).toUpperCase(),
    resourceType: body.resourceType,
    blueprint,
    entity,
    body: { ...body, context: { ...context, blueprint, entity } },
    ...overrides,
  };
}

/** An entity change of Port's changelog-listener example: the deploymentConfig sample, patched on the after side. */
export function deploymentConfigEvent(
  afterProperties: Record<string, unknown>,
  action: 'CREATE' | 'UPDATE' | 'DELETE' = 'UPDATE',
): ChangeEvent {
  const entity = loadSample<EntitySnapshot>('entity-deploymentConfig-notification-service-prod.json');
  const after = { ...entity, properties: { ...(entity.properties as object), ...afterProperties } };
  const body: PortChangeBody = {
    action,
    resourceType: 'entity',
    status: 'SUCCESS',
    trigger: { by: { orgId: 'org_test', userId: 'user_test' }, origin: 'UI', at: '2026-11-22T10:00:00.000Z' },
    context: { entity: 'notification-service-prod', blueprint: 'deploymentConfig', runId: null },
    diff: { before: action === 'CREATE' ? null : entity, after: action === 'DELETE' ? null : after },
  };
  return eventFromBody(body);
}
