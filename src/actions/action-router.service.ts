import { Inject, Injectable } from '@nestjs/common';
import type { RenderedAction } from '../rules/rule.types';
import { ActionDispatcher, DispatchContext, DispatchResult } from './action-dispatcher';
import { PermanentActionError } from './action-errors';

export const ACTION_DISPATCHERS = Symbol('ACTION_DISPATCHERS');
const ACTION_TYPES: RenderedAction['type'][] = ['slack', 'http', 'port'];

/** Picks the dispatcher for an action's type; refuses to start when one is missing or doubled. */
@Injectable()
export class ActionRouter {
  private readonly byType = new Map<string, ActionDispatcher>();

  constructor(@Inject(ACTION_DISPATCHERS) dispatchers: ActionDispatcher[]) {
    for (const dispatcher of dispatchers) {
      if (this.byType.has(dispatcher.type)) throw new Error(`two dispatchers registered for "${dispatcher.type}" actions`);
      this.byType.set(dispatcher.type, dispatcher);
    }
    const missing = ACTION_TYPES.filter((type) => !this.byType.has(type));
    if (missing.length > 0) throw new Error(`no dispatcher registered for ${missing.join(', ')} actions: add it to ACTION_DISPATCHERS`);
  }

  dispatch(action: RenderedAction, context: DispatchContext): Promise<DispatchResult> {
    const dispatcher = this.byType.get(action.type);
    if (!dispatcher) throw new PermanentActionError(`unknown action type "${action.type}"`);
    return dispatcher.dispatch(action, context);
  }
}
