-- q: initiator:me provider:openai provider_name:azure model:"gpt 5" client:Unknown started_after:"2025-01-01T00:00:00Z" started_before:"2025-02-01T00:00:00.5+01:00"
`initiator_id` = :p1 AND `provider` = :p2 AND `provider_name` = :p3 AND `model` = :p4 AND COALESCE(`client`, :p5) = :p6 AND `started_at` >= timestamp_micros(:p7) AND `started_at` <= timestamp_micros(:p8)
-- params: ['11111111-1111-4111-8111-111111111111', 'openai', 'azure', 'gpt 5', 'Unknown', 'Unknown', 1735689600000000, 1738364400500000]
