/** Stable per (event, replay, rule, action): the action job id, the record field and the Idempotency-Key. */
export function actionKey(eventId: string, replay: number, ruleId: string, actionIndex: number): string {
  return replay > 0 ? `${eventId}.replay-${replay}.${ruleId}.${actionIndex}` : `${eventId}.${ruleId}.${actionIndex}`;
}
