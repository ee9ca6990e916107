-- q: initiator:me provider:openai provider_name:azure model:"gpt 5" client:Unknown started_after:"2025-01-01T00:00:00Z" started_before:"2025-02-01T00:00:00.5+01:00"
"initiator_id" = ?1 AND "provider" = ?2 AND "provider_name" = ?3 AND "model" = ?4 AND COALESCE("client", ?5) = ?6 AND "started_at" >= ?7 AND "started_at" <= ?8
-- params: ['11111111-1111-4111-8111-111111111111', 'openai', 'azure', 'gpt 5', 'Unknown', 'Unknown', '2025-01-01T00:00:00.000000Z', '2025-01-31T23:00:00.500000Z']
