import { Controller, Get } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { RulesService } from '../rules/rules.service';
import { SourcesService } from '../sources/sources.service';
import { RedisHealthIndicator } from './redis.health';

@ApiTags('ops')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly redis: RedisHealthIndicator,
    private readonly rules: RulesService,
    private readonly indicators: HealthIndicatorService,
    private readonly moduleRef: ModuleRef,
  ) {}

  /** The process is up and its event loop answers; says nothing about Redis. */
  @Get('live')
  live() {
    return { status: 'ok' };
  }

  /** Ready to take webhooks: Redis answers and a valid rules file is loaded. */
  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.redis.isHealthy(), () => this.rulesLoaded(), ...this.sourceChecks()]);
  }

  /** Each enabled source's state; only a source that gave up (failed) makes the process unready. */
  private sourceChecks() {
    return this.sources().map((status) => () => {
      const indicator = this.indicators.check(`source_${status.name}`);
      const details = { state: status.state, detail: status.detail };
      return status.state === 'failed' ? indicator.down(details) : indicator.up(details);
    });
  }

  /** Sources run in api processes only; a worker has none to report. */
  private sources() {
    try {
      return this.moduleRef.get(SourcesService, { strict: false }).statuses();
    } catch {
      return [];
    }
  }

  private rulesLoaded() {
    const indicator = this.indicators.check('rules');
    const current = this.rules.current();
    if (!current) return indicator.down({ message: 'no valid rules file loaded' });
    // Still ready: the rules loaded before keep running. Says so, for whoever looks after a reload.
    const refusedAt = this.rules.fileRefusedAt();
    const refused = refusedAt ? { fileRefusedAt: refusedAt, message: 'the rules file on disk was refused (unreadable or invalid: the error log says why, as does `rules check`); the rules loaded before it are in use' } : {};
    return indicator.up({ count: current.rules.length, loadedAt: current.loadedAt, ...refused });
  }
}
