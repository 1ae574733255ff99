export enum QueueName {
  /** One job per (event, rule, action) to dispatch. */
  Actions = 'actions',
}

export enum JobName {
  DispatchAction = 'DispatchAction',
}
