import { readSample } from '../support/port-samples';

const entity = readSample('entity-deploymentConfig-notification-service-prod.json') as { properties: Record<string, unknown> };

/** A deploymentConfig UPDATE of Port's changelog-listener example entity, changing the given properties. */
export function deploymentUpdate(after: Record<string, unknown>, at = new Date().toISOString()) {
  const before = { ...entity, blueprint: 'deploymentConfig' };
  return {
    action: 'UPDATE', resourceType: 'entity', status: 'SUCCESS',
    trigger: { by: { orgId: 'org_1', userId: 'someone@example.com' }, origin: 'UI', at },
    context: { entity: 'notification-service-prod', blueprint: 'deploymentConfig', runId: null },
    diff: { before, after: { ...before, properties: { ...entity.properties, ...after } } },
  };
}
