-- q: client:Unk
starts_with(COALESCE("client", $1), $2)
-- params: ['Unknown', 'Unk']
