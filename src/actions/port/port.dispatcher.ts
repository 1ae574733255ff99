import { Injectable } from '@nestjs/common';
import type { PortActionSpec } from '../../rules/rule.types';
import { resolveSecrets, type SecretEnv } from '../../rules/secret-placeholders';
import { PermanentActionError } from '../action-errors';
import type { ActionDispatcher, DispatchContext, DispatchResult } from '../action-dispatcher';
import { PortApiClient, type EntityPatch } from './port-api.client';

export interface PortDispatcherConfig {
  /** Values for `${NAME}` placeholders still present in the rendered action. */
  env: SecretEnv;
}

const PATCH_FIELDS = ['properties', 'relations', 'title', 'team', 'icon'] as const;

/**
 * Patches the Port entity named by a `port` action (the evaluator fills `blueprint`/`entity`
 * from the event). Loop protection is upstream: see `isOwnWrite`.
 */
@Injectable()
export class PortDispatcher implements ActionDispatcher<PortActionSpec> {
  readonly type = 'port' as const;

  constructor(
    private readonly port: PortApiClient,
    private readonly config: PortDispatcherConfig,
  ) {}

  async dispatch(action: PortActionSpec, context: DispatchContext): Promise<DispatchResult> {
    const resolved = resolveSecrets(action, this.config.env);
    const { blueprint, entity } = resolved;
    if (!blueprint || !entity) {
      throw new PermanentActionError(`port action of rule ${context.ruleId} names no blueprint or entity`);
    }
    const patch: EntityPatch = Object.fromEntries(
      PATCH_FIELDS.filter((field) => resolved[field] !== undefined).map((field) => [field, resolved[field]]),
    );
    if (Object.keys(patch).length === 0) {
      throw new PermanentActionError(`port action of rule ${context.ruleId} has nothing to change`);
    }
    const response = await this.port.patchEntity(blueprint, entity, patch);
    return { statusCode: response.statusCode, summary: `PATCH port ${blueprint}/${entity} -> ${response.statusCode}` };
  }
}
