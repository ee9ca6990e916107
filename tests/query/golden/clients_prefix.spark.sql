-- q: client:Unk
startswith(COALESCE(`client`, :p1), :p2)
-- params: ['Unknown', 'Unk']
