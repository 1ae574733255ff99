import { Controller, Get, Header, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { MetricsService } from './metrics.service';

@ApiTags('ops')
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiOperation({ summary: 'Prometheus metrics of this process (with ROLE=all, of its api and worker processes together)' })
  async scrape(): Promise<string> {
    try {
      return await this.metrics.scrape();
    } catch (error) {
      // No partial answer: a series missing from one scrape would look like a counter reset.
      throw new ServiceUnavailableException(`metrics unavailable: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
