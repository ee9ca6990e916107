-- q: session_id:abc client:Cursor
COALESCE(`client`, :p1) = :p2 AND `session_id` = :p3
-- params: ['Unknown', 'Cursor', 'abc']
