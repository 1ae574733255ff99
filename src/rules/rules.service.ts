import { Injectable, Logger, OnModuleDestroy, OnModuleInit, Optional } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { resolve } from 'node:path';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../ops/metrics.service';
import { formatRuleErrors, LoadRulesResult, loadRulesFromText, loadRulesFromTextYielding } from './rule-file.loader';
import type { RuleSet } from './rule.types';

const POLL_INTERVAL_MS = 1_000;
/**
 * A changed file is read once it has stayed unchanged this long: a file written in place in parts
 * (`cat >`, `scp`, `kubectl cp`) is not applied half-written when its first part happens to be a
 * valid file by itself (a rule whose last condition has not arrived yet would match more).
 */
const SETTLE_MS = 2_000;

/** The rules file failed validation at start: the service must not run with no or half its rules. */
export class RulesFileError extends Error {
  constructor(path: string, details: string) {
    super(`rules file ${path} is invalid:\n${details}`);
    this.name = 'RulesFileError';
  }
}

/**
 * Holds the current rules. Polls the file (stat-based, so editor renames and Kubernetes
 * ConfigMap symlink swaps are seen) and, once a change has settled, swaps in a new set only when
 * it validates whole.
 */
@Injectable()
export class RulesService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(RulesService.name);
  private readonly path: string;
  private ruleSet: RuleSet | undefined;
  private contentHash = '';
  private refusedAt: string | undefined;
  private settling?: NodeJS.Timeout;
  private busyListener: (busy: boolean) => void = () => undefined;
  /** The reload in progress, if any: reloads run one after another. */
  private reloading: Promise<boolean> = Promise.resolve(false);
  private readonly onFileChange = () => {
    clearTimeout(this.settling);
    this.settling = setTimeout(() => {
      this.reload().catch((error: Error) => this.logger.error(`rules file ${this.path} could not be reloaded: ${error.message}`));
    }, SETTLE_MS);
  };

  constructor(
    private readonly config: AppConfig,
    @Optional() private readonly metrics?: MetricsService,
  ) {
    this.path = resolve(config.rulesFile);
  }

  onModuleInit(): void {
    const outcome = this.load();
    if (outcome !== 'loaded') throw new RulesFileError(this.path, outcome);
    watchFile(this.path, { interval: POLL_INTERVAL_MS }, this.onFileChange);
  }

  onModuleDestroy(): void {
    // Only our listener: another RulesService in the same process may watch the same file.
    unwatchFile(this.path, this.onFileChange);
    clearTimeout(this.settling);
  }

  /**
   * Told before and after a changed file is read: compiling it takes this event loop for up to a
   * few tenths of a second at a time (jq 1.6, one program of about 100 expressions), and for seconds
   * in all for a large file, which ROLE=all's other process must not take for a hang.
   */
  whileReloading(listener: (busy: boolean) => void): void {
    this.busyListener = listener;
  }

  current(): RuleSet | undefined {
    return this.ruleSet;
  }

  /**
   * When the file on disk was last refused, while the rules in use are older than it; undefined
   * once a valid file (or the one in use) is back. What was wrong is in the error log line only: it
   * may quote the file, which a readiness answer must not.
   */
  fileRefusedAt(): string | undefined {
    return this.refusedAt;
  }

  /**
   * Re-reads the file; keeps the old rules when the new file is invalid. Resolves whether it changed.
   * The rules in use go on being used until the new ones are compiled whole; the event loop turns
   * between jq compilations, so webhooks are answered meanwhile.
   */
  reload(): Promise<boolean> {
    const next = this.reloading.catch(() => false).then(() => this.reloadNow());
    this.reloading = next;
    return next;
  }

  private async reloadNow(): Promise<boolean> {
    this.busyListener(true);
    try {
      const before = this.contentHash;
      return this.applied(before, await this.loadYielding());
    } finally {
      this.busyListener(false);
    }
  }

  private applied(before: string, outcome: 'loaded' | string): boolean {
    this.refusedAt = outcome === 'loaded' ? undefined : new Date().toISOString();
    this.metrics?.rulesFileRefused.set(outcome === 'loaded' ? 0 : 1);
    if (outcome === 'loaded') {
      if (before !== this.contentHash) this.logger.log(`rules reloaded: ${this.ruleSet?.rules.length ?? 0} rules from ${this.path}`);
      else this.logger.log(`rules file ${this.path} changed on disk; its rules are the ones already in use`);
      return before !== this.contentHash;
    }
    this.logger.error(`rules file ${this.path} refused, keeping the ${this.ruleSet?.rules.length ?? 0} rules loaded before:\n${outcome}`);
    return false;
  }

  /** At start: nothing is served yet, so the file is compiled at once. */
  private load(): 'loaded' | string {
    const file = this.changedFile();
    return typeof file === 'string' ? file : this.use(file.hash, loadRulesFromText(file.text, this.loadOptions()));
  }

  private async loadYielding(): Promise<'loaded' | string> {
    const file = this.changedFile();
    return typeof file === 'string' ? file : this.use(file.hash, await loadRulesFromTextYielding(file.text, this.loadOptions()));
  }

  /** The file's text and hash; 'loaded' when it is the file in use, else why it cannot be read. */
  private changedFile(): { text: string; hash: string } | 'loaded' | string {
    try {
      const text = readFileSync(this.path, 'utf8');
      const hash = createHash('sha256').update(text).digest('hex');
      return hash === this.contentHash ? 'loaded' : { text, hash };
    } catch (error) {
      return `cannot read it: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
    }
  }

  private loadOptions() {
    return { env: this.config.ruleVariables, source: this.path, slackDefaultConfigured: Boolean(this.config.slack.defaultWebhookUrl) };
  }

  private use(hash: string, result: LoadRulesResult): 'loaded' | string {
    if (!result.ok) return formatRuleErrors(result.errors);
    this.ruleSet = result.ruleSet;
    this.contentHash = hash;
    return 'loaded';
  }
}
