-- q: session_id:abc client:Cursor
COALESCE("client", $1) = $2 AND "session_id" = $3
-- params: ['Unknown', 'Cursor', 'abc']
