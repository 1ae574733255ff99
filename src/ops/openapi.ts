import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

/** `/docs` (UI) and `/docs/json` (the OpenAPI document). */
export function setupOpenApi(app: NestFastifyApplication): void {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('changelog-reactor')
      .setDescription('Turns Port changelog events into Slack, HTTP and Port reactions defined in a rules file.')
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'ADMIN_TOKEN (an opaque string, not a JWT)', description: 'ADMIN_TOKEN; a browser may send it as the password of HTTP Basic' }, 'admin')
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/json' });
}
