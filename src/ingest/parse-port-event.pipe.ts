import { BadRequestException, Injectable, PipeTransform } from '@nestjs/common';
import { ChangeEvent } from '../changes/change-event';
import { parsePortBody } from '../changes/change-event.parser';

/** Validates any accepted Port body shape and normalises it; 400 lists every field error. */
@Injectable()
export class ParsePortEventPipe implements PipeTransform<unknown, ChangeEvent> {
  transform(body: unknown): ChangeEvent {
    const result = parsePortBody(body, { source: 'webhook', receivedAt: new Date().toISOString() });
    if (!result.ok) {
      throw new BadRequestException({
        statusCode: 400,
        error: 'Bad Request',
        message: 'body is not a Port change event',
        errors: result.errors,
      });
    }
    return result.event;
  }
}
