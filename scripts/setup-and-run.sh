#!/usr/bin/env bash
# One command on a fresh machine: system dependencies, npm packages, build, .env, start.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
npm ci --no-audit --no-fund
npm run build
[ -f .env ] || { cp .env.example .env; echo "created .env from .env.example: edit it for your Port org and Slack"; }
exec npm start
