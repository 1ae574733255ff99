import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ChangeEvent } from '../changes/change-event';
import { PortChangeEventDto } from './dto/port-change-event.dto';
import { EventIntakeService, IntakeResult } from './event-intake.service';
import { ParsePortEventPipe } from './parse-port-event.pipe';
import { WebhookSignatureGuard } from './webhook-signature.guard';

@ApiTags('ingest')
@Controller('webhooks')
export class WebhookController {
  constructor(private readonly intake: EventIntakeService) {}

  @Post('port')
  @HttpCode(202)
  @UseGuards(WebhookSignatureGuard)
  @ApiOperation({ summary: "Port changelogDestination / Automation webhook; answers once the event is recorded and its actions durably queued" })
  @ApiBody({ type: PortChangeEventDto })
  @ApiResponse({ status: 202, description: '{"eventId": "evt_…", "duplicate": false}' })
  @ApiResponse({ status: 400, description: 'not a Port change event (`errors` lists each field), or nested more than 125 levels deep (beyond what jq reads)' })
  @ApiResponse({ status: 401, description: 'missing, bad or stale signature (when required)' })
  @ApiResponse({ status: 413, description: 'body over 1 MiB' })
  @ApiResponse({ status: 415, description: 'body is not JSON' })
  @ApiResponse({ status: 503, description: 'Redis unreachable: Port should retry' })
  @ApiResponse({ status: 500, description: 'a fault in the service (logged); Port should retry' })
  receive(@Body(ParsePortEventPipe) event: ChangeEvent): Promise<IntakeResult> {
    return this.intake.accept(event);
  }
}
