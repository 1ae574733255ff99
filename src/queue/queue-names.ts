export enum QueueName {
  /** Normalised change events waiting for diff + rule evaluation. */
  Events = 'events',
  /** One job per (event, rule, action) to dispatch. */
  Actions = 'actions',
}

export enum JobName {
  EvaluateEvent = 'EvaluateEvent',
  DispatchAction = 'DispatchAction',
}
