-- q: client:Unk
substr(COALESCE("client", ?1), 1, length(?2)) = ?2
-- params: ['Unknown', 'Unk']
