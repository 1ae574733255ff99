/**
 * `host/path` of a URL template for summaries and errors: no query, no credentials, and the
 * path read from the template before `${NAME}` secrets are resolved, so a secret in the path
 * shows as its placeholder. The host comes from the resolved URL.
 */
export function targetLabel(template: string, resolved: URL): string {
  const parts = /^[a-z][a-z\d+.-]*:\/\/[^/?#]*([^?#]*)/i.exec(template.trim());
  const path = parts ? parts[1] || '/' : template.includes('${') ? '/…' : resolved.pathname;
  return `${resolved.host}${path}`;
}

/** `hooks.slack.com/services/***`: a Slack webhook URL is a credential past its first path segment. */
export function slackLabel(resolved: URL): string {
  const first = resolved.pathname.split('/').filter(Boolean)[0];
  return `${resolved.host}/${first ? `${first}/***` : ''}`;
}
