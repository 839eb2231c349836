#!/bin/sh
# Publish to a sluice hub with curl: ./publish.sh news '{"title":"hi"}'
curl --fail-with-body -sS -X POST "${HUB_URL:-http://localhost:8080}/publish" \
  -H "authorization: Bearer $SLUICE_PUBLISH_KEY" \
  -H "content-type: application/json" \
  -d "{\"topic\":\"$1\",\"data\":$2}"
