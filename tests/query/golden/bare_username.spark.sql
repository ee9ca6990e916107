-- q: alice
`initiator_id` = :p1
-- params: ['11111111-1111-4111-8111-111111111111']
