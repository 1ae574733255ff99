import { droppedLogLines } from '../common/logger.options';
import { MetricsService } from './metrics.service';

describe('MetricsService', () => {
  afterEach(() => (droppedLogLines.count = 0));

  it('should report the log lines this process dropped, as a counter', async () => {
    const sut = new MetricsService();
    droppedLogLines.count = 3;

    const text = await sut.registry.getSingleMetricAsString('reactor_log_lines_dropped_total');

    expect(text).toContain('# TYPE reactor_log_lines_dropped_total counter');
    expect(text).toMatch(/^reactor_log_lines_dropped_total 3$/m);
  });
});
