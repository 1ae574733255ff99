import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { RulesService } from '../rules/rules.service';
import { RedisHealthIndicator } from './redis.health';

@ApiTags('ops')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly redis: RedisHealthIndicator,
    private readonly rules: RulesService,
    private readonly indicators: HealthIndicatorService,
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
    return this.health.check([() => this.redis.isHealthy(), () => this.rulesLoaded()]);
  }

  private rulesLoaded() {
    const indicator = this.indicators.check('rules');
    const current = this.rules.current();
    return current
      ? indicator.up({ count: current.rules.length, loadedAt: current.loadedAt })
      : indicator.down({ message: 'no valid rules file loaded' });
  }
}
